"""The S3T dashboard in Debian's Chromium through Playwright (marked ``browser``; slow): send a
deletion request and see the shard's adapters greyed out in the grid."""

import pytest

from conftest import open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

OFF_CELLS = "() => document.querySelectorAll('.dl-s3t .dl-grid .dl-state-0').length"


def test_s3t_dashboard_deletion_greys_out_adapters(voila_server, page):
    open_dashboard(page, voila_server.url + "voila/render/s3t_unlearning.ipynb", ".dl-s3t")
    # the shipped system loads on open: 3 shards × 3 sequences × 3 steps, none switched off
    page.wait_for_function("() => document.querySelectorAll('.dl-s3t .dl-grid .dl-cell').length === 27", timeout=120_000)
    assert page.evaluate(OFF_CELLS) == 0
    record = page.locator(".dl-s3t .dl-record input").first
    record.fill("7")
    record.press("Tab")
    page.wait_for_function("() => document.querySelector('.dl-s3t .dl-record-info')?.textContent.includes('record 7')",
                           timeout=30_000)
    page.locator(".dl-s3t .dl-delete").first.click()
    page.wait_for_function(f"() => ({OFF_CELLS})() > 0", timeout=60_000)
    summary = page.locator(".dl-s3t .dl-summary").inner_text()
    assert "1 request" in summary and "S3T accuracy" in summary
    assert "Last: record 7" in summary
    img = page.locator(".dl-s3t img.dl-acc, .dl-s3t .dl-acc img").first
    box = img.bounding_box()
    assert box and box["width"] > 300
    screenshot(page, "s3t")
    assert page.console_errors == []
