import numpy as np
import pytest

from sdweb.denoise import default_steps, load_denoiser
from sdweb.errors import ModelNotAvailableError


def test_default_is_off_on_cpu_and_on_for_sd1_on_gpu():
    assert default_steps("sd1", "cpu") == 0
    assert default_steps("sd1", "cuda") == 4
    assert default_steps("sdxl", "cuda") == 0


def test_tiny_unet_changes_the_latent_a_little_and_deterministically(tiny_models):
    denoiser = load_denoiser()
    latent = np.random.default_rng(0).normal(0, 0.8, (4, 5, 7)).astype(np.float32)
    a = denoiser(latent, steps=3, seed=7)
    b = denoiser(latent, steps=3, seed=7)
    c = denoiser(latent, steps=3, seed=8)
    assert a.shape == latent.shape  # odd sizes are padded for the UNet and cropped back
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(np.isfinite(a)) and not np.array_equal(a, latent)
    np.testing.assert_array_equal(denoiser(latent, steps=0), latent)


def test_missing_denoiser_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("SDWEB_MODEL_DIR", raising=False)  # and the hub is offline
    with pytest.raises(ModelNotAvailableError, match="stable-diffusion-v1-5"):
        load_denoiser()
