"""The SliceGPT dashboard in Debian's Chromium through Playwright (marked ``browser``; slow), used as a student would:
move the slicing slider and see the interactive charts update in place (the slider's line on the perplexity chart, the
energy-deleted chart's title); hover a point of the perplexity curve for its value; click a point and see the slider move
there; the charts are sized for their slot; nothing is requested off the machine. Screenshot: ``tests/artifacts/slicegpt*.png``."""

import re
from urllib.parse import urlparse

import pytest

from conftest import ARTIFACTS, open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

PPL = ".dl-slicegpt .dl-ppl"
SLIDER_X = f"""() => {{ const gd = document.querySelector('{PPL} .js-plotly-plot');
  const tr = gd && gd.data && gd.data.find(t => t.name && t.name.startsWith('slicing slider'));
  return tr ? tr.x[0] : null; }}"""


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


def _slider_value(page) -> str:
    return page.locator(".dl-slicing .widget-readout").first.inner_text().strip()


def test_slicegpt_dashboard_slicing_slider_redraws_the_curves(voila_server, page):
    hosts = set()  # hosts of network requests (data: and blob: URLs stay in the page)
    page.on("request", lambda r: hosts.add(urlparse(r.url).hostname) if urlparse(r.url).scheme not in ("data", "blob") else None)
    root = open_dashboard(page, voila_server.url + "voila/render/slicegpt.ipynb", ".dl-slicegpt")
    page.locator(".dl-slicegpt .lm-TabBar-tab", has_text="Perplexity").first.click()
    page.wait_for_function(f"() => ({SLIDER_X})() === 25", timeout=120_000)  # the shipped run, drawn on open
    # move the slicing slider with the keyboard: focus its handle, press the right arrow (continuous_update=False: sent on release)
    handle = page.locator(".dl-slicing .noUi-handle, .dl-slicing [role=slider]").first
    handle.focus()
    for _ in range(15):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => ({SLIDER_X})() === 40", timeout=60_000)  # the same chart, updated in place
    assert _slider_value(page) == "40"
    assert page.evaluate(f"() => document.querySelectorAll('{PPL} .js-plotly-plot').length") == 1

    page.locator(f"{PPL} .js-plotly-plot").first.scroll_into_view_if_needed()
    dot = _point(page, PPL, "PCA, bbc", 2)  # the committed 20 % point
    assert dot is not None and 480 <= dot["width"] <= 620 and dot["height"] <= 400, dot  # sized for its slot
    page.mouse.move(dot["x"], dot["y"])
    tip_el = page.locator(f"{PPL} .hoverlayer .hovertext").first
    try:
        tip_el.wait_for(timeout=10_000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "slicegpt-hover.png"))
    tip = tip_el.text_content()
    assert "PCA, bbc" in tip and re.search(r"perplexity \d[\d,]*\.\d", tip) and "slicing 20 %" in tip and "95 % CI" in tip, tip
    dot = _point(page, PPL, "PCA, bbc", 4)  # click the 30 % point: the slider follows
    page.mouse.click(dot["x"], dot["y"])
    page.wait_for_function(f"() => ({SLIDER_X})() === 30", timeout=30_000)
    assert _slider_value(page) == "30"

    page.locator(".dl-slicegpt .lm-TabBar-tab", has_text="Spectra").first.click()
    page.wait_for_function("() => document.querySelector('.dl-slicegpt .dl-discard .gtitle')?.textContent.includes('(30 %)')",
                           timeout=30_000)
    assert "shipped run" in root.inner_text()
    assert page.locator(".dl-slicegpt .dl-error").first.inner_text().strip() == ""
    screenshot(page, "slicegpt")
    assert hosts <= {"127.0.0.1"}, hosts  # nothing requested off the machine
    assert page.console_errors == []
