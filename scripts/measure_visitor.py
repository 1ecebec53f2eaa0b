"""What one dashboard visitor costs: time to the page and to its first result, kernel memory and CPU.

    .venv/bin/python scripts/measure_visitor.py                 # every dashboard, one visitor at a time
    .venv/bin/python scripts/measure_visitor.py s3t_unlearning.ipynb

Serves ``notebooks/`` as ``make dashboard`` does, opens each dashboard alone in Debian's Chromium
(Playwright), and prints one line per dashboard: seconds until the widget is shown and until its
first result is drawn (a job bar says "done", or nothing is left computing), the kernel's resident memory once it is drawn, and
the CPU seconds the kernel, the server and the browser used. Each dashboard is opened twice: the
first visit may compute the default run into the shared cache (``cold``, with an empty cache), the second reads it
(``warm``: what every later visitor gets). The README's table comes from this script.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
_THREAD_VARS = {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}

from playwright.sync_api import sync_playwright  # noqa: E402

from conftest import CHROMIUM, CHROMIUM_ARGS, VoilaServer  # noqa: E402

#: the first result is drawn: a job bar says "done", or nothing is left computing (a dashboard that shows shipped results)
DONE = ("() => { const bars = [...document.querySelectorAll('.dl-root .dl-jobbar .dl-status')].map(e => e.textContent);"
        " const busy = bars.some(t => t.includes('…') || t.includes('queued')) || !!document.querySelector('.dl-root .dl-computing');"
        " return bars.some(t => t.includes('done')) || !busy; }")


def processes() -> dict[int, tuple[str, float, float]]:
    """pid -> (role, CPU seconds, RSS MB) for the server, its kernels and Chromium."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (p / "cmdline").read_bytes()
            rss = next(int(x.split()[1]) / 1024 for x in (p / "status").read_text().splitlines() if x.startswith("VmRSS:"))
        except (OSError, StopIteration, IndexError):
            continue
        role = ("kernel" if b"ipykernel" in cmd else "browser" if b"chrom" in cmd
                else "server" if b"deletionlab.serving" in cmd else None)
        if role:
            out[int(p.name)] = (role, (int(stat[11]) + int(stat[12])) / tick, rss)
    return out


def cpu(before: dict, after: dict, role: str) -> float:
    return sum(c - before.get(pid, (role, 0.0, 0))[1] for pid, (r, c, _) in after.items() if r == role)


def visit(browser, url: str) -> dict:
    before = processes()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    t0 = time.monotonic()
    page.goto(url, timeout=600_000)
    page.wait_for_selector(".dl-root", state="visible", timeout=600_000)
    ready = time.monotonic() - t0
    page.wait_for_timeout(500)
    page.wait_for_function(DONE, timeout=600_000)
    result = time.monotonic() - t0
    page.wait_for_timeout(1500)
    after = processes()
    kernels = [rss for pid, (r, _, rss) in after.items() if r == "kernel" and pid not in before]
    out = {"ready": ready, "result": result, "rss": max(kernels) if kernels else float("nan"),
           **{role: cpu(before, after, role) for role in ("kernel", "server", "browser")}}
    page.close(run_before_unload=True)
    time.sleep(2)
    return out


def main(argv: list[str]) -> None:
    for var, value in _THREAD_VARS.items():  # serve as `make dashboard` does (the test set-up pins one thread)
        if value is None:
            os.environ.pop(var, None)
    os.environ.pop("DELETIONLAB_FAST", None)
    os.environ["DELETIONLAB_CACHE"] = tempfile.mkdtemp(prefix="deletionlab-visitor-")  # the first visit is really cold
    from deletionlab.catalog import STUDIES

    notebooks = argv or [s.notebook for s in STUDIES]
    server = VoilaServer(ROOT / "notebooks", "voila-visitor.log")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for nb in notebooks:
                for kind in ("cold", "warm"):
                    r = visit(browser, server.url + "voila/render/" + nb)
                    print(f"{nb} [{kind}]: page {r['ready']:.1f} s, first result {r['result']:.1f} s, kernel RSS {r['rss']:.0f} MB, "
                          f"CPU s: kernel {r['kernel']:.1f}, server {r['server']:.1f}, browser {r['browser']:.1f}", flush=True)
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
