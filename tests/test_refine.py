import numpy as np
import pytest
import torch

from sdweb.errors import InputError
from sdweb.latent.entropy import downscale, quantize, upscale
from sdweb.models import load_autoencoder
from sdweb.refine import EFFORT_STEPS, _quantized, refine, steps_for


def test_straight_through_rounding_matches_the_codec():
    """Refinement must optimise for exactly the rounding the entropy mode applies."""
    values = np.random.default_rng(0).normal(0, 2, 1000).astype(np.float32)
    for step in (0.1, 0.37, 1.5):
        ours = _quantized(torch.from_numpy(values), step).numpy()
        np.testing.assert_allclose(ours, quantize(values, step) * step, atol=1e-5)


def test_effort_levels():
    assert steps_for(0) == 0 and steps_for(9) == EFFORT_STEPS[-1]
    assert list(EFFORT_STEPS) == sorted(EFFORT_STEPS)
    for bad in (-1, 10, 2.5, "3"):
        with pytest.raises(InputError):
            steps_for(bad)


@pytest.mark.parametrize("factor", [1, 2])
def test_refinement_lowers_the_decoder_error(tiny_models, factor):
    ae = load_autoencoder("taesd")
    rng = np.random.default_rng(1)
    pixels = (rng.random((32, 48, 3)) * 255).astype(np.uint8)
    latent = ae.encode(pixels)

    def error(z):
        return float(np.mean((ae.decode(z).astype(float) - pixels) ** 2))

    refined = refine(ae, pixels, latent, steps=8, quant_step=None, factor=factor)
    assert refined.shape == latent.shape
    start = upscale(downscale(latent, factor), factor, latent.shape[1:])  # where refinement begins
    assert error(refined) < error(start)
    np.testing.assert_array_equal(refine(ae, pixels, latent, steps=0), latent)
