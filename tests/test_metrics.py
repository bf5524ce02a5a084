"""sdweb.metrics: closed forms, reference implementations, edge cases.

LPIPS never touches the network here: an autouse fixture points
SDWEB_LPIPS_DIR at an empty folder (so lpips() is None), and the tests of the
computation save randomly initialised weights in LPIPS's file layout.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sdweb import metrics

KODAK = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kodak"
METRIC_KEYS = {"psnr", "ssim", "ms_ssim", "ssimulacra2", "lpips"}


def smooth_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A seeded smooth-plus-texture RGB image, values kept inside 10..245."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(x / 9.0)[..., None] * np.cos(y / 13.0)[..., None] * [1.0, 0.6, -0.8]
    return np.clip(base + rng.normal(0, 6, (h, w, 3)), 10, 245).astype(np.uint8)


def noisy(img: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def synthetic(h: int, w: int) -> np.ndarray:
    """Integer-only test image, same as tests/test_ssimulacra2.py's."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    tex = ((x * 7 + y * 13) ** 2 // 31) % 48
    img = np.stack([(x * 255) // max(w - 1, 1), ((y * 255) // max(h - 1, 1) + tex) // 2 + 40,
                    (((x // 8 + y // 8) % 2) * 150 + 50 + tex) // 2 + 30], axis=2)
    return np.clip(img, 0, 255).astype(np.uint8)


def quantize(img: np.ndarray, step: int) -> np.ndarray:
    return ((img.astype(np.int64) // step) * step + step // 2).clip(0, 255).astype(np.uint8)


@pytest.fixture(autouse=True)
def no_lpips_weights(tmp_path, monkeypatch):
    """Default: LPIPS weights unavailable, and no download attempted."""
    monkeypatch.setenv("SDWEB_LPIPS_DIR", str(tmp_path / "no-weights"))
    metrics._load_lpips.cache_clear()
    yield
    metrics._load_lpips.cache_clear()


@pytest.fixture(scope="module")
def random_lpips_dir(tmp_path_factory):
    """A folder with randomly initialised AlexNet and LPIPS linear weights."""
    torch = pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("lpips")
    gen = torch.Generator().manual_seed(0)
    state = {}
    for index, (out_c, in_c, k) in {0: (64, 3, 11), 3: (192, 64, 5), 6: (384, 192, 3),
                                    8: (256, 384, 3), 10: (256, 256, 3)}.items():
        state[f"features.{index}.weight"] = torch.randn(out_c, in_c, k, k, generator=gen) * (2 / (in_c * k * k)) ** 0.5
        state[f"features.{index}.bias"] = torch.zeros(out_c)
    torch.save(state, folder / "alexnet-owt-7be5be79.pth")
    # LPIPS's linear weights are non-negative; its file keys are linN.model.1.weight.
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1, generator=gen)
                for i, c in enumerate([64, 192, 384, 256, 256])}, folder / "alex.pth")
    return folder


# --- identical images, closed forms, references ----------------------------

def test_identical_images():
    img = smooth_image(48, 40)
    assert metrics.psnr(img, img) == math.inf
    assert metrics.ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    assert metrics.ms_ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    assert metrics.ssimulacra2(img, img) == 100.0


def test_psnr_of_a_constant_offset():
    img = smooth_image(32, 24)  # values <= 245, so +5 never clips
    shifted = img + np.uint8(5)
    assert metrics.psnr(img, shifted) == pytest.approx(10 * math.log10(255**2 / 25), abs=1e-12)
    assert metrics.psnr(shifted, img) == pytest.approx(metrics.psnr(img, shifted))


@pytest.mark.parametrize("shape,sigma", [((64, 48), 8.0), ((37, 53), 25.0), ((200, 177), 3.0)])
def test_ssim_matches_skimage(shape, sigma):
    skimage_metrics = pytest.importorskip("skimage.metrics")
    ref = smooth_image(*shape)
    test = noisy(ref, sigma)
    expected = skimage_metrics.structural_similarity(
        ref, test, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=255, channel_axis=2)
    assert metrics.ssim(ref, test) == pytest.approx(expected, abs=1e-10)


# Reference values: pytorch-msssim 1.0.0, ms_ssim(X, Y, data_range=255) on
# float64 NCHW tensors of these arrays. pytorch-msssim builds its window in
# float32, which moves its result by up to ~1e-6 from this float64 code.
def test_ms_ssim_matches_pytorch_msssim_on_synthetic():
    ref = synthetic(200, 177)  # odd width: exercises the padded 2x2 pooling
    assert metrics.ms_ssim(ref, quantize(ref, 24)) == pytest.approx(0.9419708419796047, abs=2e-6)


@pytest.mark.skipif(not KODAK.is_dir(), reason="needs ../shared/data/kodak")
def test_ms_ssim_matches_pytorch_msssim_on_kodak():
    from PIL import Image

    ref = np.asarray(Image.open(KODAK / "kodim23.png").convert("RGB"))
    assert metrics.ms_ssim(ref, quantize(ref, 16)) == pytest.approx(0.964196769349187, abs=2e-6)


def test_ms_ssim_uses_fewer_scales_on_small_images():
    ref = smooth_image(48, 60)
    value = metrics.ms_ssim(ref, noisy(ref, 10))
    assert 0.0 < value < 1.0
    # At 20 pixels only the single-scale term is left, with weight 1: SSIM.
    small = smooth_image(20, 30)
    distorted = noisy(small, 10)
    assert metrics.ms_ssim(small, distorted) == pytest.approx(metrics.ssim(small, distorted), rel=1e-12)


def test_ms_ssim_clamps_negative_terms():
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    inverted = 255 - ref  # anti-correlated: raw cs is negative
    value = metrics.ms_ssim(ref, inverted)
    assert value == 0.0


# --- monotonicity, sizes, errors -------------------------------------------

@pytest.mark.parametrize("name", ["psnr", "ssim", "ms_ssim", "ssimulacra2"])
def test_more_noise_scores_lower(name):
    ref = smooth_image(96, 80)
    fn = getattr(metrics, name)
    scores = [fn(ref, noisy(ref, sigma)) for sigma in (2, 8, 32)]
    assert scores[0] > scores[1] > scores[2]


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (3, 7), (2, 2), (12, 12)])
def test_small_sizes_do_not_crash(shape):
    ref = smooth_image(*shape)
    test = noisy(ref, 20)
    result = metrics.evaluate(ref, test)
    assert set(result) == METRIC_KEYS
    for key in METRIC_KEYS - {"lpips", "psnr"}:
        assert math.isfinite(result[key]), key
    assert result["lpips"] is None
    assert metrics.evaluate(ref, ref)["ssimulacra2"] == 100.0


@pytest.mark.parametrize("fn", [metrics.psnr, metrics.ssim, metrics.ms_ssim, metrics.ssimulacra2,
                                metrics.lpips, metrics.evaluate])
@pytest.mark.parametrize("ref,test", [
    (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8)),
    (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.float64)),
    (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8)),
    (np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 4), np.uint8)),
    (np.zeros((0, 8, 3), np.uint8), np.zeros((0, 8, 3), np.uint8)),
    ([[[0, 0, 0]]], [[[0, 0, 0]]]),
], ids=["shape-mismatch", "float-dtype", "2d", "rgba", "empty", "list"])
def test_bad_input_raises_value_error(fn, ref, test):
    with pytest.raises(ValueError) as info:
        fn(ref, test)
    assert "\n" not in str(info.value)


# --- size metrics ---------------------------------------------------------

def test_bits_per_pixel_and_compression_ratio():
    assert metrics.bits_per_pixel(49152, 768, 512) == 1.0
    assert metrics.compression_ratio(49152, 768, 512) == 24.0
    assert metrics.bits_per_pixel(0, 10, 10) == 0.0
    for bad in [(-1, 10, 10), (10, 0, 10), (10, 10, -3)]:
        with pytest.raises(ValueError):
            metrics.bits_per_pixel(*bad)
        with pytest.raises(ValueError):
            metrics.compression_ratio(*bad)
    with pytest.raises(ValueError):
        metrics.compression_ratio(0, 10, 10)


def test_evaluate_returns_every_metric():
    ref = smooth_image(64, 64)
    test = noisy(ref, 5)
    result = metrics.evaluate(ref, test)
    assert set(result) == METRIC_KEYS
    assert result["lpips"] is None
    for key in METRIC_KEYS - {"lpips"}:
        assert type(result[key]) is float
        assert result[key] == getattr(metrics, key)(ref, test)


# --- LPIPS ----------------------------------------------------------------

def test_lpips_is_none_without_weights():
    img = smooth_image(64, 64)
    assert metrics.lpips(img, noisy(img, 5)) is None


def test_lpips_load_failure_is_cached(monkeypatch):
    torch = pytest.importorskip("torch")
    calls = []

    def offline(url, *args, **kwargs):
        calls.append(url)
        raise OSError("no network")

    monkeypatch.delenv("SDWEB_LPIPS_DIR")
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    metrics._load_lpips.cache_clear()
    img = smooth_image(64, 64)
    assert metrics.lpips(img, img) is None
    assert metrics.lpips(img, noisy(img, 5)) is None
    assert len(calls) == 1


def test_lpips_with_weights(monkeypatch, random_lpips_dir):
    monkeypatch.setenv("SDWEB_LPIPS_DIR", str(random_lpips_dir))
    ref = smooth_image(64, 72)
    assert metrics.lpips(ref, ref) == pytest.approx(0.0, abs=1e-9)
    distances = [metrics.lpips(ref, noisy(ref, sigma)) for sigma in (2, 10, 40)]
    assert all(isinstance(d, float) for d in distances)
    assert 0.0 < distances[0] < distances[1] < distances[2]
    assert metrics.evaluate(ref, noisy(ref, 10))["lpips"] == distances[1]
    # AlexNet's second max-pool needs 31 pixels; smaller images give None.
    assert metrics.lpips(smooth_image(30, 64), smooth_image(30, 64)) is None


def test_lpips_bad_weight_file_gives_none(monkeypatch, tmp_path):
    (tmp_path / "alexnet-owt-7be5be79.pth").write_bytes(b"not a checkpoint")
    (tmp_path / "alex.pth").write_bytes(b"not a checkpoint")
    monkeypatch.setenv("SDWEB_LPIPS_DIR", str(tmp_path))
    img = smooth_image(64, 64)
    assert metrics.lpips(img, img) is None
