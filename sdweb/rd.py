"""Rate–distortion tools: mean RD curves, Bjøntegaard delta rate, plots and tables.

Works on the rows ``sdweb bench`` writes (one dict per image, codec and
target). Curves are averaged per (codec, target) over images; BD-rate uses
piecewise-cubic (PCHIP) interpolation of log-rate over the overlapping
quality range, as the AOM/JVET common test conditions do.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

METRICS = {"psnr": "PSNR (dB)", "ms_ssim": "MS-SSIM", "ssimulacra2": "SSIMULACRA 2"}


def mean_curves(rows: list[dict], metric: str) -> dict[str, list[tuple[float, float]]]:
    """Per codec, the (mean bpp, mean metric) points per target, sorted by bpp.

    Only targets every image has a finite value for are averaged, so a curve
    never mixes different image sets.
    """
    groups: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    images = {r["image"] for r in rows}
    for r in rows:
        value = _number(r.get(metric))
        if value is not None:
            groups[(r["codec"], str(r["target"]))].append((float(r["bpp"]), value))
    curves: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for (codec, _), points in groups.items():
        if len(points) == len(images):
            curves[codec].append((float(np.mean([p[0] for p in points])), float(np.mean([p[1] for p in points]))))
    return {codec: sorted(points) for codec, points in curves.items()}


def bd_rate(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> float | None:
    """Bjøntegaard delta rate of ``test`` against ``anchor`` in percent (negative = fewer bits).

    Each curve is a list of (rate, quality) points. Returns None when the
    curves have fewer than 2 distinct points or do not overlap in quality.
    """
    a, t = _monotone(anchor), _monotone(test)
    if len(a) < 2 or len(t) < 2:
        return None
    low = max(a[0][1], t[0][1])
    high = min(a[-1][1], t[-1][1])
    if not high > low:
        return None
    from scipy.interpolate import PchipInterpolator

    def integral(points):
        quality = np.array([p[1] for p in points])
        log_rate = np.log([p[0] for p in points])
        return PchipInterpolator(quality, log_rate).integrate(low, high)

    mean_difference = (integral(t) - integral(a)) / (high - low)
    return float((math.exp(mean_difference) - 1) * 100)


def _monotone(points):
    """Keep points with strictly increasing rate and quality (duplicates and dips dropped)."""
    out = []
    for rate, quality in sorted(points):
        if rate > 0 and (not out or (rate > out[-1][0] and quality > out[-1][1])):
            out.append((rate, quality))
    return out


def bd_table(rows: list[dict], anchors: list[str], metrics=tuple(METRICS)) -> list[dict]:
    """BD-rate of every codec against each anchor, for each metric, as table rows."""
    table = []
    for metric in metrics:
        curves = mean_curves(rows, metric)
        for anchor in anchors:
            if anchor not in curves:
                continue
            for codec in sorted(curves):
                if codec != anchor:
                    table.append({"metric": metric, "anchor": anchor, "codec": codec,
                                  "bd_rate": bd_rate(curves[anchor], curves[codec])})
    return table


def speed_table(rows: list[dict]) -> list[dict]:
    """Median and mean encode/decode seconds per codec."""
    by_codec = defaultdict(list)
    for r in rows:
        by_codec[r["codec"]].append(r)
    out = []
    for codec, rs in sorted(by_codec.items()):
        enc = [float(r["encode_s"]) for r in rs]
        dec = [float(r["decode_s"]) for r in rs]
        out.append({"codec": codec, "files": len(rs), "encode_median_s": float(np.median(enc)),
                    "decode_median_s": float(np.median(dec)), "encode_mean_s": float(np.mean(enc)),
                    "decode_mean_s": float(np.mean(dec))})
    return out


def plot(rows: list[dict], metric: str, path, title: str = "") -> None:
    """Write the mean RD curves of every codec for ``metric`` as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = mean_curves(rows, metric)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for codec in sorted(curves):
        bpp, value = zip(*curves[codec])
        ax.plot(bpp, value, marker="o", markersize=3, label=codec)
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel(METRICS.get(metric, metric))
    ax.set_title(title or f"{METRICS.get(metric, metric)} vs rate")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def markdown(table: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """A Markdown table from dict rows; columns are (key, header, format spec)."""
    lines = ["| " + " | ".join(h for _, h, _ in columns) + " |",
             "| " + " | ".join("---:" if f else "---" for _, _, f in columns) + " |"]
    for row in table:
        cells = []
        for key, _, spec in columns:
            value = row.get(key)
            cells.append("n/a" if value is None else (format(value, spec) if spec else str(value)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
