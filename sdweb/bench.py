"""``sdweb bench``: every codec over a dataset at several rates, as data, plots and tables.

Writes ``results.csv`` (one row per image, codec and target; appended as it
goes, so an interrupted run resumes where it stopped), RD plots of PSNR,
MS-SSIM and SSIMULACRA 2 against bpp, and ``summary.md``/``summary.json``
with BD-rates against the anchors, coder overhead and a speed table.

SD codecs are ``sd-palette`` and ``sd-entropy`` (``-e<N>`` appended when
refined with ``--effort N``). For SD the autoencoder runs once per image; its
time is added to every SD row's encode time, since a lone encode pays it.
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import numpy as np

from . import metrics, rd
from .codecs import CLASSIC, get_codec
from .errors import InputError
from .images import load_image
from .models import AUTO, auto_models

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"
DEFAULT_BPP = (0.05, 0.1, 0.15, 0.2, 0.3)
DEFAULT_CODECS = ("sd-entropy", "sd-palette", "jpeg", "webp", "avif", "jxl")
DEFAULT_ANCHORS = ("webp", "avif", "sd-palette")
SD_MODES = {"sd-palette": "palette", "sd-entropy": "entropy"}
FIELDS = ("image", "codec", "target", "target_bytes", "bytes", "bpp", "over_target", "setting", "psnr", "ssim",
          "ms_ssim", "ssimulacra2", "lpips", "encode_s", "decode_s", "coded_bits", "model_bits", "model")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".ppm"}


def codec_label(codec: str, effort: int, model: str | None = None) -> str:
    """The CSV name of a codec run: ``sd-entropy``, ``sd-entropy-e9``, ``sd-entropy@auto``."""
    if codec not in SD_MODES:
        return codec
    return codec + (f"-e{effort}" if effort else "") + (f"@{model}" if model else "")


def dataset_images(folder: Path, limit: int | None = None) -> list[Path]:
    if not folder.is_dir():
        raise InputError(f"dataset folder {folder} does not exist")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise InputError(f"no images in {folder}")
    return images[:limit] if limit else images


def targets_for(width: int, height: int, bpps=None, sizes=None) -> list[tuple[str, int]]:
    """(label, bytes) per target: ``0.15bpp`` → bytes for this image, or fixed sizes."""
    if sizes:
        return [(f"{s}B", int(s)) for s in sizes]
    return [(f"{b:g}bpp", max(1, round(b * width * height / 8))) for b in bpps or DEFAULT_BPP]


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run(dataset=DEFAULT_DATASET, out="bench-out", bpps=None, sizes=None, codecs=DEFAULT_CODECS,
        model: str | None = None, effort: int = 0, limit: int | None = None, progress: bool = True,
        match_sd: bool = False) -> list[dict]:
    """Run (or resume) the benchmark and return every row of ``results.csv``.

    With ``match_sd`` the one SD codec runs first and each classic codec then
    targets that SD file's actual size, image by image (equal bytes, as in
    ``sdweb compare``).
    """
    from tqdm import tqdm

    from .sdcodec import Encoder

    unknown = [c for c in codecs if c not in SD_MODES and c not in CLASSIC]
    if unknown:
        raise InputError(f"unknown bench codec(s) {', '.join(unknown)} (choose from: {', '.join(DEFAULT_CODECS)})")
    sd_codecs = [c for c in codecs if c in SD_MODES]
    if match_sd:
        if len(sd_codecs) != 1:
            raise InputError("matching SD sizes needs exactly one SD codec")
        codecs = sd_codecs + [c for c in codecs if c not in SD_MODES]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "results.csv"
    existing = read_rows(csv_path)
    done = {(r["image"], r["codec"], r["target"]) for r in existing}
    sd_label = codec_label(sd_codecs[0], effort, model) if sd_codecs else None
    sd_bytes = {(r["image"], r["target"]): int(r["bytes"]) for r in existing if r["codec"] == sd_label}
    images = dataset_images(Path(dataset), limit)
    new_file = not csv_path.is_file()
    with open(csv_path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if new_file:
            writer.writeheader()
        bar = tqdm(total=len(images) * len(codecs), disable=not progress, unit="codec×image")
        for path in images:
            original = load_image(path).image
            reference = np.asarray(original)
            width, height = original.size
            targets = targets_for(width, height, bpps, sizes)
            encoders = None
            for codec in codecs:
                label = codec_label(codec, effort, model)
                bar.set_description(f"{path.name} {label}")
                todo = [(t, n) for t, n in targets if (path.name, label, t) not in done]
                if todo and codec in SD_MODES and encoders is None:
                    start = time.perf_counter()
                    encoders = [Encoder(original, m) for m in (auto_models() if model == AUTO else (model,))]
                    encoder_s = time.perf_counter() - start
                for target, size in todo:
                    if codec in SD_MODES:
                        row = _sd_row(encoders, encoder_s, SD_MODES[codec], effort, size)
                        sd_bytes[(path.name, target)] = row["bytes"]
                    else:
                        if match_sd:
                            size = sd_bytes[(path.name, target)]
                        row = _classic_row(get_codec(codec), original, size)
                    row.update(image=path.name, codec=label, target=target, target_bytes=size,
                               bpp=metrics.bits_per_pixel(row["bytes"], width, height))
                    row.update(metrics.evaluate(reference, np.asarray(row.pop("decoded"))))
                    writer.writerow({k: _cell(row.get(k)) for k in FIELDS})
                    f.flush()
                bar.update(1)
        bar.close()
    return read_rows(csv_path)


def _sd_row(encoders, encoder_s, mode, effort, size) -> dict:
    from .codecs import sd_setting
    from .container import unpack
    from .errors import TargetSizeError
    from .latent import codec_by_name
    from .sdcodec import decode, encode_best

    start = time.perf_counter()
    try:
        data, over = encode_best(encoders, size, mode, effort=effort), False
    except TargetSizeError as e:
        data, over = encode_best(encoders, e.smallest, mode, effort=effort), True
    encode_s = encoder_s + time.perf_counter() - start
    start = time.perf_counter()
    decoded = decode(data, model=data.model)
    decode_s = time.perf_counter() - start
    row = {"bytes": len(data), "over_target": over, "encode_s": encode_s, "decode_s": decode_s,
           "decoded": decoded, "model": data.model, "setting": sd_setting(data)}
    if mode == "entropy":
        header, payload = unpack(data)
        cost = codec_by_name(mode).coding_cost(payload, header.latent_shape)
        row.update(coded_bits=cost["coded_bits"], model_bits=round(cost["model_bits"], 1))
    return row


def _classic_row(codec, original, size) -> dict:
    start = time.perf_counter()
    encoded = codec.encode(original, target_size=size)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    decoded = codec.decode(encoded.data)
    decode_s = time.perf_counter() - start
    return {"bytes": len(encoded.data), "over_target": encoded.over_target, "setting": encoded.setting,
            "encode_s": encode_s, "decode_s": decode_s, "decoded": decoded}


def summarise(rows: list[dict], out, anchors=DEFAULT_ANCHORS) -> str:
    """Write plots, summary.md and summary.json from bench rows; return the Markdown."""
    out = Path(out)
    images = sorted({r["image"] for r in rows})
    for metric in rd.METRICS:
        rd.plot(rows, metric, out / f"rd_{metric}.png", f"{rd.METRICS[metric]} vs rate, {len(images)} images")
    bd = rd.bd_table(rows, [a for a in anchors])
    speed = rd.speed_table(rows)
    curves = {m: rd.mean_curves(rows, m) for m in rd.METRICS}
    coded = [float(r["coded_bits"]) for r in rows if r.get("coded_bits")]
    model_bits = [float(r["model_bits"]) for r in rows if r.get("model_bits")]
    overhead = (sum(coded) / sum(model_bits) - 1) * 100 if model_bits else None
    parts = [
        f"# sdweb bench: {len(images)} images, {len({r['codec'] for r in rows})} codecs",
        "",
        "## Mean quality per target",
        "",
        rd.markdown(_points_table(rows), [("codec", "codec", ""), ("target", "target", ""),
                                          ("bpp", "bpp", ".4f"), ("psnr", "PSNR", ".2f"),
                                          ("ms_ssim", "MS-SSIM", ".4f"), ("ssimulacra2", "SSIMULACRA 2", ".2f")]),
        "",
        "## BD-rate (negative = fewer bits for the same quality)",
        "",
        rd.markdown(bd, [("metric", "metric", ""), ("anchor", "anchor", ""), ("codec", "codec", ""),
                         ("bd_rate", "BD-rate %", "+.1f")]),
        "",
        "## Speed (seconds per file, this machine)",
        "",
        rd.markdown(speed, [("codec", "codec", ""), ("files", "files", "d"), ("encode_median_s", "encode median", ".3f"),
                            ("decode_median_s", "decode median", ".3f"), ("encode_mean_s", "encode mean", ".3f"),
                            ("decode_mean_s", "decode mean", ".3f")]),
    ]
    if overhead is not None:
        parts += ["", f"Entropy coder overhead over the model's cross-entropy: {overhead:.3f} % "
                      f"({sum(coded):,.0f} coded bits vs {sum(model_bits):,.0f})."]
    text = "\n".join(parts) + "\n"
    (out / "summary.md").write_text(text)
    (out / "summary.json").write_text(json.dumps({"images": images, "curves": curves, "bd_rate": bd,
                                                  "speed": speed, "coder_overhead_percent": overhead}, indent=2))
    return text


def _points_table(rows: list[dict]) -> list[dict]:
    table = []
    keys = sorted({(r["codec"], r["target"]) for r in rows}, key=lambda k: (k[0], _target_order(k[1])))
    for codec, target in keys:
        rs = [r for r in rows if r["codec"] == codec and r["target"] == target]
        entry = {"codec": codec, "target": target, "bpp": float(np.mean([float(r["bpp"]) for r in rs]))}
        for metric in rd.METRICS:
            values = [v for v in (rd._number(r.get(metric)) for r in rs) if v is not None]
            entry[metric] = float(np.mean(values)) if values else None
        table.append(entry)
    return table


def _target_order(label: str) -> float:
    try:
        return float(label.rstrip("bpB"))
    except ValueError:
        return math.inf


def _cell(value):
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.6g}"
    return "" if value is None else value
