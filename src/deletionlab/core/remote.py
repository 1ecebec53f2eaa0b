"""Run a job on a Dask cluster instead of inside the kernel, with progress and cancel intact.

With ``DELETIONLAB_DASK_SCHEDULER=tcp://host:8786`` set for the dashboard server (or a
``distributed.Client`` given to the ``JobRunner``), heavy explorer jobs run on the cluster's
workers: a class server grows by adding workers (``dask worker tcp://host:8786`` on more machines
with this package installed). The job function and its arguments are pickled to a worker; the
worker posts its progress to a Dask ``Variable`` and checks a Dask ``Event`` for cancellation,
so the job bar and the cancel button in the page behave exactly as for a local job.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from deletionlab.core.jobs import Cancelled, CancelToken, Progress

#: how often the worker looks at the cancel event, and the kernel at the progress topic (seconds)
POLL_SECONDS = 0.1


class RemoteToken:
    """The worker-side cancel token: set when the kernel sets the Dask ``Event`` named ``key``."""

    def __init__(self, key: str) -> None:
        from distributed import Event

        self._event = Event(key)
        self._checked = 0.0
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        now = time.monotonic()
        if not self._cancelled and now - self._checked >= POLL_SECONDS:  # one scheduler round trip per 100 ms
            self._checked = now
            self._cancelled = self._event.is_set()
        return self._cancelled

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled()

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.check()
            time.sleep(min(POLL_SECONDS, max(0.0, end - time.monotonic())))

    def cancel(self) -> None:
        self._event.set()


def _on_worker(fn: Callable[..., Any], args: tuple, kwargs: dict, key: str) -> Any:
    """Runs on a Dask worker: ``fn`` with a progress callback that posts to a Dask ``Variable``
    (at most every 100 ms, and always the last step) and a remote cancel token."""
    from distributed import Variable

    board = Variable(key + "-progress")
    token = RemoteToken(key + "-cancel")
    last = [0.0]

    def progress(done: float, total: float, note: str = "") -> None:
        token.check()
        now = time.monotonic()
        if now - last[0] >= POLL_SECONDS or done >= total:
            last[0] = now
            board.set((float(done), float(total), str(note)))

    return fn(*args, progress=progress, cancel=token, **kwargs)


def run_remote(client: Any, fn: Callable[..., Any], args: tuple, kwargs: dict, *, progress: Progress,
               cancel: CancelToken) -> Any:
    """Run ``fn(*args, progress=..., cancel=..., **kwargs)`` on ``client``'s cluster and wait for it,
    relaying progress and cancellation. Raises what ``fn`` raised (``Cancelled`` when cancelled)."""
    from distributed import Event, Variable

    key = f"deletionlab-job-{secrets.token_hex(8)}"
    board = Variable(key + "-progress", client=client)
    future = client.submit(_on_worker, fn, args, kwargs, key, pure=False, key=key)
    seen = None
    try:
        while True:
            cancel.check()
            finished = future.done()
            try:
                step = board.get(timeout=POLL_SECONDS)
            except TimeoutError:  # nothing posted yet
                step = None
            if step is not None and step != seen:
                seen = step
                progress(*step)
            elif not finished:
                time.sleep(POLL_SECONDS)
            if finished:
                return future.result()
    except Cancelled:
        Event(key + "-cancel", client=client).set()  # the worker stops at its next check
        future.cancel()
        raise
    finally:
        future.release()
        board.delete()
