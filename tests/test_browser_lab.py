"""`make lab` starts (also as root) and an InteractivePlot renders inside JupyterLab itself."""

import os
import secrets
import subprocess
import time
import urllib.request

import pytest

from conftest import ARTIFACTS, ROOT, free_port, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def lab():
    """JupyterLab started exactly as the README says (`make lab`), on a free port with a known token."""
    port, token = free_port(), secrets.token_hex(16)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "jupyterlab.log", "w")
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_PORT={port}", f"LAB_TOKEN={token}",
                             "LAB_ROOT=tests/notebooks"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline, status = time.time() + 120, None
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}lab?token={token}", timeout=3) as r:
                status = r.status
                break
        except OSError:
            time.sleep(0.5)
    yield {"url": url, "token": token, "status": status, "proc": proc}
    os.killpg(proc.pid, 15)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)


def test_make_lab_starts_and_answers_200_even_as_root(lab):
    log = (ARTIFACTS / "jupyterlab.log").read_text()
    assert lab["status"] == 200, log[-2000:]
    if os.geteuid() == 0:  # the case that used to fail ("Running as root is not recommended")
        assert "--allow-root" in log  # make echoes the command line it ran


def test_interactive_plot_renders_in_jupyterlab(lab, page):
    page.goto(f"{lab['url']}lab/tree/interactive_plots.ipynb?token={lab['token']}", timeout=120_000)
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    page.wait_for_function("() => document.querySelector('.jp-Notebook-ExecutionIndicator, .jp-Toolbar') !== null",
                           timeout=60_000)
    page.wait_for_timeout(2000)  # kernel starts
    page.locator(".jp-Notebook").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).first.click()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length >= 14",
                           timeout=180_000)
    first = page.locator(".js-plotly-plot").first
    first.locator(".scatterlayer .trace .points path").nth(3).hover(force=True)
    page.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)
    assert "LiRA AUC" in page.locator(".hoverlayer .hovertext").first.text_content()
    screenshot(page, "jupyterlab-interactive-plots")
