"""The S2-orbit dashboard in Debian's Chromium through Playwright (marked ``browser``; slow)."""

import re

import pytest

from conftest import open_dashboard, screenshot
from deletionlab.s2orbit.orbit import f_sp

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def _fsp(text: str) -> float:
    return float(re.search(r"f_SP = ([0-9.]+)", text).group(1))


def test_s2orbit_dashboard_mass_slider_moves_f_sp(voila_server, page):
    root = open_dashboard(page, voila_server.url + "voila/render/s2_orbit.ipynb", ".dl-s2orbit")
    readout = page.locator(".dl-s2orbit .dl-fsp").first
    readout.wait_for(state="visible", timeout=120_000)
    page.wait_for_function("() => /f_SP = [0-9]/.test(document.querySelector('.dl-s2orbit .dl-fsp')?.textContent || '')",
                           timeout=120_000)
    before = readout.inner_text()
    # move the enclosed-mass slider with the keyboard: focus its handle, step it up
    handle = page.locator(".dl-mass .noUi-handle, .dl-mass [role=slider]").first
    handle.focus()
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(old) => { const r = document.querySelector('.dl-s2orbit .dl-fsp'); return r && /f_SP = [0-9]/.test(r.textContent)"
        " && r.textContent !== old; }", arg=before, timeout=120_000)
    # once the jobs settle, the readout is the f_SP of the mass the slider shows
    mass = float(page.locator(".dl-mass .widget-readout").first.inner_text().replace(",", ""))
    expected = f"f_SP = {float(f_sp(mass, 1.75)):.3f}"
    page.wait_for_function("(want) => (document.querySelector('.dl-s2orbit .dl-fsp')?.textContent || '').includes(want)",
                           arg=expected, timeout=120_000)
    after = readout.inner_text()
    assert mass > 1000 and _fsp(after) < _fsp(before)     # more mass inside the orbit, less apparent precession
    img = page.locator(".dl-s2orbit .dl-sky").first
    box = img.bounding_box()
    assert box and box["width"] > 250 and box["height"] > 250
    assert page.locator(".dl-s2orbit .dl-error").first.inner_text().strip() == ""
    assert "dl-s2orbit" in root.get_attribute("class")
    screenshot(page, "s2orbit")
    assert page.console_errors == []
