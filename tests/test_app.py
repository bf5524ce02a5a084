"""The web app: handlers called directly (tiny models), and the served app through gradio_client (real TAESD)."""

import inspect
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_server import ROOT, running_app  # noqa: I001 - sets gradio's env before gradio is imported

import app
from sdweb.latent import CODECS as SD_MODES
import gradio as gr
import sdweb
from conftest import require_real_weights, smooth_image
from webui import runs, status, views


def _served_path(url: str) -> Path:
    """The file behind a ``gradio_api/file=`` URL; it must be under Gradio's temp dir to be served at all."""
    assert url.startswith("gradio_api/file=")
    path = Path(url.removeprefix("gradio_api/file="))
    assert path.is_file() and path.resolve().is_relative_to(runs.gradio_temp_dir())
    return path


def _pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.fixture
def photo(tmp_path) -> str:
    path = tmp_path / "holiday photo.png"
    Image.fromarray(smooth_image(64, 96, seed=3)).save(path)
    return str(path)


def test_run_button_lays_out_every_result(tiny_models, photo):
    (flicker, notes, table, cards, pick, slider, diff, caption, downloads, report, state) = app.compress_ui(
        photo, 1.5, ["sd", "jpeg", "webp"], "taesd", "palette", "auto", 0, 0)

    assert [r["codec"] for r in report["results"]] == ["sd", "jpeg", "webp"]
    assert (report["width"], report["height"]) == (96, 64)
    # The flicker view shows the decoded pixels exactly: its PNGs equal what decoding each file gives.
    files = {Path(p).suffix: Path(p) for p in downloads}
    assert {".sdw", ".jpg", ".webp", ".json", ".png"} <= set(files)
    by_codec = {item["codec"]: _served_path(item["src"]) for item in flicker["items"]}
    sdw = next(Path(p) for p in downloads if p.endswith(".sdw"))
    np.testing.assert_array_equal(_pixels(by_codec["sd"]), np.asarray(sdweb.decode(sdw.read_bytes(), model="taesd")))
    jpg = next(Path(p) for p in downloads if p.endswith(".jpg"))
    np.testing.assert_array_equal(_pixels(by_codec["jpeg"]), _pixels(jpg))
    np.testing.assert_array_equal(_pixels(_served_path(flicker["original"])), smooth_image(64, 96, seed=3))
    # Sizes in the report are the files' sizes; the animations and the report come along.
    for row in report["results"]:
        path = next(Path(p) for p in downloads if Path(p).name == row["file"])
        assert path.stat().st_size == row["bytes"] and row["kB"] == pytest.approx(row["bytes"] / 1000)
        assert row["bpp"] == pytest.approx(row["bytes"] * 8 / (96 * 64), rel=1e-3)
    assert sum(p.endswith(".flicker.png") for p in downloads) == 3
    assert json.loads(files[".json"].read_text())["results"][0]["codec"] == "sd"
    # The table has a row per codec and marks best values; the cards show original + 3 results with downloads.
    assert list(table.data["Codec"]) == [r["label"] + (" ⚠ over target" if r["over_target"] else "")
                                         for r in report["results"]]
    assert "rgba(34, 197, 94" in table.to_html()
    assert cards.count("<figure") == 4 and cards.count('class="dl"') == 6 and "faces, text and shapes" in cards
    # The slider and the difference map start on SD, as the honesty panel next to them is about SD.
    assert pick["value"] == "sd" and [c for _, c in pick["choices"]] == ["sd", "jpeg", "webp"]
    assert Path(slider[0]).is_file() and Path(slider[1]) == by_codec["sd"]
    assert Image.open(diff).size == (96, 64) and "SD" in caption
    slider2, diff2, _ = app.inspect("webp", state)
    assert Path(slider2[1]) == by_codec["webp"] and diff2 != diff


def test_api_handler_returns_plain_values(tiny_models, photo):
    report, encoded, decoded = app.compress(photo, 1.5, ["jpeg", "sd"], model="taesd")
    assert isinstance(report, dict) and [r["codec"] for r in report["results"]] == ["sd", "jpeg"]
    assert [Path(p).suffix for p in encoded] == [".sdw", ".jpg"]
    assert [os.path.getsize(p) for p in encoded] == [r["bytes"] for r in report["results"]]
    assert all(Image.open(p).size == (96, 64) for p in decoded)
    json.dumps(report)


def test_alpha_and_notes_reach_the_page(tiny_models, tmp_path):
    pixels = np.dstack([smooth_image(48, 64), np.full((48, 64), 128, np.uint8)])
    path = tmp_path / "alpha.png"
    Image.fromarray(pixels, "RGBA").save(path)
    run = app.run_comparison(str(path), 1.0, ["jpeg"])
    assert "composited on white" in views.notes_markdown(run)


@pytest.mark.parametrize("kwargs, message", [
    (dict(image=None), "Upload an image"),
    (dict(codecs=[]), "at least one codec"),
    (dict(target_kb=0), "between 0 and"),
    (dict(target_kb="lots"), "number of kB"),
    (dict(target_kb=1e9), "between 0 and"),
    (dict(denoise_steps="many"), "Denoise steps"),
    (dict(seed=-1), "seed must be from 0"),
    (dict(effort=10), "effort must be from 0 to 9"),
    (dict(mode="zip"), "Unknown mode"),
    (dict(model="nope"), "SD model is not available"),
])
def test_bad_inputs_give_clear_errors(tiny_models, photo, kwargs, message):
    args = dict(image=photo, target_kb=1.5, codecs=["sd"], model="taesd", mode="palette")
    args.update(kwargs)
    with pytest.raises(gr.Error, match=message):
        app.run_comparison(**args)


def test_unreadable_or_huge_images_are_refused(tmp_path, photo, monkeypatch):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(gr.Error, match="not an image we can read"):
        app.run_comparison(str(junk), 5, ["jpeg"])
    monkeypatch.setenv("SDWEB_APP_MAX_PIXELS", "1000")
    with pytest.raises(gr.Error, match=r"96×64 = 0.0 megapixels.*Downscale"):
        app.run_comparison(photo, 5, ["jpeg"])


def test_missing_sd_model_skips_sd_with_a_note(photo, monkeypatch):
    def unavailable(name, *args, **kwargs):
        raise sdweb.ModelNotAvailableError(f"model {name!r} is not available: offline. Provide it through …")

    monkeypatch.setattr(status, "load_autoencoder", unavailable)
    monkeypatch.setattr(status, "_model_failures", {})
    report, encoded, _ = app.compress(photo, 2, ["sd", "jpeg"], model="taesd")
    assert [r["codec"] for r in report["results"]] == ["jpeg"] and len(encoded) == 1
    assert "SD was skipped" in report["notes"][0]
    with pytest.raises(gr.Error, match="SD model is not available"):
        app.compress(photo, 2, ["sd"], model="taesd")
    app.build_demo(app.check_models("taesd"))  # the page still builds


def test_page_and_api_start_in_the_default_mode():
    assert app.DEFAULT_MODE in SD_MODES
    page = app.build_demo(status.ModelStatus("taesd", "cpu", True, ""))
    dropdown = next(b for b in page.blocks.values() if getattr(b, "label", None) == "Latent coding mode")
    assert dropdown.value == app.DEFAULT_MODE
    assert inspect.signature(app.compress).parameters["mode"].default == app.DEFAULT_MODE


def test_decode_tab(tiny_models, tmp_path):
    data = sdweb.encode(smooth_image(40, 56), target_size=1200, model="taesd")
    good = tmp_path / "pic.sdw"
    good.write_bytes(data)
    png, header = app.decode(str(good))
    assert Image.open(png).size == (56, 40) and Path(png).name == "pic.decoded.png"
    assert header["width"] == 56 and header["mode"] == "palette" and header["file_bytes"] == len(data)
    corrupt = tmp_path / "bad.sdw"
    corrupt.write_bytes(data[:20] + bytes([data[20] ^ 0xFF]) + data[21:])
    with pytest.raises(gr.Error, match="not a valid .sdw file"):
        app.decode(str(corrupt))
    photo = tmp_path / "photo.sdw"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(gr.Error, match="not a valid .sdw file"):
        app.decode(str(photo))
    with pytest.raises(gr.Error, match="Upload an .sdw file"):
        app.decode(None)
    with pytest.raises(gr.Error, match="Unknown model"):
        app.decode(str(good), model="nope")


def test_target_hint_and_buhlmann_preset(tmp_path):
    square, wide = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (512, 512)).save(square)
    Image.new("RGB", (768, 512)).save(wide)
    assert app.buhlmann_target(str(square)) == 5.0
    assert app.buhlmann_target(str(wide)) == 7.5
    assert app.buhlmann_target(None) == 5.0
    assert "0.153 bpp" in app.target_hint(str(square), 5) and "512×512" in app.target_hint(str(square), 5)
    assert "0.102 bpp" in app.target_hint(str(wide), 5)
    assert "kB" in app.target_hint(str(wide), "x")


def test_inspect_needs_a_run_with_files(tmp_path):
    with pytest.raises(gr.Error, match="Run a comparison first"):
        app.inspect("sd", {})
    gone = {"original": "x", "labels": {"sd": "SD"}, "decoded": {"sd": str(tmp_path / "gone.png")}, "diff": {}}
    with pytest.raises(gr.Error, match="expired"):
        app.inspect("sd", gone)


# --- the served app, through gradio_client, with the real TAESD ----------------------------------------------


@pytest.fixture(scope="module")
def served():
    require_real_weights()
    with running_app() as url:
        yield url


@pytest.fixture(scope="module")
def small_example(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("example") / "cat_crop.png"
    with Image.open(ROOT / "examples" / "closeup_cat.png") as image:
        image.crop((160, 80, 288, 176)).save(path)  # 128×96: fast on two CPU cores
    return path


def test_compress_and_decode_through_gradio_client(served, small_example, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(served, verbose=False, analytics_enabled=False, download_files=str(tmp_path))
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/compress", "/decode"} <= set(endpoints)
    assert not {"/compress_ui", "/inspect", "/target_hint"} & set(endpoints)

    report, encoded, decoded = client.predict(handle_file(small_example), 2, ["sd", "jpeg", "webp"],
                                              api_name="/compress")
    rows = report["results"]
    assert [r["codec"] for r in rows] == ["sd", "jpeg", "webp"] and rows[0]["label"] == f"SD (taesd, {app.DEFAULT_MODE})"
    assert (report["width"], report["height"]) == (128, 96)
    sd_size = rows[0]["bytes"]
    assert rows[0]["over_target"] or sd_size <= 2000
    for row, path, png in zip(rows, encoded, decoded):
        assert os.path.getsize(path) == row["bytes"] and Path(path).suffix == Path(row["file"]).suffix
        assert row["bpp"] == pytest.approx(row["bytes"] * 8 / (128 * 96), rel=1e-3)
        assert row["compression_ratio"] == pytest.approx(3 * 128 * 96 / row["bytes"], rel=1e-2)
        assert row["over_target"] or row["bytes"] <= sd_size  # classic codecs aim at SD's actual size
        assert 15 < row["psnr"] < 60 and 0 < row["ssim"] <= 1 and 0 < row["ms_ssim"] <= 1
        assert row["ssimulacra2"] is not None and row["lpips"] is None
        assert Image.open(png).size == (128, 96)

    image, header = client.predict(handle_file(encoded[0]), api_name="/decode")
    assert (header["width"], header["height"], header["file_bytes"]) == (128, 96, sd_size)
    np.testing.assert_array_equal(_pixels(image), _pixels(decoded[0]))

    bad = tmp_path / "bad.sdw"
    bad.write_bytes(Path(encoded[0]).read_bytes()[:-3])
    with pytest.raises(AppError, match="not a valid .sdw file"):
        client.predict(handle_file(bad), api_name="/decode")
    with pytest.raises(AppError, match="at least one codec"):
        client.predict(handle_file(small_example), 2, [], api_name="/compress")


def test_page_defaults_make_inputs_optional(served, small_example, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(served, verbose=False, analytics_enabled=False, download_files=str(tmp_path))
    params = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/compress"]["parameters"]
    assert [p["parameter_name"] for p in params][:3] == ["image", "target_kb", "codecs"]
    assert not params[0]["parameter_has_default"] and all(p["parameter_has_default"] for p in params[1:])
    assert {p["parameter_name"]: p["parameter_default"] for p in params}["mode"] == app.DEFAULT_MODE
    report, _, _ = client.predict(image=handle_file(small_example), codecs=["jpeg"], api_name="/compress")
    assert report["target_size"] == 5000 and report["results"][0]["bytes"] <= 5000
