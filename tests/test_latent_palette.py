import numpy as np
import pytest

from sdweb.errors import FormatError, InputError, TargetSizeError
from sdweb.latent import codec_by_id, codec_by_name

palette = codec_by_name("palette")


def latent(channels=4, height=12, width=16, seed=0):
    rng = np.random.default_rng(seed)
    smooth = np.cumsum(rng.normal(0, 0.3, (channels, height, width)), axis=2)
    return smooth.astype(np.float32)


def test_round_trip_is_close_and_exact_in_shape():
    z = latent()
    payload = palette.encode(z)
    out = palette.decode(payload, z.shape)
    assert out.shape == z.shape and out.dtype == np.float32
    # 256 colours for 192 latent pixels: little more than 8-bit rounding error remains.
    span = z.max(axis=(1, 2)) - z.min(axis=(1, 2))
    rms = np.sqrt(np.mean((out - z) ** 2, axis=(1, 2)))
    assert np.all(rms <= span / 255 * 2), (rms, span / 255)


def test_fewer_colours_mean_fewer_bytes_and_more_error():
    z = latent(height=24, width=32)
    rich, poor = palette.encode(z, colors=256), palette.encode(z, colors=4)
    assert len(poor) < len(rich)
    err = lambda p: np.mean((palette.decode(p, z.shape) - z) ** 2)  # noqa: E731
    assert err(poor) > err(rich)


@pytest.mark.parametrize("limit", [120, 300, 800, 2000])
def test_rate_control_never_exceeds_the_target(limit):
    z = latent(height=24, width=32, seed=3)
    payload = palette.encode(z, max_bytes=limit)
    assert len(payload) <= limit
    assert palette.decode(payload, z.shape).shape == z.shape


def test_target_below_the_smallest_payload_reports_the_smallest():
    z = latent(height=24, width=32)
    with pytest.raises(TargetSizeError) as info:
        palette.encode(z, max_bytes=10)
    assert info.value.smallest > 10
    assert len(palette.encode(z, max_bytes=info.value.smallest)) <= info.value.smallest


def test_sixteen_channels_use_four_palettes():
    z = latent(channels=16)
    payload = palette.encode(z, colors=16)
    assert len(palette.describe(payload, z.shape)["groups"]) == 4
    assert palette.decode(payload, z.shape).shape == (16, 12, 16)


def test_bad_options_are_input_errors():
    with pytest.raises(InputError):
        palette.encode(latent(), colors=1)
    with pytest.raises(InputError):
        palette.encode(latent(), dithering=2)
    with pytest.raises(InputError):
        palette.encode(latent(channels=3))


def test_out_of_range_index_and_trailing_bytes_are_format_errors():
    z = latent()
    payload = palette.encode(z, colors=4)
    with pytest.raises(FormatError):
        palette.decode(payload + b"\x00", z.shape)
    with pytest.raises(FormatError):
        palette.decode(payload, (4, 12, 17))


def test_codec_registry():
    assert codec_by_id(palette.mode_id) is palette
    with pytest.raises(FormatError):
        codec_by_id(99)
    with pytest.raises(InputError):
        codec_by_name("nope")


def channels_last(z):
    """The memory layout of a latent that comes from a channels-last torch tensor."""
    return np.ascontiguousarray(z.transpose(1, 2, 0)).transpose(2, 0, 1)


def test_encoding_leaves_a_channels_last_latent_untouched():
    z = channels_last(latent(height=24, width=32))
    before = z.copy()
    palette.encode(z, max_bytes=600)
    np.testing.assert_array_equal(z, before)


@pytest.mark.parametrize("layout", [np.ascontiguousarray, channels_last])
def test_rate_control_keeps_the_quality_of_a_direct_encode(layout):
    # The quantizer once modified channels-last levels in place, so every step
    # of the search after the first saw a corrupted fourth channel.
    z = layout(latent(height=24, width=32, seed=5))
    direct = palette.encode(z, colors=128, dithering=0.0)
    searched = palette.encode(z, max_bytes=len(direct))
    err = lambda p: float(np.mean((palette.decode(p, z.shape) - z) ** 2))  # noqa: E731
    assert len(searched) <= len(direct)
    assert err(searched) <= err(direct) * 1.1
