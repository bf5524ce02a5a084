"""webui.views: cards, metrics table, flicker value and texts from a hand-made report (no models needed)."""

from pathlib import Path
from types import SimpleNamespace

import app_server  # noqa: F401, I001 - sets gradio's env (no analytics, no proxy) before gradio is imported

from webui import views
from webui.runs import Run

ROW = dict(bytes=5000, bpp=0.153, compression_ratio=157.3, psnr=25.0, ssim=0.7, ms_ssim=0.9, ssimulacra2=10.0,
           lpips=None, encode_s=1.0, decode_s=0.1, over_target=False, notes=[])


def _run(tmp_path: Path) -> Run:
    rows = [{**ROW, "codec": "sd", "label": "SD (taesd, palette)", "setting": "256 colours"},
            {**ROW, "codec": "jpeg", "label": "JPEG", "setting": "quality 6", "bytes": 5400, "psnr": 26.0,
             "over_target": True, "notes": ["JPEG cannot go below 5400 bytes for this image"]}]
    results = [SimpleNamespace(codec=r["codec"], label=r["label"]) for r in rows]
    comparison = SimpleNamespace(width=512, height=512, results=results)
    run = Run(comparison, {"notes": ["composited on white"], "results": rows}, tmp_path, tmp_path / "a.original.png")
    for codec, ext in (("sd", ".sdw"), ("jpeg", ".jpg")):
        run.encoded[codec] = tmp_path / f"a <1>.{codec}{ext}"
        run.decoded[codec] = tmp_path / f"a.{codec}.png"
        run.flicker[codec] = tmp_path / f"a.{codec}.flicker.png"
        run.diff[codec] = tmp_path / f"a.{codec}.diff.png"
    return run


def test_cards(tmp_path):
    cards = views.cards_html(_run(tmp_path))
    assert cards.count("<figure") == 3 and cards.count('class="dl"') == 4
    assert "512×512 pixels" in cards and "786,432 bytes as raw RGB" in cards
    assert "<b>5,000 bytes (5.00 kB)</b>" in cards and views.SD_WARNING in cards
    assert cards.count('class="badge"') == 1  # JPEG is over the target
    assert "a &lt;1&gt;.sd.sdw" in cards and "a <1>" not in cards  # file names are escaped


def test_metrics_table_marks_winners_among_rows_within_the_target(tmp_path):
    styler = views.metrics_table(_run(tmp_path).report)
    assert list(styler.data["Codec"]) == ["SD (taesd, palette)", "JPEG ⚠ over target"]
    assert "LPIPS" not in styler.data.columns  # no values: no column
    assert views.WINNER_STYLE.split(";")[0] in styler.to_html()
    assert list(views.empty_table().columns)[:3] == ["Codec", "Bytes", "bpp"]


def test_flicker_value_and_state(tmp_path):
    empty = views.flicker_value(None)
    assert empty["items"] == [] and empty["zooms"] == views.ZOOMS
    run = _run(tmp_path)
    value = views.flicker_value(run)
    assert [i["codec"] for i in value["items"]] == ["sd", "jpeg"] and (value["width"], value["height"]) == (512, 512)
    assert value["items"][0]["src"] == f"gradio_api/file={tmp_path / 'a.sd.png'}"
    state = views.inspect_state(run)
    assert state["labels"] == {"sd": "SD (taesd, palette)", "jpeg": "JPEG"}
    assert state["diff"]["sd"].endswith(".diff.png")


def test_notes_and_texts(tmp_path):
    notes = views.notes_markdown(_run(tmp_path))
    assert notes.startswith("**Notes**") and "- Composited on white." in notes and "JPEG: JPEG cannot go" in notes
    assert views.target_hint(None, 5).startswith("= **0.153 bpp** at 512×512")
    assert "for this 768×512 image" in views.target_hint((768, 512), 5)
    assert views.target_hint((768, 512), None) == "Enter a target size in kB."
    assert views.buhlmann_kb((768, 512)) == 7.5 and views.buhlmann_kb(None) == 5.0
    assert "× 4" in views.diff_caption("JPEG")
