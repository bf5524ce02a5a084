"""Check what the page or an API client sent and turn it into library arguments; mistakes become gr.Error sentences."""

from __future__ import annotations

import html

import gradio as gr
from PIL import Image

import sdweb

from .settings import max_pixels

MAX_TARGET_KB = 5000.0


def sentence(message) -> str:
    """``message`` as a sentence: capitalised and ending in a full stop (library errors are lower-case clauses)."""
    message = str(message).strip()
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def user_error(message: str) -> gr.Error:
    """A gr.Error for something the user can fix: shown on the page (as text), not logged with a traceback."""
    # Gradio shows the message as HTML; escaping keeps a file name such as "<b>.png" literal.
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def too_large_error(error: Exception) -> gr.Error:
    """The user's error for an upload Pillow refuses to open as a decompression bomb."""
    return user_error(f"The image is far too large to open ({error}). Downscale it and try again.")


def library_error(error: sdweb.SdwebError, steps: int | None) -> gr.Error:
    """The gr.Error for an error the library raised on user input; a missing UNet gets a way around it."""
    if isinstance(error, sdweb.ModelNotAvailableError) and steps:
        return user_error(sentence(error) + " Set denoise steps to auto or 0 to decode without the UNet.")
    return user_error(sentence(error))


def target_bytes(target_kb) -> int:
    """The target size in bytes from kB (1 kB = 1000 bytes); raises gr.Error unless 0 < kB ≤ MAX_TARGET_KB."""
    try:
        kb = float(target_kb)
    except (TypeError, ValueError):
        raise user_error("Enter the target size as a number of kB, for example 5.") from None
    if not 0 < kb <= MAX_TARGET_KB:  # also refuses NaN
        raise user_error(f"The target size must be between 0 and {MAX_TARGET_KB:,.0f} kB; you entered {kb:g} kB.")
    return max(1, round(kb * 1000))


def parse_steps(value) -> int | None:
    """None for "auto" (the library picks per device), else the whole number of UNet steps; raises gr.Error."""
    if value in (None, "", "auto"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise user_error(f"Denoise steps must be 'auto' or a whole number from 0 to 50, not {value!r}.") from None


def whole(value, name: str, low: int, high: int) -> int:
    """``value`` as a whole number from ``low`` to ``high`` (None means ``low``); raises gr.Error naming ``name``."""
    try:
        number = int(value if value is not None else low)
    except (TypeError, ValueError):
        raise user_error(f"The {name} must be a whole number from {low} to {high}.") from None
    if not low <= number <= high:
        raise user_error(f"The {name} must be from {low} to {high}; you entered {number}.")
    return number


def image_size(path) -> tuple[int, int] | None:
    """Width and height from the image file's header, or None if there is no file or it cannot be read."""
    if not path:
        return None
    try:
        with Image.open(path) as image:
            return image.size
    except Image.DecompressionBombError as e:
        raise too_large_error(e) from None
    except Exception:  # noqa: BLE001 - the library gives the real error when the image is used
        return None


def check_image(path) -> tuple[int, int]:
    """The size of the uploaded image; raises gr.Error if there is none, it is unreadable or over the pixel cap."""
    if not path:
        raise user_error("Upload an image first, or click one of the examples.")
    size = image_size(path)
    if size is None:
        raise user_error("This file is not an image we can read. Upload a PNG, JPEG, WebP, AVIF or TIFF file.")
    width, height = size
    limit = max_pixels()
    if width * height > limit:
        raise user_error(f"The image is {width}×{height} = {width * height / 1e6:.1f} megapixels; this app takes at "
                         f"most {limit / 1e6:.1f}. Downscale it and try again.")
    return size
