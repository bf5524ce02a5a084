import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import smooth_image
from sdweb.cli import main, parse_size


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "in.png"
    Image.fromarray(smooth_image(40, 56)).save(path)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text, value", [("5000", 5000), ("5KB", 5000), ("5kB", 5000), ("5k", 5000),
                                         ("5KiB", 5120), ("1.5KB", 1500), ("2MB", 2_000_000)])
def test_sizes(text, value):
    assert parse_size(text) == value


def test_encode_info_decode(tiny_models, photo, tmp_path, capsys):
    sdw, png = tmp_path / "out.sdw", tmp_path / "out.png"
    code, out, err = run(capsys, "encode", photo, sdw, "--target-size", "1KB", "--model", "taesd")
    assert code == 0 and sdw.stat().st_size <= 1000 and "bytes" in out
    code, out, _ = run(capsys, "info", sdw)
    info = json.loads(out)
    assert code == 0 and (info["width"], info["height"], info["mode"]) == (56, 40, "palette")
    code, out, _ = run(capsys, "decode", sdw, png)
    assert code == 0 and Image.open(png).size == (56, 40)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["encode", "missing.png", "o.sdw"], "no such image"),
        (["encode", "{photo}", "o.sdw", "--target-size", "12XB"], "not a size"),
        (["encode", "{photo}", "o.sdw", "--target-size", "20"], "smallest file is"),
        (["encode", "{photo}", "o.sdw", "--model", "nope"], "unknown model"),
        (["encode", "{photo}", "o.sdw", "--colors", "999"], "colors"),
        (["decode", "{photo}", "o.png"], "not an .sdw file"),
        (["decode", "missing.sdw", "o.png"], "no such file"),
        (["info", "{photo}"], "not an .sdw file"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
        (["encode", "{photo}", "{photo}"], "overwrite the input"),
        (["encode", "{photo}", "no/such/dir/o.sdw"], "does not exist"),
    ],
)
def test_bad_usage_exits_2_with_one_line(tiny_models, photo, tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *[a.replace("{photo}", str(photo)) for a in argv])
    assert code == 2
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "o.sdw").exists() and not (tmp_path / "o.png").exists()
    assert photo.stat().st_size > 0  # the input survives


def test_truncated_file_exits_2(tiny_models, photo, tmp_path, capsys):
    sdw = tmp_path / "x.sdw"
    assert run(capsys, "encode", photo, sdw)[0] == 0
    sdw.write_bytes(sdw.read_bytes()[:-7])
    code, _, err = run(capsys, "decode", sdw, tmp_path / "x.png")
    assert code == 2 and ("truncated" in err or "checksum" in err)


def test_as_a_process_no_traceback(tmp_path):
    bad = tmp_path / "bad.sdw"
    bad.write_bytes(b"\x89SDW garbage")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-m", "sdweb", "decode", str(bad), str(tmp_path / "o.png")],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.strip().startswith("error:")
    assert len(result.stderr.strip().splitlines()) == 1
