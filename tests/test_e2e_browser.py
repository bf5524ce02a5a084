"""End to end in a real browser: Playwright (Python) driving Debian's chromium against the served app.

Never `playwright install`: .ci/run installs Debian's `chromium` package and this test points Playwright at it.
Skips locally when chromium or playwright is missing; under CI=true that is a failure.
"""

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_server import running_app  # noqa: I001 - sets gradio's env before gradio is imported

import sdweb
from app import DEFAULT_MODE
from conftest import require_real_weights

SD_LABEL = f"SD (taesd, {DEFAULT_MODE})"

SCREENSHOT_COPY = Path(os.environ.get("SDWEB_E2E_SCREENSHOT", "/tmp/sdweb-e2e.png"))


def _browser_or_skip():
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = [name for name, ok in (("chromium (apt-get install chromium)", chromium),
                                     ("playwright (pip install playwright)", sync_playwright)) if not ok]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test needs {', '.join(missing)} under CI")
        pytest.skip(f"browser test needs {', '.join(missing)}")
    return chromium, sync_playwright


@pytest.fixture(scope="module")
def page():
    chromium, sync_playwright = _browser_or_skip()
    require_real_weights()
    with running_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_selector("#run-btn", timeout=30_000)
        page.errors = errors
        page.base_url = url
        yield page
        browser.close()


def _showing_states(page, samples=12, every_s=0.15) -> list[str]:
    states = []
    for _ in range(samples):
        states.append(page.get_attribute("#flicker .flk", "data-showing"))
        time.sleep(every_s)
    return states


def test_run_an_example_and_flicker(page, tmp_path):
    assert "taesd" in page.inner_text("#status") and "loaded" in page.inner_text("#status")
    assert "Aitzol Berasategi" in page.inner_text("#attribution")

    page.get_by_text("Cat, close-up", exact=True).click()
    page.wait_for_function("document.querySelector('#target-hint').innerText.includes('448×296')")
    for label in ("AVIF", "JPEG XL"):  # the page is the point here, not the slower codecs
        page.get_by_label(label, exact=True).uncheck()
    page.click("#run-btn")

    # Result images: the original and one card per codec, each loaded from the server.
    page.wait_for_selector("#cards figure.card", timeout=90_000)
    cards = page.locator("#cards figure.card")
    assert cards.count() == 4
    page.wait_for_function(
        "[...document.querySelectorAll('#cards img')].every(i => i.complete && i.naturalWidth === 448)")
    for label in (SD_LABEL, "JPEG", "WebP"):
        assert label in page.inner_text("#cards")
    # The metrics table, with best values marked.
    table = page.inner_text("#metrics")
    assert "PSNR (dB)" in table and "SSIMULACRA 2" in table and SD_LABEL in table and "WebP" in table

    # The flicker view alternates original and decoded, in place.
    page.wait_for_selector("#flicker .flk-b")
    states = _showing_states(page)
    assert {"original", "decoded"} <= set(states), states
    page.locator("#flicker .flk-codec", has_text="JPEG").click()
    page.wait_for_function("document.querySelector('#flicker .flk-tag').innerText === 'JPEG'")
    page.locator("#flicker .flk-pause").click()
    assert len(set(_showing_states(page, samples=6))) == 1  # paused: it holds still
    page.locator("#flicker .flk-codec", has_text=SD_LABEL).click()
    page.locator("#flicker .flk-pause").click()
    assert {"original", "decoded"} <= set(_showing_states(page))

    # What the flicker view shows is exactly the decoded image: fetch its PNG and decode the .sdw ourselves.
    src = page.get_attribute('#flicker .flk-b[data-i="0"]', "src")
    shown = page.request.get(page.base_url + src.lstrip("/"))
    sdw = page.request.get(page.base_url + page.get_attribute('#cards a.dl[download$=".sdw"]', "href").lstrip("/"))
    assert shown.ok and sdw.ok
    png = tmp_path / "shown.png"
    png.write_bytes(shown.body())
    np.testing.assert_array_equal(np.asarray(Image.open(png).convert("RGB")),
                                  np.asarray(sdweb.decode(sdw.body(), model="taesd")))

    assert page.locator("#honesty").get_by_text("change faces, text and shapes").count() == 1
    assert not page.errors, page.errors
    shot = tmp_path / "sdweb-e2e.png"
    page.screenshot(path=str(shot), full_page=True)
    try:
        shutil.copyfile(shot, SCREENSHOT_COPY)
    except OSError:
        pass  # the copy is a convenience for people; the test's own file is in tmp_path
