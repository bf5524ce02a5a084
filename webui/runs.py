"""Each request's files (encoded, decoded, flicker, difference map, report) in a folder of its own, swept when old.

Every request writes into its own folder under one per-process folder inside Gradio's temp dir, so the page may
load those files through ``/gradio_api/file=``. Folders older than SDWEB_RUN_TTL seconds are removed at the start
of each request and the whole per-process folder at exit. The copies Gradio makes of returned files and of uploads
are removed by ``Blocks(delete_cache=...)`` in app.py.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sdweb import artefacts

from .settings import run_ttl_s

DIFF_GAIN = 4  # the difference map shows |original − decoded| × this
FLICKER_MS = 500  # frame time of the flicker animations and the flicker view's starting rate

_runs_root: Path | None = None
_runs_lock = threading.Lock()


def gradio_temp_dir() -> Path:
    """Where Gradio keeps uploads and outputs and serves files from (the rule of gradio.utils.get_upload_folder)."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def new_run_dir() -> Path:
    """A fresh folder for one request's files, after sweeping out expired ones."""
    global _runs_root
    with _runs_lock:
        if _runs_root is None or not _runs_root.is_dir():
            base = gradio_temp_dir()
            base.mkdir(parents=True, exist_ok=True)
            _runs_root = Path(tempfile.mkdtemp(prefix="sdweb-runs-", dir=base))
            atexit.register(shutil.rmtree, _runs_root, True)
        sweep_runs(_runs_root, run_ttl_s())
        return Path(tempfile.mkdtemp(dir=_runs_root))


def sweep_runs(root: Path, max_age_s: float) -> int:
    """Delete request folders under ``root`` older than ``max_age_s``; returns how many went."""
    removed = 0
    now = time.time()
    for folder in root.iterdir():
        try:
            expired = folder.is_dir() and now - folder.stat().st_mtime > max_age_s
        except OSError:  # removed meanwhile
            continue
        if expired:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def file_url(path: Path) -> str:
    """The URL the page loads ``path`` from (relative, so it also works under a mounted root path)."""
    return f"gradio_api/file={path}"


def file_stem(path) -> str:
    """A safe stem for the files made from ``path``: letters, digits, ``._-`` only, at most 60 characters."""
    # Uploads keep the user's file name, which ends up in URLs and download names.
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(str(path)).stem).strip("._")[:60]
    return stem or "image"


@dataclass
class Run:
    """One comparison and the files written for it, by codec name."""

    comparison: object  # sdweb.compare.Comparison
    report: dict
    folder: Path
    original: Path
    encoded: dict[str, Path] = field(default_factory=dict)
    decoded: dict[str, Path] = field(default_factory=dict)
    flicker: dict[str, Path] = field(default_factory=dict)
    diff: dict[str, Path] = field(default_factory=dict)
    report_file: Path | None = None

    @property
    def results(self):
        """The comparison's results (``sdweb.compare`` result objects), SD first when it ran."""
        return self.comparison.results


def write_run(image, comparison, app_notes: list[str]) -> Run:
    """Write every file of ``comparison`` (made from the upload ``image``) to a new run folder.

    Decoded images are PNG and flicker animations APNG, so what the page shows is exactly what was decoded. The
    report gets ``app_notes`` plus, per row, its size in kB, its file name and the decoder's notes.
    """
    folder = new_run_dir()
    stem = file_stem(image)
    original = folder / f"{stem}.original.png"
    original.write_bytes(artefacts.png_bytes(comparison.original))
    report = comparison.report()
    report["notes"] = list(report.get("notes", [])) + app_notes
    run = Run(comparison, report, folder, original)
    for row, result in zip(report["results"], comparison.results):
        name = result.codec
        run.encoded[name] = folder / f"{stem}.{name}{result.extension}"
        run.encoded[name].write_bytes(result.data)
        run.decoded[name] = folder / f"{stem}.{name}.png"
        run.decoded[name].write_bytes(artefacts.png_bytes(result.decoded))
        run.flicker[name] = folder / f"{stem}.{name}.flicker.png"  # APNG: lossless, plays in every browser
        run.flicker[name].write_bytes(artefacts.flicker(comparison.original, result.decoded, FLICKER_MS, "png"))
        run.diff[name] = folder / f"{stem}.{name}.diff.png"
        run.diff[name].write_bytes(artefacts.png_bytes(
            artefacts.difference_map(comparison.original, result.decoded, DIFF_GAIN)))
        row["kB"] = round(row["bytes"] / 1000, 3)
        row["file"] = run.encoded[name].name
        row["notes"] = list(row.get("notes", [])) + list(result.decoded.info.get("sdweb_notes", []))
    run.report_file = folder / f"{stem}.report.json"
    run.report_file.write_text(json.dumps(report, indent=2) + "\n")
    return run
