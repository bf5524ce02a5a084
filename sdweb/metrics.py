"""Image quality and size metrics: the one place every codec is scored.

All quality metrics take two HxWx3 uint8 RGB arrays of the same shape, the
reference first, and return Python floats:

- ``psnr``: RGB PSNR in dB over all channels (peak 255), inf when identical.
- ``ssim``: SSIM (Wang et al. 2004), Gaussian window, per channel, averaged.
- ``ms_ssim``: MS-SSIM (Wang et al. 2003) as pytorch-msssim / CompressAI
  compute it, per channel, averaged.
- ``ssimulacra2``: SSIMULACRA 2, matching libjxl's tool (see
  ``sdweb.ssimulacra2``).
- ``lpips``: LPIPS v0.1 with AlexNet, or None when its weights can't be had.

``evaluate`` computes all of them; ``bits_per_pixel`` and
``compression_ratio`` describe the compressed size.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import sys

import numpy as np
from scipy.ndimage import correlate1d

from .ssimulacra2 import ssimulacra2 as _ssimulacra2_score

__all__ = ["psnr", "ssim", "ms_ssim", "ssimulacra2", "lpips",
           "bits_per_pixel", "compression_ratio", "evaluate"]

log = logging.getLogger(__name__)

_PEAK = 255.0
_C1 = (0.01 * _PEAK) ** 2
_C2 = (0.03 * _PEAK) ** 2
_SIGMA = 1.5
_RADIUS = 5  # 11x11 window, as Wang et al., skimage and pytorch-msssim use
_MS_SSIM_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def _check_pair(ref: np.ndarray, test: np.ndarray) -> None:
    """Raise ValueError unless ref and test are same-shape HxWx3 uint8 arrays."""
    for name, a in (("ref", ref), ("test", test)):
        if not isinstance(a, np.ndarray):
            raise ValueError(f"{name} must be a numpy array, got {type(a).__name__}")
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3 or 0 in a.shape:
            raise ValueError(f"{name} must be a non-empty HxWx3 uint8 array, "
                             f"got {a.dtype} array of shape {a.shape}")
    if ref.shape != test.shape:
        raise ValueError(f"shape mismatch: ref {ref.shape} vs test {test.shape}")


def _planes(img: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> (3, H, W) float64."""
    return img.transpose(2, 0, 1).astype(np.float64)


def psnr(ref: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB of ``test`` against ``ref`` over all RGB samples, peak 255.

    Returns ``math.inf`` for identical images. Raises ValueError on arrays
    that are not same-shape HxWx3 uint8.
    """
    _check_pair(ref, test)
    mse = np.mean((ref.astype(np.float64) - test) ** 2)
    return math.inf if mse == 0 else float(10.0 * math.log10(_PEAK ** 2 / mse))


def _ssim_stats(x: np.ndarray, y: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean SSIM and mean contrast-structure term per channel of (C, H, W) pairs.

    Local statistics use a Gaussian window (sigma 1.5) truncated to
    2*radius+1 taps, over 'valid' positions only, as Wang et al.'s code does.
    """
    taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * _SIGMA ** 2))
    taps /= taps.sum()
    stack = np.stack([x, y, x * x, y * y, x * y])
    # The border mode is irrelevant: the rows and columns it touches are cut.
    for axis in (-1, -2):
        stack = correlate1d(stack, taps, axis=axis, mode="nearest")
    h, w = x.shape[1:]
    mu1, mu2, e11, e22, e12 = stack[..., radius:h - radius, radius:w - radius]
    s11, s22, s12 = e11 - mu1 * mu1, e22 - mu2 * mu2, e12 - mu1 * mu2
    cs = (2 * s12 + _C2) / (s11 + s22 + _C2)
    lum = (2 * mu1 * mu2 + _C1) / (mu1 * mu1 + mu2 * mu2 + _C1)
    return (lum * cs).mean(axis=(1, 2)), cs.mean(axis=(1, 2))


def _window_radius(h: int, w: int) -> int:
    """The standard radius, shrunk so the window fits inside tiny images."""
    return min(_RADIUS, (min(h, w) - 1) // 2)


def ssim(ref: np.ndarray, test: np.ndarray) -> float:
    """SSIM of ``test`` against ``ref``: mean of the per-channel RGB SSIMs.

    Gaussian window sigma 1.5 (11x11), K1=0.01, K2=0.03, data range 255,
    population covariances; equal to skimage's ``structural_similarity`` with
    ``gaussian_weights=True, use_sample_covariance=False, data_range=255``.
    Images under 11 pixels on a side use the largest window that fits.
    Returns 1.0 for identical images. Raises ValueError on arrays that are not
    same-shape HxWx3 uint8.
    """
    _check_pair(ref, test)
    mean_ssim, _ = _ssim_stats(_planes(ref), _planes(test), _window_radius(*ref.shape[:2]))
    return float(mean_ssim.mean())


def _avg_pool2(x: np.ndarray) -> np.ndarray:
    """Halve (C, H, W) like torch's avg_pool2d(2, padding=size % 2).

    An odd side gets one zero row/column on each end and the zeros count in
    the average: that is what pytorch-msssim does, so scores match it.
    """
    ph, pw = x.shape[1] % 2, x.shape[2] % 2
    x = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    c, h, w = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2]
    return x.reshape(c, h // 2, 2, w // 2, 2).mean(axis=(2, 4))


def ms_ssim(ref: np.ndarray, test: np.ndarray) -> float:
    """MS-SSIM of ``test`` against ``ref``, as pytorch-msssim / CompressAI.

    Five scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), 11x11
    Gaussian window (sigma 1.5), data range 255, negative terms clamped to 0,
    computed per RGB channel and averaged. pytorch-msssim needs the short side
    above 160 pixels; smaller images use as many scales as keep that rule
    (side > 10 * 2**(scales-1)) with the weights renormalised to sum 1, and below 11
    pixels a smaller window. Returns 1.0 for identical images. Raises
    ValueError on arrays that are not same-shape HxWx3 uint8.
    """
    _check_pair(ref, test)
    side = min(ref.shape[:2])
    scales = len(_MS_SSIM_WEIGHTS)
    while scales > 1 and side <= 2 * _RADIUS * 2 ** (scales - 1):
        scales -= 1
    weights = _MS_SSIM_WEIGHTS[:scales]
    if scales < len(_MS_SSIM_WEIGHTS):
        weights = weights / weights.sum()
    radius = _window_radius(*ref.shape[:2])

    x, y = _planes(ref), _planes(test)
    terms = []
    for scale in range(scales):
        mean_ssim, mean_cs = _ssim_stats(x, y, radius)
        if scale < scales - 1:
            terms.append(mean_cs)
            x, y = _avg_pool2(x), _avg_pool2(y)
    terms.append(mean_ssim)
    # Clamp as pytorch-msssim does: a negative base to a fractional power is NaN.
    terms = np.maximum(np.stack(terms), 0.0)
    return float(np.prod(terms ** weights[:, None], axis=0).mean())


def ssimulacra2(ref: np.ndarray, test: np.ndarray) -> float:
    """SSIMULACRA 2 score of ``test`` against ``ref`` (100 = identical).

    Matches libjxl's ``ssimulacra2`` tool; images under 8x8 are edge-padded
    (libjxl refuses them). Raises ValueError on arrays that are not
    same-shape HxWx3 uint8.
    """
    _check_pair(ref, test)
    return _ssimulacra2_score(ref, test)


# --- LPIPS ----------------------------------------------------------------

_ALEXNET_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
_LPIPS_URL = ("https://raw.githubusercontent.com/richzhang/PerceptualSimilarity/"
              "master/lpips/weights/v0.1/alex.pth")
_ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
_LPIPS_FILE = "alex.pth"
_LPIPS_TAPS = (1, 4, 7, 9, 11)  # AlexNet ReLU outputs LPIPS compares
_LPIPS_MIN_SIDE = 31  # smaller inputs vanish in AlexNet's second max-pool


@functools.lru_cache(maxsize=None)
def _load_lpips(weights_dir: str | None):
    """(AlexNet features, per-layer linear weights), or None if unavailable.

    Reads both files from ``weights_dir`` when given, else fetches them through
    torch's hub cache. Cached per ``weights_dir`` so a failure (no torch, no
    network, bad file) is tried once per process, not on every call.
    """
    try:
        import torch
        from torch import nn

        if weights_dir:
            def load(name):
                return torch.load(os.path.join(weights_dir, name),
                                  map_location="cpu", weights_only=True)
            alexnet, linear = load(_ALEXNET_FILE), load(_LPIPS_FILE)
        else:
            # torch.hub announces downloads on stdout, which is our CLI's output.
            with contextlib.redirect_stdout(sys.stderr):
                alexnet = torch.hub.load_state_dict_from_url(
                    _ALEXNET_URL, map_location="cpu", progress=False, check_hash=True)
                linear = torch.hub.load_state_dict_from_url(
                    _LPIPS_URL, map_location="cpu", progress=False,
                    file_name="lpips-v0.1-alex.pth")

        # torchvision's AlexNet ``features`` up to the last ReLU, built here
        # because torchvision cannot be imported beside this torch build.
        features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
        )
        features.load_state_dict({k[len("features."):]: v for k, v in alexnet.items()
                                  if k.startswith("features.")})
        features.eval().requires_grad_(False)
        channels = [64, 192, 384, 256, 256]
        lin = [linear[f"lin{i}.model.1.weight"].float().reshape(c, 1, 1)
               for i, c in enumerate(channels)]
        return features, lin
    except Exception as exc:  # any failure means "no LPIPS", never a crash
        log.info("LPIPS unavailable (%s: %s); lpips() returns None",
                    type(exc).__name__, exc)
        return None


def lpips(ref: np.ndarray, test: np.ndarray) -> float | None:
    """LPIPS v0.1 (AlexNet) distance of ``test`` from ``ref``; 0 = identical.

    Weights come from the folder named by the ``SDWEB_LPIPS_DIR`` environment
    variable (holding ``alexnet-owt-7be5be79.pth`` and LPIPS's ``alex.pth``)
    or else from torch's hub cache, downloading them on first use. Returns
    None, and never a made-up number, when the weights cannot be loaded or
    the image is under 31 pixels on a side (too small for AlexNet). Raises
    ValueError on arrays that are not same-shape HxWx3 uint8.
    """
    _check_pair(ref, test)
    model = _load_lpips(os.environ.get("SDWEB_LPIPS_DIR") or None)
    if model is None or min(ref.shape[:2]) < _LPIPS_MIN_SIDE:
        return None
    import torch

    features, lin = model
    shift = torch.tensor([-0.030, -0.088, -0.188]).reshape(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).reshape(1, 3, 1, 1)
    batch = torch.from_numpy(np.stack([ref, test])).permute(0, 3, 1, 2).float()
    h = (batch / 127.5 - 1.0 - shift) / scale
    total = 0.0
    with torch.inference_mode():
        for i, layer in enumerate(features):
            h = layer(h)
            if i in _LPIPS_TAPS:
                unit = h / (h.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
                diff = (unit[0] - unit[1]).pow(2)
                total += float((diff * lin[_LPIPS_TAPS.index(i)]).sum(dim=0).mean())
    return total


# --- Size -----------------------------------------------------------------

def _check_size(num_bytes: int, width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise ValueError(f"width and height must be positive, got {width}x{height}")
    if num_bytes < 0:
        raise ValueError(f"num_bytes must be >= 0, got {num_bytes}")


def bits_per_pixel(num_bytes: int, width: int, height: int) -> float:
    """Compressed size in bits per pixel: 8 * num_bytes / (width * height).

    Raises ValueError if width or height is not positive or num_bytes < 0.
    """
    _check_size(num_bytes, width, height)
    return 8.0 * num_bytes / (width * height)


def compression_ratio(num_bytes: int, width: int, height: int) -> float:
    """Raw 24-bit RGB size over compressed size: 3 * width * height / num_bytes.

    Raises ValueError if width or height is not positive or num_bytes <= 0.
    """
    _check_size(num_bytes, width, height)
    if num_bytes == 0:
        raise ValueError("num_bytes must be > 0 for a compression ratio")
    return 3.0 * width * height / num_bytes


def evaluate(ref: np.ndarray, test: np.ndarray) -> dict[str, float | None]:
    """All quality metrics of ``test`` against ``ref``.

    Returns {"psnr", "ssim", "ms_ssim", "ssimulacra2", "lpips"} as floats;
    "lpips" is None when LPIPS is unavailable (see ``lpips``). Raises
    ValueError on arrays that are not same-shape HxWx3 uint8.
    """
    _check_pair(ref, test)
    return {
        "psnr": psnr(ref, test),
        "ssim": ssim(ref, test),
        "ms_ssim": ms_ssim(ref, test),
        "ssimulacra2": ssimulacra2(ref, test),
        "lpips": lpips(ref, test),
    }
