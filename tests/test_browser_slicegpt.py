"""The SliceGPT dashboard in Debian's Chromium through Playwright (marked ``browser``; slow)."""

import pytest

from conftest import open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def test_slicegpt_dashboard_slicing_slider_redraws_the_curves(voila_server, page):
    root = open_dashboard(page, voila_server.url + "voila/render/slicegpt.ipynb", ".dl-slicegpt")
    plot = page.locator(".dl-slicegpt img.dl-discard, .dl-slicegpt .dl-discard img").first
    plot.wait_for(state="visible", timeout=120_000)
    before = plot.get_attribute("src")
    ppl_before = page.locator(".dl-slicegpt img.dl-ppl, .dl-slicegpt .dl-ppl img").first.get_attribute("src")
    # move the slicing slider with the keyboard: focus its handle, press the right arrow (continuous_update=False: sent on release)
    handle = page.locator(".dl-slicing .noUi-handle, .dl-slicing [role=slider]").first
    handle.focus()
    for _ in range(15):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(old) => { const i = document.querySelector('.dl-slicegpt img.dl-discard, .dl-slicegpt .dl-discard img');"
        " return i && i.getAttribute('src') !== old; }", arg=before, timeout=120_000)
    assert page.locator(".dl-slicing").first.inner_text().strip().endswith("40")
    page.wait_for_function(  # the slider's marker moved on the perplexity curve too
        "(old) => { const i = document.querySelector('.dl-slicegpt img.dl-ppl, .dl-slicegpt .dl-ppl img');"
        " return i && i.getAttribute('src') !== old; }", arg=ppl_before, timeout=60_000)
    assert "shipped run" in root.inner_text()
    assert page.locator(".dl-slicegpt .dl-error").first.inner_text().strip() == ""
    screenshot(page, "slicegpt")
    assert page.console_errors == []
