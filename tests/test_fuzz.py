"""Fuzzing the .sdw decoder: whatever the bytes, only FormatError escapes, in bounded time and memory.

Three kinds of input, each built from a ``random.Random`` seeded by hypothesis, derandomized and
database-less so every CI run tries the same inputs:

- **mutations** of small valid files (palette and entropy, 4- and 16-channel families): truncations,
  bit flips, byte overwrites, insertions, deletions, splices, random header fields. The trailing CRC is
  recomputed for most of them, otherwise the checksum would reject everything and no parser would run;
- **structured palette payloads**: every field drawn from valid, boundary and absurd values (palette
  sizes, lossless coder ids, index maps in every Pillow mode, zlib/LZMA bombs, absurd varint lengths);
- **structured entropy payloads**: versions, step indices, grid factors, residual alphabets, extreme
  prediction weights and biases, random or truncated coded streams.

Each input goes through :func:`sdweb.sdcodec.decode_latent` (the parsers, no model) and
:func:`sdweb.info`; a subset through ``python -m sdweb info`` (in process) and the full
:func:`sdweb.decode` with the tiny random models. The bounds: TIME_BOUND_S per input, and traced memory at
most MEMORY_BASE + MEMORY_PER_VALUE per latent value the validated header implies: nothing may be
allocated from a length field the decoder has not checked.

``tests/fuzz_corpus/*.sdw`` holds the regression corpus (found cases and seeds), replayed by
``test_corpus_replays``; ``corpus.json`` there says what each file is and, where it matters, the expected
outcome. ``python scripts/fuzz_long.py --seconds 600`` runs the same generators for longer.
"""

from __future__ import annotations

import contextlib
import io
import json
import lzma
import os
import random
import signal
import struct
import threading
import time
import tracemalloc
import warnings
import zlib
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

import sdweb
from sdweb import container, sdcodec
from sdweb.binary import sized_bytes, varint
from sdweb.cli import main as cli_main
from sdweb.errors import FormatError
from sdweb.families import FAMILIES, family_by_id, latent_size
from sdweb.latent import CODECS, context, lossless

CORPUS = Path(__file__).parent / "fuzz_corpus"
TIME_BOUND_S = 5.0  # per input; generous for two shared CPU cores, small inputs take milliseconds
TIME_PER_VALUE = 2e-6  # and per latent value the header claims (see time_bound)
MEMORY_BASE = 16 * 2**20
MEMORY_PER_VALUE = 64  # bytes per latent value (channels × h × w) of the header's latent shape
#: Largest image side the entropy generators use.
ENTROPY_MAX_SIDE = 65535
#: Extra memory tolerated by the random fuzz tests for known, accepted costs (none now).
KNOWN_ALLOWANCE = 0
E2E_MAX_PIXELS = 256 * 256  # the full decoder runs a model: keep the images it may be asked for small

_HEADER = struct.Struct("<4sBBBBHHI")


def fuzz_settings(examples: int) -> settings:
    """Deterministic and bounded: the same ``examples`` inputs on every run, no example database."""
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# --- building files -----------------------------------------------------------------------------------------


def raw_file(payload: bytes, *, mode_id: int, family_id: int = 1, width: int = 40, height: int = 24,
             version: int = container.VERSION, flags: int = 0, seed: int = 0, magic: bytes = container.MAGIC) -> bytes:
    """An .sdw file with any header fields at all (container.pack refuses invalid ones), CRC included."""
    head = _HEADER.pack(magic, version & 0xFF, mode_id & 0xFF, family_id & 0xFF, flags & 0xFF,
                        width & 0xFFFF, height & 0xFFFF, seed & 0xFFFFFFFF)
    return with_crc(head + payload)


def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def seed_files() -> dict[str, bytes]:
    """Small valid files, model-free: both modes, 4- and 16-channel families, every entropy grid factor."""
    rng = np.random.default_rng(6)
    files = {}
    for family, (width, height) in (("sd1", (40, 24)), ("sd3", (24, 16))):
        fam = FAMILIES[family]
        latent = rng.normal(0, 1.2, size=(fam.channels, *latent_size(width, height))).astype(np.float32)
        files[f"palette-{family}"] = container.pack(
            container.Header(1, fam.id, width, height), CODECS["palette"].encode(latent, colors=6))
        for factor in (1, 2, 4) if family == "sd1" else (1,):
            payload = CODECS["entropy"].encode(latent, step=0.5, factor=factor)
            files[f"entropy-{family}-f{factor}"] = container.pack(
                container.Header(2, fam.id, width, height, seed=7), payload)
    for coder in lossless.NAMES:  # one palette file per index-map coder, so each decompressor sees mutations
        files[f"palette-sd1-{lossless.NAMES[coder]}"] = raw_file(
            palette_payload(rng, 4, (3, 5), coder=coder), mode_id=1, width=40, height=24)
    return files


def palette_payload(rng, channels: int, shape: tuple[int, int], coder: int, colors: int = 5) -> bytes:
    """A valid palette payload whose index maps are coded with ``coder``."""
    ranges = np.sort(rng.normal(0, 2, size=(channels, 2)), axis=1).astype("<f2").tobytes()
    parts = [bytes([100]), ranges]
    for _ in range(channels // 4):
        palette = rng.integers(0, 256, size=(colors, 4), dtype=np.uint8)
        plane = rng.integers(0, colors, size=shape, dtype=np.uint8)
        parts += [bytes([colors - 1]), palette.tobytes(), bytes([coder]), sized_bytes(code_plane(coder, plane))]
    return b"".join(parts)


def code_plane(coder: int, plane: np.ndarray, pil_mode: str = "L") -> bytes:
    """``plane`` (uint8, H×W) coded as lossless coder ``coder`` would store it (PNG in any Pillow mode)."""
    raw = np.ascontiguousarray(plane, dtype=np.uint8).tobytes()
    if coder == lossless.ZLIB:
        return zlib.compress(raw)
    if coder == lossless.LZMA:
        return lzma.compress(raw, format=lzma.FORMAT_RAW, filters=lossless._LZMA_FILTERS)
    if coder in (lossless.PNG, lossless.WEBP):
        buf = io.BytesIO()
        image = Image.fromarray(plane, "L")
        if coder == lossless.WEBP:
            image.convert("RGBA" if pil_mode in ("RGBA", "LA", "PA") else "RGB").save(buf, "WEBP", lossless=True)
        else:
            _as_mode(image, pil_mode).save(buf, "PNG")
        return buf.getvalue()
    return raw


def _as_mode(image: Image.Image, mode: str) -> Image.Image:
    if mode == "I;16":
        return Image.fromarray(np.asarray(image).astype(np.uint16) * 257)
    if mode == "1":
        return image.point(lambda v: 255 if v % 2 else 0).convert("1")
    return image.convert(mode)


# --- random inputs ------------------------------------------------------------------------------------------

SPECIAL_SIDES = (1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1023, 1024)
#: Sizes a header may claim that the container must refuse before any allocation: zero, over the pixel cap.
REFUSED_SIZES = ((0, 0), (0, 24), (40, 0), (65535, 65535), (65535, 257), (4097, 4097), (16001, 1001))
#: Accepted but large (latent-level decode only): extreme aspect ratios and the cap.
LARGE_SIZES = ((65535, 1), (1, 65535), (65535, 8), (8, 65535), (4000, 4000), (65535, 244))
SPECIAL_BYTES = (0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x7F, 0x80, 0x81, 0xFE, 0xFF)


def pick_size(rnd: random.Random, max_side: int, large: bool) -> tuple[int, int]:
    """A (width, height) the header will claim: mostly small, sometimes special, refused or large."""
    r = rnd.random()
    if r < 0.45:
        return rnd.randint(1, 64), rnd.randint(1, 64)
    if r < 0.75:
        sides = [s for s in SPECIAL_SIDES if s <= max_side]
        return rnd.choice(sides), rnd.choice(sides)
    if r < 0.85:
        return rnd.randint(1, max_side), rnd.randint(1, min(max_side, 128))
    if r < 0.95 or not large:
        return rnd.choice(REFUSED_SIZES)
    return rnd.choice([s for s in LARGE_SIZES if max(s) <= max_side] or REFUSED_SIZES)


def pick_family(rnd: random.Random) -> int:
    return rnd.choice((1, 1, 2, 3, 4)) if rnd.random() < 0.95 else rnd.choice((0, 5, 255))


def _byte(rnd: random.Random) -> int:
    return rnd.choice(SPECIAL_BYTES) if rnd.random() < 0.5 else rnd.randrange(256)


def _length(rnd: random.Random, true_length: int) -> int:
    """A length field: mostly right, sometimes off by one, zero or absurd."""
    r = rnd.random()
    if r < 0.8:
        return true_length
    return rnd.choice((0, max(0, true_length - 1), true_length + 1, 2**31 - 1, 2**32, 2**35 - 1))


def mutate(data: bytes, rnd: random.Random, others: list[bytes] = ()) -> bytes:
    """One to three mutations of a file; the CRC is recomputed afterwards except for a few raw mutations."""
    body, fix = bytearray(data[:-4]), True
    for _ in range(rnd.choice((1, 1, 1, 2, 3))):
        kind = rnd.choice(("truncate", "flip", "flip", "overwrite", "insert", "delete", "header", "header",
                           "splice", "raw"))
        payload_start = container.HEADER_SIZE if len(body) > container.HEADER_SIZE and rnd.random() < 0.8 else 0
        if kind == "truncate":
            del body[rnd.randint(payload_start, len(body)):]
        elif kind == "flip" and len(body) > payload_start:
            for _ in range(rnd.choice((1, 1, 2, 4, 8))):
                body[rnd.randrange(payload_start, len(body))] ^= 1 << rnd.randrange(8)
        elif kind == "overwrite" and len(body) > payload_start:
            at = rnd.randrange(payload_start, len(body))
            span = rnd.choice((1, 1, 2, 4, 8))
            value = rnd.choice((None, 0x00, 0xFF, 0x7F, 0x80))
            for i in range(at, min(len(body), at + span)):
                body[i] = rnd.randrange(256) if value is None else value
        elif kind == "insert":
            at = rnd.randint(payload_start, len(body))
            body[at:at] = bytes(_byte(rnd) for _ in range(rnd.choice((1, 1, 4, 16, 256))))
        elif kind == "delete" and len(body) > payload_start:
            at = rnd.randrange(payload_start, len(body))
            del body[at:at + rnd.choice((1, 1, 4, 16))]
        elif kind == "header" and len(body) >= container.HEADER_SIZE:
            field = rnd.choice(("version", "mode", "family", "flags", "size", "size", "seed", "magic"))
            if field == "version":
                body[4] = rnd.choice((0, 1, 2, 255))
            elif field == "mode":
                body[5] = rnd.choice((0, 1, 2, 3, 255))
            elif field == "family":
                body[6] = pick_family(rnd)
            elif field == "flags":
                body[7] = rnd.choice((0, 1, 2, 0x80, 0xFF))
            elif field == "size":
                width, height = pick_size(rnd, 1024, large=False)
                body[8:12] = struct.pack("<HH", width, height)
            elif field == "seed":
                body[12:16] = struct.pack("<I", rnd.choice((0, 1, 2**31, 2**32 - 1)))
            else:
                body[rnd.randrange(4)] ^= 1 << rnd.randrange(8)
        elif kind == "splice" and others:
            other = rnd.choice(others)[:-4]
            cut, cut_other = rnd.randint(0, len(body)), rnd.randint(0, len(other))
            body = body[:cut] + bytearray(other[cut_other:])
        elif kind == "raw":
            fix = False  # leave the CRC as it was: the checksum (or the magic, or a length) must catch it
            if body:
                body[rnd.randrange(len(body))] ^= 1 << rnd.randrange(8)
    out = bytes(body)
    return with_crc(out) if fix else out + data[-4:]


def palette_structured(rnd: random.Random, max_side: int = 65535) -> bytes:
    """A palette file whose every field is drawn from valid, boundary and absurd values."""
    family_id = pick_family(rnd)
    channels = FAMILIES_BY_ID.get(family_id, 4)
    width, height = pick_size(rnd, max_side, large=True)
    h, w = latent_size(max(width, 1), max(height, 1))
    cells = h * w
    parts = [bytes([_byte(rnd)])]
    ranges = np.sort(np.asarray([rnd.gauss(0, 3) for _ in range(2 * channels)]).reshape(channels, 2), axis=1)
    r = rnd.random()
    if r < 0.1:
        ranges.flat[rnd.randrange(ranges.size)] = rnd.choice((np.nan, np.inf, -np.inf, 65504.0, 1e6))
    elif r < 0.15:
        ranges = ranges[:, ::-1]  # max below min
    ranges_bytes = ranges.astype("<f2").tobytes()
    if rnd.random() < 0.05:
        ranges_bytes = ranges_bytes[: rnd.randrange(len(ranges_bytes) + 1)]
    parts.append(ranges_bytes)
    groups = channels // 4 if rnd.random() < 0.9 else rnd.choice((0, 1, 2, 5))
    for _ in range(groups):
        count = rnd.choice((1, 2, 3, 16, 255, 256)) if rnd.random() < 0.5 else rnd.randint(1, 256)
        palette = bytes(rnd.randrange(256) for _ in range(4 * count))
        if rnd.random() < 0.05:
            palette = palette[: rnd.randrange(len(palette) + 1)]
        coder = rnd.choice(tuple(lossless.NAMES)) if rnd.random() < 0.9 else rnd.choice((5, 6, 127, 255))
        index_map = _index_map(rnd, coder, count, (h, w), cells)
        length = _length(rnd, len(index_map))
        parts += [bytes([count - 1]), palette, bytes([coder]), varint(length), index_map]
    if rnd.random() < 0.1:
        parts.append(bytes(_byte(rnd) for _ in range(rnd.choice((1, 3, 64)))))
    return raw_file(b"".join(parts), mode_id=1, family_id=family_id, width=width, height=height,
                    seed=rnd.randrange(2**32))


FAMILIES_BY_ID = {f.id: f.channels for f in FAMILIES.values()}
#: Pillow modes an index-map PNG may come in (the ones PNG can store); the decoder must take or refuse each.
PIL_MODES = ("L", "P", "1", "I;16", "RGB", "RGBA", "LA")


def _index_map(rnd: random.Random, coder: int, count: int, shape: tuple[int, int], cells: int) -> bytes:
    """Index-map bytes for ``coder``: valid, out of palette range, wrong size, a bomb or garbage."""
    h, w = shape
    kind = rnd.choice(("valid", "valid", "valid", "over", "size", "garbage", "bomb"))
    big = cells > (1 << 12 if coder in (lossless.PNG, lossless.WEBP) else 1 << 18)
    if kind == "garbage" or big:  # (coding a large valid plane would cost the generator seconds)
        return bytes(_byte(rnd) for _ in range(rnd.choice((0, 1, 7, 64))))
    if kind == "bomb":  # far more data than the plane holds: must be refused without inflating it all
        return code_plane(coder if coder in lossless.NAMES else lossless.ZLIB, np.zeros((64 * h, w), np.uint8))
    if kind == "size":
        h, w = max(1, h + rnd.choice((-1, 1, 7))), max(1, w + rnd.choice((-1, 0, 1)))
    top = count if kind != "over" else 256
    np_rng = np.random.default_rng(rnd.randrange(2**32))
    plane = np_rng.integers(0, top, size=(h, w), dtype=np.uint16).astype(np.uint8)
    if coder == lossless.PNG:
        return code_plane(coder, plane, rnd.choice(PIL_MODES))
    if coder == lossless.WEBP:
        return code_plane(coder, plane, rnd.choice(("RGB", "RGBA")))
    return code_plane(coder if coder in lossless.NAMES else lossless.RAW, plane)


def entropy_structured(rnd: random.Random, max_side: int = ENTROPY_MAX_SIDE) -> bytes:
    """An entropy file whose every field is drawn from valid, boundary and absurd values.

    About half are plausible (small steps, alphabets and weights), so that random streams decode all the
    way through more often instead of leaving the latent range at once.
    """
    family_id = pick_family(rnd)
    channels = FAMILIES_BY_ID.get(family_id, 4)
    width, height = pick_size(rnd, max_side, large=True)
    plausible = rnd.random() < 0.5
    parts = [bytes([1 if plausible or rnd.random() < 0.9 else rnd.choice((0, 2, 255)),
                    rnd.randint(0, 24) if plausible else
                    rnd.randint(0, 72) if rnd.random() < 0.9 else rnd.choice((73, 128, 255)),
                    rnd.choice((1, 2, 4)) if plausible or rnd.random() < 0.9 else rnd.choice((0, 3, 8, 255))])]
    channels_written = channels if plausible or rnd.random() < 0.95 else rnd.choice((0, 1, channels - 1))
    for c in range(channels_written):
        if plausible:
            largest = rnd.choice((1, 2, 3, 4))
        else:
            largest = rnd.choice((1, 2, 3, 8, 255)) if rnd.random() < 0.9 else 0
        n = context.feature_count(c) - 1
        weight_style = rnd.choice(("zero", "small", "identity") if plausible else ("zero", "random", "extreme"))
        if weight_style == "zero":
            weights = [0] * n
        elif weight_style == "small":
            weights = [rnd.randint(-8, 8) for _ in range(n)]
        elif weight_style == "random":
            weights = [rnd.randint(-128, 127) for _ in range(n)]
        elif weight_style == "extreme":
            weights = [rnd.choice((-128, 127)) for _ in range(n)]
        else:  # half W, half N: a smooth predictor, as fitted ones look
            weights = [32, 32] + [0] * (n - 2)
        if plausible:
            bias = rnd.randint(-64, 64)
        else:
            bias = rnd.choice((0, 1, -1, 32767, -32768)) if rnd.random() < 0.5 else rnd.randint(-32768, 32767)
        parts += [bytes([largest]), struct.pack(f"<{n}b", *weights), struct.pack("<h", bias)]
    stream_words = rnd.choice((0, 1, 2, 8, 64, 512))
    stream = bytes(_byte(rnd) if rnd.random() < 0.3 else rnd.randrange(256) for _ in range(4 * stream_words))
    if not plausible and rnd.random() < 0.1:
        stream += bytes(rnd.randrange(256) for _ in range(rnd.choice((1, 2, 3))))
    return raw_file(b"".join(parts) + stream, mode_id=2, family_id=family_id, width=width, height=height,
                    seed=rnd.randrange(2**32))


# --- the checks ---------------------------------------------------------------------------------------------


def claimed_values(data: bytes) -> int:
    """Latent values (channels × h × w) the header claims, or 0 if it does not parse."""
    if len(data) >= container.HEADER_SIZE:
        _, _, _, family_id, _, width, height, _ = _HEADER.unpack_from(data)
        with contextlib.suppress(FormatError):
            h, w = latent_size(width, height)
            return family_by_id(family_id).channels * h * w
    return 0


def memory_bound(data: bytes) -> int:
    """MEMORY_BASE plus MEMORY_PER_VALUE per latent value the header claims."""
    return MEMORY_BASE + MEMORY_PER_VALUE * claimed_values(data)


def time_bound(data: bytes) -> float:
    """TIME_BOUND_S plus TIME_PER_VALUE per claimed latent value: a file may claim a 16 MP image,
    and decoding that many symbols is real work (about 1 s per million values here, more under
    tracemalloc), bounded by the pixel cap rather than by the file's size."""
    return TIME_BOUND_S + TIME_PER_VALUE * claimed_values(data)


class _Stopped(BaseException):
    """Raised by the alarm in a block over its time bound (a BaseException: the library must not catch it)."""


def _stop(signum, frame):
    raise _Stopped


@contextlib.contextmanager
def bounded(data: bytes, what: str, allowance: int = 0):
    """Fail if the block takes over TIME_BOUND_S or traces more than :func:`memory_bound` + ``allowance``.

    In the main thread an alarm stops the block at twice the bound, so a hang fails fast instead of
    eating the CI budget.
    """
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    bound = time_bound(data)
    alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if alarm:
        previous = signal.signal(signal.SIGALRM, _stop)
        signal.setitimer(signal.ITIMER_REAL, 2 * bound)
    start = time.perf_counter()
    try:
        yield
    except _Stopped:
        raise AssertionError(f"{what} took over {2 * bound:.0f} s on a {len(data)}-byte input "
                             "(stopped)") from None
    finally:
        elapsed = time.perf_counter() - start
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        _, peak = tracemalloc.get_traced_memory()
        if not tracing:
            tracemalloc.stop()
    assert elapsed < bound, f"{what} took {elapsed:.1f} s on a {len(data)}-byte input (bound {bound:.1f} s)"
    limit = memory_bound(data) + allowance
    assert peak <= limit, f"{what} traced {peak / 2**20:.0f} MB on a {len(data)}-byte input (bound {limit / 2**20:.0f})"


def check_parsers(data: bytes, allowance: int = KNOWN_ALLOWANCE) -> str:
    """decode_latent and info on ``data``: a consistent result or FormatError, within the bounds.

    Returns "ok" or "FormatError"; anything else propagates (that is a bug).
    """
    outcome = "FormatError"
    with bounded(data, "decode_latent", allowance):
        try:
            header, latent = sdcodec.decode_latent(data)
        except FormatError:
            pass
        else:
            outcome = "ok"
            assert latent.shape == header.latent_shape and latent.dtype == np.float32
            assert np.all(np.isfinite(latent))
    with bounded(data, "info", allowance):
        try:
            info = sdweb.info(data)
        except FormatError:
            assert outcome == "FormatError", "info refused a file decode_latent accepted"
        else:
            json.dumps(info, allow_nan=False)  # `sdweb info` prints it: it must be valid JSON
            assert (info["width"], info["height"]) == (data[8] | data[9] << 8, data[10] | data[11] << 8)
    return outcome


def check_cli_info(data: bytes, folder: Path) -> int:
    """``python -m sdweb info`` in process: exit 0 with JSON, or exit 2 with one line on stderr."""
    path = folder / "fuzzed.sdw"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(["info", str(path)])
    if code == 0:
        json.loads(out.getvalue())
        assert err.getvalue() == ""
    else:
        assert code == 2 and err.getvalue().startswith("error: ") and err.getvalue().count("\n") == 1, err.getvalue()
    return code


def check_full_decode(data: bytes, model_dir: Path) -> str:
    """sdweb.decode with the tiny models: an image of the header's size, or FormatError, in bounded time."""
    with mock.patch.dict(os.environ, {"SDWEB_MODEL_DIR": str(model_dir)}), \
            bounded(data, "sdweb.decode", allowance=2**40):  # torch's memory is not traced: time only
        try:
            image = sdweb.decode(data, max_pixels=E2E_MAX_PIXELS)
        except FormatError:
            outcome = "FormatError"
        else:
            outcome = "ok"
            header, _ = container.unpack(data, E2E_MAX_PIXELS)
            assert image.size == (header.width, header.height) and image.mode == "RGB"
    return outcome


SEEDS = seed_files()
SEED_NAMES = sorted(SEEDS)
_SEED_LIST = [SEEDS[n] for n in SEED_NAMES]


def mutated(rnd: random.Random) -> bytes:
    return mutate(SEEDS[rnd.choice(SEED_NAMES)], rnd, _SEED_LIST)


#: Generators shared with scripts/fuzz_long.py: name → function of a random.Random returning file bytes.
GENERATORS = {"mutation": mutated, "palette": palette_structured, "entropy": entropy_structured}


# --- the tests ----------------------------------------------------------------------------------------------

#: Hypothesis draws a seed per input and the generators draw everything from random.Random(seed): drawing
#: their choices from hypothesis directly (st.randoms) shrank better but explored far less (it missed the
#: mode-"1" PNG case that a few hundred seeds find). A failure prints its seed: replay it with
#: ``GENERATORS[name](random.Random(seed))``.
SEED = st.integers(min_value=0, max_value=2**64 - 1)


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seeds_are_valid(name):
    assert check_parsers(SEEDS[name]) == "ok"


@fuzz_settings(400)
@given(SEED)
def test_fuzz_mutations(seed):
    rnd = random.Random(seed)
    check_parsers(mutated(rnd))


@fuzz_settings(250)
@given(SEED)
def test_fuzz_palette_payloads(seed):
    rnd = random.Random(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about some odd PNGs while the generator writes them
        data = palette_structured(rnd)
    check_parsers(data)


@fuzz_settings(250)
@given(SEED)
def test_fuzz_entropy_payloads(seed):
    rnd = random.Random(seed)
    check_parsers(entropy_structured(rnd))


@pytest.fixture(scope="module")
def cli_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-cli")


@fuzz_settings(60)
@given(SEED)
def test_fuzz_cli_info(cli_folder, seed):
    rnd = random.Random(seed)
    generator = GENERATORS[rnd.choice(sorted(GENERATORS))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = generator(rnd)
    check_cli_info(data, cli_folder)


@fuzz_settings(40)
@given(SEED)
def test_fuzz_full_decode_with_tiny_models(tiny_model_dir, seed):
    check_full_decode(mutated(random.Random(seed)), tiny_model_dir)


def test_raw_mutations_never_pass_the_checksum():
    """Without a recomputed CRC, every single bit flip is caught (CRC-32 detects all of them)."""
    data = SEEDS["palette-sd1"]
    for bit in range(0, 8 * len(data), 3):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(FormatError):
            sdcodec.decode_latent(bytes(flipped))


def test_every_truncation_is_a_format_error():
    for name, data in SEEDS.items():
        for n in range(len(data)):
            with pytest.raises(FormatError):
                sdcodec.decode_latent(data[:n])


def test_every_payload_truncation_with_a_fresh_crc():
    """The payload parsers see every prefix of every seed's payload (the CRC recomputed each time).

    A palette payload has exact lengths, so every prefix is refused. An entropy payload's coded stream
    runs to the end of the payload and the range decoder reads past its end as zeros, so a prefix cut at
    a 32-bit word boundary inside the stream may still decode (to a wrong latent; it is refused only when
    the values leave the latent range): the CRC is what catches accidental truncation there.
    """
    for name, data in SEEDS.items():
        body = data[:-4]
        stream_start = _entropy_stream_start(body) if body[5] == 2 else len(body)
        for n in range(container.HEADER_SIZE, len(body)):
            outcome = check_parsers(with_crc(body[:n]))
            if n < stream_start or (n - stream_start) % 4:
                assert outcome == "FormatError", (name, n)


def _entropy_stream_start(body: bytes) -> int:
    channels = family_by_id(body[6]).channels
    return container.HEADER_SIZE + 3 + sum(1 + context.feature_count(c) - 1 + 2 for c in range(channels))


# --- the regression corpus ----------------------------------------------------------------------------------


def corpus_manifest() -> dict:
    return json.loads((CORPUS / "corpus.json").read_text())


def corpus_files() -> list[str]:
    return sorted(p.name for p in CORPUS.glob("*.sdw"))


def test_corpus_manifest_lists_every_file():
    assert sorted(corpus_manifest()) == corpus_files()
    assert all(os.path.getsize(CORPUS / name) < 64_000 for name in corpus_files())


@pytest.mark.parametrize("name", corpus_files())
def test_corpus_replays(name, tmp_path):
    """Each corpus file: its pinned outcome (if any), within the bounds, and the CLI agreeing with sdweb.info.

    ``sdweb info`` checks the container and the payload's structure, not the index maps or the coded
    stream, so it may describe a file that decoding refuses.
    """
    data = (CORPUS / name).read_bytes()
    entry = corpus_manifest()[name]
    outcome = check_parsers(data, allowance=0 if entry.get("strict_memory") else KNOWN_ALLOWANCE)
    if "outcome" in entry:
        assert outcome == entry["outcome"]
    try:
        sdweb.info(data)
        described = True
    except FormatError:
        described = False
    assert check_cli_info(data, tmp_path) == (0 if described else 2)


@pytest.mark.parametrize("name", [n for n in corpus_files() if corpus_manifest()[n].get("full_decode", True)])
def test_corpus_full_decode_with_tiny_models(name, tiny_model_dir):
    check_full_decode((CORPUS / name).read_bytes(), tiny_model_dir)


def test_cli_info_as_a_process_on_corpus_files(tmp_path):
    """The real ``python -m sdweb info``: a valid file prints JSON, a bad one one line and exit 2."""
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for name, code in (("seed-palette-sd1.sdw", 0), ("seed-entropy-sd1-f2.sdw", 0), ("bad-varint-length.sdw", 2)):
        result = subprocess.run([sys.executable, "-m", "sdweb", "info", str(CORPUS / name)], capture_output=True,
                                text=True, env=env, timeout=60)
        assert result.returncode == code, result.stderr
        if code == 0:
            assert json.loads(result.stdout)["file_bytes"] == os.path.getsize(CORPUS / name)
        else:
            assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
