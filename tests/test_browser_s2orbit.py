"""The S2-orbit dashboard in Debian's Chromium through Playwright (marked ``browser``; slow).

One page, used as a student would: the mass slider moves f_SP; hovering the orbit and the f_SP chart
shows values with units; a drag-zoom on the orbit survives the animation; clicking a curve of the
f_SP chart moves the sliders. Screenshots of every tab go to ``tests/artifacts/s2orbit-*.png``.
"""

import re

import pytest

from conftest import ARTIFACTS, open_dashboard, screenshot
from deletionlab.s2orbit.orbit import f_sp

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

READOUT = ".dl-s2orbit .dl-fsp"
#: pixel position (page coordinates) of point ``i`` of the trace named ``name`` in a plotly chart
POINT_JS = """([sel, name, i]) => {
  const gd = document.querySelector(sel);
  const fl = gd._fullLayout, tr = gd._fullData.find(t => t.name === name);
  const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
  return [r.left + fl.xaxis.l2p(tr.x[i]), r.top + fl.yaxis.l2p(tr.y[i]), tr.x[i]];
}"""
RANGE_JS = "(sel) => document.querySelector(sel)._fullLayout.xaxis.range.slice()"


def _fsp(text: str) -> float:
    return float(re.search(r"f_SP = ([0-9.]+)", text).group(1))


def _readout_has(page, text: str, timeout_ms: int = 120_000) -> None:
    try:
        page.wait_for_function("([sel, want]) => (document.querySelector(sel)?.textContent || '').includes(want)",
                               arg=[READOUT, text], timeout=timeout_ms)
    except Exception:  # noqa: BLE001 - say what the page showed instead
        pytest.fail(f"the readout never said {text!r}: {page.locator(READOUT).first.text_content()!r}")


def _tab(page, root, name: str) -> None:
    page.locator(".dl-s2orbit .lm-TabBar-tab", has_text=name).first.click()
    page.wait_for_timeout(700)
    root.screenshot(path=str(ARTIFACTS / f"s2orbit-{name.split()[0].lower().replace('_', '')}.png"))


def _hover_text(page, chart: str, nth: int) -> str:
    page.locator(f"{chart} .js-plotly-plot .scatterlayer .trace .points path").nth(nth).hover(force=True)
    page.wait_for_selector(f"{chart} .hoverlayer .hovertext", timeout=10_000)
    return page.locator(f"{chart} .hoverlayer .hovertext").first.text_content()


def _move_mass_slider(page) -> None:
    """The issue-14 check: more mass inside the orbit, less apparent precession, the readout = the formula."""
    before = page.locator(READOUT).first.inner_text()
    handle = page.locator(".dl-mass .noUi-handle, .dl-mass [role=slider]").first
    handle.focus()
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("([sel, old]) => { const r = document.querySelector(sel); return r && /f_SP = [0-9]/.test(r.textContent)"
                           " && r.textContent !== old; }", arg=[READOUT, before], timeout=120_000)
    mass = float(page.locator(".dl-mass .widget-readout").first.inner_text().replace(",", ""))
    _readout_has(page, f"f_SP = {float(f_sp(mass, 1.75)):.3f}")
    assert mass > 1000 and _fsp(page.locator(READOUT).first.inner_text()) < _fsp(before)


def _zoom_survives_the_animation(page) -> None:
    sky = ".dl-sky .js-plotly-plot"
    text = _hover_text(page, ".dl-sky", 0)                          # the pericentre marker
    assert "AU from the black hole" in text and "mas" in text, text
    full = page.evaluate(RANGE_JS, sky)
    box = page.locator(f"{sky} .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.2 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.45 * box["width"], box["y"] + 0.5 * box["height"], steps=8)
    page.mouse.up()
    page.wait_for_function("([sel, old]) => JSON.stringify(document.querySelector(sel)._fullLayout.xaxis.range) !== JSON.stringify(old)",
                           arg=[sky, full], timeout=10_000)
    zoomed = page.evaluate(RANGE_JS, sky)
    assert abs(zoomed[1] - zoomed[0]) < 0.5 * abs(full[1] - full[0]), (full, zoomed)
    handle = page.locator(".dl-frame .noUi-handle, .dl-frame [role=slider]").first
    handle.focus()
    ranges = []
    for k in (1, 2, 3):                                             # three animation frames
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => /orbit {k}:/.test(document.querySelector('.dl-s2orbit').textContent)", timeout=30_000)
        page.wait_for_timeout(600)
        ranges.append(page.evaluate(RANGE_JS, sky))
    # the first redraw may re-fit the box to the equal aspect once (plotly's constraint); then it stays
    width = abs(ranges[0][1] - ranges[0][0])
    assert width < 0.5 * abs(full[1] - full[0]), (full, ranges)
    assert abs(sum(ranges[0]) - sum(zoomed)) / 2 < 0.1 * abs(zoomed[1] - zoomed[0]), (zoomed, ranges)
    assert ranges[2] == pytest.approx(ranges[0], rel=1e-3), ranges


def _click_a_curve_of_f_sp(page) -> None:
    chart = ".dl-fsp-chart .js-plotly-plot"
    text = _hover_text(page, ".dl-fsp-chart", 0)                   # the "this cusp" marker
    assert "M☉" in text and "f_SP" in text, text
    x, y, mass = page.evaluate(POINT_JS, [chart, "γ = 1", 70])
    page.mouse.move(x, y)
    page.wait_for_function("() => (document.querySelector('.dl-fsp-chart .hoverlayer .hovertext')?.textContent || '')"
                           ".startsWith('γ = 1f_SP')", timeout=10_000)     # the γ = 1 curve is under the mouse
    page.mouse.click(x, y)
    page.wait_for_function("() => (document.querySelector('.dl-gamma .widget-readout')?.textContent || '').trim() === '1.00'",
                           timeout=30_000)
    want = round(mass / 10) * 10
    _readout_has(page, f"f_SP = {float(f_sp(want, 1.0)):.3f}", 30_000)
    assert float(page.locator(".dl-mass .widget-readout").first.inner_text().replace(",", "")) == want


def test_s2orbit_dashboard_as_a_student_uses_it(voila_server, page):
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    root = open_dashboard(page, voila_server.url + "voila/render/s2_orbit.ipynb", ".dl-s2orbit")
    page.locator(READOUT).first.wait_for(state="visible", timeout=120_000)
    page.wait_for_function("(sel) => /f_SP = [0-9]/.test(document.querySelector(sel)?.textContent || '')", arg=READOUT,
                           timeout=120_000)
    page.wait_for_selector(".dl-sky .js-plotly-plot .scatterlayer .trace .points path", timeout=60_000)
    _move_mass_slider(page)
    box = page.locator(".dl-sky .js-plotly-plot").first.bounding_box()
    assert box and 400 <= box["width"] <= 520 and 400 <= box["height"] <= 520       # drawn at the size it was made for
    _zoom_survives_the_animation(page)
    _tab(page, root, "Orbit")
    _tab(page, root, "f_SP vs mass")
    _click_a_curve_of_f_sp(page)
    _tab(page, root, "Where it accrues")
    _tab(page, root, "Cluster")
    page.wait_for_selector(".dl-cluster-plot .js-plotly-plot .scatterlayer .trace", timeout=60_000)
    steady = page.locator(".dl-steady").first
    steady.scroll_into_view_if_needed()
    steady.screenshot(path=str(ARTIFACTS / "s2orbit-steady.png"))
    results = page.locator(".dl-s2orbit-results").first
    results.scroll_into_view_if_needed()
    page.wait_for_selector(".dl-s2-finite-n .js-plotly-plot .scatterlayer .trace", timeout=60_000)
    results.screenshot(path=str(ARTIFACTS / "s2orbit-results.png"))
    assert page.locator(".dl-s2orbit .dl-error").first.inner_text().strip() == ""
    assert "dl-s2orbit" in root.get_attribute("class")
    screenshot(page, "s2orbit")
    assert page.console_errors == []
    assert outside == []
