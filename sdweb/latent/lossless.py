"""Lossless coding of 8-bit planes: try several general-purpose coders, keep the smallest.

The palette mode stores an index map per latent; which coder wins depends on
the image (zlib, LZMA, PNG's filters or WebP-lossless's spatial prediction),
so we measure all of them on every encode. Decompression is bounded by the
expected plane size, so a hostile payload cannot inflate into gigabytes.
"""

from __future__ import annotations

import io
import lzma
import warnings
import zlib

import numpy as np
from PIL import Image

from ..errors import FormatError

RAW, ZLIB, LZMA, PNG, WEBP = range(5)
NAMES = {RAW: "raw", ZLIB: "zlib", LZMA: "lzma", PNG: "png", WEBP: "webp-lossless"}
_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


def compress_plane(plane: np.ndarray) -> tuple[int, bytes]:
    """Return ``(coder_id, data)`` for the smallest lossless coding of a 2-D uint8 plane."""
    plane = np.ascontiguousarray(plane, dtype=np.uint8)
    raw = plane.tobytes()
    candidates = {
        RAW: raw,
        ZLIB: zlib.compress(raw, 9),
        LZMA: lzma.compress(raw, format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS),
        PNG: _pillow_bytes(plane, "PNG", optimize=True),
        WEBP: _pillow_bytes(plane, "WEBP", lossless=True, quality=100, method=6, exact=True),
    }
    coder = min(candidates, key=lambda k: (len(candidates[k]), k))
    return coder, candidates[coder]


def decompress_plane(coder: int, data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`compress_plane`; raises FormatError unless exactly ``shape`` comes out."""
    height, width = shape
    expected = height * width
    if coder == RAW:
        out = data
    elif coder == ZLIB:
        out = _bounded(zlib.decompressobj(), data, expected, "zlib")
    elif coder == LZMA:
        # A raw LZMA2 stream of n bytes never reaches back further than n, so a
        # dictionary of the plane's size decodes it; preset 9's 64 MiB would be
        # reserved for every index map otherwise.
        filters = [{"id": lzma.FILTER_LZMA2, "dict_size": max(4096, expected)}]
        out = _bounded(lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=filters), data, expected, "lzma")
    elif coder in (PNG, WEBP):
        return _pillow_plane(data, shape, NAMES[coder])
    else:
        raise FormatError(f"unknown lossless coder id {coder}")
    if len(out) != expected:
        raise FormatError(f"index map has {len(out)} bytes, expected {expected}")
    return np.frombuffer(out, dtype=np.uint8).reshape(height, width)


def _pillow_bytes(plane: np.ndarray, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    image = Image.fromarray(plane, "L")
    if fmt == "WEBP":
        # WebP has no grey mode; Pillow would convert anyway, we say so.
        image = image.convert("RGB")
    image.save(buf, fmt, **params)
    return buf.getvalue()


def _bounded(decompressor, data: bytes, expected: int, name: str) -> bytes:
    try:
        out = decompressor.decompress(data, expected + 1)
    except (zlib.error, lzma.LZMAError, EOFError) as e:
        raise FormatError(f"corrupted {name} stream in the index map ({e})") from None
    return out


#: What each image coder must decode to: its format and the pixel modes we write.
_EXPECTED = {"png": ("PNG", ("L",)), "webp-lossless": ("WEBP", ("RGB", "RGBA"))}


def _pillow_plane(data: bytes, shape: tuple[int, int], name: str) -> np.ndarray:
    fmt, modes = _EXPECTED[name]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data), formats=[fmt])
            # Check what the header claims before any pixel is decoded: a
            # bilevel or 16-bit PNG would not index a palette as 8-bit values.
            if image.size != (shape[1], shape[0]):
                raise FormatError(f"{name} index map is {image.size}, expected {(shape[1], shape[0])}")
            if image.mode not in modes:
                raise FormatError(f"{name} index map has pixel mode {image.mode}, expected {' or '.join(modes)}")
            image.load()
    except FormatError:
        raise
    except Exception as e:  # noqa: BLE001 - Pillow raises many types on corrupt data
        raise FormatError(f"corrupted {name} index map ({type(e).__name__})") from None
    array = np.asarray(image)
    return np.ascontiguousarray(array if array.ndim == 2 else array[:, :, 0])
