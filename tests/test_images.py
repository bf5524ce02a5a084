import io

import numpy as np
import pytest
from PIL import Image

from conftest import smooth_image
from sdweb.errors import InputError
from sdweb.images import load_image


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def test_rgb_passes_through_unchanged():
    pixels = smooth_image(9, 7)
    loaded = load_image(pixels)
    assert loaded.image.mode == "RGB" and loaded.notes == []
    np.testing.assert_array_equal(np.asarray(loaded.image), pixels)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_composited_on_white_and_said(mode):
    image = Image.new(mode, (4, 4), (0, 0) if mode == "LA" else (0, 0, 0, 0))
    loaded = load_image(image)
    assert loaded.had_alpha and any("white" in n for n in loaded.notes)
    assert np.asarray(loaded.image).min() == 255


def test_opaque_rgba_is_not_reported_as_alpha():
    loaded = load_image(Image.new("RGBA", (3, 3), (10, 20, 30, 255)))
    assert not loaded.had_alpha and loaded.image.getpixel((0, 0)) == (10, 20, 30)


def test_palette_png_with_transparency():
    image = Image.new("P", (4, 4), 0)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.putpixel((1, 1), 1)
    loaded = load_image(encoded(image, "PNG", transparency=0))
    assert loaded.had_alpha
    assert loaded.image.getpixel((0, 0)) == (255, 255, 255)
    assert loaded.image.getpixel((1, 1)) == (0, 255, 0)


def test_grey_and_cmyk_become_rgb():
    assert load_image(Image.new("L", (2, 2), 77)).image.getpixel((0, 0)) == (77, 77, 77)
    cmyk = load_image(encoded(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG"))
    r, g, b = cmyk.image.getpixel((0, 0))
    assert r > 200 and g < 60 and b < 60
    assert any("CMYK" in n for n in cmyk.notes)


def test_sixteen_bit_png_is_scaled_to_8_bits():
    array = (np.arange(16, dtype=np.uint16).reshape(4, 4) * 4000)
    loaded = load_image(encoded(Image.fromarray(array), "PNG"))
    assert loaded.image.getpixel((3, 3))[0] == round(60000 / 65535 * 255)
    assert any("16-bit" in n for n in loaded.notes)


def test_sixteen_bit_array_and_float_array():
    assert load_image(np.full((2, 2, 3), 65535, np.uint16)).image.getpixel((0, 0)) == (255, 255, 255)
    assert load_image(np.full((2, 2, 3), 0.5, np.float32)).image.getpixel((0, 0)) == (128, 128, 128)
    with pytest.raises(InputError, match="NaN"):
        load_image(np.full((2, 2, 3), np.nan, np.float32))


def test_exif_orientation_is_applied():
    image = Image.fromarray(smooth_image(6, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    loaded = load_image(encoded(image, "JPEG", exif=exif.tobytes()))
    assert loaded.size == (6, 10)
    assert any("EXIF" in n for n in loaded.notes)


def test_animation_uses_first_frame_and_says_so():
    frames = [Image.new("RGB", (5, 5), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    loaded = load_image(data)
    assert loaded.image.getpixel((2, 2))[0] > 200
    assert any("first frame" in n for n in loaded.notes)


@pytest.mark.parametrize(
    "source, message",
    [
        (b"", "empty"),
        (b"this is not an image at all", "cannot identify"),
        ("/no/such/file.png", "no such image"),
        (np.zeros((0, 4, 3), np.uint8), "no pixels"),
        (np.zeros((4, 4, 2), np.uint8), "shape"),
        (12345, "cannot use"),
    ],
)
def test_bad_inputs_give_one_clear_error(source, message):
    with pytest.raises(InputError, match=message):
        load_image(source)


def test_truncated_png_is_reported():
    data = encoded(Image.fromarray(smooth_image(64, 64)), "PNG")
    with pytest.raises(InputError, match="truncated|cannot"):
        load_image(data[: len(data) // 2])


def test_pixel_cap_checked_from_the_header():
    data = encoded(Image.new("L", (300, 300)), "PNG")
    with pytest.raises(InputError, match="MP limit"):
        load_image(data, max_pixels=10_000)


def test_pillow_bomb_guard_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(InputError, match="decompression bomb"):
        load_image(encoded(Image.new("L", (40, 40)), "PNG"), max_pixels=10**9)
