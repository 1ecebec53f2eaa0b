"""The S3T dashboard in Debian's Chromium through Playwright (marked ``browser``; slow), used as a student would:
send a deletion request and see the shard's adapters greyed out in the grid; hover the accuracy curve for a value in %
with the number of requests; click a point of the curve and see the grid replay the stream to that many requests;
the charts are sized for their slot; nothing is requested off the machine. Screenshots: ``tests/artifacts/s3t*.png``."""

import re
from urllib.parse import urlparse

import pytest

from conftest import ARTIFACTS, open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

OFF_CELLS = "() => document.querySelectorAll('.dl-s3t .dl-grid .dl-state-0').length"
ACC = ".dl-s3t .dl-acc"
MEAN = "S3T, mean of 200 streams"


def _point(page, chart: str, name: str, i: int) -> dict | None:
    """Where point ``i`` of the trace ``name`` is on the page, placed with plotly's own axes."""
    return page.evaluate(
        """([sel, name, i]) => {
          const gd = document.querySelector(sel + ' .js-plotly-plot');
          if (!gd || !gd._fullData) return null;
          const tr = gd._fullData.find(t => t.name === name && t.x && t.x.length > i);
          if (!tr) return null;
          const fl = gd._fullLayout, box = gd.getBoundingClientRect();
          const x = fl.xaxis.c2p(fl.xaxis.d2c(tr.x[i])), y = fl.yaxis.c2p(fl.yaxis.d2c(tr.y[i]));
          return {x: box.left + fl._size.l + x, y: box.top + fl._size.t + y, width: box.width, height: box.height};
        }""", [chart, name, i])


def _delete_record_7(page) -> None:
    record = page.locator(".dl-s3t .dl-record input").first
    record.fill("7")
    record.press("Tab")
    page.wait_for_function("() => document.querySelector('.dl-s3t .dl-record-info')?.textContent.includes('record 7')",
                           timeout=30_000)
    page.locator(".dl-s3t .dl-delete").first.click()
    page.wait_for_function(f"() => ({OFF_CELLS})() > 0", timeout=60_000)
    # the grid and the summary are two widgets: their updates reach the page one after the other
    page.wait_for_function("() => document.querySelector('.dl-s3t .dl-summary')?.textContent.startsWith('1 request')",
                           timeout=30_000)
    summary = page.locator(".dl-s3t .dl-summary").inner_text()
    assert "1 request" in summary and "S3T accuracy" in summary
    assert "Last: record 7" in summary


def _hover_and_click(page) -> None:
    page.locator(f"{ACC} .js-plotly-plot").first.scroll_into_view_if_needed()
    page.wait_for_function(f"() => document.querySelector('{ACC} .js-plotly-plot')?._fullData?.some(t => t.name === '{MEAN}')",
                           timeout=60_000)
    dot = _point(page, ACC, MEAN, 10)
    assert dot is not None
    assert 480 <= dot["width"] <= 620 and dot["height"] <= 380, dot  # sized for its slot, not stretched to the page
    page.mouse.move(dot["x"], dot["y"])
    tip_el = page.locator(f"{ACC} .hoverlayer .hovertext").first
    tip_el.wait_for(timeout=10_000)
    tip = tip_el.text_content()
    assert MEAN in tip and re.search(r"test accuracy \d+\.\d%", tip) and "deletion requests 10" in tip, tip
    assert re.search(r"± 2 s\.e\.: \d+\.\d% to \d+\.\d%", tip), tip
    page.screenshot(path=str(ARTIFACTS / "s3t-hover.png"))
    dot = _point(page, ACC, MEAN, 12)
    page.mouse.click(dot["x"], dot["y"])
    page.wait_for_function("() => document.querySelector('.dl-s3t .dl-summary')?.textContent.startsWith('12 request')",
                           timeout=30_000)
    assert "Replayed the first 12 request(s)" in page.locator(".dl-s3t .dl-notice").inner_text()
    assert page.evaluate(OFF_CELLS) > 0


def test_s3t_dashboard_deletion_greys_out_adapters(voila_server, page):
    hosts = set()  # hosts of network requests (data: and blob: URLs stay in the page)
    page.on("request", lambda r: hosts.add(urlparse(r.url).hostname) if urlparse(r.url).scheme not in ("data", "blob") else None)
    open_dashboard(page, voila_server.url + "voila/render/s3t_unlearning.ipynb", ".dl-s3t")
    # the shipped system loads on open: 3 shards × 3 sequences × 3 steps, none switched off
    page.wait_for_function("() => document.querySelectorAll('.dl-s3t .dl-grid .dl-cell').length === 27", timeout=120_000)
    assert page.evaluate(OFF_CELLS) == 0
    page.locator(".dl-s3t .dl-train").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "s3t-open.png"))
    _delete_record_7(page)
    _hover_and_click(page)
    screenshot(page, "s3t")
    rate = page.locator(".dl-s3t-results .dl-rate .js-plotly-plot").first  # the committed results: charts sized for their slot
    rate.scroll_into_view_if_needed()
    box = rate.bounding_box()
    assert box and 480 <= box["width"] <= 620, box
    assert page.locator(".dl-s3t-results .dl-acc .js-plotly-plot").count() == 2
    page.screenshot(path=str(ARTIFACTS / "s3t-results.png"))
    assert hosts <= {"127.0.0.1"}, hosts  # nothing requested off the machine
    assert page.console_errors == []
