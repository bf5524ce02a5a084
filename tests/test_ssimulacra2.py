"""SSIMULACRA 2 against scores printed by libjxl's own tool.

Reference numbers: libjxl 0.11.2's ``ssimulacra2`` binary (Debian trixie
package libjxl-devtools 0.11.2-0.1~deb13u3, x86-64 with AVX-512), run on PNG
files of exactly the arrays built below; it prints 8 decimals. The images
are made with integer arithmetic only, so they are the same on every machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import correlate1d

from sdweb import ssimulacra2 as s2

KODAK = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kodak"

# libjxl prints 8 decimals and we agree with it to ~5e-9; an implementation
# that skips the float32 emulation is off by 1e-3 or more.
TOL = 1e-5


def synthetic(h: int, w: int) -> np.ndarray:
    """Gradients, an 8x8 checkerboard and a fine texture (HxWx3 uint8)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    r = (x * 255) // max(w - 1, 1)
    g = (y * 255) // max(h - 1, 1)
    b = ((x // 8 + y // 8) % 2) * 150 + 50
    tex = ((x * 7 + y * 13) ** 2 // 31) % 48
    img = np.stack([r, (g + tex) // 2 + 40, (b + tex) // 2 + 30], axis=2)
    return np.clip(img, 0, 255).astype(np.uint8)


def add_noise(img: np.ndarray, amplitude: int) -> np.ndarray:
    """Add hash-based pseudo-noise in [-amplitude, amplitude], clipped."""
    h, w, c = img.shape
    y, x, ch = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    v = (x.astype(np.int64) * 73856093 ^ y.astype(np.int64) * 19349663
         ^ ch.astype(np.int64) * 83492791) % 1000003
    noise = v % (2 * amplitude + 1) - amplitude
    return np.clip(img.astype(np.int64) + noise, 0, 255).astype(np.uint8)


def quantize(img: np.ndarray, step: int) -> np.ndarray:
    return ((img.astype(np.int64) // step) * step + step // 2).clip(0, 255).astype(np.uint8)


def block_average(img: np.ndarray, size: int) -> np.ndarray:
    """Replace each size x size block by its (floored) mean: JPEG-like blocking."""
    out = img.astype(np.int64)
    for by in range(0, img.shape[0], size):
        for bx in range(0, img.shape[1], size):
            blk = out[by:by + size, bx:bx + size]
            blk[...] = blk.sum(axis=(0, 1)) // (blk.shape[0] * blk.shape[1])
    return out.astype(np.uint8)


def box_blur3(img: np.ndarray) -> np.ndarray:
    p = np.pad(img.astype(np.int64), ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w, _ = img.shape
    return (sum(p[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) // 9).astype(np.uint8)


SYN = synthetic(200, 177)

# (name, ref, distorted, libjxl 0.11.2 score)
SYNTHETIC_CASES = [
    ("noise3", SYN, add_noise(SYN, 3), 88.86262760),
    ("noise20", SYN, add_noise(SYN, 20), 27.94874766),
    ("quant24", SYN, quantize(SYN, 24), 41.09096168),
    ("block8", SYN, block_average(SYN, 8), 45.30634722),
    ("blur3", SYN, box_blur3(SYN), 54.30127128),
    # 2 scales: libjxl's weight indexing with fewer than 6 scales
    ("12x9 noise10", synthetic(12, 9), add_noise(synthetic(12, 9), 10), 92.60962840),
    # 4 scales, odd sizes at every downsampling
    ("37x53 block4", synthetic(37, 53), block_average(synthetic(37, 53), 4), 73.67759814),
]


@pytest.mark.parametrize("name,ref,dist,expected", SYNTHETIC_CASES, ids=[c[0] for c in SYNTHETIC_CASES])
def test_matches_libjxl_on_synthetic_images(name, ref, dist, expected):
    assert s2.ssimulacra2(ref, dist) == pytest.approx(expected, abs=TOL)


@pytest.mark.skipif(not KODAK.is_dir(), reason="needs ../shared/data/kodak")
@pytest.mark.parametrize("distortion,expected", [
    ("block8", -20.32359417),
    ("quant16", 40.19227176),
    ("noise2", 91.49162745),
])
def test_matches_libjxl_on_kodak(distortion, expected):
    from PIL import Image

    ref = np.asarray(Image.open(KODAK / "kodim23.png").convert("RGB"))
    dist = {"block8": lambda: block_average(ref, 8), "quant16": lambda: quantize(ref, 16),
            "noise2": lambda: add_noise(ref, 2)}[distortion]()
    assert s2.ssimulacra2(ref, dist) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 3, 3), (8, 8, 3), (40, 31, 3)])
def test_identical_is_100(shape):
    img = synthetic(*shape[:2])
    assert s2.ssimulacra2(img, img) == 100.0


def test_tiny_images_are_edge_padded():
    ref, dist = synthetic(5, 3), add_noise(synthetic(5, 3), 30)
    pad = ((0, 3), (0, 5), (0, 0))
    expected = s2.ssimulacra2(np.pad(ref, pad, mode="edge"), np.pad(dist, pad, mode="edge"))
    assert s2.ssimulacra2(ref, dist) == expected
    assert expected < 100.0


def test_more_distortion_scores_lower():
    scores = [s2.ssimulacra2(SYN, add_noise(SYN, a)) for a in (1, 4, 16, 48)]
    assert scores == sorted(scores, reverse=True)


def test_blur_is_the_intended_gaussian():
    """The recursive filter equals a 9-tap Gaussian-like FIR, zero outside.

    Taps from the closed form of the truncated-cosine recursion (Charalampidis
    2016): each resonator's two inputs 2N apart cancel after 2N-1 outputs.
    """
    radius, n2 = s2._RADIUS, s2._N2[:, 0].astype(np.float64)
    omega = np.array([1.0, 3.0, 5.0]) * np.pi / (2 * radius)
    j = np.arange(1 - radius, radius)
    taps = (n2[:, None] * np.sin(omega[:, None] * (radius + j)) / np.sin(omega)[:, None]).sum(0)
    assert taps.sum() == pytest.approx(1.0, abs=1e-6)

    planes = np.random.default_rng(0).random((2, 23, 37)).astype(np.float32)
    expected = correlate1d(correlate1d(planes.astype(np.float64), taps, axis=2, mode="constant"),
                           taps, axis=1, mode="constant")
    np.testing.assert_allclose(s2._blur(planes), expected, atol=2e-6)


def test_colour_helpers_are_close_to_exact_math():
    v = np.arange(256) / 255.0
    exact = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    np.testing.assert_allclose(s2._SRGB_TO_LINEAR, exact, atol=1e-6)
    x = np.linspace(0.0, 1.0, 1001, dtype=np.float32)
    np.testing.assert_allclose(s2._cube_root_and_add(x, np.float32(0)), np.cbrt(x), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("ref,test", [
    (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8)),
    (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.float32)),
    (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8)),
    (np.zeros((0, 8, 3), np.uint8), np.zeros((0, 8, 3), np.uint8)),
])
def test_bad_input_raises_value_error(ref, test):
    with pytest.raises(ValueError):
        s2.ssimulacra2(ref, test)
