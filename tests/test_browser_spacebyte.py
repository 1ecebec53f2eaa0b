"""The SpaceByte dashboard in Debian's Chromium through Playwright (marked ``browser``; slow).

One page, used as a student would: typed text is cut into patches (issue 13); the tournament chart is
a plotly chart sized for its slot with a log FLOPs axis, whose tooltip names the run's architecture,
size, seed, bits per byte and FLOPs with units; a click on a shipped model's point opens its loss map;
the FLOPs-per-byte curves hover with units on log axes labelled in powers of ten;
nothing is requested off the machine. Screenshots go to ``tests/artifacts/spacebyte*.png``.
"""

import re
from urllib.parse import urlparse

import pytest

from conftest import ARTIFACTS, open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

TYPED = "x = f(y) 漢字 😀 ok"
CHART = ".dl-spacebyte .dl-tournament-plot"
def _point(page, arch_name: str, size: str, seed: int, budget_text: str) -> dict:
    """Where a run's dot is on the page: found by its tooltip text, placed with plotly's axes."""
    return page.evaluate(
        """([name, size, seed, budget]) => {
          const gd = document.querySelector('.dl-spacebyte .dl-tournament-plot .js-plotly-plot');
          const fl = gd._fullLayout, box = gd.getBoundingClientRect();
          for (const tr of gd._fullData) {
            if (tr.showlegend || !tr.text) continue;
            const i = tr.text.findIndex(t => t.startsWith(`<b>${name}</b>, size ${size} `) && t.includes(`seed ${seed}<br>`)
                                            && t.includes(`(budget ${budget})`));
            if (i < 0) continue;
            const x = fl.xaxis.c2p(fl.xaxis.d2c(tr.x[i])), y = fl.yaxis.c2p(fl.yaxis.d2c(tr.y[i]));
            return {x: box.left + fl._size.l + x, y: box.top + fl._size.t + y, xtype: fl.xaxis.type};
          }
          return null;
        }""", [arch_name, size, seed, budget_text])


def _patches(page) -> None:
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


def _tournament(page) -> None:
    page.locator(".dl-spacebyte .lm-TabBar-tab", has_text="Tournament").first.click()
    chart = page.locator(f"{CHART} .js-plotly-plot .main-svg").first
    chart.wait_for(timeout=30_000)
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert 600 <= box["width"] <= 760 and box["height"] <= 420, box  # sized for its slot, not the page's width
    dot = _point(page, "SpaceByte", "XS", 1, "10¹²")
    assert dot is not None and dot["xtype"] == "log"
    page.mouse.move(dot["x"], dot["y"])
    tip_el = page.locator(f"{CHART} .hoverlayer .hovertext").first
    tip_el.wait_for(timeout=10_000)
    tip = tip_el.text_content()
    assert tip.startswith("SpaceByte, size XS (D = 64, 2 layers), seed 1"), tip
    assert re.search(r"\d\.\d{3} bits per byte", tip) and re.search(r"×10¹¹ training FLOPs|10¹² training FLOPs", tip), tip
    page.screenshot(path=str(ARTIFACTS / "spacebyte-tournament.png"))  # the viewport: Voilà scrolls inside the page
    shipped = _point(page, "MegaByte", "S", 0, "4×10¹²")  # the shipped MegaByte
    assert shipped is not None
    page.mouse.click(shipped["x"], shipped["y"])
    page.wait_for_function("() => document.querySelector('.dl-spacebyte .dl-loss-view')?.textContent.includes('The model you clicked')",
                           timeout=60_000)
    text = page.locator(".dl-spacebyte .dl-loss-view").first.inner_text()
    assert "MegaByte, size S, seed 0" in text and "bits per byte over" in text, text
    page.screenshot(path=str(ARTIFACTS / "spacebyte-lossmap.png"))


def _flops(page) -> None:
    page.locator(".dl-spacebyte .lm-TabBar-tab", has_text="FLOPs per byte").first.click()
    chart = page.locator(".dl-spacebyte .dl-flops-plot .js-plotly-plot").first
    chart.wait_for(timeout=30_000)
    ticks = chart.locator(".yaxislayer-above .ytick text").all_text_contents()
    assert ticks and not any(t.endswith("B") for t in ticks), ticks  # never plotly's "1B" (a billion) on a per-byte axis
    chart.locator(".scatterlayer .trace").nth(3).locator(".points path").nth(5).hover(force=True)  # the byte Transformer at T = 8,192
    chart.locator(".hoverlayer .hovertext").first.wait_for(timeout=10_000)
    tip = chart.locator(".hoverlayer .hovertext").first.text_content()
    assert re.search(r"FLOPs per byte [\d.]+e\+\d+ FLOPs/byte.*context T [\d,]+ bytes", tip), tip


def test_spacebyte_dashboard_as_a_student_uses_it(voila_server, page):
    hosts = set()  # hosts of network requests (data: and blob: URLs of images stay in the page)
    page.on("request", lambda r: hosts.add(urlparse(r.url).hostname) if urlparse(r.url).scheme not in ("data", "blob") else None)
    open_dashboard(page, voila_server.url + "voila/render/spacebyte.ipynb", ".dl-spacebyte")
    _patches(page)
    screenshot(page, "spacebyte")
    _flops(page)
    _tournament(page)
    assert hosts <= {"127.0.0.1"}, hosts  # nothing requested off the machine
    assert page.console_errors == []
