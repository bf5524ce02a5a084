import os

import numpy as np
import pytest

from sdweb.errors import InputError, ModelNotAvailableError
from sdweb.models import MODELS, default_decoder, load_autoencoder, model_spec
from sdweb.families import FAMILIES


def test_registry_covers_every_family():
    assert {spec.family for spec in MODELS.values()} == set(FAMILIES)
    assert model_spec("taesd").hub_id == "madebyollin/taesd"
    assert default_decoder(FAMILIES["sd1"]) == "taesd"  # on CPU
    with pytest.raises(InputError, match="unknown model"):
        model_spec("sd99")


@pytest.mark.parametrize("name", ["taesd", "sd15", "taesd3"])
def test_tiny_models_load_through_the_registry(tiny_models, name):
    ae = load_autoencoder(name)
    assert load_autoencoder(name) is ae  # loaded once per process
    latent = ae.encode(np.full((16, 24, 3), 128, np.uint8))
    assert latent.shape == (ae.family.channels, 2, 3) and latent.dtype == np.float32
    assert ae.decode(latent).shape == (16, 24, 3)


def test_kl_latents_are_scaled_into_the_canonical_space(tiny_models):
    import torch

    ae = load_autoencoder("sd15")
    assert ae.scale == pytest.approx(0.18215)
    pixels = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        raw = ae.module.encode(pixels * 2 - 1).latent_dist.mode()
        assert torch.allclose(ae.encode_tensor(pixels), raw * 0.18215, atol=1e-5)


def test_missing_model_is_one_actionable_line(monkeypatch):
    # The full SD 1.5 VAE is in no cache here and the hub is offline.
    monkeypatch.delenv("SDWEB_MODEL_DIR", raising=False)
    with pytest.raises(ModelNotAvailableError) as info:
        load_autoencoder("sd15")
    message = str(info.value)
    assert "\n" not in message
    for needed in ("sd15", "stabilityai/sd-vae-ft-mse", "HF_HUB_CACHE", "SDWEB_MODEL_DIR", "--model-path"):
        assert needed in message


def test_model_path_must_exist():
    with pytest.raises(ModelNotAvailableError, match="not a folder"):
        load_autoencoder("taesd", model_path=os.path.join("no", "such", "dir"))
