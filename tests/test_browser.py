"""The home page and the server's hardening in Debian's Chromium (marked ``browser``; slow).

Each study's dashboard has its own ``tests/test_browser_<study>.py``."""

import pytest

from conftest import open_dashboard, screenshot

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
    page.wait_for_function("() => [...document.querySelectorAll('.dl-card')].filter(e => e.offsetParent !== null).length == 7",
                           timeout=20_000)
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
