"""What the page shows for a run: cards, metrics table, flicker view, notes, captions and the target-size hint.

Every number comes from the run's report (sizes, scores) and ``sdweb.scoreboard`` (titles, formats, winners);
this module only lays them out.
"""

from __future__ import annotations

import html

import pandas as pd

from sdweb import metrics, scoreboard

from .inputs import sentence
from .runs import DIFF_GAIN, FLICKER_MS, Run, file_url

BUHLMANN_BYTES, BUHLMANN_SIDE = 5000, 512  # "about 5 kB at 512×512"
ZOOMS = [["fit", "Fit"], ["1", "1:1"], ["2", "2×"]]  # the flicker view's zoom buttons: (key, label)
SD_WARNING = "can change faces, text and shapes while looking real; see the difference map below."
WINNER_STYLE = "background-color: rgba(34, 197, 94, 0.28); font-weight: 700"  # the table's best values


def size_text(num_bytes: int) -> str:
    """A size in bytes and kB, e.g. "5,000 bytes (5.00 kB)"."""
    return f"{num_bytes:,} bytes ({num_bytes / 1000:.2f} kB)"


def target_hint(size: tuple[int, int] | None, target_kb) -> str:
    """What ``target_kb`` means for an image of ``size`` (or 512×512 without one): bits per pixel and ratio."""
    try:
        target = max(1, round(float(target_kb) * 1000))
    except (TypeError, ValueError):
        return "Enter a target size in kB."
    if size is None:
        bpp = metrics.bits_per_pixel(target, BUHLMANN_SIDE, BUHLMANN_SIDE)
        side = BUHLMANN_SIDE
        return f"= **{bpp:.3f} bpp** at {side}×{side} ({target:,} bytes); upload an image for its own figure."
    width, height = size
    bpp = metrics.bits_per_pixel(target, width, height)
    ratio = metrics.compression_ratio(target, width, height)
    return f"= **{bpp:.3f} bpp** for this {width}×{height} image ({target:,} bytes, {ratio:,.0f}:1)."


def buhlmann_kb(size: tuple[int, int] | None) -> float:
    """The target in kB with Bühlmann's bits per pixel (about 5 kB at 512×512) for an image of ``size``."""
    width, height = size or (BUHLMANN_SIDE, BUHLMANN_SIDE)
    return round(BUHLMANN_BYTES * width * height / BUHLMANN_SIDE**2 / 1000, 2)


def notes_markdown(run: Run) -> str:
    """The run's notes (the report's and each codec's) as a Markdown list, or "" when there are none."""
    notes = list(run.report["notes"])
    for row in run.report["results"]:
        notes += [f"{row['label']}: {note}" for note in row["notes"]]
    if not notes:
        return ""
    return "**Notes**\n\n" + "\n".join(f"- {html.escape(sentence(n))}" for n in notes)


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

    def mark(series):
        column = next(c for c in columns if c.title == series.name)
        return [WINNER_STYLE if i in winners.get(column.key, set()) else "" for i in range(len(series))]

    styler = frame.style.apply(mark, axis=0, subset=[c.title for c in columns])
    return styler.format({c.title: c.format for c in columns})


def empty_table() -> pd.DataFrame:
    """The table's headers before the first run."""
    return pd.DataFrame(columns=["Codec", *(c.title for c in scoreboard.COLUMNS if c.key != "lpips"), "Setting"])


def cards_html(run: Run) -> str:
    """A card per image: the original, then each decoded result with its size, rate, scores and downloads."""
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
    # A line starting with "⚠" is a warning and one starting with "<b>" is our own markup; the rest is escaped.
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
    """The flicker view's value (see assets/flicker.html): the original and every decoded PNG, served as they are."""
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


def diff_caption(label: str) -> str:
    """The caption over the difference map for the codec called ``label``."""
    return f"Difference map: |original − {label}| × {DIFF_GAIN}. Black = unchanged; bright = changed."
