"""The home page and the server's hardening in Debian's Chromium (marked ``browser``; slow).

Each study's dashboard has its own ``tests/test_browser_<study>.py``."""

import time
from pathlib import Path
from urllib.parse import urlparse

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


def kernel_pids(server) -> list[int]:
    """Kernel processes started by a Voila server (its children running ipykernel)."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmd = (proc / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == server.proc.pid and b"ipykernel" in cmd:
            out.append(int(proc.name))
    return out


@pytest.fixture
def lifecycle_server():
    server = VoilaServer(ROOT / "notebooks", "voila-lifecycle.log")
    yield server
    server.stop()


def test_a_closed_page_leaves_no_kernel_and_pages_stay_on_this_machine(lifecycle_server, browser):
    """Closing a dashboard ends its kernel within a minute; the page asks nothing of another host
    (Font Awesome comes from Voila's own files, and its icons render)."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    page = ctx.new_page()
    hosts = []
    page.on("request", lambda r: hosts.append(urlparse(r.url).hostname or r.url.split(":", 1)[0]))
    open_dashboard(page, lifecycle_server.url + "voila/render/index.ipynb")
    assert len(kernel_pids(lifecycle_server)) == 1
    assert set(hosts) <= {"127.0.0.1", "data", "blob"}, sorted(set(hosts))
    family = page.evaluate("() => { const i = document.createElement('i'); i.className = 'fa fa-stop';"
                           " document.body.appendChild(i); return getComputedStyle(i).fontFamily; }")
    assert "Font Awesome" in family
    page.close(run_before_unload=True)  # as a browser closing the tab does
    deadline = time.time() + 60
    while kernel_pids(lifecycle_server) and time.time() < deadline:
        time.sleep(1)
    left = kernel_pids(lifecycle_server)
    ctx.close()
    assert left == [], lifecycle_server.log()[-3000:]


def test_odd_requests_get_404_or_400_and_no_listing(voila_server):
    import urllib.error
    import urllib.request

    def status(path):
        try:
            with urllib.request.urlopen(voila_server.url + path, timeout=120) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    assert status("voila/api/contents") == 404 and status("voila/api/contents/index.ipynb") == 404
    assert status("voila/render/%00") == 400
    for path in ("voila/templates/%00", "voila/templates/lab/x", "voila/templates/deletionlab/index.html.j2", "logout", "login"):
        assert status(path) in (400, 404), path
    assert status("voila/render/index.ipynb") == 200


def test_a_malformed_comm_open_sends_no_traceback_to_the_visitor(voila_server):
    """A visitor's websocket never receives kernel tracebacks or stderr (they stay in the server log)."""
    import asyncio
    import json
    import re
    import urllib.request
    import uuid

    from tornado.websocket import websocket_connect

    body = urllib.request.urlopen(voila_server.url + "voila/render/index.ipynb", timeout=240).read().decode()
    kernel = re.findall(r'kernel[_-]?[iI]d["\']?\s*[:=]\s*["\']([0-9a-f-]{36})', body)[0]

    async def talk():
        ws = await websocket_connect(voila_server.url.replace("http", "ws") + f"api/kernels/{kernel}/channels")
        session = uuid.uuid4().hex
        for content in ({"comm_id": "x", "target_name": "jupyter.widget", "data": {"state": {"_model_name": "NoSuchModel"}}},
                        {"comm_id": 5, "target_name": None, "data": "not a dict"}):
            msg = {"header": {"msg_id": uuid.uuid4().hex, "msg_type": "comm_open", "session": session, "username": "",
                              "version": "5.3", "date": ""}, "parent_header": {}, "metadata": {}, "content": content,
                   "channel": "shell", "buffers": []}
            await ws.write_message(json.dumps(msg))
        received = []
        loop = asyncio.get_running_loop()
        end = loop.time() + 8
        while loop.time() < end:
            try:
                m = await asyncio.wait_for(ws.read_message(), timeout=max(0.1, end - loop.time()))
            except asyncio.TimeoutError:
                break
            if m is None:
                break
            received.append(m if isinstance(m, str) else m.decode("latin-1"))
        ws.close()
        return received

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # the browser fixtures may already run an event loop in this thread
        received = pool.submit(asyncio.run, talk()).result()
    text = "\n".join(received)
    assert "Traceback" not in text and "site-packages" not in text and '"msg_type": "error"' not in text
    assert "Traceback" in voila_server.log() or "comm" in voila_server.log().lower()
