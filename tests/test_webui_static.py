"""webui.static: the page's HTML, CSS and JS files load, and stay safe for Gradio's template rendering."""

import re

import app_server  # noqa: F401, I001 - sets gradio's env (no analytics, no proxy) before gradio is imported

from webui import static


def test_templates_survive_gradio_rendering():
    # gr.HTML renders html_template and css_template as JS template literals: a backtick or ${ would break them.
    for text in (static.FLICKER_TEMPLATE, static.FLICKER_CSS, static.CARDS_CSS):
        assert "`" not in text and "${" not in text


def test_flicker_template_and_script_agree():
    # Every class the script looks up is in the template (or in the markup views.py builds: none here).
    used = set(re.findall(r"""['"]\.(flk-[a-z]+)""", static.FLICKER_JS))
    assert used and used <= set(re.findall(r'class="([a-z-]+)', static.FLICKER_TEMPLATE))
    assert "watch('value'" in static.FLICKER_JS and "{{#each value.items}}" in static.FLICKER_TEMPLATE


def test_texts():
    assert static.INTRO.startswith("# sdweb") and "faces, text and shapes" in static.HONESTY
    assert "Aitzol Berasategi" in static.ATTRIBUTION and "#run-btn" in static.PAGE_CSS
