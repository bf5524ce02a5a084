import struct
import zlib

import pytest

from sdweb import container
from sdweb.errors import FormatError, InputError


def make(payload=b"hello", **fields):
    header = container.Header(mode_id=1, family_id=1, width=fields.pop("width", 33), height=fields.pop("height", 17), **fields)
    return container.pack(header, payload)


def test_round_trip_keeps_every_field():
    data = make(b"\x00\x01payload", seed=1234, flags=container.FLAG_ALPHA_COMPOSITED)
    header, payload = container.unpack(data)
    assert payload == b"\x00\x01payload"
    assert (header.width, header.height, header.seed, header.mode_id, header.family_id) == (33, 17, 1234, 1, 1)
    assert header.as_dict()["alpha_composited"] is True
    assert header.latent_shape == (4, 3, 5)
    assert len(data) == container.OVERHEAD + len(payload)


def test_foreign_file_is_named():
    with pytest.raises(FormatError, match="not an .sdw file"):
        container.unpack(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)


@pytest.mark.parametrize("cut", range(0, 30))
def test_truncation_is_a_format_error(cut):
    data = make()
    with pytest.raises(FormatError):
        container.unpack(data[:cut] if cut < len(data) else data[:-1])


def test_checksum_catches_a_flipped_payload_bit():
    data = bytearray(make(b"some payload bytes"))
    data[20] ^= 0x04
    with pytest.raises(FormatError, match="checksum"):
        container.unpack(bytes(data))


def test_newer_version_is_refused_by_name():
    data = bytearray(make())
    data[4] = container.VERSION + 1
    body = bytes(data[:-4])
    with pytest.raises(FormatError, match="version"):
        container.unpack(body + struct.pack("<I", zlib.crc32(body)))


def test_claimed_size_is_checked_before_allocation():
    data = make(width=65535, height=65535)
    with pytest.raises(FormatError, match="too large"):
        container.unpack(data)
    # A caller may raise the cap explicitly.
    header, _ = container.unpack(data, max_pixels=65535 * 65535)
    assert header.width == 65535


def test_unknown_flags_and_family_are_refused():
    header = container.Header(mode_id=1, family_id=9, width=8, height=8)
    with pytest.raises(FormatError, match="family"):
        container.unpack(container.pack(header, b""))
    header = container.Header(mode_id=1, family_id=1, width=8, height=8, flags=0x80)
    with pytest.raises(FormatError, match="flags"):
        container.unpack(container.pack(header, b""))


def test_pack_rejects_impossible_headers():
    with pytest.raises(InputError):
        container.pack(container.Header(1, 1, 70000, 8), b"")
    with pytest.raises(InputError):
        container.pack(container.Header(1, 1, 8, 8, seed=-1), b"")
