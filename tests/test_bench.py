import csv

import pytest
from PIL import Image

from conftest import smooth_image
from sdweb import bench
from sdweb.cli import main
from sdweb.errors import InputError


@pytest.fixture
def dataset(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(32, 48, seed=i)).save(folder / f"img{i}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def rows_of(out):
    with open(out / "results.csv") as f:
        return list(csv.DictReader(f))


def test_runs_resumes_and_summarises(tiny_models, dataset, tmp_path):
    out = tmp_path / "out"
    rows = bench.run(dataset, out, bpps=[0.8, 2.0], codecs=["sd-entropy", "jpeg"], progress=False)
    assert len(rows) == 2 * 2 * 2
    assert {r["codec"] for r in rows} == {"sd-entropy", "jpeg"}
    for r in rows:
        assert float(r["psnr"]) > 0 and r["ssimulacra2"] != ""
    sd = [r for r in rows if r["codec"] == "sd-entropy"]
    assert all(int(r["coded_bits"]) >= float(r["model_bits"]) > 0 for r in sd)

    # Interrupted run: drop the last rows, run again, only they are redone.
    lines = (out / "results.csv").read_text().splitlines()
    (out / "results.csv").write_text("\n".join(lines[:-3]) + "\n")
    rows = bench.run(dataset, out, bpps=[0.8, 2.0], codecs=["sd-entropy", "jpeg"], progress=False)
    assert len(rows) == 8 and len({(r["image"], r["codec"], r["target"]) for r in rows}) == 8

    text = bench.summarise(rows, out, anchors=["jpeg"])
    assert "BD-rate" in text and "Entropy coder overhead" in text
    for name in ("rd_psnr.png", "rd_ms_ssim.png", "rd_ssimulacra2.png", "summary.md", "summary.json"):
        assert (out / name).is_file()


def test_match_sd_gives_classic_codecs_the_sd_size(tiny_models, dataset, tmp_path):
    rows = bench.run(dataset, tmp_path / "m", bpps=[1.0], codecs=["webp", "sd-entropy"], match_sd=True,
                     progress=False)
    by = {(r["image"], r["codec"]): r for r in rows}
    for image in ("img0.png", "img1.png"):
        assert by[(image, "webp")]["target_bytes"] == by[(image, "sd-entropy")]["bytes"]


def test_bad_arguments(dataset, tmp_path, capsys):
    with pytest.raises(InputError, match="unknown bench codec"):
        bench.run(dataset, tmp_path / "x", codecs=["gif"], progress=False)
    with pytest.raises(InputError, match="does not exist"):
        bench.run(tmp_path / "nowhere", tmp_path / "x", progress=False)
    assert main(["bench", str(dataset), "--bpp", "a,b", "--out", str(tmp_path / "y")]) == 2
    assert "comma-separated" in capsys.readouterr().err


def test_effort_and_model_are_part_of_the_codec_name():
    assert bench.codec_label("sd-entropy", 9) == "sd-entropy-e9"
    assert bench.codec_label("sd-entropy", 0, "auto") == "sd-entropy@auto"
    assert bench.codec_label("webp", 9) == "webp"
