import numpy as np
import pytest

from sdweb.errors import FormatError
from sdweb.latent import lossless


@pytest.mark.parametrize("kind", ["random", "smooth", "flat"])
def test_every_coder_round_trips_and_the_smallest_wins(kind):
    rng = np.random.default_rng(1)
    plane = {
        "random": rng.integers(0, 256, (24, 40)),
        "smooth": np.add.outer(np.arange(24), np.arange(40)) % 256,
        "flat": np.full((24, 40), 7),
    }[kind].astype(np.uint8)
    coder, data = lossless.compress_plane(plane)
    np.testing.assert_array_equal(lossless.decompress_plane(coder, data, plane.shape), plane)
    assert len(data) <= plane.size


def test_decompression_is_bounded_by_the_expected_size():
    import zlib

    bomb = zlib.compress(b"\x00" * 10_000_000)
    with pytest.raises(FormatError, match="bytes, expected"):
        lossless.decompress_plane(lossless.ZLIB, bomb, (10, 10))


@pytest.mark.parametrize("coder", [lossless.RAW, lossless.ZLIB, lossless.LZMA, lossless.PNG, lossless.WEBP, 42])
def test_garbage_is_a_format_error(coder):
    with pytest.raises(FormatError):
        lossless.decompress_plane(coder, b"\x01\x02garbage", (10, 10))
