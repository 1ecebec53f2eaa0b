"""The unlearning dashboard in Debian's Chromium through Playwright (marked ``browser``; slow)."""

import pytest

from conftest import open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def test_unlearning_dashboard_runs_releases_and_fills_the_timeline(voila_server, page):
    open_dashboard(page, voila_server.url + "voila/render/unlearning_releases.ipynb", ".dl-unlearning")
    # the notebook starts a run on load; wait for it, then run a smaller one from the UI
    page.wait_for_function("() => document.querySelector('.dl-unlearning .dl-jobbar .dl-status')?.textContent.includes('done')",
                           timeout=180_000)
    rel = page.locator(".dl-unlearning .dl-releases input").first
    rel.fill("3")
    rel.press("Tab")
    page.locator(".dl-unlearning .dl-run").first.click()
    page.wait_for_function(
        "() => { const s = document.querySelector('.dl-unlearning .dl-jobbar .dl-status')?.textContent || '';"
        " return s.includes('done') && document.querySelector('.dl-unlearning .dl-summary')?.textContent.includes('by release 3'); }",
        timeout=180_000)
    img = page.locator(".dl-unlearning .dl-timeline img, .dl-unlearning img.dl-timeline").first
    box = img.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 150
    assert "retrain" in page.locator(".dl-unlearning .dl-summary").inner_text()
    screenshot(page, "unlearning")
    assert page.console_errors == []
