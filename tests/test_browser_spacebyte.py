"""The SpaceByte dashboard in Debian's Chromium through Playwright (marked ``browser``; slow)."""

import re

import pytest

from conftest import open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

TYPED = "x = f(y) 漢字 😀 ok"


def test_spacebyte_dashboard_patches_typed_text(voila_server, page):
    open_dashboard(page, voila_server.url + "voila/render/spacebyte.ipynb", ".dl-spacebyte")
    page.wait_for_function("() => document.querySelector('.dl-spacebyte .dl-patches')?.textContent.includes('SpaceByte')",
                           timeout=120_000)
    box = page.locator(".dl-spacebyte .dl-text textarea").first
    box.fill(TYPED)
    box.press("Tab")  # the text box sends its value when it loses focus
    page.wait_for_function(
        "t => { const p = document.querySelector('.dl-spacebyte .dl-patches'); return p && p.textContent.startsWith(t); }",
        arg="▾BOSx▾ = f", timeout=60_000)
    patches = page.locator(".dl-spacebyte .dl-patches")
    # patches "BOS x", " = f", "(y", ") 漢", "字", " 😀", " ok": a marker at each of the 7 global positions
    assert patches.locator(".dl-gmark").count() == 7
    assert patches.locator(".dl-patch").count() >= len(TYPED)
    stats = page.locator(".dl-spacebyte .dl-patch-stats").inner_text()
    assert re.search(r"BOS included\)\s+7\b", stats), stats
    screenshot(page, "spacebyte")
    assert page.console_errors == []
