"""A class opens the same dashboard at once: page-ready and first-result times, failures, memory.

    python benchmarks/classroom_load.py                  # N = 1, 4, 8, 16 on negprompt and unlearning
    python benchmarks/classroom_load.py --sizes 1 4 --dashboards unlearning_releases.ipynb

One dashboard server (``python -m deletionlab.serving``, as ``make dashboard``) and N visitors, each a
page in Debian's Chromium (Playwright), opened at the same moment. Per dashboard and N it prints one
line ``N=<n> ...`` with page-ready and first-result p50/p95 (seconds from opening the page until the
widget is there / until its first computed result is drawn: the job bar says "done"), ``failures:
<k>`` (pages that showed no result within the time limit, or an error), RSS per kernel, and the
kernels still alive 60 s after the pages closed (each closed as a tab is, unload handlers run; a
kernel whose page vanished without them is culled ~30–40 s after its last activity, ``voila.json``).

Then the same is measured at N = 8 with the classroom features switched off (no heavy-job gate, no
shared result cache: ``DELETIONLAB_GATE=0 DELETIONLAB_RESULT_CACHE=0``, which is how every kernel
computed before; ``DELETIONLAB_THREAD_CAP=0`` too: every job with all cores, as before), and it
prints ``speedup: X.XX`` = p95 first-result at N = 8 switched off / on
(the worse dashboard of the two). The shared cache is emptied before each server starts, so the
first visitor of each run computes. The whole run takes about 10-15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
# the test configuration pins one BLAS thread per process; the dashboards of `make dashboard` do not
_THREAD_VARS = {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}

from conftest import CHROMIUM, CHROMIUM_ARGS, VoilaServer  # noqa: E402

DASHBOARDS = ("negative_prompts.ipynb", "unlearning_releases.ipynb")
PAGE_LIMIT_S = 420


def kernel_pids(server: VoilaServer) -> list[int]:
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (proc / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == server.proc.pid and b"ipykernel" in cmd:
            out.append(int(proc.name))
    return out


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def visit(browser, url: str, t0: float) -> dict:
    """One visitor: open the page, wait for the widget and for its first result."""
    ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await ctx.new_page()
    out = {"ready": None, "result": None, "error": ""}
    stage = "page load"
    try:
        await page.goto(url, timeout=PAGE_LIMIT_S * 1000)
        await page.wait_for_selector(".dl-root", state="visible", timeout=PAGE_LIMIT_S * 1000)
        out["ready"] = time.monotonic() - t0
        stage = "first result"
        await page.wait_for_function(
            "() => [...document.querySelectorAll('.dl-root .dl-jobbar .dl-status')].some(e => e.textContent.includes('done'))",
            timeout=PAGE_LIMIT_S * 1000)
        out["result"] = time.monotonic() - t0
        err = await page.locator(".dl-root .dl-error").first.inner_text() if await page.locator(".dl-root .dl-error").count() else ""
        out["error"] = err.strip()[:200]
    except Exception as exc:  # noqa: BLE001 - a failed visit is counted, not raised
        out["error"] = f"{type(exc).__name__} during {stage}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
        try:  # what the page showed instead: the job bars' status lines
            bars = await page.locator(".dl-root .dl-jobbar .dl-status").all_inner_texts()
            out["error"] += " | job bars: " + " / ".join(b.strip()[:80] for b in bars)
        except Exception:  # noqa: BLE001 - the page may be gone
            pass
    return {"ctx": ctx, "page": page, **out}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(q * (len(v) - 1))))]


async def classroom(url: str, n: int, server: VoilaServer) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        t0 = time.monotonic()
        visits = await asyncio.gather(*(visit(browser, url, t0) for _ in range(n)))
        pids = kernel_pids(server)
        rss = [rss_mb(p) for p in pids]
        for v in visits:  # as a visitor closing the tab: the page's unload handler asks Voila to end its kernel
            try:
                await v["page"].close(run_before_unload=True)
            except Exception:  # noqa: BLE001 - a page that already died is closed below anyway
                pass
        await asyncio.sleep(2)
        for v in visits:
            await v["ctx"].close()
        await browser.close()
    deadline = time.time() + 60
    while time.time() < deadline and kernel_pids(server):
        time.sleep(2)
    ready = [v["ready"] for v in visits if v["ready"] is not None]
    result = [v["result"] for v in visits if v["result"] is not None]
    failures = sum(1 for v in visits if v["result"] is None or v["error"])
    return {"n": n, "ready": ready, "result": result, "failures": failures, "why": sorted({v["error"] for v in visits if v["error"]}),
            "rss": statistics.median(rss) if rss else float("nan"), "left": len(kernel_pids(server))}


def start_server(cache: Path, classroom_on: bool, log_name: str = "voila-classroom.log") -> VoilaServer:
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    os.environ["DELETIONLAB_CACHE"] = str(cache)
    os.environ["DELETIONLAB_GATE"] = "1" if classroom_on else "0"
    os.environ["DELETIONLAB_RESULT_CACHE"] = "1" if classroom_on else "0"
    os.environ["DELETIONLAB_THREAD_CAP"] = "1" if classroom_on else "0"
    os.environ.pop("DELETIONLAB_FAST", None)
    for var, value in _THREAD_VARS.items():  # serve as `make dashboard` does
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    return VoilaServer(ROOT / "notebooks", log_name)


def line(name: str, r: dict) -> str:
    return (f"N={r['n']} {name}: page-ready p50 {pct(r['ready'], .5):.1f} s p95 {pct(r['ready'], .95):.1f} s, "
            f"first-result p50 {pct(r['result'], .5):.1f} s p95 {pct(r['result'], .95):.1f} s, failures: {r['failures']}, "
            f"RSS per kernel {r['rss']:.0f} MB, kernels left after 60 s: {r['left']}"
            + "".join(f"\n    failure: {w}" for w in r.get("why", [])))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[1, 4, 8, 16])
    ap.add_argument("--dashboards", nargs="*", default=list(DASHBOARDS))
    ap.add_argument("--compare-at", type=int, default=8)
    args = ap.parse_args(argv)
    cache = Path(tempfile.mkdtemp(prefix="deletionlab-classroom-"))
    p95 = {}
    for classroom_on in (True, False):
        sizes = args.sizes if classroom_on else [args.compare_at]
        label = "gate + shared cache" if classroom_on else "switched off (before)"
        for nb in args.dashboards:
            for n in sizes:
                log_name = f"voila-classroom-{Path(nb).stem}-N{n}-{'on' if classroom_on else 'off'}.log"
                server = start_server(cache, classroom_on, log_name)
                try:
                    r = asyncio.run(classroom(server.url + f"voila/render/{nb}", n, server))
                finally:
                    server.stop()
                if r["failures"]:  # what the server saw: kept in tests/artifacts/ for each run
                    log = server.log()
                    deaths = log.count("Kernel died") + log.count("restarting")
                    r["why"].append(f"server log {server.log_path.name}: {log.count('Timeout waiting for IOPub')} IOPub timeouts, "
                                    f"{log.count('Traceback')} tracebacks, {deaths} kernel deaths")
                print(line(f"{nb} [{label}]", r), flush=True)
                if n == args.compare_at:
                    p95[(classroom_on, nb)] = pct(r["result"], 0.95) if r["failures"] < n else float("inf")
    shutil.rmtree(cache, ignore_errors=True)
    ratios = [p95[(False, nb)] / p95[(True, nb)] for nb in args.dashboards if (True, nb) in p95 and (False, nb) in p95]
    if ratios:
        print(f"p95 first-result at N={args.compare_at}: "
              + ", ".join(f"{nb} {p95[(False, nb)]:.1f} s -> {p95[(True, nb)]:.1f} s" for nb in args.dashboards))
        print(f"speedup: {min(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
