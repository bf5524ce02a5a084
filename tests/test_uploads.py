"""Hostile and odd uploads, through every surface: the library, the CLI and the app's handlers.

Each kind of file either gives a correct result (an image of the right size, with a note saying what was
changed) or one clear error: InputError in the library, exit status 2 and one line on stderr in the CLI,
gr.Error in the app. The files are made here, small, in temporary folders; the tiny random models stand in
for the autoencoders (the point is the path an odd image takes, not its quality).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_server import running_app  # noqa: I001 - sets gradio's env before gradio is imported

import app
import gradio as gr
import sdweb
from conftest import require_real_weights, smooth_image
from sdweb.cli import main as cli_main
from sdweb.images import load_image


def _save(image: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def _photo(height: int, width: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(smooth_image(height, width, seed))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _grey_png(width: int, height: int, idat: bytes | None = None) -> bytes:
    """A greyscale PNG of any claimed size; without ``idat``, all-zero rows deflated (36 MP → 35 kB)."""
    if idat is None:
        compressor = zlib.compressobj(9)
        row = bytes(width + 1)  # filter byte + pixels
        idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (24, 16), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    params = {"lossless": True} if fmt == "WEBP" else {}
    return _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **params)


def _palette_with_transparency() -> bytes:
    image = Image.new("P", (20, 12), 0)
    image.putpalette([255, 0, 0, 0, 128, 255] + [0] * 762)
    for x in range(10, 20):
        for y in range(12):
            image.putpixel((x, y), 1)
    return _save(image, "PNG", transparency=0)


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90° clockwise: a 40×16 file is a 16×40 picture
    return _save(_photo(16, 40), "JPEG", exif=exif.tobytes(), quality=95)


def _cmyk_jpeg() -> bytes:
    return _save(Image.new("CMYK", (24, 16), (0, 255, 255, 0)), "JPEG")


def _sixteen_bit_png() -> bytes:
    ramp = (np.arange(24 * 16, dtype=np.uint32).reshape(16, 24) * 170).astype(np.uint16)
    return _save(Image.fromarray(ramp), "PNG")


@dataclass(frozen=True)
class Upload:
    """A kind of upload and what must come of it: ``size`` and ``note`` for a result, or an ``error``."""

    suffix: str
    make: callable
    size: tuple[int, int] | None = None  # (width, height) of the decoded image
    note: str | None = None  # a note the result must carry
    error: str | None = None  # regex of the library's (and CLI's) message
    app_error: str | None = None  # regex of the app's gr.Error, when it differs


UPLOADS = {
    "zero-bytes": Upload(".png", lambda: b"", error="empty", app_error="not an image we can read"),
    "not-an-image": Upload(".png", lambda: b"GIF? no: just some text\n" * 8, error="cannot identify",
                           app_error="not an image we can read"),
    "truncated-png": Upload(".png", lambda: _save(_photo(64, 96), "PNG")[:900], error="truncated or corrupted"),
    "truncated-jpeg": Upload(".jpg", lambda: _save(_photo(64, 96), "JPEG", quality=90)[:700],
                             error="truncated or corrupted"),
    # A 60000×60000 header on a 100-byte file: Pillow refuses it on open (over twice its 89 MP bomb limit).
    "bomb-header": Upload(".png", lambda: _grey_png(60000, 60000, idat=zlib.compress(b"\0" * 64)),
                          error="decompression bomb", app_error="far too large to open"),
    # A real 36 MP PNG of 35 kB: refused from its header, before a pixel is inflated.
    "bomb-36mp": Upload(".png", lambda: _grey_png(6000, 6000), error="over the 16.0 MP limit",
                        app_error="6000×6000 = 36.0 megapixels"),
    "1x1": Upload(".png", lambda: _save(Image.new("RGB", (1, 1), (200, 30, 40)), "PNG"), size=(1, 1)),
    "7x3": Upload(".png", lambda: _save(_photo(3, 7), "PNG"), size=(7, 3)),
    "strip-10000x10": Upload(".png", lambda: _save(_photo(10, 10000), "PNG"), size=(10000, 10)),
    "16-bit-png": Upload(".png", _sixteen_bit_png, size=(24, 16), note="16-bit"),
    "cmyk-jpeg": Upload(".jpg", _cmyk_jpeg, size=(24, 16), note="CMYK"),
    "palette-png-transparency": Upload(".png", _palette_with_transparency, size=(20, 12), note="composited on white"),
    "animated-gif": Upload(".gif", lambda: _animated("GIF"), size=(24, 16), note="3 frames.*first frame"),
    "animated-webp": Upload(".webp", lambda: _animated("WEBP"), size=(24, 16), note="3 frames.*first frame"),
    "exif-rotated-jpeg": Upload(".jpg", _exif_rotated, size=(16, 40), note="EXIF orientation"),
}


@pytest.fixture(scope="module")
def upload_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("uploads")
    files = {}
    for name, upload in UPLOADS.items():
        files[name] = folder / f"{name}{upload.suffix}"
        files[name].write_bytes(upload.make())
    return files


# --- the library ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", UPLOADS)
def test_library(name, upload_files, tiny_models):
    upload, path = UPLOADS[name], upload_files[name]
    if upload.error:
        with pytest.raises(sdweb.InputError, match=upload.error):
            sdweb.encode(path, model="taesd")
        return
    data = sdweb.encode(path, model="taesd", target_size=4000)
    assert len(data) <= 4000
    assert upload.note is None or any(_matches(upload.note, n) for n in data.notes), data.notes
    image = sdweb.decode(data, model="taesd")
    assert image.size == upload.size and image.mode == "RGB"
    assert sdweb.info(data)["width"] == upload.size[0]


def test_first_frames_and_rotation_are_the_right_pixels(upload_files):
    for name in ("animated-gif", "animated-webp"):
        assert load_image(upload_files[name]).image.getpixel((12, 8)) == (255, 0, 0)
    rotated = np.asarray(load_image(upload_files["exif-rotated-jpeg"]).image).astype(int)
    upright = np.rot90(smooth_image(16, 40), k=-1).astype(int)  # orientation 6: turn 90° clockwise
    wrong_way = np.rot90(smooth_image(16, 40), k=1).astype(int)
    assert rotated.shape == upright.shape
    assert np.abs(rotated - upright).mean() < 8 < 40 < np.abs(rotated - wrong_way).mean()
    palette = load_image(upload_files["palette-png-transparency"]).image
    assert palette.getpixel((2, 2)) == (255, 255, 255) and palette.getpixel((15, 2)) == (0, 128, 255)


def test_the_entropy_mode_takes_the_odd_sizes(upload_files, tiny_models):
    for name in ("1x1", "7x3", "strip-10000x10"):
        data = sdweb.encode(upload_files[name], model="taesd", mode="entropy", step=0.5)
        assert sdweb.decode(data, model="taesd").size == UPLOADS[name].size


# --- the CLI --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", UPLOADS)
def test_cli(name, upload_files, tiny_models, tmp_path, capsys):
    upload, path = UPLOADS[name], upload_files[name]
    sdw, png = tmp_path / "out.sdw", tmp_path / "out.png"
    code = cli_main(["encode", str(path), str(sdw), "--model", "taesd", "--target-size", "4KB"])
    out, err = capsys.readouterr()
    if upload.error:
        assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and _matches(upload.error, err), err
        assert not sdw.exists()
        return
    assert code == 0, err
    assert upload.note is None or _matches(upload.note, err), err
    assert all(line.startswith("note: ") for line in err.splitlines())
    assert cli_main(["decode", str(sdw), str(png)]) == 0
    with Image.open(png) as decoded:
        assert decoded.size == upload.size


# --- the app's handlers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", UPLOADS)
def test_app(name, upload_files, tiny_models):
    upload, path = UPLOADS[name], upload_files[name]
    if upload.error:
        with pytest.raises(gr.Error, match=upload.app_error or upload.error):
            app.compress(str(path), 4, ["sd", "jpeg"], model="taesd")
        return
    report, encoded, decoded = app.compress(str(path), 4, ["sd", "jpeg"], model="taesd")
    assert [r["codec"] for r in report["results"]] == ["sd", "jpeg"]
    assert (report["width"], report["height"]) == upload.size
    assert upload.note is None or any(_matches(upload.note, n) for n in report["notes"]), report["notes"]
    for png in decoded:
        with Image.open(png) as image:
            assert image.size == upload.size
    image, header = app.decode(encoded[0])
    assert (header["width"], header["height"]) == upload.size
    with Image.open(image) as decoded_again:
        assert decoded_again.size == upload.size


def _matches(pattern: str, text: str) -> bool:
    import re

    return re.search(pattern, text) is not None


# --- the served app: Gradio handles the upload before the handler runs ---------------------------------------


@pytest.fixture(scope="module")
def served_client(tmp_path_factory):
    from gradio_client import Client

    require_real_weights()
    with running_app() as url:
        yield Client(url, verbose=False, analytics_enabled=False,
                     download_files=str(tmp_path_factory.mktemp("served-downloads")))


@pytest.mark.parametrize("name", UPLOADS)
def test_served_app(name, served_client, upload_files):
    """Through gradio_client, as an API user (and the page) sends them: the same result or the same clear error."""
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    upload, path = UPLOADS[name], upload_files[name]
    if upload.error:
        with pytest.raises(AppError, match=upload.app_error or upload.error):
            served_client.predict(handle_file(str(path)), 4, ["jpeg"], api_name="/compress")
        return
    report, _, decoded = served_client.predict(handle_file(str(path)), 4, ["jpeg"], api_name="/compress")
    assert (report["width"], report["height"]) == upload.size
    assert upload.note is None or any(_matches(upload.note, n) for n in report["notes"]), report["notes"]
    with Image.open(decoded[0]) as image:
        assert image.size == upload.size
