"""Command line: ``python -m sdweb {encode,decode,info,compare,bench} …``.

Exit status 0 on success, 2 on bad input or usage with exactly one line on
stderr (no traceback), 130 when interrupted. Outputs are written to a
temporary file and renamed into place, so a failed run never leaves a
half-written file or clobbers the input.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from .errors import SdwebError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib)?\s*$", re.IGNORECASE)
_UNITS = {None: 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2}


class UsageError(SdwebError):
    """Bad command-line usage."""


def parse_size(text: str) -> int:
    """``"5000"``, ``"5KB"``/``"5kB"``/``"5k"`` (×1000) or ``"5KiB"`` (×1024) → bytes."""
    match = _SIZE.match(str(text))
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 5000, 5KB, 5KiB)")
    value = float(match.group(1)) * _UNITS[match.group(2) and match.group(2).lower()]
    if value < 1:
        raise argparse.ArgumentTypeError(f"size must be at least 1 byte, got {text!r}")
    return int(round(value))


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder and a rename."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"output {path} is a folder")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"output folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_input(path: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"no such file: {path}")
    return p.read_bytes()


def _check_distinct(source: str, dest: str) -> None:
    if Path(dest).exists() and Path(source).resolve() == Path(dest).resolve():
        raise UsageError("output would overwrite the input; choose another output path")


def cmd_encode(args) -> int:
    import sdweb

    _check_distinct(args.input, args.output)
    knobs = (("colors", args.colors), ("dithering", args.dithering), ("step", args.step))
    options = {k: v for k, v in knobs if v is not None}
    data = sdweb.encode(
        args.input, target_size=args.target_size, model=args.model, mode=args.mode, effort=args.effort,
        seed=args.seed, model_path=args.model_path, **options,
    )
    write_atomically(args.output, data)
    for note in data.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{args.output}: {len(data)} bytes ({data.mode} mode, {data.model})")
    return 0


def cmd_decode(args) -> int:
    import io

    import sdweb

    _check_distinct(args.input, args.output)
    image = sdweb.decode(
        _read_input(args.input), model=args.model, denoise_steps=args.denoise_steps, model_path=args.model_path
    )
    buffer = io.BytesIO()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}.get(Path(args.output).suffix.lower(), "PNG")
    image.save(buffer, fmt, **({"quality": 95} if fmt != "PNG" else {}))
    write_atomically(args.output, buffer.getvalue())
    for note in image.info.get("sdweb_notes", []):
        print(f"note: {note}", file=sys.stderr)
    print(f"{args.output}: {image.width}×{image.height}")
    return 0


def cmd_info(args) -> int:
    import sdweb

    print(json.dumps(sdweb.info(_read_input(args.input)), indent=2))
    return 0


def cmd_compare(args) -> int:
    from .artefacts import comparison_strip, flicker, png_bytes
    from .compare import compare

    codecs = [c.strip() for c in args.codecs.split(",") if c.strip()]
    source = Path(args.input)
    if not source.is_file():
        raise UsageError(f"no such file: {args.input}")
    out = Path(args.out) if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    comparison = compare(
        source, args.target_size, codecs, match_sd_size=not args.same_nominal_target, model=args.model,
        mode=args.mode, denoise_steps=args.denoise_steps,
        progress=(lambda stage: print(f"… {stage}", file=sys.stderr)) if args.verbose else None,
    )
    report = comparison.report()
    stem = source.stem
    for row, result in zip(report["results"], comparison.results):
        row["file"] = None
        if out is not None:
            encoded = out / f"{stem}.{result.codec}{result.extension}"
            write_atomically(encoded, result.data)
            write_atomically(out / f"{stem}.{result.codec}.decoded.png", png_bytes(result.decoded))
            write_atomically(out / f"{stem}.{result.codec}.flicker.webp",
                             flicker(comparison.original, result.decoded, args.flicker_ms))
            row["file"] = str(encoded)
    if out is not None:
        write_atomically(out / f"{stem}.comparison.png", png_bytes(comparison_strip(comparison)))
    text = json.dumps(report, indent=2)
    if args.json:
        write_atomically(args.json, (text + "\n").encode())
    print(markdown_table(report))
    return 0


def markdown_table(report: dict) -> str:
    """A compare report as a Markdown table (what the README shows)."""
    lines = [
        f"{report['image']} ({report['width']}×{report['height']}), target {report['target_size']:,} bytes",
        "",
        "| codec | bytes | bpp | PSNR (dB) | MS-SSIM | SSIMULACRA 2 | setting |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in report["results"]:
        flag = " (over target)" if row["over_target"] else ""
        lines.append(
            f"| {row['label']}{flag} | {row['bytes']:,} | {row['bpp']:.3f} | {row['psnr']:.2f} | "
            f"{row['ms_ssim']:.4f} | {row['ssimulacra2']:.1f} | {row['setting']} |"
        )
    return "\n".join(lines)


def cmd_bench(args) -> int:
    from . import bench

    def numbers(text, kind):
        try:
            return [kind(x) for x in text.split(",") if x.strip()]
        except (ValueError, argparse.ArgumentTypeError):
            raise UsageError(f"not a comma-separated list: {text!r}") from None

    rows = bench.run(
        args.dataset, args.out, bpps=numbers(args.bpp, float) if args.bpp else None,
        sizes=numbers(args.sizes, parse_size) if args.sizes else None,
        codecs=[c.strip() for c in args.codecs.split(",") if c.strip()], model=args.model,
        effort=args.effort, limit=args.limit, progress=not args.quiet, match_sd=args.match_sd,
    )
    print(bench.summarise(rows, args.out, [a.strip() for a in args.anchors.split(",") if a.strip()]))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line and exits with 2."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


def bench_default_dataset() -> Path:
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"


def build_parser() -> argparse.ArgumentParser:
    from .latent import CODECS
    from .models import MODELS

    parser = _Parser(prog="python -m sdweb", description="Stable Diffusion latent-space image codec.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    models = ", ".join(MODELS)

    p = sub.add_parser("encode", help="encode an image into an .sdw file")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--target-size", type=parse_size, help="largest file size: 5000, 5KB or 5KiB")
    p.add_argument("--model", help=f"autoencoder ({models}, or auto: pick the latent space per image); "
                                   "default taesd on CPU, sd15 on GPU")
    p.add_argument("--mode", default="palette", choices=sorted(CODECS), help="latent coding mode")
    p.add_argument("--effort", type=int, default=0,
                   help="encoder-side latent refinement 0-9: 0 none, 9 = 96 decoder passes (~1.4 s each at 768x512 on CPU)")
    p.add_argument("--colors", type=int, help="palette mode: palette size (2-256)")
    p.add_argument("--dithering", type=float, help="palette mode: dithering level (0-1)")
    p.add_argument("--step", type=float, help="entropy mode: quantizer step (instead of a target size)")
    p.add_argument("--seed", type=int, default=0, help="seed stored for the denoising decoder")
    p.add_argument("--model-path", help="local diffusers folder of the autoencoder")
    p.set_defaults(run=cmd_encode)

    p = sub.add_parser("decode", help="decode an .sdw file into an image")
    p.add_argument("input")
    p.add_argument("output", help="image to write (.png, .jpg or .webp)")
    p.add_argument("--model", help=f"autoencoder ({models}); default depends on the file and device")
    p.add_argument("--denoise-steps", type=int, help="SD 1.5 UNet steps (default 4 on GPU for sd1 files, else 0)")
    p.add_argument("--model-path", help="local diffusers folder of the autoencoder")
    p.set_defaults(run=cmd_decode)

    p = sub.add_parser("compare", help="compare SD, JPEG, WebP, AVIF and JPEG XL at the same size")
    p.add_argument("input")
    p.add_argument("--target-size", type=parse_size, default=5000, help="target file size (default 5KB)")
    p.add_argument("--codecs", default="sd,jpeg,webp,avif,jxl", help="comma-separated codecs")
    p.add_argument("--model", help=f"SD autoencoder ({models})")
    p.add_argument("--mode", default="palette", choices=sorted(CODECS), help="SD latent coding mode")
    p.add_argument("--denoise-steps", type=int, help="SD decoder UNet steps")
    p.add_argument("--same-nominal-target", action="store_true",
                   help="give every codec the nominal target instead of SD's actual size")
    p.add_argument("--out", help="folder for encoded files, decoded PNGs, flicker animations and a strip")
    p.add_argument("--json", help="write the JSON report here")
    p.add_argument("--flicker-ms", type=int, default=500, help="flicker animation interval (ms)")
    p.add_argument("-v", "--verbose", action="store_true", help="print progress")
    p.set_defaults(run=cmd_compare)

    p = sub.add_parser("bench", help="rate-distortion benchmark over a dataset (CSV, plots, BD-rates)")
    p.add_argument("dataset", nargs="?", default=str(bench_default_dataset()),
                   help="folder of images (default: ../shared/data/kodak)")
    p.add_argument("--bpp", help="comma-separated target bpp (default 0.05,0.1,0.15,0.2,0.3)")
    p.add_argument("--sizes", help="comma-separated target sizes instead of bpp (e.g. 5KB,7KB)")
    p.add_argument("--codecs", default="sd-entropy,sd-palette,jpeg,webp,avif,jxl")
    p.add_argument("--anchors", default="webp,avif,sd-palette", help="BD-rate anchors")
    p.add_argument("--model", help=f"SD autoencoder ({models})")
    p.add_argument("--effort", type=int, default=0, help="SD encoder refinement 0-9 (slow)")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--match-sd", action="store_true",
                   help="classic codecs target the SD file's actual size, image by image")
    p.add_argument("--out", default="bench-out", help="output folder (resumes a run found there)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_bench)

    p = sub.add_parser("info", help="print an .sdw file's header as JSON")
    p.add_argument("input")
    p.set_defaults(run=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status instead of raising."""
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except SdwebError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.strerror or e}{': ' + str(e.filename) if e.filename else ''}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main_exit() -> None:
    """Entry point of the ``sdweb`` console script."""
    sys.exit(main())
