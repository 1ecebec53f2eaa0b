"""The adverbs dashboard in Debian's Chromium through Playwright (marked ``browser``; slow)."""

import pytest

from conftest import open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def test_adverbs_dashboard_highlights_typed_adverbs(voila_server, page):
    open_dashboard(page, voila_server.url + "voila/render/adverb_deletion.ipynb", ".dl-adverbs")
    page.wait_for_selector(".dl-adverbs .dl-tagged", timeout=120_000)
    box = page.locator(".dl-adverbs .dl-text textarea").first
    box.fill("She quickly finished and honestly never looked back.")
    box.press("Tab")  # continuous_update=False: the value is sent on blur
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dl-adverbs .dl-tok-adv')].map(e => e.textContent).join(' ').includes('quickly')",
        timeout=120_000)
    deleted = page.locator(".dl-adverbs .dl-tok-deleted").all_inner_texts()
    kept = page.locator(".dl-adverbs .dl-tok-kept").all_inner_texts()
    assert "quickly" in deleted and "honestly" in deleted
    assert "never" in kept  # the negation guard is on by default
    assert "She finished and never looked." in page.locator(".dl-adverbs table.dl-methods").inner_text()
    screenshot(page, "adverbs")
    assert page.console_errors == []
