"""A comparison report as a ranked table: column titles, number formats, and the best value per column.

What a metric is called, how many digits it deserves and whether higher or
lower is better is metric knowledge; it lives here so that front ends (the
web app's table, a Markdown table) only lay cells out. Rows over the target
size are not ranked: a codec that needed more bytes has not earned a "best".
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One ranked column of a compare report row."""

    key: str  # the key in a ``Comparison.report()`` row
    title: str
    better: str  # "higher" or "lower"
    fmt: str  # a str.format pattern for one value

    def format(self, value) -> str:
        """``value`` as table text; an em dash when it is missing (e.g. LPIPS without weights)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        if isinstance(value, float) and math.isinf(value):
            return "∞"
        return self.fmt.format(value)


COLUMNS: tuple[Column, ...] = (
    Column("bytes", "Bytes", "lower", "{:,}"),
    Column("bpp", "bpp", "lower", "{:.3f}"),
    Column("compression_ratio", "Ratio", "higher", "{:.0f}:1"),
    Column("psnr", "PSNR (dB)", "higher", "{:.2f}"),
    Column("ssim", "SSIM", "higher", "{:.4f}"),
    Column("ms_ssim", "MS-SSIM", "higher", "{:.4f}"),
    Column("ssimulacra2", "SSIMULACRA 2", "higher", "{:.1f}"),
    Column("lpips", "LPIPS", "lower", "{:.4f}"),
    Column("encode_s", "Encode (s)", "lower", "{:.2f}"),
    Column("decode_s", "Decode (s)", "lower", "{:.2f}"),
)

#: The quality columns, for short captions (``summary``).
QUALITY_KEYS = ("psnr", "ms_ssim", "ssimulacra2", "lpips")


def columns(report: dict) -> list[Column]:
    """The columns that have at least one value in ``report`` (LPIPS drops out when unavailable)."""
    rows = report["results"]
    return [c for c in COLUMNS if any(row.get(c.key) is not None for row in rows)]


def best(report: dict) -> dict[str, set[int]]:
    """For each column key, the indices of the rows holding its best value (ties all win).

    Rows flagged ``over_target`` are left out of the ranking, unless every
    row is over the target, in which case all rows are ranked.
    """
    rows = report["results"]
    ranked = [i for i, row in enumerate(rows) if not row.get("over_target")] or list(range(len(rows)))
    winners: dict[str, set[int]] = {}
    for column in columns(report):
        values = {i: rows[i].get(column.key) for i in ranked}
        values = {i: v for i, v in values.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}
        if not values:
            winners[column.key] = set()
            continue
        top = (max if column.better == "higher" else min)(values.values())
        winners[column.key] = {i for i, v in values.items() if v == top}
    return winners


def summary(row: dict) -> str:
    """One line of the main quality numbers of a report row, e.g. ``PSNR 26.16 dB · MS-SSIM 0.8798``."""
    by_key = {c.key: c for c in COLUMNS}
    parts = []
    for key in QUALITY_KEYS:
        if row.get(key) is None:
            continue
        column = by_key[key]
        unit = " dB" if key == "psnr" else ""
        parts.append(f"{column.title.replace(' (dB)', '')} {column.format(row[key])}{unit}")
    return " · ".join(parts)
