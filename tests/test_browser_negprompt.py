"""The negative-prompt dashboard in Debian's Chromium through Playwright (marked ``browser``; slow).

One page, used as a student would: the default run arrives by itself ("computing…" until then); a
same-settings Generate comes back in under a second; the Critical step tab opens on the negative
prompt's noun with a finite step, and hovering its curve shows the value; the Cancellation tab's
ε-difference rows are light enough to read (mean luminance printed); the Removal tab shows no broken
image before its sweep, and clicking a start step of the swept curve moves the explorer's start; the
Export tab's script is a monospace code block whose Copy button works; the results view's removal
curve moves the start too; the start slider re-renders the image. plotly.js arrives once, no request
leaves the server, and screenshots go to ``tests/artifacts/negprompt*.png``.
"""

import re
import time

import pytest
from test_browser_plots import plotly_bundle_bytes

from conftest import ARTIFACTS, open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = ".dl-negprompt"
STATUS = f"{ROOT} .dl-jobbar .dl-status"
#: pixel position (page coordinates) of point ``i`` of the trace named ``name`` in a plotly chart
POINT_JS = """([sel, name, i]) => {
  const gd = document.querySelector(sel);
  const fl = gd._fullLayout, tr = gd._fullData.find(t => t.name === name);
  const ya = tr.yaxis === 'y2' ? fl.yaxis2 : fl.yaxis;
  const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
  return [r.left + fl.xaxis.l2p(tr.x[i]), r.top + ya.l2p(tr.y[i]), tr.x[i]];
}"""
#: mean luminance (0-255) of the pictures in rows ``rows`` (1-based, after the header) of a grid
LUMINANCE_JS = """([sel, rows]) => {
  const table = document.querySelector(sel + ' table');
  const out = [];
  for (const r of rows) {
    const imgs = [...table.rows[r].querySelectorAll('img')].slice(0, -1);   // the last one is the colour bar
    let sum = 0, n = 0;
    for (const img of imgs) {
      const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
      const g = c.getContext('2d'); g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 4) { sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]; n++; }
    }
    out.push(sum / n);
  }
  return out;
}"""
#: the floor: the rows drawn on the latent drift's shared magma scale had a mean luminance of ~40
LUMINANCE_FLOOR = 100


def _status(page) -> str:
    return page.locator(STATUS).first.text_content()


def _wait_status(page, *parts: str, timeout_ms: int = 180_000) -> None:
    page.wait_for_function("([sel, parts]) => { const t = document.querySelector(sel)?.textContent || '';"
                           " return parts.every(p => t.includes(p)); }", arg=[STATUS, list(parts)], timeout=timeout_ms)


def _tab(page, name: str) -> None:
    page.locator(f"{ROOT} .lm-TabBar-tab", has_text=name).first.click()
    page.wait_for_timeout(400)


def _click_point(page, sel: str, name: str, i: int, hover_class: str) -> float:
    page.locator(sel).first.scroll_into_view_if_needed()
    x, y, xv = page.evaluate(POINT_JS, [sel, name, i])
    page.mouse.move(x, y)
    page.wait_for_selector(f"{hover_class} .hoverlayer .hovertext", timeout=10_000)
    page.mouse.click(x, y)
    return xv


def _wait_caption(page, k: int) -> None:
    """The image with the negative prompt is the one of a window starting at ``k``."""
    page.wait_for_function("(k) => (document.querySelector('.dl-negprompt .dl-img-neg figcaption')?.textContent || '')"
                           ".includes(`negative in steps [${k},`)", arg=k, timeout=60_000)


def _start_value(page) -> str:
    return page.locator(f"{ROOT} .dl-start .widget-readout").first.text_content().strip()


def _generate_again(page) -> float:
    """A same-settings Generate: seconds from the click until the job bar reports it done."""
    page.locator(f"{ROOT} .dl-generate").first.scroll_into_view_if_needed()
    page.evaluate("(sel) => { document.querySelector(sel + ' .widget-html-content').textContent = ''; }", STATUS)  # the new job's 'done'
    t0 = time.monotonic()
    page.locator(f"{ROOT} .dl-generate").first.click()
    _wait_status(page, "seen before", "done", timeout_ms=30_000)
    return time.monotonic() - t0


def _critical_tab(page) -> None:
    _tab(page, "Critical step")
    word = page.locator(f"{ROOT} .dl-critical-word select").first.input_value()
    note = page.locator(f"{ROOT} .dl-critical-note").first.inner_text()
    assert re.fullmatch(r"(circle|square|triangle) \((pos\+)?neg\)", word), word  # a noun of the negative prompt
    assert re.search(r"in the negative prompt: step \d+", note), note  # with a finite critical step
    sel = f"{ROOT} .dl-critical-plot .js-plotly-plot"
    page.wait_for_selector(f"{sel} .scatterlayer .trace .points path", timeout=30_000)
    page.locator(sel).first.scroll_into_view_if_needed()
    x, y, _ = page.evaluate(POINT_JS, [sel, f"'{word.split()[0]}' in the negative prompt", 20])
    page.mouse.move(x, y)
    page.wait_for_selector(f"{ROOT} .dl-critical-plot .hoverlayer .hovertext", timeout=10_000)
    tip = page.locator(f"{ROOT} .dl-critical-plot .hoverlayer .hovertext").first.text_content()
    assert re.search(r"share of attention on the object\s*[0-9.]+%", tip) and "step 20" in tip, tip
    page.locator(ROOT).first.screenshot(path=str(ARTIFACTS / "negprompt-critical.png"))


def _cancellation_tab(page) -> None:
    _tab(page, "Cancellation")
    lum = page.evaluate(LUMINANCE_JS, [f"{ROOT} .dl-cancel-grid", [1, 2, 3, 4]])
    print(f"\ncancellation rows, mean luminance: {', '.join(f'{v:.0f}' for v in lum)} (floor {LUMINANCE_FLOOR})")
    assert min(lum[:2]) > LUMINANCE_FLOOR, lum  # the two ε-difference rows are not near-black
    assert "residual inside" in page.locator(f"{ROOT} .dl-neutralization").first.inner_text()
    page.locator(ROOT).first.screenshot(path=str(ARTIFACTS / "negprompt-cancellation.png"))


def _removal_tab(page) -> None:
    _tab(page, "Removal")
    broken = page.evaluate(f"() => [...document.querySelectorAll('{ROOT} img')].filter(i => i.offsetParent !== null && "
                           "(!i.complete || i.naturalWidth === 0)).length")
    assert broken == 0, broken  # no broken-image icon before the sweep
    page.locator(f"{ROOT} .dl-sweep").first.click()
    _wait_status(page, "Sweeping", "done")
    sel = f"{ROOT} .dl-sweep-plot .js-plotly-plot"
    page.wait_for_selector(f"{sel} .scatterlayer .trace .points path", timeout=30_000)
    name = page.evaluate(f"() => document.querySelector('{sel}')._fullData[0].name")
    k = _click_point(page, sel, name, 5, f"{ROOT} .dl-sweep-plot")
    page.wait_for_function("([sel, k]) => document.querySelector(sel)?.textContent.trim() === String(k)",
                           arg=[f"{ROOT} .dl-start .widget-readout", int(k)], timeout=10_000)
    _wait_caption(page, int(k))
    page.locator(ROOT).first.screenshot(path=str(ARTIFACTS / "negprompt-removal.png"))


def _export_tab(page) -> None:
    _tab(page, "Export")
    code = page.locator(f"{ROOT} .dl-np-code pre code").last
    style = code.evaluate("c => { const s = getComputedStyle(c.parentElement); return [s.fontFamily, s.lineHeight, s.fontSize]; }")
    assert re.search(r"mono|courier|consolas|menlo", style[0], re.I), style
    assert float(style[1].rstrip("px")) < 1.7 * float(style[2].rstrip("px")), style  # no blank line between lines
    text = code.inner_text()
    assert "from_pretrained('src/deletionlab/assets/negprompt/tiny-shapes-sd'" in text and "/work/" not in text
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator(f"{ROOT} .dl-copy").first.click()
    page.wait_for_function(f"() => document.querySelector('{ROOT} .dl-copy').textContent === 'Copied'", timeout=5_000)
    page.locator(ROOT).first.screenshot(path=str(ARTIFACTS / "negprompt-export.png"))


def _results_click_moves_the_start(page) -> None:
    sel = ".dl-results-removal .js-plotly-plot"
    page.wait_for_selector(f"{sel} .scatterlayer .trace .points path", timeout=60_000)
    before = _start_value(page)
    k = _click_point(page, sel, "removed: object negative", 3, ".dl-results-removal")
    assert k != int(before)
    page.wait_for_function("([sel, k]) => document.querySelector(sel)?.textContent.trim() === String(k)",
                           arg=[f"{ROOT} .dl-start .widget-readout", int(k)], timeout=10_000)  # 30 steps here and there
    _wait_caption(page, int(k))


def test_negprompt_dashboard_as_a_student_uses_it(voila_server, page):
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
    root = open_dashboard(page, voila_server.url + "voila/render/negative_prompts.ipynb", ROOT)
    _wait_status(page, "Denoising", "done")  # the default run arrives by itself
    img = page.locator(".dl-img-neg img").first
    img.wait_for(state="visible", timeout=60_000)
    figures = page.locator(".js-plotly-plot").count()
    bundle = plotly_bundle_bytes()
    print(f"\nnegprompt page: {figures} interactive charts; plotly.js {sum(big):,} bytes of large JS received "
          f"(one bundle: {bundle:,}, ratio {sum(big) / bundle:.2f})")
    assert figures >= 5 and sum(big) <= 1.2 * bundle, (figures, big, bundle)
    assert "removed" in page.locator(f"{ROOT} .dl-negated").first.inner_text()  # the detector's verdict next to the images

    seconds = min(_generate_again(page) for _ in range(2))
    print(f"same-settings Generate: {seconds:.2f} s from the click to 'done'")
    assert seconds < 1.0
    _critical_tab(page)
    _cancellation_tab(page)
    _removal_tab(page)
    _export_tab(page)
    _results_click_moves_the_start(page)

    # the start slider, moved with the keyboard, re-renders the image from the cached run
    before = img.get_attribute("src")
    handle = page.locator(".dl-start .noUi-handle, .dl-start [role=slider]").first
    handle.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(old) => { const i = document.querySelector('.dl-img-neg img'); return i && i.getAttribute('src') !== old; }",
        arg=before, timeout=120_000)
    caption = page.locator(".dl-img-neg figcaption").inner_text()
    assert "negative in steps [" in caption and not caption.startswith("negative in steps [0,")
    assert page.locator(f"{ROOT} .dl-error").first.inner_text().strip() == ""
    assert "dl-negprompt" in root.get_attribute("class")
    screenshot(page, "negprompt")
    assert page.console_errors == []
    assert outside == []
