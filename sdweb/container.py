"""The .sdw file format: a small fixed header, a mode-specific payload, a CRC.

Layout (all integers little-endian; see docs/format.md for the full story)::

    offset  size  field
    0       4     magic  b"\\x89SDW"
    4       1     format version (this module writes VERSION, reads 1..VERSION)
    5       1     mode id           (1 = palette, 2 = entropy)
    6       1     latent family id  (1 = sd1, 2 = sdxl, 3 = sd3, 4 = flux)
    7       1     flags             (bit 0: source alpha was composited on white)
    8       2     image width  (pixels, 1..65535)
    10      2     image height (pixels, 1..65535)
    12      4     seed for the denoising decoder
    16      n     payload (parsed by the mode's latent codec)
    16+n    4     CRC-32 of every preceding byte

Everything is validated before anything is allocated from it: :func:`unpack`
raises FormatError with a one-line reason for truncated, corrupted, foreign
or newer-version files.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import asdict, dataclass

from .errors import FormatError, InputError
from .families import Family, family_by_id, latent_size
from .images import check_pixel_count

MAGIC = b"\x89SDW"
VERSION = 1
_HEADER = struct.Struct("<4sBBBBHHI")
HEADER_SIZE = _HEADER.size
OVERHEAD = HEADER_SIZE + 4  # header plus the trailing CRC
FLAG_ALPHA_COMPOSITED = 1
_KNOWN_FLAGS = FLAG_ALPHA_COMPOSITED
MAX_SIDE = 65535


@dataclass(frozen=True)
class Header:
    """The fixed fields of an .sdw file."""

    mode_id: int
    family_id: int
    width: int
    height: int
    seed: int = 0
    flags: int = 0
    version: int = VERSION

    @property
    def family(self) -> Family:
        return family_by_id(self.family_id)

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        return (self.family.channels, *latent_size(self.width, self.height))

    def as_dict(self) -> dict:
        info = asdict(self)
        info["family"] = self.family.name
        info["alpha_composited"] = bool(self.flags & FLAG_ALPHA_COMPOSITED)
        return info


def pack(header: Header, payload: bytes) -> bytes:
    """Serialise ``header`` and ``payload`` into the bytes of an .sdw file."""
    if not (1 <= header.width <= MAX_SIDE and 1 <= header.height <= MAX_SIDE):
        raise InputError(f"image sides must be 1..{MAX_SIDE} pixels, got {header.width}×{header.height}")
    if not 0 <= header.seed < 2**32:
        raise InputError(f"seed must be in 0..{2**32 - 1}, got {header.seed}")
    head = _HEADER.pack(
        MAGIC, VERSION, header.mode_id, header.family_id, header.flags, header.width, header.height, header.seed
    )
    body = head + bytes(payload)
    return body + struct.pack("<I", zlib.crc32(body))


def unpack(data: bytes, max_pixels: int | None = None) -> tuple[Header, bytes]:
    """Validate an .sdw file and split it into its header and payload.

    Raises FormatError naming the first problem found. ``max_pixels`` bounds
    the image size a file may claim (default: the encoder's pixel cap).
    """
    data = bytes(data)
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        if len(data) < len(MAGIC) and MAGIC.startswith(data):
            raise FormatError(f"truncated .sdw file: {len(data)} bytes")
        raise FormatError("not an .sdw file (wrong magic bytes)")
    if len(data) < OVERHEAD:
        raise FormatError(f"truncated .sdw file: {len(data)} bytes, a header alone needs {OVERHEAD}")
    magic, version, mode_id, family_id, flags, width, height, seed = _HEADER.unpack_from(data)
    if version == 0 or version > VERSION:
        raise FormatError(f"unsupported .sdw format version {version} (this sdweb reads 1 to {VERSION})")
    (stored_crc,) = struct.unpack_from("<I", data, len(data) - 4)
    if zlib.crc32(data[:-4]) != stored_crc:
        raise FormatError("corrupted or truncated .sdw file (checksum mismatch)")
    if flags & ~_KNOWN_FLAGS:
        raise FormatError(f"unknown header flags 0x{flags:02x}")
    if width == 0 or height == 0:
        raise FormatError(f"invalid image size {width}×{height}")
    try:
        check_pixel_count(width, height, max_pixels)
    except InputError as e:
        raise FormatError(f"file claims an image too large to decode: {e}") from None
    header = Header(mode_id, family_id, width, height, seed, flags, version)
    header.family  # raises FormatError for an unknown family
    return header, data[HEADER_SIZE:-4]
