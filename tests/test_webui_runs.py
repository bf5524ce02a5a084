"""webui.runs: request folders under Gradio's temp dir, swept when old, with safe file names."""

import os
import time

import app_server  # noqa: F401, I001 - sets gradio's env (no analytics, no proxy) before gradio is imported

from webui import runs


def test_expired_runs_are_swept(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "x.png").write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert runs.sweep_runs(tmp_path, 3600) == 1
    assert not old.exists() and new.exists()


def test_run_folders_are_served_from_gradio_temp_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    monkeypatch.setattr(runs, "_runs_root", None)
    first, second = runs.new_run_dir(), runs.new_run_dir()
    assert first != second and first.parent == second.parent
    assert first.is_relative_to(tmp_path.resolve()) and first.parent.name.startswith("sdweb-runs-")
    assert runs.file_url(first / "a.png") == f"gradio_api/file={first / 'a.png'}"


def test_file_stem_is_safe_in_urls_and_download_names():
    assert runs.file_stem("/tmp/gradio/x/holiday photo (1).png") == "holiday_photo_1"
    assert runs.file_stem("<script>.png") == "script"
    assert runs.file_stem("....png") == "image"
    assert len(runs.file_stem("a" * 200 + ".png")) == 60
