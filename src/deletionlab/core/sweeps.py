"""Parameter sweeps on a local pool or on a ``dask.distributed`` cluster.

``sweep(fn, grid)`` calls ``fn(**point)`` for every point of a parameter grid and returns the
results *in grid order*, reporting progress as points finish and stopping when cancelled.

* By default the points run on a local pool: threads (``backend="threads"``, right for NumPy and
  PyTorch, which release the GIL, and for functions defined in a notebook) or processes
  (``backend="processes"``; the function must be importable).
* When a ``distributed.Client`` is passed -- or the environment variable
  ``DELETIONLAB_DASK_SCHEDULER`` holds a scheduler address such as ``tcp://10.0.0.5:8786`` -- the
  points run on that cluster instead, unchanged.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from deletionlab.core.jobs import Cancelled, CancelToken, Progress, no_progress

SCHEDULER_ENV = "DELETIONLAB_DASK_SCHEDULER"
_clients: dict[str, Any] = {}


def grid_points(grid: Mapping[str, Sequence[Any]] | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The points of a grid: a dict of value lists gives their Cartesian product (last key fastest);
    a list of dicts is taken as it is."""
    if isinstance(grid, Mapping):
        keys = list(grid)
        return [dict(zip(keys, vals)) for vals in itertools.product(*(list(grid[k]) for k in keys))]
    return [dict(p) for p in grid]


def client_from_env():
    """A ``distributed.Client`` for the scheduler named in ``DELETIONLAB_DASK_SCHEDULER`` (or None)."""
    address = os.environ.get(SCHEDULER_ENV, "").strip()
    if not address:
        return None
    if address not in _clients:
        from distributed import Client

        _clients[address] = Client(address, timeout="10s")
    return _clients[address]


def _call(fn: Callable[..., Any], point: dict, fixed: dict) -> Any:
    return fn(**fixed, **point)


def sweep(
    fn: Callable[..., Any],
    grid: Mapping[str, Sequence[Any]] | Iterable[Mapping[str, Any]],
    *,
    fixed: Mapping[str, Any] | None = None,
    client: Any = None,
    backend: str = "threads",
    max_workers: int | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    poll: float = 0.05,
) -> list[Any]:
    """Map ``fn(**fixed, **point)`` over the grid; results come back in grid order.

    The first failing point cancels the rest and its exception is raised. ``cancel`` is checked
    every ``poll`` seconds; pending points are cancelled and :class:`Cancelled` is raised.
    """
    points = grid_points(grid)
    fixed = dict(fixed or {})
    total = len(points)
    progress(0, total, "starting")
    if total == 0:
        return []
    client = client if client is not None else client_from_env()
    executor: Executor | None = None
    if client is not None:
        futures = [client.submit(_call, fn, p, fixed, pure=False) for p in points]
        where = "dask"
    else:
        workers = max_workers or min(total, os.cpu_count() or 1)
        if backend == "threads":
            executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dl-sweep")
        elif backend == "processes":
            executor = ProcessPoolExecutor(max_workers=workers)
        else:
            raise ValueError(f"unknown backend {backend!r} (use 'threads' or 'processes')")
        futures = [executor.submit(_call, fn, p, fixed) for p in points]
        where = backend
    try:
        finished: set[int] = set()
        while len(finished) < total:
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            for i, f in enumerate(futures):
                if i not in finished and f.done():
                    finished.add(i)
                    if f.exception() is not None:  # fail fast
                        raise f.exception()
                    progress(len(finished), total, f"{len(finished)}/{total} points ({where})")
            if len(finished) < total:
                time.sleep(poll)
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    finally:
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
