import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import sdweb
from conftest import smooth_image
from sdweb import container
from sdweb.errors import FormatError, InputError, TargetSizeError


def psnr(a, b):
    mse = np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)
    return 10 * np.log10(255**2 / mse)


@pytest.mark.parametrize("mode, options", [("palette", {"colors": 16}), ("entropy", {"step": 0.3})])
@pytest.mark.parametrize("model", ["taesd", "taesdxl", "taesd3", "taef1", "sd15"])
def test_round_trip_every_mode_and_family_with_tiny_models(tiny_models, model, mode, options):
    pixels = smooth_image(37, 53)  # not a multiple of 8: padded on encode, cropped on decode
    data = sdweb.encode(pixels, model=model, mode=mode, **options)
    info = sdweb.info(data)
    assert info["width"] == 53 and info["height"] == 37 and info["mode"] == mode
    image = sdweb.decode(data, model=model)
    assert image.size == (53, 37) and image.mode == "RGB"


def test_a_taesd_file_decodes_through_the_sd15_path(tiny_models):
    data = sdweb.encode(smooth_image(), model="taesd")
    assert sdweb.info(data)["family"] == "sd1"
    assert sdweb.decode(data, model="sd15").size == (64, 48)


def test_a_decoder_of_another_family_is_refused(tiny_models):
    data = sdweb.encode(smooth_image(), model="taesdxl")
    with pytest.raises(InputError, match="sdxl"):
        sdweb.decode(data, model="taesd")
    with pytest.raises(InputError, match="denois"):
        sdweb.decode(data, denoise_steps=2)


def test_denoising_decode_is_deterministic_and_uses_the_stored_seed(tiny_models):
    pixels = smooth_image()
    data = sdweb.encode(pixels, seed=5)
    a, b = sdweb.decode(data, denoise_steps=2), sdweb.decode(data, denoise_steps=2)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other_seed = sdweb.decode(sdweb.encode(pixels, seed=6), denoise_steps=2)
    assert not np.array_equal(np.asarray(a), np.asarray(other_seed))
    assert not np.array_equal(np.asarray(a), np.asarray(sdweb.decode(data, denoise_steps=0)))
    with pytest.raises(InputError):
        sdweb.decode(data, denoise_steps=99)


@pytest.mark.parametrize("mode", ["palette", "entropy"])
@pytest.mark.parametrize("target", [150, 400, 1000])
def test_rate_control_never_exceeds_the_target(tiny_models, target, mode):
    data = sdweb.encode(smooth_image(96, 128, seed=2), target_size=target, mode=mode)
    assert len(data) <= target


@pytest.mark.parametrize("mode", ["palette", "entropy"])
def test_refinement_brings_the_decoded_image_closer(tiny_models, mode):
    pixels = smooth_image(32, 48, seed=9)
    plain = sdweb.decode(sdweb.encode(pixels, target_size=600, mode=mode))
    refined_file = sdweb.encode(pixels, target_size=600, mode=mode, effort=3)
    assert len(refined_file) <= 600
    assert psnr(pixels, sdweb.decode(refined_file)) > psnr(pixels, plain)
    with pytest.raises(InputError, match="effort"):
        sdweb.encode(pixels, effort=10)


def test_a_target_below_the_smallest_file_names_the_smallest(tiny_models):
    pixels = smooth_image(96, 128, seed=2)
    with pytest.raises(TargetSizeError, match="smallest file is") as info:
        sdweb.encode(pixels, target_size=30)
    assert len(sdweb.encode(pixels, target_size=info.value.smallest)) <= info.value.smallest
    with pytest.raises(InputError):
        sdweb.encode(pixels, target_size=0)


def test_encoding_is_deterministic(tiny_models):
    assert sdweb.encode(smooth_image(), target_size=500) == sdweb.encode(smooth_image(), target_size=500)


def test_alpha_input_is_flagged_in_the_file_and_the_result(tiny_models):
    rgba = np.dstack([smooth_image(16, 16), np.full((16, 16), 100, np.uint8)])
    data = sdweb.encode(rgba)
    assert sdweb.info(data)["alpha_composited"] is True
    assert any("white" in note for note in data.notes)


def test_unknown_option_and_mode_are_input_errors(tiny_models):
    with pytest.raises(InputError, match="unknown option"):
        sdweb.encode(smooth_image(), colours=3)
    with pytest.raises(InputError, match="unknown mode"):
        sdweb.encode(smooth_image(), mode="jpeg")


def small_file(mode="palette"):
    pixels = smooth_image(16, 24, seed=4)
    return sdweb.encode(pixels, colors=4) if mode == "palette" else sdweb.encode(pixels, mode=mode, step=0.5)


@pytest.mark.parametrize("mode", ["palette", "entropy"])
def test_truncation_at_every_byte_is_a_format_error(tiny_models, mode):
    data = small_file(mode)
    for cut in range(len(data)):
        with pytest.raises(FormatError):
            sdweb.decode(data[:cut])


@pytest.mark.parametrize("mode", ["palette", "entropy"])
def test_random_bit_flips_are_format_errors(tiny_models, mode):
    data = small_file(mode)
    rng = np.random.default_rng(0)
    for _ in range(300):
        corrupted = bytearray(data)
        for bit in rng.choice(8 * len(data), size=int(rng.integers(1, 4)), replace=False):
            corrupted[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(FormatError):
            sdweb.decode(bytes(corrupted))


@pytest.mark.parametrize("mode", ["palette", "entropy"])
def test_payload_corruption_behind_a_valid_checksum_only_raises_format_error(tiny_models, mode):
    """With the CRC recomputed, the payload parser itself must reject or survive garbage."""
    data = small_file(mode)
    body_len = len(data) - 4
    rng = np.random.default_rng(1)
    outcomes = set()
    for _ in range(300):
        body = bytearray(data[:body_len])
        position = int(rng.integers(container.HEADER_SIZE, body_len))
        body[position] = int(rng.integers(0, 256))
        forged = bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)))
        try:
            image = sdweb.decode(forged)
            assert image.size == (24, 16)
            outcomes.add("decoded")
        except FormatError:
            outcomes.add("format error")
    assert "format error" in outcomes


def test_real_taesd_round_trip_on_a_photo(real_taesd, kodak_dir):
    original = Image.open(kodak_dir / "kodim23.png").convert("RGB")
    data = sdweb.encode(original, target_size=7000, model="taesd")
    assert len(data) <= 7000
    decoded = sdweb.decode(data, model="taesd")
    assert decoded.size == original.size
    assert psnr(original, decoded) > 22  # measured ≈ 25 dB; noise would give < 12


def test_real_taesd_odd_size_crop(real_taesd, kodak_dir):
    original = Image.open(kodak_dir / "kodim03.png").convert("RGB").crop((100, 100, 213, 170))
    decoded = sdweb.decode(sdweb.encode(original, model="taesd"))
    assert decoded.size == (113, 70)
    assert psnr(original, decoded) > 20


def test_auto_picks_a_latent_space_and_the_file_says_which(tiny_models):
    pixels = smooth_image(32, 40, seed=3)
    data = sdweb.encode(pixels, target_size=900, model="auto", mode="entropy")
    assert len(data) <= 900 and data.model in ("taesd", "taesd3")
    assert sdweb.info(data)["family"] == {"taesd": "sd1", "taesd3": "sd3"}[data.model]
    assert sdweb.decode(data).size == (40, 32)
    with pytest.raises(TargetSizeError):
        sdweb.encode(pixels, target_size=25, model="auto", mode="entropy")
