"""The unlearning dashboard in Debian's Chromium through Playwright (marked ``browser``; slow).

One page, used as a student would: the default run arrives by itself; hovering a point of the leakage
timeline shows its AUC (the same number as the table under it); a drag-zoom changes the axis range;
clicking a release shows that release's ROC; a smaller run from the controls redraws. The page has
more than five interactive charts and receives plotly.js once (the bytes are printed), makes no
request outside the server, and screenshots of every tab go to ``tests/artifacts/unlearning-*.png``.
"""

import re

import pytest
from test_browser_plots import plotly_bundle_bytes

from conftest import ARTIFACTS, open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = ".dl-unlearning"
STATUS = f"{ROOT} .dl-jobbar .dl-status"
#: pixel position (page coordinates) of point ``i`` of the trace named ``name`` in a plotly chart
POINT_JS = """([sel, name, i]) => {
  const gd = document.querySelector(sel);
  const fl = gd._fullLayout, tr = gd._fullData.find(t => t.name === name && t.mode && t.mode.includes('markers'));
  const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
  return [r.left + fl.xaxis.l2p(tr.x[i]), r.top + fl.yaxis.l2p(tr.y[i]), tr.y[i]];
}"""
TIMELINE = ".dl-timeline .js-plotly-plot"
RETRAIN = "retrain from scratch"


def _wait_done(page, timeout_ms: int = 180_000) -> None:
    page.wait_for_function("(sel) => (document.querySelector(sel)?.textContent || '').includes('done')", arg=STATUS,
                           timeout=timeout_ms)


#: visible labels and buttons whose text does not fit (an ellipsis: "Deletions/…", "Compute accoun…")
CUT_JS = """() => [...document.querySelectorAll('.dl-unlearning .widget-label, .dl-unlearning button, .dl-unlearning .lm-TabBar-tabLabel')]
  .filter(e => e.offsetParent !== null && e.textContent.trim() && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.trim())"""


def _tab(page, root, name: str) -> None:
    """Open a tab, check that no label or button in view is cut off, and take its screenshot."""
    page.locator(f"{ROOT} .lm-TabBar-tab", has_text=name).first.click()
    page.wait_for_timeout(700)
    assert page.evaluate(CUT_JS) == [], name
    root.screenshot(path=str(ARTIFACTS / f"unlearning-{name.split()[0].lower().replace('&', '')}.png"))


def _hover_shows_the_auc(page) -> None:
    """Hover retraining's last point: the tooltip says "LiRA ROC AUC <value>", the value of the table."""
    page.locator(TIMELINE).first.scroll_into_view_if_needed()
    n = page.evaluate(f"() => document.querySelector('{TIMELINE}')._fullData.find(t => t.name === '{RETRAIN}').x.length")
    x, y, value = page.evaluate(POINT_JS, [TIMELINE, RETRAIN, n - 1])
    page.mouse.move(x, y)
    page.wait_for_selector(".dl-timeline .hoverlayer .hovertext", timeout=10_000)
    text = page.locator(".dl-timeline .hoverlayer .hovertext").first.text_content()
    # the closest point wins: another learner's point may lie under the mouse; whichever it is, its numbers must be right
    label, shown, release = re.match(r"(.+?)LiRA ROC AUC\s*([0-9.]+)\s*release\s*(\d+)\s*bootstrap", text).groups()
    assert "bootstrap 95 %" in text, text
    want = page.evaluate("([sel, name, t]) => { const tr = document.querySelector(sel)._fullData.find(u => u.name === name"
                         " && u.mode.includes('markers')); return tr.y[tr.x.indexOf(t)]; }", [TIMELINE, label, int(release)])
    assert float(shown) == pytest.approx(want, abs=5e-4), (text, want)
    assert int(release) == n and abs(want - value) < 0.02, (text, value)   # the point under the mouse: the last release
    row = page.locator(f"{ROOT} .dl-summary tr", has_text=label).first.inner_text()
    assert shown in row, (row, shown)    # the table under the chart says the same


def _zoom_changes_the_range(page) -> None:
    rng = f"() => document.querySelector('{TIMELINE}')._fullLayout.xaxis.range.slice()"
    full = page.evaluate(rng)
    box = page.locator(f"{TIMELINE} .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 0.15 * box["width"], box["y"] + 0.2 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.55 * box["width"], box["y"] + 0.8 * box["height"], steps=8)
    page.mouse.up()
    page.wait_for_function(f"(old) => JSON.stringify(({rng})()) !== JSON.stringify(old)", arg=full, timeout=10_000)
    zoomed = page.evaluate(rng)
    assert zoomed[1] - zoomed[0] < 0.6 * (full[1] - full[0]), (full, zoomed)
    page.locator(f"{TIMELINE} .nsewdrag").first.dblclick()  # back to the full view
    page.wait_for_function(f"(old) => Math.abs(({rng})()[1] - old[1]) < 1e-6", arg=full, timeout=10_000)


def _click_shows_that_release(page) -> None:
    x, y, _ = page.evaluate(POINT_JS, [TIMELINE, RETRAIN, 1])  # release 2
    page.mouse.move(x, y)
    page.wait_for_selector(".dl-timeline .hoverlayer .hovertext", timeout=10_000)
    page.mouse.click(x, y)
    page.wait_for_function("() => (document.querySelector('.dl-roc .gtitle')?.textContent || '').includes('ROC at release 2')",
                           timeout=30_000)
    n = page.locator(".dl-roc .scatterlayer .trace").count()
    assert n >= 2, n   # the learners' curves and the chance line


def test_unlearning_dashboard_as_a_student_uses_it(voila_server, page):
    big, outside = [], []

    def on_response(r):
        if r.url.split("?")[0].endswith(".js"):
            try:
                size = len(r.body())
            except Exception:  # noqa: BLE001 - a redirected or aborted response has no body
                return
            if size > 500_000:
                big.append(size)

    page.on("response", on_response)
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    root = open_dashboard(page, voila_server.url + "voila/render/unlearning_releases.ipynb", ROOT)
    _wait_done(page)   # the default run arrives by itself
    page.wait_for_selector(f"{TIMELINE} .scatterlayer .trace .points path", timeout=60_000)
    figures = page.locator(".js-plotly-plot").count()
    bundle = plotly_bundle_bytes()
    print(f"\nunlearning page: {figures} interactive charts; plotly.js {sum(big):,} bytes of large JS received "
          f"(one bundle: {bundle:,}, ratio {sum(big) / bundle:.2f})")
    assert figures >= 5 and sum(big) <= 1.2 * bundle, (figures, big, bundle)

    box = page.locator(f"{TIMELINE}").first.bounding_box()
    assert box and 500 <= box["width"] <= 620 and 300 <= box["height"] <= 420      # drawn at the size it was made for
    _hover_shows_the_auc(page)
    _zoom_changes_the_range(page)
    _click_shows_that_release(page)
    _tab(page, root, "Release timeline")
    pad = page.evaluate(f"() => [...document.querySelectorAll('{ROOT} .dl-summary th')]"
                        ".map(e => parseFloat(getComputedStyle(e).paddingLeft))")
    assert pad and min(pad) >= 6, pad          # the summary's headers do not run together

    # a smaller run from the controls: 3 releases
    handle = page.locator(f"{ROOT} .dl-releases .noUi-handle, {ROOT} .dl-releases [role=slider]").first
    handle.focus()
    for _ in range(7):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => document.querySelector('{ROOT} .dl-releases .widget-readout')?.textContent.trim() === '3'")
    page.locator(f"{ROOT} .dl-run").first.click()
    page.wait_for_function(f"() => (document.querySelector('{ROOT} .dl-summary')?.textContent || '').includes('Last release (3)')",
                           timeout=180_000)
    assert page.evaluate(f"() => document.querySelector('{TIMELINE}')._fullData.find(t => t.name === '{RETRAIN}').x.length") == 3
    for name in ("Utility & privacy", "Accounting", "Deleted records"):
        _tab(page, root, name)
        if name == "Accounting":           # opening the tab computes the curves
            page.wait_for_selector(".dl-accounting .js-plotly-plot .scatterlayer .trace", timeout=60_000)
            assert "exact divergence" in page.locator(".dl-accounting-text").first.inner_text()
    for chart in (".dl-results-timeline", ".dl-accumulation"):
        page.locator(chart).first.scroll_into_view_if_needed()
        page.wait_for_selector(f"{chart} .js-plotly-plot .scatterlayer .trace", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / f"unlearning-results-{chart.split('-')[-1]}.png"))
    assert page.locator(f"{ROOT} .dl-error").first.inner_text().strip() == ""
    screenshot(page, "unlearning")
    assert page.console_errors == []
    assert outside == []
