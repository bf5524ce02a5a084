"""SSIMULACRA 2 perceptual image metric, a numpy port of libjxl's tool.

SSIMULACRA 2 (Jon Sneyers, Cloudinary; version 2.1 of April 2023) is the
metric of ``tools/ssimulacra2.cc`` in libjxl (BSD-3-Clause). Scores run from
100 (identical) through about 90 (visually lossless), 70 (high quality) and
50 (medium) down to negative values for very poor images.

Pipeline, as in libjxl: sRGB -> linear RGB -> XYB rescaled to ~0..1; at 6
scales (1:1 to 1:32, each a 2x2 box downscale in linear RGB) a Gaussian blur
(sigma 1.5) gives local means and variances, from which three error maps are
made per XYB channel: 1 - SSIM' (SSIM without the luminance denominator),
"ringing" (the distorted image has edges where the original is smooth) and
"blurring" (the reverse). The mean and 4-norm of each of the 54 maps are
weighted, summed and mapped onto the final score.

Why this looks like float32 assembly: the score is sensitive to rounding. In
smooth areas the local variances are tiny, so float32 rounding in libjxl's
recursive blur shows up in the SSIM map, and at high qualities it moves the
score by up to ~0.3 points (a float64 or plain-convolution blur lands that far
from libjxl's number). So every step here repeats libjxl's float32 arithmetic
in its order, fused multiply-adds included, as its SIMD code runs on any CPU
with FMA (x86 AVX2/AVX-512, ARM). On Kodak this gives libjxl 0.11's
``ssimulacra2`` output to the 8 decimals it prints (tests/test_ssimulacra2.py).
(libjxl itself, on a CPU without FMA, lands up to ~0.2 points away.)

Unlike libjxl, images smaller than 8x8 are accepted: they are edge-padded to
8 pixels first.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ssimulacra2"]

_F32, _F64 = np.float32, np.float64
_NUM_SCALES = 6
_MIN_SIZE = 8  # libjxl refuses smaller images and stops adding scales below it


def _fma(a, b, c) -> np.ndarray:
    """float32 fused multiply-add a*b + c, rounded once.

    The float32 product is exact in float64, so only the sum is rounded twice;
    that differs from a true FMA too rarely to show in the score.
    """
    return (np.asarray(a, _F64) * b + c).astype(_F32)


# --- Recursive Gaussian (Charalampidis 2016), as libjxl's FastGaussian -----

def _recursive_gaussian(sigma: float):
    """Radius and float32 coefficients of libjxl's recursive Gaussian.

    Returns (radius, n2, d1, mul_in, mul_prev, mul_prev2). The filter sums
    three resonators y_k[n] = n2_k*(x[n-N-1] + x[n+N-1]) - d1_k*y_k[n-1]
    - y_k[n-2]; the mul_* tables (shape 3 x 4 lanes) are the same recursion
    expanded over 4 consecutive outputs, which the row pass uses.
    """
    radius = round(3.2795 * sigma + 0.2546)  # (57) in the paper, "N"
    omega = np.array([1.0, 3.0, 5.0]) * np.pi / (2.0 * radius)
    p = np.array([1.0, -1.0, 1.0]) / np.tan(0.5 * omega)  # (37)
    r = np.array([1.0, -1.0, 1.0]) * p * p / np.sin(omega)  # (44)
    rho = np.exp(-0.5 * sigma * sigma * omega * omega) / radius  # (50)
    d13 = p[0] * r[1] - r[0] * p[1]
    d35 = p[1] * r[2] - r[1] * p[2]
    d51 = p[2] * r[0] - r[2] * p[0]
    zeta15, zeta35 = d35 / d13, d51 / d13  # (52)
    a = np.array([p, r, [zeta15, zeta35, 1.0]])  # (56)
    gamma = np.array([1.0, radius * radius - sigma * sigma,
                      zeta15 * rho[0] + zeta35 * rho[1] + rho[2]])  # (55)
    beta = np.linalg.inv(a) @ gamma  # (53)
    n2 = -beta * np.cos(omega * (radius + 1.0))  # (33)
    d1 = -2.0 * np.cos(omega)
    dd = d1 * d1
    mul_in = np.stack([n2, -d1 * n2, dd * n2 - n2, -dd * d1 * n2 + 2.0 * d1 * n2], 1)
    mul_prev = np.stack([-d1, dd - 1.0, -dd * d1 + 2.0 * d1, dd * dd - 3.0 * dd + 1.0], 1)
    mul_prev2 = np.stack([-np.ones(3), d1, 1.0 - dd, dd * d1 - 2.0 * d1], 1)
    return (radius, n2.astype(_F32)[:, None], d1.astype(_F32)[:, None],
            *(m.astype(_F32)[:, :, None] for m in (mul_in, mul_prev, mul_prev2)))


_RADIUS, _N2, _D1, _MUL_IN, _MUL_PREV, _MUL_PREV2 = _recursive_gaussian(1.5)


def _horizontal_pass(x: np.ndarray) -> np.ndarray:
    """libjxl's row filter (FastGaussian1D) along axis 0 of x, shape (W, M).

    Zero outside the image. Outputs start one at a time until a 4-aligned
    position, then go 4 at a time through the expanded coefficients, then one
    at a time again: the rounding differs between the two forms, so both are
    kept.
    """
    width, m = x.shape
    radius = _RADIUS
    out = np.empty_like(x)
    zero = np.zeros(m, _F32)
    prev = np.zeros((3, m), _F32)
    prev2 = np.zeros((3, m), _F32)

    def one(n):
        nonlocal prev, prev2
        left, right = n - radius - 1, n + radius - 1
        s = (x[left] if left >= 0 else zero) + (x[right] if right < width else zero)
        o = (_MUL_IN[:, 0] * s).astype(_F32)
        o = _fma(_MUL_PREV2[:, 0], prev2, o)
        o = _fma(_MUL_PREV[:, 0], prev, o)
        prev2, prev = prev, o
        if n >= 0:
            out[n] = o[0] + (o[1] + o[2])

    first_aligned = -(-(radius + 1) // 4) * 4
    n = min(first_aligned, width)
    for i in range(1 - radius, n):
        one(i)
    while n < width - radius + 1 - 3:
        s = x[n - radius - 1:n - radius + 3] + x[n + radius - 1:n + radius + 3]
        o = (_MUL_IN * s[0]).astype(_F32)  # (3 resonators, 4 lanes, M)
        for i in range(1, 4):
            o[:, i:] = _fma(_MUL_IN[:, :4 - i], s[i], o[:, i:])
        o = _fma(_MUL_PREV2, prev2[:, None], o)
        o = _fma(_MUL_PREV, prev[:, None], o)
        prev2, prev = o[:, 2], o[:, 3]
        out[n:n + 4] = o[0] + (o[1] + o[2])
        n += 4
    for i in range(n, width):
        one(i)
    return out


def _vertical_pass(x: np.ndarray) -> np.ndarray:
    """libjxl's column filter (FastGaussianVertical) along axis 0 of x, (H, M).

    Zero outside the image; every output comes from the plain recursion.
    """
    height, m = x.shape
    radius = _RADIUS
    out = np.empty_like(x)
    y1 = np.zeros((3, m), _F32)
    y2 = np.zeros((3, m), _F32)
    for n in range(1 - radius, height):
        top, bottom = n - radius - 1, n + radius - 1
        s = x[bottom] if bottom < height else np.zeros(m, _F32)
        if top >= 0:
            s = x[top] + s
        # NegMulSub(d1, y1, y2) = -d1*y1 - y2, then MulAdd(n2, s, that).
        t = (-(_D1.astype(_F64) * y1) - y2).astype(_F32)
        y1, y2 = _fma(_N2, s, t), y1
        if n >= 0:
            out[n] = y1[0] + (y1[1] + y1[2])
    return out


def _blur(planes: np.ndarray) -> np.ndarray:
    """Gaussian blur (sigma 1.5) of a (P, H, W) float32 stack of planes."""
    p, h, w = planes.shape
    # Put the filtered axis first so each step works on one contiguous slice.
    rows = np.ascontiguousarray(planes.transpose(2, 0, 1)).reshape(w, p * h)
    rows = _horizontal_pass(rows).reshape(w, p, h)
    cols = np.ascontiguousarray(rows.transpose(2, 1, 0)).reshape(h, p * w)
    cols = _vertical_pass(cols).reshape(h, p, w)
    return cols.transpose(1, 0, 2)


# --- Colour: sRGB -> linear -> XYB ----------------------------------------

def _srgb_to_linear_lut() -> np.ndarray:
    """Linear value of each 8-bit sRGB code, as libjxl's TF_SRGB computes it.

    libjxl decodes sRGB with a rational polynomial (error ~1e-7), not the
    exact power law; the difference is visible in the score's 3rd decimal.
    """
    x = np.arange(256, dtype=_F32) * _F32(1.0 / 255)
    p = np.array([2.200248328e-04, 1.043637593e-02, 1.624820318e-01,
                  7.961564959e-01, 8.210152774e-01], _F32)
    q = np.array([2.631846970e-01, 1.076976492e+00, 4.987528350e-01,
                  -5.512498495e-02, 6.521209011e-03], _F32)
    yp = np.full(256, p[4], _F32)
    yq = np.full(256, q[4], _F32)
    for i in range(3, -1, -1):
        yp, yq = _fma(yp, x, p[i]), _fma(yq, x, q[i])
    low = x * (_F32(1.0) / _F32(12.92))
    return np.where(x > _F32(0.04045), yp / yq, low).astype(_F32)


_SRGB_TO_LINEAR = _srgb_to_linear_lut()

# libjxl's opsin absorbance matrix and bias (lib/jxl/cms/opsin_params.h),
# rows summing to 1 in float32 arithmetic as there.
_OPSIN = np.array([[0.30, 0.078], [0.23, 0.078],
                   [0.24342268924547819, 0.20476744424496821]], _F32)
_OPSIN = np.array([[_OPSIN[0, 0], _F32(1) - _OPSIN[0, 1] - _OPSIN[0, 0], _OPSIN[0, 1]],
                   [_OPSIN[1, 0], _F32(1) - _OPSIN[1, 1] - _OPSIN[1, 0], _OPSIN[1, 1]],
                   [_OPSIN[2, 0], _OPSIN[2, 1], _F32(1) - _OPSIN[2, 0] - _OPSIN[2, 1]]])
_OPSIN_BIAS = _F32(0.0037930732552754493)
_NEG_BIAS_CBRT = -np.cbrt(_OPSIN_BIAS)


def _cube_root_and_add(x: np.ndarray, add: np.float32) -> np.ndarray:
    """cbrt(x) + add for x >= 0, with libjxl's CubeRootAndAdd arithmetic.

    A bit-trick first guess, then Newton steps; close to but not exactly
    np.cbrt, and the score sees the difference.
    """
    bits = x.view(np.int32)
    guess = np.int32(0x54800000) - (bits >> 23) * np.int32(0x002AAAAA)
    r = np.where(bits == 0, np.int32(0), guess).astype(np.int32).view(_F32)
    x_3 = _F32(1.0 / 3) * x
    for _ in range(3):
        r2 = r * r
        r = (_F32(4.0 / 3) * r - x_3.astype(_F64) * (r2 * r2)).astype(_F32)
    r2 = r * r
    r = _fma(_F32(1.0 / 3), (r - x.astype(_F64) * (r2 * r2)).astype(_F32), r)
    return _fma(r * r, x, add)


def _positive_xyb(linear: np.ndarray) -> np.ndarray:
    """Linear RGB (3, H, W) -> XYB rescaled as SSIMULACRA 2 wants (3, H, W)."""
    r, g, b = linear
    lms = []
    for row in _OPSIN:
        mixed = _fma(row[0], r, _fma(row[1], g, _fma(row[2], b, _OPSIN_BIAS)))
        # Out-of-gamut input could make it negative; libjxl clamps before cbrt.
        lms.append(_cube_root_and_add(np.maximum(mixed, _F32(0)), _NEG_BIAS_CBRT))
    x = _F32(0.5) * (lms[0] - lms[1])
    y = _F32(0.5) * (lms[0] + lms[1])
    # Offsets and scale put every channel in ~0..1, which the fixed SSIM
    # constant assumes (libjxl's MakePositiveXYB).
    return np.stack([x * _F32(14.0) + _F32(0.42), y + _F32(0.01),
                     (lms[2] - y) + _F32(0.55)])


def _downsample(linear: np.ndarray) -> np.ndarray:
    """2x2 box average of (3, H, W), repeating the last row/column if odd."""
    _, h, w = linear.shape
    if h % 2 or w % 2:
        linear = np.pad(linear, ((0, 0), (0, h % 2), (0, w % 2)), mode="edge")
    total = linear[:, 0::2, 0::2] + linear[:, 0::2, 1::2]
    total = total + linear[:, 1::2, 0::2]
    return (total + linear[:, 1::2, 1::2]) * _F32(0.25)


# --- Error maps and score -------------------------------------------------

def _norms(err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean (1-norm) and 4-norm of a (3, H, W) float64 map."""
    sq = err * err
    return err.mean(axis=(1, 2)), np.sqrt(np.sqrt((sq * sq).mean(axis=(1, 2))))


def _scale_features(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
    """The 18 sub-scores of one scale as (3 channels, 2 norms, 3 maps)."""
    blurred = _blur(np.concatenate([img1 * img1, img2 * img2, img1 * img2, img1, img2]))
    s11, s22, s12, mu1, mu2 = blurred.reshape(5, *img1.shape)
    # SSIM' drops the luminance term's denominator: XYB is already roughly
    # perceptually uniform, so errors in darks should not weigh more.
    diff = mu1 - mu2
    num_m = _F32(1.0) - diff * diff
    num_s = _F32(2.0) * (s12 - mu1 * mu2) + _F32(0.0009)
    denom_s = (s11 - mu1 * mu1) + (s22 - mu2 * mu2) + _F32(0.0009)
    ssim_err = np.maximum(1.0 - (num_m * num_s / denom_s).astype(_F64), 0.0)

    edge1 = np.abs(img1 - mu1).astype(_F64)
    edge2 = np.abs(img2 - mu2).astype(_F64)
    ratio = (1.0 + edge2) / (1.0 + edge1) - 1.0
    maps = [_norms(ssim_err), _norms(np.maximum(ratio, 0.0)),
            _norms(np.maximum(-ratio, 0.0))]
    # -> [channel][norm][map], maps being (ssim, ringing, blurring)
    return np.array([[[maps[m][n][c] for m in range(3)] for n in range(2)]
                     for c in range(3)])


# Weights of the 108 sub-scores, from libjxl tools/ssimulacra2.cc (v2.1),
# in its order: channel (X, Y, B), scale, norm (1, 4), map (ssim, ringing,
# blurring).
_WEIGHTS = np.array([
    0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0,
    0.0, 0.0004371155730107379, 0.0, 1.1041726426657346, 0.00066284834129271,
    0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0,
    1.8422455520539298, 11.441172603757666, 0.0, 0.0007989109436015163,
    0.000176816438078653, 0.0, 1.8787594979546387, 10.94906990605142, 0.0,
    0.0007289346991508072, 0.9677937080626833, 0.0, 0.00014003424285435884,
    0.9981766977854967, 0.00031949755934435053, 0.0004550992113792063, 0.0,
    0.0, 0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0, 7.466890328078848,
    0.0, 17.445833984131262, 0.0006235601634041466, 0.0, 0.0,
    6.683678146179332, 0.00037724407979611296, 1.027889937768264,
    225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361,
    0.001237755635509985, 176.39317598450694, 0.0, 0.0, 24.43300999870476,
    0.28520802612117757, 0.0004485436923833408, 0.0, 0.0, 0.0,
    34.77906344483772, 44.835625328877896, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0005313191874358747, 0.0, 0.00016533814161379112, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0004179171803251336, 0.0017290828234722833, 0.0,
    0.0020827005846636437, 0.0, 0.0, 8.826982764996862, 23.19243343998926,
    0.0, 95.1080498811086, 0.9863978034400682, 0.9834382792465353,
    0.0012286405048278493, 171.2667255897307, 0.9807858872435379, 0.0, 0.0,
    0.0, 0.0005130064588990679, 0.0, 0.00010854057858411537,
])


def _final_score(features: np.ndarray) -> float:
    """(channel, scale, norm, map) sub-scores -> SSIMULACRA 2 score."""
    # With fewer than 6 scales libjxl walks the weight table without skipping
    # the missing scales' entries; flattening in this order does the same.
    flat = np.abs(features).ravel()
    s = float(flat @ _WEIGHTS[: flat.size]) * 0.9562382616834844
    s = 2.326765642916932 * s - 0.020884521182843837 * s * s + 6.248496625763138e-05 * s * s * s
    if s <= 0.0:
        return 100.0
    return 100.0 - 10.0 * s ** 0.6276336467831387


def ssimulacra2(ref: np.ndarray, test: np.ndarray) -> float:
    """SSIMULACRA 2 score of ``test`` against ``ref``.

    Args:
        ref, test: HxWx3 uint8 sRGB images of the same shape (H, W >= 1).

    Returns:
        The score: 100.0 for identical images, lower is worse, may be negative.

    Raises:
        ValueError: if an array is not HxWx3 uint8, or the shapes differ.
    """
    for name, a in (("ref", ref), ("test", test)):
        if not (isinstance(a, np.ndarray) and a.dtype == np.uint8 and a.ndim == 3
                and a.shape[2] == 3 and a.shape[0] > 0 and a.shape[1] > 0):
            raise ValueError(f"{name} must be a non-empty HxWx3 uint8 array, got "
                             f"{getattr(a, 'dtype', type(a).__name__)} {getattr(a, 'shape', '')}")
    if ref.shape != test.shape:
        raise ValueError(f"shape mismatch: ref {ref.shape} vs test {test.shape}")

    h, w = ref.shape[:2]
    if h < _MIN_SIZE or w < _MIN_SIZE:
        pad = ((0, max(0, _MIN_SIZE - h)), (0, max(0, _MIN_SIZE - w)), (0, 0))
        ref, test = np.pad(ref, pad, mode="edge"), np.pad(test, pad, mode="edge")

    lin1 = _SRGB_TO_LINEAR[ref.transpose(2, 0, 1)]
    lin2 = _SRGB_TO_LINEAR[test.transpose(2, 0, 1)]
    per_scale = []
    for scale in range(_NUM_SCALES):
        # libjxl tests the previous scale's size, so the last scale it adds
        # may itself be smaller than 8 pixels.
        if lin1.shape[1] < _MIN_SIZE or lin1.shape[2] < _MIN_SIZE:
            break
        if scale:
            lin1, lin2 = _downsample(lin1), _downsample(lin2)
        per_scale.append(_scale_features(_positive_xyb(lin1), _positive_xyb(lin2)))
    # (scale, channel, norm, map) -> (channel, scale, norm, map)
    return _final_score(np.stack(per_scale).transpose(1, 0, 2, 3))
