"""Gradio components adapted to hostile uploads."""

from __future__ import annotations

import gradio as gr
from PIL import Image

from .inputs import too_large_error, user_error

UNREADABLE = "This file is not an image we can read. Upload a PNG, JPEG, WebP, AVIF or TIFF file."


class UploadImage(gr.Image):
    """gr.Image whose upload failures reach the user as a gr.Error, not a server traceback.

    Gradio opens the upload with Pillow before our handler runs; an empty
    file, a text file or a decompression bomb would otherwise end in
    "The upstream Gradio app has raised an exception" and a logged traceback.
    """

    def get_block_name(self) -> str:
        return "image"  # the front end renders it as the plain Image component

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Image.DecompressionBombError as e:
            raise too_large_error(e) from None
        except Exception:  # noqa: BLE001 - whatever Pillow raises, the user's fix is the same
            raise user_error(UNREADABLE) from None
