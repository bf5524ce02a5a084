"""The page's static front-end files in ``webui/assets/`` (HTML template, CSS, JS, text), read once at import."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().with_name("assets")


def read_asset(name: str) -> str:
    """The text of ``assets/<name>``; raises OSError if it is missing."""
    # Explicit UTF-8: the files hold ×, ü, ❚ and a Space or a container may run with a C locale.
    return (ASSETS / name).read_text(encoding="utf-8")


INTRO = read_asset("intro.md")  # the page's heading and first paragraph
HONESTY = read_asset("honesty.md")  # the panel next to the difference map
ATTRIBUTION = read_asset("attribution.html")  # credits for the example images
FLICKER_TEMPLATE = read_asset("flicker.html")  # gr.HTML html_template of the flicker view
FLICKER_CSS = read_asset("flicker.css")
FLICKER_JS = read_asset("flicker.js")  # gr.HTML js_on_load of the flicker view
CARDS_CSS = read_asset("cards.css")
PAGE_CSS = read_asset("page.css")  # launch(css=...)
