"""Latent codecs: turning a float latent into bytes and back, model-agnostic numpy.

``CODECS`` maps a mode name to its codec; the container stores the codec's
``mode_id``. Add a mode by writing a :class:`LatentCodec` and listing it here.
"""

from ..errors import FormatError, InputError
from .base import LatentCodec
from .entropy import EntropyCodec
from .palette import PaletteCodec

CODECS: dict[str, LatentCodec] = {codec.name: codec for codec in (PaletteCodec(), EntropyCodec())}
_BY_ID = {codec.mode_id: codec for codec in CODECS.values()}


def codec_by_name(name: str) -> LatentCodec:
    """The latent codec called ``name``; InputError listing the modes if unknown."""
    try:
        return CODECS[name]
    except KeyError:
        raise InputError(f"unknown mode {name!r} (choose from: {', '.join(CODECS)})") from None


def codec_by_id(mode_id: int) -> LatentCodec:
    """The latent codec stored as ``mode_id`` in a file; FormatError if unknown."""
    try:
        return _BY_ID[mode_id]
    except KeyError:
        raise FormatError(f"unknown coding mode {mode_id} (written by a newer sdweb?)") from None


__all__ = ["CODECS", "LatentCodec", "codec_by_id", "codec_by_name"]
