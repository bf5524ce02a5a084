"""Turning whatever a user hands us into an 8-bit RGB image, or a clear error.

Accepted: a PIL image, a path, raw file bytes, or a numpy array. Alpha is
composited on white, 16-bit and float images are scaled to 8 bits, EXIF
orientation is applied, animations give their first frame. Each such change
is reported in ``LoadedImage.notes`` so callers can tell the user.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError

DEFAULT_MAX_PIXELS = 16_000_000


def max_pixels_default() -> int:
    """The pixel cap: ``SDWEB_MAX_PIXELS`` if set, else 16 MP."""
    value = os.environ.get("SDWEB_MAX_PIXELS")
    if value is None:
        return DEFAULT_MAX_PIXELS
    try:
        return int(float(value))
    except ValueError:
        raise InputError(f"SDWEB_MAX_PIXELS must be a number, got {value!r}") from None


@dataclass
class LoadedImage:
    """An RGB 8-bit image plus what was done to get it there."""

    image: Image.Image
    notes: list[str] = field(default_factory=list)
    had_alpha: bool = False

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def check_pixel_count(width: int, height: int, max_pixels: int | None = None) -> None:
    """Raise InputError if ``width × height`` is empty or over the pixel cap."""
    limit = max_pixels_default() if max_pixels is None else max_pixels
    if width < 1 or height < 1:
        raise InputError(f"image has no pixels ({width}×{height})")
    if width * height > limit:
        raise InputError(
            f"image is {width}×{height} = {width * height / 1e6:.1f} MP, over the "
            f"{limit / 1e6:.1f} MP limit (raise it with max_pixels= or SDWEB_MAX_PIXELS)"
        )


def load_image(source, max_pixels: int | None = None) -> LoadedImage:
    """Load ``source`` (PIL image, path, bytes or numpy array) as 8-bit RGB.

    Raises InputError for anything that is not a readable image, is empty, or
    has more pixels than ``max_pixels`` (default ``SDWEB_MAX_PIXELS`` or 16 MP).
    """
    if isinstance(source, np.ndarray):
        return _from_array(source, max_pixels)
    if isinstance(source, Image.Image):
        return _from_pil(source, max_pixels, name="image")
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise InputError("the image file is empty (0 bytes)")
        return _open_and_convert(io.BytesIO(bytes(source)), "image data", max_pixels)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"no such image file: {path}")
        if path.stat().st_size == 0:
            raise InputError(f"{path.name} is empty (0 bytes)")
        with open(path, "rb") as f:
            return _open_and_convert(f, path.name, max_pixels)
    raise InputError(f"cannot use a {type(source).__name__} as an image (give a path, bytes, PIL image or array)")


def _open_and_convert(fp, name: str, max_pixels: int | None) -> LoadedImage:
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1× and 2× its bomb limit; we want an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(fp)
            # Check the size from the header before decoding a single pixel.
            check_pixel_count(*image.size, max_pixels)
            image.load()
            return _from_pil(image, max_pixels, name)
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InputError(f"{name} looks like a decompression bomb: {e}") from None
    except UnidentifiedImageError:
        raise InputError(f"cannot identify {name} as an image (is it a PNG, JPEG, WebP, …?)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise InputError(f"cannot read {name}: it is truncated or corrupted ({e})") from None


def _from_pil(image: Image.Image, max_pixels: int | None, name: str) -> LoadedImage:
    check_pixel_count(*image.size, max_pixels)
    notes: list[str] = []
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        image.seek(0)
        notes.append(f"{name} is animated ({frames} frames); only the first frame is used")
    try:
        rotated = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not stop the image
        rotated = image
        notes.append("EXIF orientation could not be read and was ignored")
    if rotated is not image and rotated.size != image.size:
        notes.append("EXIF orientation applied (image rotated)")
    elif rotated is not image and image.getexif().get(0x0112, 1) != 1:
        notes.append("EXIF orientation applied")
    image = rotated
    rgb, had_alpha, more = _to_rgb8(image)
    notes.extend(more)
    return LoadedImage(rgb, notes, had_alpha)


def _to_rgb8(image: Image.Image) -> tuple[Image.Image, bool, list[str]]:
    """Convert any Pillow mode to 8-bit RGB, compositing transparency on white."""
    notes = []
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
        if mode == "F" and array.max() <= 1.0:
            top = 1.0
        notes.append(f"{'16-bit' if top == 65535.0 else mode} image reduced to 8 bits per channel")
        gray = np.clip(np.round(array / top * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB"), False, notes
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        if rgba.getextrema()[3][0] < 255:
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            notes.append("transparent areas composited on white")
            return Image.alpha_composite(white, rgba).convert("RGB"), True, notes
        return rgba.convert("RGB"), False, notes
    if mode == "CMYK":
        notes.append("CMYK image converted to RGB")
    return image.convert("RGB"), False, notes


def _from_array(array: np.ndarray, max_pixels: int | None) -> LoadedImage:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InputError(f"an image array must be H×W, H×W×3 or H×W×4, got shape {array.shape}")
    check_pixel_count(array.shape[1], array.shape[0], max_pixels)
    notes = []
    if array.dtype == np.uint8:
        data = array
    elif array.dtype == np.uint16:
        data = np.round(array.astype(np.float64) / 257.0).astype(np.uint8)
        notes.append("16-bit image reduced to 8 bits per channel")
    elif np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise InputError("the image array contains NaN or infinite values")
        data = np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        raise InputError(f"unsupported image array dtype {array.dtype} (use uint8, uint16 or float in [0, 1])")
    mode = "L" if data.ndim == 2 else ("RGB" if data.shape[2] == 3 else "RGBA")
    loaded = _from_pil(Image.fromarray(np.ascontiguousarray(data), mode), max_pixels, "image")
    loaded.notes[:0] = notes
    return loaded
