"""Voila dashboards in Debian's Chromium through Playwright (marked ``browser``; slow)."""

import pytest

from conftest import ROOT, VoilaServer, open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def test_home_page_is_the_landing_page_and_filters(voila_server, page):
    page.goto(voila_server.url, timeout=240_000)  # "/" redirects to the home notebook
    root = open_dashboard(page, voila_server.url)
    assert "voila/render/index.ipynb" in page.url
    assert "dl-home" in root.get_attribute("class")
    cards = page.locator(".dl-card")
    assert cards.count() == 7
    visible_before = sum(cards.nth(i).is_visible() for i in range(7))
    assert visible_before == 7
    n_planned = page.locator(".dl-card .dl-badge-planned").count()
    n_ready = page.locator(".dl-card .dl-badge-ready").count()
    assert n_planned + n_ready == 7
    # choose the filter that must hide something: "Ready" while any study is planned
    name, expected = ("Ready", n_ready) if n_planned else ("Planned", 0)
    page.get_by_role("button", name=name).click()
    page.wait_for_function(
        "(n) => [...document.querySelectorAll('.dl-card')].filter(e => e.offsetParent !== null).length == n",
        arg=expected, timeout=20_000)
    assert sum(cards.nth(i).is_visible() for i in range(7)) == expected
    page.get_by_role("button", name="All studies").click()
    page.wait_for_function("() => [...document.querySelectorAll('.dl-card')].filter(e => e.offsetParent !== null).length == 7", timeout=20_000)
    shot = screenshot(page, "home")
    assert shot.stat().st_size > 10_000
    # visitors see no code: sources are stripped
    assert page.locator(".jp-InputArea-editor").count() == 0
    assert page.console_errors == []


def test_visitors_cannot_read_notebooks_or_override_templates(voila_server):
    import urllib.error
    import urllib.request

    for path in ("voila/files/index.ipynb", "voila/files/../pyproject.toml"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(voila_server.url + path, timeout=10)
        assert err.value.code in (403, 404)
    with urllib.request.urlopen(voila_server.url + "voila/render/index.ipynb?voila-template=reveal", timeout=120) as r:
        body = r.read().decode()
    assert "reveal.js" not in body.lower()


@pytest.fixture(scope="module")
def plotcheck_server():
    server = VoilaServer(ROOT / "tests" / "notebooks", "voila-plotcheck.log")
    yield server
    server.stop()


def test_plot_backends_render(plotcheck_server, page):
    """Both candidate plot back-ends (plotly FigureWidget, ipympl) render and update under Voila."""
    open_dashboard(page, plotcheck_server.url + "voila/render/plot_backends.ipynb")
    page.wait_for_selector(".js-plotly-plot .scatterlayer path", timeout=60_000)
    page.wait_for_selector(".jupyter-matplotlib canvas", timeout=60_000)
    y_before = page.evaluate("() => Array.from(document.querySelector('.js-plotly-plot').data[0].y).slice(0, 5)")
    canvas = page.locator(".jupyter-matplotlib-canvas-div canvas").first
    png_before = canvas.screenshot()
    page.locator(".dl-shift button, button.dl-shift").first.click()
    page.wait_for_function(
        "(y0) => { const y = Array.from(document.querySelector('.js-plotly-plot').data[0].y).slice(0, 5);"
        " return JSON.stringify(y) !== JSON.stringify(y0); }", arg=y_before, timeout=30_000)
    page.wait_for_timeout(1500)
    assert canvas.screenshot() != png_before, "the ipympl canvas did not redraw"
    screenshot(page, "plot-backends")


def test_negprompt_dashboard_start_slider_changes_the_preview(voila_server, page):
    root = open_dashboard(page, voila_server.url + "voila/render/negative_prompts.ipynb", ".dl-negprompt")
    img = page.locator(".dl-img-neg img").first
    img.wait_for(state="visible", timeout=120_000)
    before = img.get_attribute("src")
    # move the start-step slider with the keyboard: focus its handle, press End (last step)
    handle = page.locator(".dl-start .noUi-handle, .dl-start [role=slider]").first
    handle.focus()
    for _ in range(18):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(old) => { const i = document.querySelector('.dl-img-neg img'); return i && i.getAttribute('src') !== old; }",
        arg=before, timeout=120_000)
    caption = page.locator(".dl-img-neg figcaption").inner_text()
    assert "negative in steps [" in caption and not caption.startswith("negative in steps [0,")
    assert page.locator(".dl-negprompt .dl-error").inner_text().strip() == ""
    assert "dl-negprompt" in root.get_attribute("class")
    screenshot(page, "negprompt")
    assert page.console_errors == []


def test_adverbs_dashboard_highlights_typed_adverbs(voila_server, page):
    open_dashboard(page, voila_server.url + "voila/render/adverb_deletion.ipynb", ".dl-adverbs")
    page.wait_for_selector(".dl-adverbs .dl-tagged", timeout=120_000)
    box = page.locator(".dl-adverbs .dl-text textarea").first
    box.fill("She quickly finished and honestly never looked back.")
    box.press("Tab")  # continuous_update=False: the value is sent on blur
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dl-adverbs .dl-tok-adv')].map(e => e.textContent).join(' ').includes('quickly')",
        timeout=120_000)
    deleted = page.locator(".dl-adverbs .dl-tok-deleted").all_inner_texts()
    kept = page.locator(".dl-adverbs .dl-tok-kept").all_inner_texts()
    assert "quickly" in deleted and "honestly" in deleted
    assert "never" in kept  # the negation guard is on by default
    assert "She finished and never looked." in page.locator(".dl-adverbs table.dl-methods").inner_text()
    screenshot(page, "adverbs")
    assert page.console_errors == []


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
