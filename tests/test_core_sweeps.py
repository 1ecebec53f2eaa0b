"""Sweeps over parameter grids: local threads/processes and a real dask LocalCluster."""

import math
import os
import time

import pytest

from deletionlab.core import Cancelled, CancelToken, grid_points, sweep


def test_grid_points_is_the_cartesian_product_in_order():
    pts = grid_points({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(pts) == 6
    assert pts[0] == {"a": 1, "b": "x"} and pts[1] == {"a": 1, "b": "y"} and pts[-1] == {"a": 2, "b": "z"}
    assert grid_points([{"a": 1}, {"a": 5}]) == [{"a": 1}, {"a": 5}]


def test_local_threads_keep_grid_order_and_report_progress():
    seen = []

    def f(x, y, scale):
        time.sleep(0.02 * (3 - x))  # later points finish first
        return scale * x + y

    out = sweep(f, {"x": [0, 1, 2], "y": [10, 20]}, fixed={"scale": 100}, progress=lambda d, t, n="": seen.append((d, t)))
    assert out == [10, 20, 110, 120, 210, 220]
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)


def test_local_processes_backend():
    out = sweep(_hyp, {"a": [3, 5], "b": [4, 12]}, backend="processes", max_workers=2)
    assert out == [5.0, math.hypot(3, 12), math.hypot(5, 4), 13.0]


def _hyp(a, b):
    return math.hypot(a, b)


def test_failure_propagates_and_cancel_stops():
    def bad(x):
        if x == 2:
            raise ValueError("bad point")
        return x

    with pytest.raises(ValueError, match="bad point"):
        sweep(bad, {"x": [1, 2, 3]})
    tok = CancelToken()
    tok.cancel()
    with pytest.raises(Cancelled):
        sweep(lambda x: time.sleep(0.5), {"x": range(4)}, cancel=tok)
    with pytest.raises(ValueError, match="backend"):
        sweep(_hyp, {"a": [1], "b": [1]}, backend="gpu")


@pytest.mark.slow
def test_dask_local_cluster_with_two_worker_processes(monkeypatch):
    from distributed import Client, LocalCluster

    def work(x, y):
        import os as _os
        import time as _time

        _time.sleep(0.3)
        return x * y, _os.getpid()

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            seen = []
            out = sweep(work, {"x": [1, 2, 3], "y": [10, 100]}, client=client, progress=lambda d, t, n="": seen.append(n))
            assert [v for v, _ in out] == [10, 100, 20, 200, 30, 300]
            pids = {pid for _, pid in out}
            assert len(pids) == 2 and os.getpid() not in pids  # both worker processes did work
            assert any("dask" in n for n in seen)
            # the same sweep picks the cluster up from the environment variable
            monkeypatch.setenv("DELETIONLAB_DASK_SCHEDULER", cluster.scheduler_address)
            out2 = sweep(work, {"x": [4], "y": [5]})
            assert out2[0][0] == 20 and out2[0][1] in pids
            from deletionlab.core import sweeps

            for c in sweeps._clients.values():
                c.close()
            sweeps._clients.clear()
