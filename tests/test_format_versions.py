"""Files written by earlier sdweb versions must keep decoding.

``tests/data/golden`` holds files as they were written, with the latent each
decodes to. When the format changes, add new golden files; never rewrite these.
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import sdweb
from sdweb.sdcodec import decode_latent

GOLDEN = Path(__file__).parent / "data" / "golden"
FILES = [("cat_palette_v1.sdw", "palette"), ("cat_entropy_v1.sdw", "entropy")]


@pytest.mark.parametrize("name, mode", FILES)
def test_golden_file_decodes_to_the_same_latent(name, mode):
    data = (GOLDEN / name).read_bytes()
    header, latent = decode_latent(data)
    assert header.version == 1 and sdweb.info(data)["mode"] == mode
    np.testing.assert_array_equal(latent, np.load(GOLDEN / name.replace(".sdw", "_latent.npy")))


@pytest.mark.parametrize("name, mode", FILES)
def test_golden_file_decodes_to_the_image_with_real_taesd(real_taesd, name, mode):
    original = np.asarray(Image.open(GOLDEN / "cat_crop.png"), dtype=float)
    decoded = np.asarray(sdweb.decode((GOLDEN / name).read_bytes(), model="taesd"), dtype=float)
    assert decoded.shape == original.shape
    assert 10 * np.log10(255**2 / np.mean((decoded - original) ** 2)) > 24  # 26.0 / 26.3 dB when written
