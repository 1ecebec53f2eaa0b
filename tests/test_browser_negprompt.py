"""The negprompt dashboard in Debian's Chromium through Playwright (marked ``browser``; slow)."""

import pytest

from conftest import open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def test_negprompt_dashboard_start_slider_changes_the_preview(voila_server, page):
    root = open_dashboard(page, voila_server.url + "voila/render/negative_prompts.ipynb", ".dl-negprompt")
    img = page.locator(".dl-img-neg img").first
    img.wait_for(state="visible", timeout=120_000)
    before = img.get_attribute("src")
    # move the start-step slider with the keyboard: focus its handle, press End (last step)
    handle = page.locator(".dl-start .noUi-handle, .dl-start [role=slider]").first
    handle.focus()
    for _ in range(18):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(old) => { const i = document.querySelector('.dl-img-neg img'); return i && i.getAttribute('src') !== old; }",
        arg=before, timeout=120_000)
    caption = page.locator(".dl-img-neg figcaption").inner_text()
    assert "negative in steps [" in caption and not caption.startswith("negative in steps [0,")
    assert page.locator(".dl-negprompt .dl-error").inner_text().strip() == ""
    assert "dl-negprompt" in root.get_attribute("class")
    screenshot(page, "negprompt")
    assert page.console_errors == []
