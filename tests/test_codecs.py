import numpy as np
import pytest
from PIL import Image

from conftest import smooth_image
from sdweb.codecs import CLASSIC, JPEGXL, get_codec
from sdweb.errors import FormatError, InputError


@pytest.fixture(scope="module")
def photo():
    return Image.fromarray(smooth_image(64, 96, seed=7))


@pytest.mark.parametrize("name", sorted(CLASSIC))
def test_every_classic_codec_round_trips(photo, name):
    codec = get_codec(name)
    encoded = codec.encode(photo, quality=codec.default_knob)
    decoded = codec.decode(encoded.data)
    assert decoded.size == photo.size and decoded.mode == "RGB"
    err = np.abs(np.asarray(decoded, float) - np.asarray(photo, float)).mean()
    assert err < 12


@pytest.mark.parametrize("name", sorted(CLASSIC))
@pytest.mark.parametrize("target", [900, 2500])
def test_target_is_met_or_honestly_flagged(photo, name, target):
    codec = get_codec(name)
    encoded = codec.encode(photo, target_size=target)
    if encoded.over_target:
        # Only when even the lowest setting is over: then it is the smallest file.
        assert len(encoded.data) > target
        assert encoded.data == codec.save(photo, codec.knob_min)
    else:
        assert len(encoded.data) <= target
        # The next setting up would not have fit (bisection found the edge) unless at the top.
        if encoded.setting != codec.describe(codec.knob_max):
            knob = next(k for k in range(codec.knob_min, codec.knob_max + 1) if codec.describe(k) == encoded.setting)
            assert len(codec.save(photo, knob + 1)) > target or knob + 1 > codec.knob_max


def test_impossible_target_gives_the_smallest_file_flagged(photo):
    encoded = get_codec("jpeg").encode(photo, target_size=10)
    assert encoded.over_target and len(encoded.data) > 10 and encoded.notes


def test_jxl_distance_knob_spans_very_low_rates():
    assert JPEGXL.distance(0) == pytest.approx(25.0)
    assert JPEGXL.distance(100) == pytest.approx(0.2)
    assert JPEGXL.distance(40) > JPEGXL.distance(60)


@pytest.mark.parametrize("name", sorted(CLASSIC))
def test_garbage_is_a_format_error(name):
    with pytest.raises(FormatError):
        get_codec(name).decode(b"definitely not an image")


def test_unknown_codec_and_bad_quality():
    with pytest.raises(InputError, match="unknown codec"):
        get_codec("bpg")
    with pytest.raises(InputError, match="quality"):
        get_codec("jpeg").encode(Image.new("RGB", (8, 8)), quality=500)


def test_sd_codec_flags_an_impossible_target(tiny_models, photo):
    codec = get_codec("sd", model="taesd")
    encoded = codec.encode(photo, target_size=20)
    assert encoded.over_target and len(encoded.data) > 20
    assert codec.decode(encoded.data).size == photo.size
    ok = codec.encode(photo, target_size=2000)
    assert not ok.over_target and len(ok.data) <= 2000
