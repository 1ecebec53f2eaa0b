"""Compute once, serve many (the shared result cache) and the machine-wide gate for heavy jobs."""

import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import pytest

from deletionlab.core import Cancelled, CancelToken, JobRunner
from deletionlab.core.cache import cache_key, cached, is_cached
from deletionlab.core.gate import Gate

TWO_KERNELS = r"""
import sys, time
from pathlib import Path
from deletionlab.core.cache import cached
root, log = Path(sys.argv[1]), Path(sys.argv[2])
def compute():
    with open(log, "a") as f:
        f.write("computed\n")
    time.sleep(1.5)
    return {"auc": 0.61, "who": sys.argv[3]}
print(cached("unlearning", {"seed": 0, "releases": 10}, compute, root=root)["who"])
"""


def test_two_kernels_asking_for_the_same_run_compute_it_once(tmp_path):
    log = tmp_path / "log.txt"
    procs = [subprocess.Popen([sys.executable, "-c", TWO_KERNELS, str(tmp_path / "cache"), str(log), name],
                              stdout=subprocess.PIPE, text=True) for name in ("first", "second")]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert log.read_text().count("computed") == 1
    assert outs[0] == outs[1] and outs[0] in ("first", "second")  # both got the one computed result


@dataclass(frozen=True)
class Settings:
    seed: int = 0
    sigma: float = 0.02


def test_the_key_follows_settings_and_a_failure_stores_nothing(tmp_path):
    assert cache_key("unlearning", Settings()) == cache_key("unlearning", Settings())
    assert cache_key("unlearning", Settings()) != cache_key("unlearning", Settings(sigma=0.05))
    assert cache_key("unlearning", Settings()) != cache_key("negprompt", Settings())
    calls = []

    def boom():
        calls.append(1)
        raise ValueError("no")

    for _ in range(2):
        with pytest.raises(ValueError):
            cached("unlearning", Settings(), boom, root=tmp_path)
    assert len(calls) == 2
    assert not is_cached("unlearning", Settings(), root=tmp_path)
    assert cached("unlearning", Settings(), lambda: 7, root=tmp_path) == 7
    assert is_cached("unlearning", Settings(), root=tmp_path)
    assert cached("unlearning", Settings(), lambda: 8, root=tmp_path) == 7  # served from disk


def test_the_cache_can_be_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("DELETIONLAB_RESULT_CACHE", "0")
    assert cached("unlearning", Settings(), lambda: 1, root=tmp_path) == 1
    assert cached("unlearning", Settings(), lambda: 2, root=tmp_path) == 2


def test_the_gate_never_runs_more_than_its_limit_and_reports_positions(tmp_path):
    gate = Gate(limit=2, root=tmp_path)
    lock, running, peak, positions = threading.Lock(), [0], [0], []

    def job(i):
        with gate.slot(on_wait=lambda pos: positions.append(pos)):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.3)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=job, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
        time.sleep(0.02)  # arrive in order
    for t in threads:
        t.join(30)
    assert peak[0] == 2
    assert 1 in positions and max(positions) >= 3
    assert list(tmp_path.glob("*.ticket")) == []


def test_cancelling_a_queued_job_leaves_the_queue_at_once(tmp_path):
    gate = Gate(limit=1, root=tmp_path)
    token, seen, errors = CancelToken(), [], []
    release = threading.Event()

    def holder():
        with gate.slot():
            release.wait(10)

    def waiter():
        try:
            with gate.slot(cancel=token, on_wait=seen.append):
                pass
        except Cancelled:
            errors.append("cancelled")

    h = threading.Thread(target=holder)
    h.start()
    time.sleep(0.1)
    w = threading.Thread(target=waiter)
    w.start()
    time.sleep(0.3)
    assert seen == [1] and len(list(tmp_path.glob("*.ticket"))) == 2
    t0 = time.monotonic()
    token.cancel()
    w.join(2)
    assert errors == ["cancelled"] and time.monotonic() - t0 < 1.0
    assert len(list(tmp_path.glob("*.ticket"))) == 1
    release.set()
    h.join(5)


def test_a_dead_process_ticket_does_not_block_the_queue(tmp_path):
    (tmp_path / f"{0:020d}-999999999-dead.ticket").write_text("999999999")
    gate = Gate(limit=1, root=tmp_path)
    with gate.slot() as threads:
        assert threads >= 1
    assert list(tmp_path.glob("*.ticket")) == []


def test_a_heavy_job_waits_in_the_gate_and_the_runner_says_where_it_is(tmp_path):
    gate = Gate(limit=1, root=tmp_path)
    notes, release = [], threading.Event()
    def blocker():
        with gate.slot():
            release.wait(5)

    holder = threading.Thread(target=blocker)
    holder.start()
    time.sleep(0.1)
    runner = JobRunner(gate=gate, client=None, on_progress=lambda j: notes.append((j.status.value, j.note)))
    job = runner.submit(lambda progress, cancel: 42, heavy=True)
    time.sleep(0.4)
    assert job.status == "pending" and job.queue_position == 1
    assert ("pending", "queued — position 1") in notes
    release.set()
    assert job.wait(5) and job.status == "finished" and job.result == 42
    holder.join(5)


def test_a_heavy_job_runs_with_the_threads_it_asks_for(tmp_path):
    import torch

    before = torch.get_num_threads()
    try:
        runner = JobRunner(gate=Gate(limit=1, root=tmp_path), client=None)
        job = runner.submit(lambda progress, cancel: torch.get_num_threads(), heavy=True, threads=1)
        assert job.wait(10) and job.result == 1
    finally:
        torch.set_num_threads(before)


def test_the_thread_cap_can_be_switched_off_for_the_benchmark(monkeypatch):
    """``DELETIONLAB_THREAD_CAP=0`` (the classroom benchmark's "before" run) leaves torch's thread count alone."""
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        monkeypatch.setenv("DELETIONLAB_THREAD_CAP", "0")
        job = JobRunner(gate=None, client=None).submit(lambda progress, cancel: torch.get_num_threads(), heavy=True, threads=1)
        assert job.wait(10) and job.result == 2
        monkeypatch.setenv("DELETIONLAB_THREAD_CAP", "1")
        job = JobRunner(gate=None, client=None).submit(lambda progress, cancel: torch.get_num_threads(), heavy=True, threads=1)
        assert job.wait(10) and job.result == 1
    finally:
        torch.set_num_threads(before)


def test_the_threads_cap_holds_without_the_gate_too():
    import torch

    before = torch.get_num_threads()
    try:
        job = JobRunner(gate=None, client=None).submit(lambda progress, cancel: torch.get_num_threads(), heavy=True, threads=1)
        assert job.wait(10) and job.result == 1
    finally:
        torch.set_num_threads(before)
