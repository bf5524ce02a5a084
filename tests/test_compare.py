import json

import numpy as np
import pytest
from PIL import Image

from conftest import smooth_image
from sdweb.artefacts import comparison_strip, difference_map, flicker, side_by_side
from sdweb.cli import main
from sdweb.compare import compare
from sdweb.errors import InputError

ROW_KEYS = {"codec", "bytes", "bpp", "over_target", "psnr", "ssim", "ms_ssim", "ssimulacra2", "lpips",
            "encode_s", "decode_s"}


@pytest.fixture(scope="module")
def photo():
    return Image.fromarray(smooth_image(64, 96, seed=11))


def test_every_codec_gets_sds_actual_size_as_target(tiny_models, photo):
    comparison = compare(photo, 1500, model="taesd")
    sd = comparison.result("sd")
    assert [r.codec for r in comparison.results] == ["sd", "jpeg", "webp", "avif", "jxl"]
    assert sd.size <= 1500 and not sd.over_target
    for r in comparison.results[1:]:
        assert r.over_target or r.size <= sd.size
        assert r.decoded.size == photo.size
        assert r.scores["psnr"] > 10 and 0 < r.scores["ssim"] <= 1


def test_nominal_target_option(tiny_models, photo):
    comparison = compare(photo, 1500, ("jpeg", "sd"), match_sd_size=False, model="taesd")
    assert [r.codec for r in comparison.results] == ["sd", "jpeg"]
    jpeg = comparison.result("jpeg")
    assert jpeg.over_target or jpeg.size <= 1500


def test_metrics_come_from_the_one_evaluate_path(tiny_models, photo, monkeypatch):
    from sdweb import metrics

    calls = []
    real = metrics.evaluate
    monkeypatch.setattr(metrics, "evaluate", lambda a, b: calls.append(1) or real(a, b))
    compare(photo, 1500, ("sd", "webp"), model="taesd")
    assert len(calls) == 2


def test_report_schema(tiny_models, photo):
    report = compare(photo, 1500, ("sd", "jpeg"), model="taesd").report()
    assert {"image", "width", "height", "target_size", "results"} <= set(report)
    assert (report["width"], report["height"]) == (96, 64)
    for row in report["results"]:
        assert ROW_KEYS <= set(row)
        assert row["lpips"] is None  # no LPIPS weights offline: reported as unavailable
        assert row["bpp"] == pytest.approx(row["bytes"] * 8 / (96 * 64), rel=1e-3)
    json.dumps(report)  # strictly JSON-able


def test_bad_inputs(tiny_models, photo):
    with pytest.raises(InputError):
        compare(photo, 0)
    with pytest.raises(InputError):
        compare(photo, 1000, ())
    with pytest.raises(InputError, match="unknown codec"):
        compare(photo, 1000, ("gif",))


def test_flicker_frames_are_lossless(photo):
    other = Image.fromarray(255 - np.asarray(photo))
    for fmt in ("webp", "png"):
        animation = Image.open(__import__("io").BytesIO(flicker(photo, other, 300, fmt)))
        assert animation.n_frames == 2
        frames = []
        for i in range(2):
            animation.seek(i)
            frames.append(np.asarray(animation.convert("RGB")))
        np.testing.assert_array_equal(frames[0], np.asarray(photo))
        np.testing.assert_array_equal(frames[1], np.asarray(other))
    with pytest.raises(InputError):
        flicker(photo, other.resize((10, 10)))


def test_difference_map_and_strip(photo):
    shifted = Image.fromarray(np.clip(np.asarray(photo).astype(int) + 10, 0, 255).astype(np.uint8))
    diff = np.asarray(difference_map(photo, shifted, gain=4))
    assert diff.max() <= 40 and diff.mean() > 20
    assert np.asarray(difference_map(photo, photo)).max() == 0
    strip = side_by_side([(photo, "a"), (shifted, "b\nc")])
    assert strip.width > 2 * photo.width and strip.height > photo.height


def test_cli_compare_writes_files_and_json(tiny_models, photo, tmp_path, capsys):
    src = tmp_path / "pic.png"
    photo.save(src)
    code = main(["compare", str(src), "--target-size", "1500", "--codecs", "sd,jpeg,webp",
                 "--model", "taesd", "--out", str(tmp_path / "out"), "--json", str(tmp_path / "r.json")])
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert [r["codec"] for r in report["results"]] == ["sd", "jpeg", "webp"]
    for row in report["results"]:
        assert ROW_KEYS <= set(row)
        assert (tmp_path / "out" / f"pic.{row['codec']}.decoded.png").is_file()
        assert len(open(row["file"], "rb").read()) == row["bytes"]
    assert (tmp_path / "out" / "pic.comparison.png").is_file()
    assert "PSNR" in capsys.readouterr().out


def test_cli_compare_bad_codec_exits_2(tiny_models, photo, tmp_path, capsys):
    src = tmp_path / "pic.png"
    photo.save(src)
    assert main(["compare", str(src), "--codecs", "sd,gif"]) == 2
    assert "unknown codec" in capsys.readouterr().err


def test_real_compare_on_kodak(real_taesd, kodak_dir):
    comparison = compare(kodak_dir / "kodim23.png", 7000, model="taesd")
    for r in comparison.results:
        assert r.over_target or r.size <= 7000
    strip = comparison_strip(comparison)
    assert strip.width > 768
