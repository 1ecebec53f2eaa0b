"""The adverbs dashboard in Debian's Chromium through Playwright (marked ``browser``; slow).

One page, used as a student would: typed adverbs are highlighted and deleted; the guard labels are
whole; EDA's edit names explain themselves on hover; a random example comes from the chosen data
set; the accuracy chart of the committed results is sized for its slot, hovers with value ± s.e.,
starts with a readable selection and shows a hidden condition from its legend. Screenshots go to
``tests/artifacts/adverbs*.png``.
"""

import re
from urllib.parse import urlparse

import pytest

from conftest import ARTIFACTS, open_dashboard, screenshot
from deletionlab.adverbs.data import TWEET_TOPICS
from deletionlab.widgets.adverbs import CONDITION_STYLE

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

RESULTS = ".dl-adverb-results .dl-accuracy-plot"
POINTS = ".js-plotly-plot .scatterlayer .trace .points path"  # inside one chart
#: labels whose text is cut off (wider than their box)
CLIPPED_JS = """(sel) => [...document.querySelectorAll(sel)].filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""


def _type_text(page) -> None:
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
    assert "She finished and never looked." in page.locator(".dl-adverbs table.dl-methods").first.inner_text()


def _labels_are_whole(page) -> None:
    labels = page.locator(".dl-adverbs .dl-guards .widget-checkbox").all_inner_texts()
    assert any("keep negations (not, never, hardly…)" in t for t in labels), labels
    assert page.evaluate(CLIPPED_JS, ".dl-adverbs .dl-guards label, .dl-adverbs .dl-guards .widget-label-basic span") == []
    assert page.evaluate(CLIPPED_JS, ".dl-adverbs .dl-dataset select") == []
    op = page.locator(".dl-adverbs .dl-op").first
    assert op.get_attribute("title") in {"synonym replacement (WordNet)", "random insertion of a synonym", "random swap of two words",
                                         "random deletion, each word with probability 0.1"}


def _random_example_from_the_chosen_set(page) -> None:
    page.locator(".dl-adverbs .dl-dataset select").first.select_option(label="Tweets about self-driving cars — sentiment")
    old = page.locator(".dl-adverbs .dl-text textarea").first.input_value()
    page.locator(".dl-adverbs .dl-random").first.click()
    page.wait_for_function("(old) => document.querySelector('.dl-adverbs .dl-text textarea').value !== old", arg=old, timeout=120_000)
    text = page.locator(".dl-adverbs .dl-text textarea").first.input_value()
    assert re.search(dict(TWEET_TOPICS)["self-driving cars"], text.lower()), text
    page.wait_for_function("(t) => document.querySelector('.dl-adverbs .dl-tagged')?.textContent.includes(t.slice(0, 20))",
                           arg=text, timeout=120_000)


def _accuracy_chart(page) -> None:
    first = page.locator(RESULTS).first  # the tweets' chart
    chart = first.locator(".js-plotly-plot .main-svg").first
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert 700 <= box["width"] <= 900 and box["height"] <= 420, box  # sized for its slot, not the page's width
    points = first.locator(POINTS)
    n_shown = points.count()
    assert n_shown == 5 * 4, n_shown  # five conditions at four training shares drawn at first
    points.nth(4).hover(force=True)  # the second trace (the paper's adverb deletion) at 1 %, or a point next to it
    first.locator(".hoverlayer .hovertext").first.wait_for(timeout=10_000)
    tip = first.locator(".hoverlayer .hovertext").first.text_content()
    assert any(tip.startswith(name) for name, _, _ in CONDITION_STYLE.values()), tip
    assert re.search(r"test accuracy 0\.\d{3}", tip) and "± 0.0" in tip and "1 %" in tip, tip
    assert "gain vs none" in tip or tip.startswith("no augmentation"), tip
    first.locator(".legend .traces", has_text="random deletion (same texts)").first.click()
    page.wait_for_function(f"(n) => document.querySelector('{RESULTS}').querySelectorAll('{POINTS}').length > n", arg=n_shown,
                           timeout=10_000)


def test_adverbs_dashboard_as_a_student_uses_it(voila_server, page):
    hosts = set()
    page.on("request", lambda r: hosts.add(urlparse(r.url).hostname))
    root = open_dashboard(page, voila_server.url + "voila/render/adverb_deletion.ipynb", ".dl-adverbs")
    page.wait_for_selector(".dl-adverbs .dl-tagged", timeout=120_000)
    _type_text(page)
    _labels_are_whole(page)
    screenshot(page, "adverbs")
    _random_example_from_the_chosen_set(page)
    root.screenshot(path=str(ARTIFACTS / "adverbs-text.png"))
    page.locator(".dl-adverbs .lm-TabBar-tab", has_text="Experiment").first.click()
    page.wait_for_timeout(500)
    assert "texts to tag" in page.locator(".dl-adverbs .dl-estimate").first.inner_text()
    root.screenshot(path=str(ARTIFACTS / "adverbs-experiment.png"))
    _accuracy_chart(page)
    page.screenshot(path=str(ARTIFACTS / "adverbs-results.png"))  # the chart, scrolled into view
    assert hosts <= {"127.0.0.1"}, hosts  # nothing requested off the machine
    assert page.console_errors == []
