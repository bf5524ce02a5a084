"""sdweb web app: SD latent compression next to JPEG, WebP, AVIF and JPEG XL, in the browser and through an API.

Only UI wiring lives here. Every size, score, file and picture comes from the
sdweb library (``compare``, ``artefacts``, ``scoreboard``, ``decode``/``info``);
this module lays them out. Every handler is a plain function that tests call
without a browser; errors a user can cause become ``gr.Error`` sentences.

Run ``python app.py``; the environment variables are listed in the README
("Web app") and in ``Spacefile``.
"""

from __future__ import annotations

import atexit
import html
import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

try:  # On a Hugging Face Space with ZeroGPU; imported before anything touches CUDA.
    import spaces
except ImportError:
    spaces = None

import gradio as gr
import pandas as pd
from PIL import Image

import sdweb
from sdweb import artefacts, metrics, scoreboard
from sdweb.codecs import CLASSIC
from sdweb.compare import compare
from sdweb.latent import CODECS as SD_MODES
from sdweb.models import MODELS, default_device, default_model, load_autoencoder

ROOT = Path(__file__).resolve().parent
EXAMPLES = [  # (file, label) in the order shown
    ("closeup_cat.png", "Cat, close-up"),
    ("portrait_astronaut.png", "Portrait"),
    ("landscape_autumn_mountains.jpg", "Landscape"),
    ("still_life_coffee.png", "Coffee"),
    ("text_printed_page.png", "Printed text"),
    ("texture_grass.png", "Grass texture"),
]
BUHLMANN_BYTES, BUHLMANN_SIDE = 5000, 512  # "about 5 kB at 512×512"
DEFAULT_TARGET_KB = 5.0
MAX_TARGET_KB = 5000.0
DIFF_GAIN = 4
FLICKER_MS = 500
ZOOMS = [["fit", "Fit"], ["1", "1:1"], ["2", "2×"]]  # the flicker view's zoom buttons: (key, label)
DENOISE_CHOICES = ["auto", "0", "1", "2", "4", "8", "16"]
ZERO_GPU = spaces is not None and os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(float(value))


def max_pixels() -> int:
    """The app's pixel cap (``SDWEB_APP_MAX_PIXELS``, default 2.1 MP: a 1920×1080 photo fits)."""
    return _env_int("SDWEB_APP_MAX_PIXELS", 2_100_000)


def codec_choices() -> list[tuple[str, str]]:
    """(label, name) of every codec this machine can run, SD first."""
    return [("SD latent", "sd")] + [(c().label, name) for name, c in CLASSIC.items() if c().available()]


def startup_model() -> str:
    """The SD autoencoder the page starts with: ``SDWEB_MODEL``, else sd15 on a GPU and taesd on a CPU."""
    return os.environ.get("SDWEB_MODEL") or default_model()


# --- model status -----------------------------------------------------------------------------------------------


@dataclass
class ModelStatus:
    """What the page says about the SD model: which one, where, and whether it loaded."""

    model: str
    device: str
    ok: bool
    message: str
    denoiser: str = ""

    def markdown(self) -> str:
        where = f"`{self.model}` on {self.device.upper()}"
        if self.ok:
            line = f"**SD model:** {where} — loaded{f' in {self.message}' if self.message else ''}."
        else:
            line = (f"**SD model:** {where} — **not available.** {_sentence(self.message)} "
                    "JPEG, WebP, AVIF and JPEG XL keep working; SD is skipped until the model is provided.")
        return line + (f" **Denoising:** {self.denoiser}" if self.denoiser else "")


# Models that failed to load, with when and why: requests skip SD at once instead of retrying the Hub each time
# (which, with a flaky network, could stall every request). Retried after SDWEB_MODEL_RETRY seconds (default 600).
_model_failures: dict[str, tuple[float, str]] = {}


def model_problem(name: str) -> str | None:
    """None if the autoencoder ``name`` is loaded (loading it now, once), else why it is not available."""
    failed = _model_failures.get(name)
    if failed and time.monotonic() - failed[0] < _env_int("SDWEB_MODEL_RETRY", 600):
        return failed[1]
    try:
        load_autoencoder(name)  # the library caches a loaded model for the whole process
    except Exception as e:  # noqa: BLE001 - ModelNotAvailableError, InputError, or anything diffusers throws
        _model_failures[name] = (time.monotonic(), str(e))
        return str(e)
    _model_failures.pop(name, None)
    return None


def check_models(model: str | None = None, preload_denoiser: bool | None = None) -> ModelStatus:
    """Load the SD autoencoder once (the library caches it) and describe the outcome; never raises.

    On a GPU the denoising UNet is loaded too, since decodes use it by default.
    """
    name = model or startup_model()
    try:
        device = default_device()
    except Exception as e:  # noqa: BLE001 - e.g. a broken torch install: the page must still come up
        return ModelStatus(name, "cpu", False, f"torch is not usable here ({e})")
    start = time.perf_counter()
    problem = model_problem(name)
    if problem:
        return ModelStatus(name, device, False, problem)
    seconds = time.perf_counter() - start
    status = ModelStatus(name, device, True, f"{seconds:.1f} s" if seconds >= 0.1 else "")  # "" when already cached
    if preload_denoiser is None:
        preload_denoiser = device.startswith("cuda")
    if preload_denoiser:
        from sdweb.denoise import DEFAULT_STEPS_GPU, load_denoiser

        try:
            load_denoiser()
            status.denoiser = f"SD 1.5 UNet loaded, {DEFAULT_STEPS_GPU} steps by default."
        except Exception as e:  # noqa: BLE001
            status.denoiser = f"the SD 1.5 UNet is not available, so SD decodes without it ({_sentence(str(e))})"
    else:
        status.denoiser = "off by default on a CPU (pick steps under SD options to use the SD 1.5 UNet)."
    return status


# --- temp files -------------------------------------------------------------------------------------------------
# Every request writes into its own folder under one per-process folder inside Gradio's temp dir (so the page may
# load those files through /gradio_api/file=). Folders older than SDWEB_RUN_TTL seconds (default 1 h) are removed
# at the start of each request and the whole per-process folder at exit. The copies Gradio makes of returned files
# and of uploads are removed by Blocks(delete_cache=...).

_runs_root: Path | None = None
_runs_lock = threading.Lock()


def _gradio_temp_dir() -> Path:
    # Where Gradio keeps uploads and outputs and serves files from (same rule as gradio.utils.get_upload_folder).
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def new_run_dir() -> Path:
    """A fresh folder for one request's files, after sweeping out expired ones."""
    global _runs_root
    with _runs_lock:
        if _runs_root is None or not _runs_root.is_dir():
            base = _gradio_temp_dir()
            base.mkdir(parents=True, exist_ok=True)
            _runs_root = Path(tempfile.mkdtemp(prefix="sdweb-runs-", dir=base))
            atexit.register(shutil.rmtree, _runs_root, True)
        sweep_runs(_runs_root, _env_int("SDWEB_RUN_TTL", 3600))
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


# --- input checks -----------------------------------------------------------------------------------------------


def user_error(message: str) -> gr.Error:
    """A gr.Error for something the user can fix: shown on the page (as text), not logged with a traceback."""
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def _sentence(message: str) -> str:
    message = str(message).strip()
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def _target_bytes(target_kb) -> int:
    try:
        kb = float(target_kb)
    except (TypeError, ValueError):
        raise user_error("Enter the target size as a number of kB, for example 5.") from None
    if not 0 < kb <= MAX_TARGET_KB:
        raise user_error(f"The target size must be between 0 and {MAX_TARGET_KB:,.0f} kB; you entered {kb:g} kB.")
    return max(1, round(kb * 1000))


def _denoise_steps(value) -> int | None:
    if value in (None, "", "auto"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise user_error(f"Denoise steps must be 'auto' or a whole number from 0 to 50, not {value!r}.") from None


def _whole(value, name: str, low: int, high: int) -> int:
    try:
        number = int(value if value is not None else low)
    except (TypeError, ValueError):
        raise user_error(f"The {name} must be a whole number from {low} to {high}.") from None
    if not low <= number <= high:
        raise user_error(f"The {name} must be from {low} to {high}; you entered {number}.")
    return number


def image_size(path) -> tuple[int, int] | None:
    """Width and height from the image file's header, or None if it cannot be read."""
    try:
        with Image.open(path) as image:
            return image.size
    except Exception:  # noqa: BLE001 - the library gives the real error when the image is used
        return None


def _check_image(path) -> tuple[int, int]:
    if not path:
        raise user_error("Upload an image first, or click one of the examples.")
    size = image_size(path)
    if size is None:
        raise user_error("This file is not an image we can read. Upload a PNG, JPEG, WebP, AVIF or TIFF file.")
    width, height = size
    limit = max_pixels()
    if width * height > limit:
        raise user_error(f"The image is {width}×{height} = {width * height / 1e6:.1f} megapixels; this app takes at "
                         f"most {limit / 1e6:.1f}. Downscale it and try again.")
    return size


# --- the comparison ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One comparison and the files written for it."""

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
        return self.comparison.results


def _stem(path) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(str(path)).stem).strip("._")[:60]
    return stem or "image"


def _compare(image, target, codecs, **options):
    return compare(image, target, codecs, **options)


if spaces is not None:
    # A no-op unless the Space runs on ZeroGPU, where it borrows a GPU for the call.
    _compare = spaces.GPU(duration=120)(_compare)


def run_comparison(image, target_kb=DEFAULT_TARGET_KB, codecs=None, model=None, mode="palette",
                   denoise_steps="auto", seed=0, effort=0, progress=None) -> Run:
    """Validate the inputs, run ``sdweb.compare.compare`` and write every file the page and the API hand out.

    ``progress(fraction, stage)`` is called between stages. Raises gr.Error for anything the user can fix.
    """
    _check_image(image)
    target = _target_bytes(target_kb)
    codecs = [c for c in (codecs if codecs is not None else [n for _, n in codec_choices()])]
    if not codecs:
        raise user_error("Tick at least one codec to compare.")
    model = model or startup_model()
    steps = _denoise_steps(denoise_steps)
    seed = _whole(seed, "seed", 0, 2**32 - 1)
    effort = _whole(effort, "effort", 0, 9)
    app_notes = []
    problem = model_problem(model) if "sd" in codecs else None  # a missing model skips SD, not the whole run
    if problem:
        codecs.remove("sd")
        app_notes.append(f"SD was skipped: {_sentence(problem)}")
        if not codecs:
            raise user_error(f"The SD model is not available, so there is nothing to compare. {_sentence(problem)} "
                             "Tick JPEG, WebP, AVIF or JPEG XL to compare those.")

    stages = 3 * len(codecs) + ("sd" in codecs) + 1
    done = [0]

    def say(stage: str) -> None:
        if progress is not None:
            progress(done[0] / stages, stage)
        done[0] += 1

    try:
        comparison = _compare(
            image, target, codecs, model=model, mode=mode, denoise_steps=steps, seed=seed,
            sd_options={"effort": effort} if effort > 0 else None, max_pixels=max_pixels(),
            progress=None if ZERO_GPU else say,  # a callback cannot cross into the ZeroGPU worker
        )
    except sdweb.ModelNotAvailableError as e:
        hint = " Set denoise steps to auto or 0 to decode without the UNet." if steps else ""
        raise user_error(_sentence(e) + hint) from None
    except sdweb.SdwebError as e:
        raise user_error(_sentence(e)) from None
    say("writing files")
    return _write_run(image, comparison, app_notes)


def _write_run(image, comparison, app_notes: list[str]) -> Run:
    folder = new_run_dir()
    stem = _stem(image)
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


# --- what the page shows ----------------------------------------------------------------------------------------


def size_text(num_bytes: int) -> str:
    return f"{num_bytes:,} bytes ({num_bytes / 1000:.2f} kB)"


def target_hint(image, target_kb) -> str:
    """What the target means for this image: bits per pixel and compression ratio."""
    try:
        target = max(1, round(float(target_kb) * 1000))
    except (TypeError, ValueError):
        return "Enter a target size in kB."
    size = image_size(image) if image else None
    if size is None:
        bpp = metrics.bits_per_pixel(target, BUHLMANN_SIDE, BUHLMANN_SIDE)
        side = BUHLMANN_SIDE
        return f"= **{bpp:.3f} bpp** at {side}×{side} ({target:,} bytes); upload an image for its own figure."
    width, height = size
    bpp = metrics.bits_per_pixel(target, width, height)
    ratio = metrics.compression_ratio(target, width, height)
    return f"= **{bpp:.3f} bpp** for this {width}×{height} image ({target:,} bytes, {ratio:,.0f}:1)."


def buhlmann_target(image) -> float:
    """The target in kB with Bühlmann's bits per pixel (about 5 kB at 512×512) for this image's size."""
    size = image_size(image) if image else None
    width, height = size or (BUHLMANN_SIDE, BUHLMANN_SIDE)
    return round(BUHLMANN_BYTES * width * height / BUHLMANN_SIDE**2 / 1000, 2)


def notes_markdown(run: Run) -> str:
    notes = list(run.report["notes"])
    for row in run.report["results"]:
        notes += [f"{row['label']}: {note}" for note in row["notes"]]
    if not notes:
        return ""
    return "**Notes**\n\n" + "\n".join(f"- {html.escape(_sentence(n))}" for n in notes)


def metrics_table(report: dict):
    """The report as a pandas Styler: one row per codec, the best value of each column highlighted."""
    columns = scoreboard.columns(report)
    winners = scoreboard.best(report)
    rows = []
    for row in report["results"]:
        cells = {"Codec": row["label"] + (" ⚠ over target" if row["over_target"] else "")}
        cells.update({c.title: row.get(c.key) for c in columns})
        cells["Setting"] = row["setting"]
        rows.append(cells)
    frame = pd.DataFrame(rows)
    style = "background-color: rgba(34, 197, 94, 0.28); font-weight: 700"

    def mark(series):
        column = next(c for c in columns if c.title == series.name)
        return [style if i in winners.get(column.key, set()) else "" for i in range(len(series))]

    styler = frame.style.apply(mark, axis=0, subset=[c.title for c in columns])
    return styler.format({c.title: c.format for c in columns})


def empty_table() -> pd.DataFrame:
    """The table's headers before the first run."""
    return pd.DataFrame(columns=["Codec", *(c.title for c in scoreboard.COLUMNS if c.key != "lpips"), "Setting"])


def cards_html(run: Run) -> str:
    """A card per image: the original, then each decoded result with its size, rate, scores and download."""
    width, height = run.comparison.width, run.comparison.height
    raw = 3 * width * height
    cards = [_card(file_url(run.original), "Original", [f"{width}×{height} pixels", f"{raw:,} bytes as raw RGB",
                                                        "24 bpp"], [], False)]
    for row in run.report["results"]:
        codec = row["codec"]
        lines = [
            f"<b>{size_text(row['bytes'])}</b>",
            f"{row['bpp']:.3f} bpp · {row['compression_ratio']:,.0f}:1",
            scoreboard.summary(row),
            f"{row['setting']} · encode {row['encode_s']:.2f} s · decode {row['decode_s']:.2f} s",
        ]
        if codec == "sd":
            lines.append("⚠ " + SD_WARNING)
        files = [(run.encoded[codec], run.encoded[codec].suffix), (run.flicker[codec], "flicker")]
        cards.append(_card(file_url(run.decoded[codec]), row["label"], lines, files, row["over_target"]))
    return f'<div class="cards">{"".join(cards)}</div>'


def _card(src, title, lines, files, over) -> str:
    badge = '<span class="badge" title="This codec could not get down to the target size">over target</span>' \
        if over else ""
    body = "".join(
        f'<div class="warn">{html.escape(line)}</div>' if line.startswith("⚠") else
        f"<div>{line}</div>" if line.startswith("<b>") else
        # keep "PSNR 25.62 dB" in one piece: lines wrap only between the items
        "<div>" + " · ".join(f'<span class="item">{html.escape(p)}</span>' for p in line.split(" · ")) + "</div>"
        for line in lines)
    links = "".join(f'<a class="dl" href="{html.escape(file_url(path))}" download="{html.escape(path.name)}" '
                    f'title="Download {html.escape(path.name)}">⬇ {html.escape(text)}</a>' for path, text in files)
    link = f'<div class="links">{links}</div>' if links else ""
    return (f'<figure class="card"><a href="{html.escape(src)}" target="_blank" rel="noopener">'
            f'<img src="{html.escape(src)}" alt="{html.escape(title)}" loading="lazy"></a>'
            f'<figcaption><div class="title">{html.escape(title)} {badge}</div>{body}{link}</figcaption></figure>')


def flicker_value(run: Run | None) -> dict:
    """The flicker view's value: the original and every decoded PNG, served as they are (no re-encoding)."""
    if run is None:
        return {"original": "", "items": [], "ms": FLICKER_MS, "zooms": ZOOMS}
    items = []
    for row in run.report["results"]:
        caption = f"{row['bytes']:,} bytes · {row['bpp']:.3f} bpp · {scoreboard.summary(row)}"
        items.append({"codec": row["codec"], "label": row["label"], "src": file_url(run.decoded[row["codec"]]),
                      "caption": caption})
    return {"original": file_url(run.original), "width": run.comparison.width, "height": run.comparison.height,
            "items": items, "ms": FLICKER_MS, "zooms": ZOOMS}


def inspect_state(run: Run) -> dict:
    """What the codec picker under the slider needs, as plain strings (kept in a gr.State)."""
    return {"original": str(run.original),
            "labels": {r.codec: r.label for r in run.results},
            "decoded": {k: str(v) for k, v in run.decoded.items()},
            "diff": {k: str(v) for k, v in run.diff.items()}}


def inspect(codec, state):
    """Slider (original, decoded) and difference map for ``codec`` of the last run."""
    if not state or codec not in state.get("decoded", {}):
        raise user_error("Run a comparison first, then pick one of its codecs here.")
    if not Path(state["decoded"][codec]).is_file():
        raise user_error("These results have expired. Run the comparison again.")
    return (state["original"], state["decoded"][codec]), state["diff"][codec], _diff_caption(state["labels"][codec])


def _diff_caption(label: str) -> str:
    return f"Difference map: |original − {label}| × {DIFF_GAIN}. Black = unchanged; bright = changed."


def compress_ui(image, target_kb, codecs, model, mode, denoise_steps, seed, effort, progress=gr.Progress()):
    """The Run button: a comparison laid out for the page."""
    run = run_comparison(image, target_kb, codecs, model, mode, denoise_steps, seed, effort,
                         progress=lambda fraction, stage: progress(fraction, desc=stage))
    first = run.results[0].codec  # SD when it ran: the honesty panel starts on it
    state = inspect_state(run)
    slider, diff, caption = inspect(first, state)
    downloads = [str(p) for p in run.encoded.values()] + [str(p) for p in run.flicker.values()] + [str(run.report_file)]
    return (
        flicker_value(run),
        notes_markdown(run),
        metrics_table(run.report),
        cards_html(run),
        gr.update(choices=[(r.label, r.codec) for r in run.results], value=first),
        slider,
        diff,
        caption,
        downloads,
        run.report,
        state,
    )


def compress(image: str, target_kb: float = DEFAULT_TARGET_KB, codecs: list[str] | None = None,
             model: str | None = None, mode: str = "palette", denoise_steps: str = "auto", seed: int = 0,
             effort: int = 0, progress=gr.Progress()) -> tuple[dict, list[str], list[str]]:
    """Compress an image with SD and the classic codecs at the same file size, and score each result.

    Args:
        image: the image file (PNG, JPEG, WebP, …).
        target_kb: the SD file's target size in kB (1 kB = 1000 bytes); every other codec then aims at SD's actual size.
        codecs: any of "sd", "jpeg", "webp", "avif", "jxl" (default: all available).
        model: the SD autoencoder, e.g. "taesd" or "sd15" (default: sd15 on a GPU, taesd on a CPU).
        mode: the SD latent coding mode, e.g. "palette".
        denoise_steps: "auto" (4 on a GPU, 0 on a CPU) or a number of SD 1.5 UNet steps when decoding.
        seed: the seed stored in the .sdw file for the denoising decoder.
        effort: 0 to 9, encoder-side refinement of the SD latent (slower; 0 = off).

    Returns:
        The JSON report (sizes, bpp, compression ratio, PSNR, SSIM, MS-SSIM, SSIMULACRA 2, LPIPS, notes),
        the encoded files (.sdw, .jpg, .webp, .avif, .jxl) and the decoded images as PNG, in report order.
    """
    run = run_comparison(image, target_kb, codecs, model, mode, denoise_steps, seed, effort,
                         progress=lambda fraction, stage: progress(fraction, desc=stage))
    order = [row["codec"] for row in run.report["results"]]
    return run.report, [str(run.encoded[c]) for c in order], [str(run.decoded[c]) for c in order]


def decode(file: str, model: str = "auto", denoise_steps: str = "auto") -> tuple[str, dict]:
    """Decode an .sdw file back into an image.

    Args:
        file: the .sdw file.
        model: "auto" (the device's default for the file's latent family) or an autoencoder name such as "taesd".
        denoise_steps: "auto" (4 on a GPU for SD 1.x files, else 0) or a number of SD 1.5 UNet steps.

    Returns:
        The decoded image as PNG and the file's header (size, mode, latent family, seed, parameters).
    """
    if not file:
        raise user_error("Upload an .sdw file first.")
    data = Path(file).read_bytes()
    steps = _denoise_steps(denoise_steps)
    try:
        header = sdweb.info(data)
        image = _decode(data, None if model in (None, "", "auto") else model, steps)
    except sdweb.FormatError as e:
        raise user_error(f"This is not a valid .sdw file: {e}. Upload a file made by sdweb (this page's Compress "
                         "tab or `python -m sdweb encode`).") from None
    except sdweb.ModelNotAvailableError as e:
        hint = " Set denoise steps to auto or 0 to decode without the UNet." if steps else ""
        raise user_error(_sentence(e) + hint) from None
    except sdweb.SdwebError as e:
        raise user_error(_sentence(e)) from None
    out = new_run_dir() / f"{_stem(file)}.decoded.png"
    out.write_bytes(artefacts.png_bytes(image))
    notes = image.info.get("sdweb_notes", [])
    if notes:
        header["decode_notes"] = notes
    return str(out), header


def _decode(data, model, steps):
    return sdweb.decode(data, model=model, denoise_steps=steps, max_pixels=max_pixels())


if spaces is not None:
    _decode = spaces.GPU(duration=60)(_decode)


# --- the page ---------------------------------------------------------------------------------------------------

INTRO = """
# sdweb <span class="sub">Stable Diffusion as an image codec, side by side with JPEG, WebP, AVIF and JPEG XL</span>

sdweb stores an image as a hard-quantized Stable Diffusion latent, as Matthias Bühlmann proposed in 2022: a 512×512
photo in about 5 kB. Here it meets the classic codecs **at the same file size**: SD is encoded first, and every other
codec gets SD's actual size as its target and the best quality that fits. The flicker view alternates the original
and each decoded image in place, pixel for pixel, so you see what each codec really changed.
"""

HONESTY = """
### Before you trust the SD result
SD's decoder does not keep your pixels; it turns a coarse latent back into *a* plausible image. At these sizes it can
**change faces, text and shapes** — another smile, letters that spell nothing, a reshuffled texture — **while looking
perfectly authentic**. Classic codecs fail visibly (blocks, blur, ringing); SD can fail invisibly. The difference
map shows where the pixels moved.
"""

SD_WARNING = "can change faces, text and shapes while looking real; see the difference map below."

ATTRIBUTION = (
    'Example images: landscape by <a href="https://creativecommons.org/licenses/by/4.0/" target="_blank" '
    'rel="noopener">Aitzol Berasategi, CC BY 4.0</a> (resized and cropped); astronaut: NASA, public domain; '
    "cat: Stéfan van der Walt, coffee: Rachel Michetti, grass: linolafett, all CC0; printed page: scikit-image "
    "(BSD-3-Clause). Details in <code>examples/README.md</code>."
)

FLICKER_TEMPLATE = """
<div class="flk" data-showing="original">
{{#if value.items.length}}
  <div class="flk-bar">
    <div class="flk-codecs">{{#each value.items}}
      <button type="button" class="flk-codec" data-i="{{@index}}">{{this.label}}</button>{{/each}}
    </div>
    <div class="flk-controls">
      <button type="button" class="flk-pause">Pause</button>
      <label>every <input class="flk-rate" type="range" min="100" max="2000" step="50" value="{{value.ms}}">
        <span class="flk-ms">{{value.ms}} ms</span></label>
      <span class="flk-zooms">{{#each value.zooms}}
        <button type="button" class="flk-zoom" data-z="{{this.[0]}}">{{this.[1]}}</button>{{/each}}
      </span>
    </div>
  </div>
  <div class="flk-view">
    <div class="flk-stage" style="--w: {{value.width}}; --h: {{value.height}}"
         title="Paused? Click to switch between original and decoded">
      <img class="flk-a" src="{{value.original}}" alt="original">
      {{#each value.items}}<img class="flk-b" data-i="{{@index}}" src="{{this.src}}" alt="{{this.label}}">{{/each}}
      <div class="flk-tag">Original</div>
    </div>
  </div>
  <div class="flk-caption"></div>
{{else}}
  <div class="flk-empty"><b>Flicker view</b><div>Pick an image (or an example) and press <b>Run comparison</b>.<br>
  The original and each decoded image will alternate here, pixel for pixel as decoded.</div></div>
{{/if}}
</div>
"""

FLICKER_CSS = """
.flk { border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg); padding: 10px;
       background: var(--background-fill-secondary); }
.flk-bar { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; justify-content: space-between;
           margin-bottom: 8px; }
.flk-codecs, .flk-controls { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.flk button { border: 1px solid var(--border-color-primary); border-radius: 999px; padding: 3px 12px; line-height: 1.4;
              background: var(--background-fill-primary); color: var(--body-text-color); cursor: pointer;
              font-size: 0.9em; }
.flk button.selected { background: var(--color-accent); border-color: var(--color-accent); color: white; }
.flk label { display: inline-flex; gap: 6px; align-items: center; font-size: 0.9em; }
.flk-rate { width: 110px; }
.flk-view { overflow: auto; max-height: 76vh; border-radius: var(--radius-md);
            background: repeating-conic-gradient(#8882 0 25%, transparent 0 50%) 0 0 / 16px 16px; }
/* Both images fill the same box, so the decoded one covers the original exactly; "fit" scales the box to the
   column, 1:1 and 2x show real pixels (nearest neighbour). */
.flk-stage { position: relative; margin: 0 auto; cursor: pointer; aspect-ratio: var(--w) / var(--h);
             width: min(100%, calc(70vh * var(--w) / var(--h))); }
.flk-stage img { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.flk-stage .flk-b { visibility: hidden; }
.flk[data-zoom="1"] .flk-stage { width: calc(var(--w) * 1px); }
.flk[data-zoom="2"] .flk-stage { width: calc(var(--w) * 2px); }
.flk[data-zoom="1"] img, .flk[data-zoom="2"] img { image-rendering: pixelated; }
.flk-tag { position: absolute; top: 8px; left: 8px; padding: 2px 10px; border-radius: 999px; line-height: 1.6;
           background: rgba(0, 0, 0, 0.65); color: white; font-size: 0.85em; pointer-events: none; }
.flk[data-showing="decoded"] .flk-tag { background: var(--color-accent); }
.flk-caption { margin-top: 6px; font-size: 0.9em; color: var(--body-text-color-subdued); min-height: 1.4em; }
.flk-empty { min-height: 380px; display: flex; flex-direction: column; justify-content: center; align-items: center;
             text-align: center; color: var(--body-text-color-subdued); line-height: 1.7; }
.flk-empty b:first-child { font-size: 1.3em; color: var(--body-text-color); }
"""

# State lives in this closure; the template is re-rendered (and DOM patched) when Python sends a new value, so
# every tick looks elements up again and `apply()` re-imposes the state.
FLICKER_JS = """
const st = {i: 0, decoded: false, paused: false, ms: 500, zoom: 'fit', timer: null};
const q = (s) => element.querySelector(s);
const items = () => (props.value && props.value.items) || [];
function apply() {
  const n = items().length, root = q('.flk');
  if (!root) return;
  if (!n) { root.dataset.showing = 'original'; return; }
  if (st.i >= n) st.i = 0;
  element.querySelectorAll('.flk-b').forEach((img) => {
    img.style.visibility = (st.decoded && Number(img.dataset.i) === st.i) ? 'visible' : 'hidden';
  });
  element.querySelectorAll('.flk-codec').forEach((b) => b.classList.toggle('selected', Number(b.dataset.i) === st.i));
  root.dataset.showing = st.decoded ? 'decoded' : 'original';
  root.dataset.zoom = st.zoom;
  element.querySelectorAll('.flk-zoom').forEach((b) => b.classList.toggle('selected', b.dataset.z === st.zoom));
  const tag = q('.flk-tag'); if (tag) tag.textContent = st.decoded ? items()[st.i].label : 'Original';
  const cap = q('.flk-caption'); if (cap) cap.textContent = items()[st.i].caption || '';
  const rate = q('.flk-rate'); if (rate && Number(rate.value) !== st.ms) rate.value = st.ms;
  const ms = q('.flk-ms'); if (ms) ms.textContent = st.ms + ' ms';
  const pause = q('.flk-pause'); if (pause) pause.textContent = st.paused ? '▶ Play' : '❚❚ Pause';
}
function restart() {
  clearInterval(st.timer);
  if (!st.paused && items().length) st.timer = setInterval(() => { st.decoded = !st.decoded; apply(); }, st.ms);
  apply();
}
element.addEventListener('click', (e) => {
  const codec = e.target.closest('.flk-codec');
  if (codec) { st.i = Number(codec.dataset.i); st.decoded = true; restart(); return; }
  if (e.target.closest('.flk-pause')) { st.paused = !st.paused; restart(); return; }
  const zoom = e.target.closest('.flk-zoom');
  if (zoom) { st.zoom = zoom.dataset.z; apply(); return; }
  if (st.paused && e.target.closest('.flk-stage')) { st.decoded = !st.decoded; apply(); }
});
element.addEventListener('input', (e) => {
  if (e.target.closest('.flk-rate')) { st.ms = Math.max(50, Number(e.target.value) || 500); restart(); }
});
watch('value', () => { st.i = 0; st.decoded = false; restart(); });
restart();
"""

CARDS_CSS = """
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; }
.card { margin: 0; border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg); overflow: hidden;
        background: var(--background-fill-primary); display: flex; flex-direction: column; }
.card img { display: block; width: 100%; aspect-ratio: 4 / 3; object-fit: cover; background: #8882; }
.card figcaption { padding: 8px 10px 10px; font-size: 0.85em; line-height: 1.45; display: flex;
                   flex-direction: column; gap: 1px; color: var(--body-text-color-subdued); }
.card .title { font-size: 1.1em; font-weight: 700; color: var(--body-text-color); margin-bottom: 2px; }
.card b { color: var(--body-text-color); }
.badge { font-size: 0.75em; font-weight: 600; padding: 1px 8px; border-radius: 999px; background: #f59e0b;
         color: black; vertical-align: middle; }
.links { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.dl { padding: 1px 10px; border-radius: 999px; text-decoration: none; font-weight: 600;
      border: 1px solid var(--color-accent); color: var(--color-accent); }
.warn { margin-top: 4px; color: #b45309; }
.item { white-space: nowrap; }
.dl:hover { background: var(--color-accent); color: white; }
"""

PAGE_CSS = """
.gradio-container { max-width: 1400px !important; margin: 0 auto; }
h1 .sub { display: block; font-size: 0.5em; font-weight: 400; color: var(--body-text-color-subdued); margin-top: 4px; }
#status { font-size: 0.92em; padding: 6px 12px; border-radius: var(--radius-lg);
          background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
#attribution { font-size: 0.78em; color: var(--body-text-color-subdued); }
#honesty { border-left: 4px solid #f59e0b; padding-left: 12px; }
#run-btn { font-size: 1.1em; }
#target-hint { margin-top: 6px; }
"""


def build_demo(status: ModelStatus | None = None) -> gr.Blocks:
    """The whole page. ``status`` defaults to loading the startup model now (once per process)."""
    status = status or check_models()
    choices = codec_choices()
    default_codecs = [name for _, name in choices]
    model_choices = [(f"{name} — {spec.description}", name) for name, spec in MODELS.items()]
    modes = list(SD_MODES)

    with gr.Blocks(title="sdweb: Stable Diffusion image compression, compared",
                   delete_cache=(1800, 3600)) as demo:  # Gradio's copies of uploads/outputs go after an hour
        gr.Markdown(INTRO)
        gr.Markdown(status.markdown(), elem_id="status")
        with gr.Tab("Compress and compare"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=340):
                    image = gr.Image(label="Image", type="filepath", image_mode=None, height=300,
                                     sources=["upload", "clipboard"])
                    with gr.Row(equal_height=False):
                        target_kb = gr.Number(DEFAULT_TARGET_KB, label="Target size (kB)", minimum=0.1,
                                              maximum=MAX_TARGET_KB, step=0.5, scale=1, min_width=130)
                        with gr.Column(scale=2, min_width=200):
                            hint = gr.Markdown(target_hint(None, DEFAULT_TARGET_KB), elem_id="target-hint")
                            buhlmann = gr.Button("Bühlmann: about 5 kB at 512×512", size="sm", variant="secondary")
                    codecs = gr.CheckboxGroup(choices, value=default_codecs, label="Codecs")
                    with gr.Accordion("SD options", open=False):
                        model = gr.Dropdown(model_choices, value=status.model if status.model in MODELS else None,
                                            label="Autoencoder")
                        mode = gr.Dropdown(modes, value="palette" if "palette" in modes else modes[0],
                                           label="Latent coding mode")
                        with gr.Row():
                            denoise_steps = gr.Dropdown(DENOISE_CHOICES, value="auto", allow_custom_value=True,
                                                        label="Denoise steps",
                                                        info="SD 1.5 UNet steps when decoding; "
                                                             "auto = 4 on a GPU, 0 on a CPU")
                            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=2**32 - 1,
                                             info="noise of the denoising decoder")
                        effort = gr.Slider(0, 9, value=0, step=1, label="Effort",
                                           info="encoder-side refinement of the latent; slower, 0 = off")
                    run_btn = gr.Button("Run comparison", variant="primary", size="lg", elem_id="run-btn")
                    gr.Examples([[str(ROOT / "examples" / f)] for f, _ in EXAMPLES], inputs=[image],
                                example_labels=[label for _, label in EXAMPLES], label="Examples",
                                cache_examples=False, examples_per_page=len(EXAMPLES))
                    gr.HTML(ATTRIBUTION, elem_id="attribution", js_on_load=None)
                with gr.Column(scale=3, min_width=420):
                    flicker = gr.HTML(flicker_value(None), html_template=FLICKER_TEMPLATE, css_template=FLICKER_CSS,
                                      js_on_load=FLICKER_JS, elem_id="flicker", label="Flicker comparison")
                    notes = gr.Markdown()
            table = gr.Dataframe(empty_table(), label="Metrics (best value of each column in green; codecs over the "
                                                      "target size are not ranked)",
                                 interactive=False, wrap=True, elem_id="metrics")
            cards = gr.HTML("", css_template=CARDS_CSS, js_on_load=None, elem_id="cards")
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    pick = gr.Dropdown([], label="Side by side with the original: codec", interactive=True)
                    slider = gr.ImageSlider(label="Original | decoded (drag the handle)", type="filepath",
                                            format="png", max_height=640, interactive=False)
                with gr.Column(scale=2, elem_id="honesty"):
                    gr.Markdown(HONESTY)
                    diff_caption = gr.Markdown(_diff_caption("SD"))
                    diff = gr.Image(label="Difference map", type="filepath", format="png", interactive=False,
                                    height=360)
            with gr.Accordion("All files and the JSON report", open=False):
                downloads = gr.File(label="Every encoded file, the flicker animations (lossless APNG) and the JSON "
                                          "report", file_count="multiple", interactive=False, height=240)
                report = gr.JSON(label="Report")
            state = gr.State({})

            # The API endpoint has its own hidden outputs so gradio_client gets plain values; it shares the
            # visible inputs (and so their defaults) with the Run button.
            with gr.Group(visible=False):
                api_btn = gr.Button("compress (API)", visible=False)
                api_report = gr.JSON(visible=False)
                api_files = gr.File(file_count="multiple", visible=False)
                api_decoded = gr.File(file_count="multiple", visible=False)

        with gr.Tab("Decode an .sdw file"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=300):
                    sdw = gr.File(label=".sdw file", file_types=[".sdw"], type="filepath")
                    with gr.Row():
                        decode_model = gr.Dropdown(["auto", *MODELS], value="auto", label="Autoencoder")
                        decode_steps = gr.Dropdown(DENOISE_CHOICES, value="auto", allow_custom_value=True,
                                                   label="Denoise steps")
                    decode_btn = gr.Button("Decode", variant="primary", elem_id="decode-btn")
                with gr.Column(scale=3):
                    decoded = gr.Image(label="Decoded", type="filepath", format="png", interactive=False)
                    header = gr.JSON(label="Header", open=True)

        inputs = [image, target_kb, codecs, model, mode, denoise_steps, seed, effort]
        image.change(target_hint, [image, target_kb], hint, api_visibility="private", queue=False)
        target_kb.change(target_hint, [image, target_kb], hint, api_visibility="private", queue=False)
        buhlmann.click(buhlmann_target, image, target_kb, api_visibility="private", queue=False)
        run_btn.click(
            compress_ui, inputs,
            [flicker, notes, table, cards, pick, slider, diff, diff_caption, downloads, report, state],
            api_visibility="private", concurrency_id="codec", show_progress_on=[flicker],
        )
        pick.input(inspect, [pick, state], [slider, diff, diff_caption], api_visibility="private")
        api_btn.click(compress, inputs, [api_report, api_files, api_decoded], api_name="compress",
                      concurrency_id="codec")
        decode_btn.click(decode, [sdw, decode_model, decode_steps], [decoded, header], api_name="decode",
                         concurrency_id="codec")
    return demo


def configure_queue(demo: gr.Blocks) -> gr.Blocks:
    """One queue for the page and the API: ``SDWEB_CONCURRENCY`` jobs at a time, ``SDWEB_QUEUE_SIZE`` waiting."""
    return demo.queue(default_concurrency_limit=_env_int("SDWEB_CONCURRENCY", 1),
                      max_size=_env_int("SDWEB_QUEUE_SIZE", 16))


def launch_options() -> dict:
    """Keyword arguments of ``launch`` from the environment (the server name and port are Gradio's own env vars)."""
    return dict(
        max_file_size=os.environ.get("SDWEB_MAX_FILE_SIZE", "20mb"),
        mcp_server=os.environ.get("SDWEB_MCP", "").lower() in ("1", "true", "yes") or None,
        theme=gr.themes.Soft(primary_hue="indigo", secondary_hue="amber", neutral_hue="slate"),
        css=PAGE_CSS,
        footer_links=["api", "gradio", "settings"],
    )


def main() -> None:
    """Serve the app. GRADIO_SERVER_NAME / GRADIO_SERVER_PORT pick the address (default 127.0.0.1:7860)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = configure_queue(build_demo())
    demo.launch(**launch_options())


if __name__ == "__main__":
    main()
