"""Heavy jobs on a Dask cluster: same result as in the kernel, progress relayed, cancel within a second,
and two kernels sharing one LocalCluster."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from deletionlab.core import JobRunner


def leakage_curve(n, seed, progress=None, cancel=None, delay=0.0):
    """A deterministic stand-in for an explorer job: it reports progress and checks its token."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cancel.check()
        out.append(float(rng.normal()))
        time.sleep(delay)
        progress(i + 1, n, f"release {i + 1}")
    return out


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as c, Client(c) as client:
        yield c, client


def test_a_job_on_the_cluster_returns_the_kernel_result_with_progress(cluster):
    _, client = cluster
    local = JobRunner(gate=None, client=None).submit(leakage_curve, 5, 3)
    assert local.wait(30) and local.where == "kernel"
    seen = []
    remote = JobRunner(gate=None, client=client, on_progress=lambda j: seen.append(j.note)).submit(
        leakage_curve, 5, 3, heavy=True, delay=0.15)
    assert remote.wait(60), remote.error
    assert remote.status == "finished" and remote.where == "dask"
    assert remote.result == local.result
    assert "release 5" in seen


def test_cancel_stops_a_job_on_the_cluster_within_a_second(cluster):
    _, client = cluster
    runner = JobRunner(gate=None, client=client)
    job = runner.submit(leakage_curve, 10_000, 0, heavy=True, delay=0.05)
    deadline = time.time() + 30
    while job.done < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert job.done >= 2
    t0 = time.monotonic()
    runner.cancel()
    assert job.wait(1.0) and job.status == "cancelled"
    assert time.monotonic() - t0 < 1.0


KERNEL = r"""
import json, os, sys
import numpy as np
from deletionlab.core import JobRunner
def work(seed, progress=None, cancel=None):
    progress(1, 1, "done")
    return [float(v) for v in np.random.default_rng(seed).normal(size=3)], os.getpid()
job = JobRunner(gate=None).submit(work, int(sys.argv[1]), heavy=True)
job.wait(120)
print(json.dumps({"status": job.status.value, "where": job.where, "values": job.result[0], "pid": job.result[1]}))
"""


def test_two_kernels_send_their_jobs_to_one_local_cluster(cluster):
    import json

    c, client = cluster
    env = dict(os.environ, DELETIONLAB_DASK_SCHEDULER=c.scheduler_address)
    procs = [subprocess.Popen([sys.executable, "-c", KERNEL, str(seed)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    outs = [json.loads(p.communicate(timeout=180)[0].strip().splitlines()[-1]) for p in procs]
    worker_pids = set(client.run(os.getpid).values())
    for seed, out in zip((1, 2), outs):
        assert out["status"] == "finished" and out["where"] == "dask"
        assert out["values"] == [float(v) for v in np.random.default_rng(seed).normal(size=3)]
        assert out["pid"] in worker_pids  # computed by the cluster's worker, not in either kernel
