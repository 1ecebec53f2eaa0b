"""Shared fixtures: a Voila server per test session and a Playwright-driven Debian Chromium.

Browser tests are marked ``browser`` (``pytest -m browser`` selects them, ``-m "not browser"``
skips them); ``make test`` runs them all. Screenshots go to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("DELETIONLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

os.environ.setdefault("DELETIONLAB_FAST", "1")  # notebooks pick their small CI settings
# One BLAS/torch thread per process: the tests' models are tiny, and several threads per process
# only fight over 2 cores (an unlearning test fixture: 5 min with the default threads on a busy
# machine, 26 s with one). Kernels of notebook and browser tests inherit it. Override by exporting it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def voila_command(root: str | Path, port: int) -> list[str]:
    """The dashboard server as ``make dashboard`` runs it (``python -m deletionlab.serving``, config
    from ./voila.json), but on a free port and with tracebacks on so a failing test shows why."""
    return [
        sys.executable, "-m", "deletionlab.serving", str(root), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0", "--VoilaExecutor.timeout=240", "--show_tracebacks=True",
    ]


class VoilaServer:
    def __init__(self, root: Path, log_name: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / log_name
        env = dict(os.environ, JUPYTER_PATH=str(ROOT / "share" / "jupyter"))
        self.proc = subprocess.Popen(
            voila_command(root, self.port), cwd=ROOT, env=env,
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"voila exited early; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"voila did not answer within 60 s; see {self.log_path}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests: tiny models run fastest on one thread; two threads on a
    busy 2-core machine run ~30x slower. Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def voila_server():
    """Voila serving notebooks/ exactly as the dashboards are served (one per test session)."""
    server = VoilaServer(ROOT / "notebooks", "voila-notebooks.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium) or set DELETIONLAB_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    pg = ctx.new_page()
    pg.console_errors = []
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    yield pg
    ctx.close()


def open_dashboard(page, url: str, root_selector: str = ".dl-root", timeout_ms: int = 240_000):
    """Open a Voila page, wait until every cell ran (``#loading`` removed) and the widget attached."""
    page.goto(url, timeout=timeout_ms)
    page.wait_for_selector("#loading", state="detached", timeout=timeout_ms)
    page.wait_for_selector(root_selector, state="visible", timeout=60_000)
    return page.locator(root_selector).first


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A randomly initialised tiny SD pipeline in diffusers format, made by our training code
    (a few steps of the 'tiny' configuration); the tokenizer comes from the shipped model."""
    from deletionlab.negprompt.models import shipped_path
    from deletionlab.negprompt.training import TrainConfig, Trainer

    work = tmp_path_factory.mktemp("tiny-train")
    tok = shipped_path() / "tokenizer"
    trainer = Trainer(work, TrainConfig.tiny(), tokenizer_from=tok)
    trainer.run()
    return trainer.export(work / "model")


@pytest.fixture(scope="session")
def tiny_pipe(tiny_model_dir):
    from deletionlab.negprompt.models import load_pipeline

    return load_pipeline(tiny_model_dir)
