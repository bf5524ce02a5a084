"""Bounds-checked reading and compact writing of little-endian binary fields.

Every parser of untrusted bytes in sdweb reads through :class:`Reader`, so a
truncated or malformed input always ends in a :class:`FormatError` naming the
field, never in an ``IndexError`` or ``struct.error``.
"""

from __future__ import annotations

import struct

from .errors import FormatError


class Reader:
    """Sequential reader over ``data``; every read checks that the bytes exist."""

    def __init__(self, data: bytes, what: str = "file"):
        self.data = memoryview(data)
        self.pos = 0
        self.what = what

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int, field: str) -> bytes:
        if n < 0 or n > self.remaining():
            raise FormatError(f"truncated {self.what}: {field} needs {n} bytes, {self.remaining()} left")
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def unpack(self, fmt: str, field: str):
        values = struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), field))
        return values[0] if len(values) == 1 else values

    def u8(self, field: str) -> int:
        return self.unpack("B", field)

    def u16(self, field: str) -> int:
        return self.unpack("H", field)

    def u32(self, field: str) -> int:
        return self.unpack("I", field)

    def varint(self, field: str) -> int:
        """Unsigned LEB128, at most 5 bytes (values < 2**35)."""
        value = 0
        for shift in range(0, 35, 7):
            byte = self.u8(field)
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
        raise FormatError(f"malformed {self.what}: {field} is not a valid length")

    def sized_bytes(self, field: str) -> bytes:
        """A varint length followed by that many bytes."""
        return self.take(self.varint(field), field)

    def expect_end(self) -> None:
        if self.remaining():
            raise FormatError(f"malformed {self.what}: {self.remaining()} unexpected trailing bytes")


def varint(value: int) -> bytes:
    """Encode a non-negative int as unsigned LEB128."""
    if value < 0:
        raise ValueError("varint must be non-negative")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sized_bytes(data: bytes) -> bytes:
    """``data`` prefixed with its length as a varint (read back with Reader.sized_bytes)."""
    return varint(len(data)) + data
