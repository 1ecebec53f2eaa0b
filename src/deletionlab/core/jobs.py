"""Background jobs: progress, cooperative cancellation, "latest request wins", readable errors.

Every long computation in Deletion Lab has the shape::

    def compute(..., progress: Progress = no_progress, cancel: CancelToken | None = None):
        for i in range(n):
            check_cancel(cancel)          # at least every 100 ms
            ...
            progress(i + 1, n, "what is happening")

A :class:`JobRunner` runs such a function in a background thread. It keeps one job at a time:
submitting a new job cancels the one still running ("latest request wins") and the superseded
job's result is never reported. A failing job is reported with a short sentence for the user
(:func:`user_message`) and the full traceback for the logs.

Nothing here knows about widgets: ``deletionlab.widgets.JobBar`` wires a runner to a progress bar.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

log = logging.getLogger("deletionlab.jobs")


class Progress(Protocol):
    def __call__(self, done: float, total: float, note: str = "") -> None: ...


def no_progress(done: float, total: float, note: str = "") -> None:
    """A progress callback that does nothing."""


class Cancelled(Exception):
    """Raised inside a job when its cancellation token is set."""


class UserError(ValueError):
    """Bad input or an impossible request; its message is shown to the user as it is."""


class CancelToken:
    """A flag a job checks: :meth:`cancel` sets it, :meth:`check` raises :class:`Cancelled`."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up (and raise :class:`Cancelled`) as soon as the token is set."""
        if self._event.wait(seconds):
            raise Cancelled()


def check_cancel(token: CancelToken | None) -> None:
    """Raise :class:`Cancelled` if ``token`` is set (``None`` means "not cancellable")."""
    if token is not None:
        token.check()


def in_helper(fn: Callable[[], Any], cancel: CancelToken | None, poll: float = 0.1, name: str = "dl-helper") -> Any:
    """``fn()`` run in a helper thread while the calling job checks ``cancel`` every ``poll`` seconds.

    For a slow step that cannot check a token itself (an import, a model load, reading a corpus): a
    cancel returns at once, and the helper finishes in the background (what it caches is there for
    the next job). ``fn``'s exception is raised in the caller."""
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting job
            box["error"] = exc

    helper = threading.Thread(target=target, name=name, daemon=True)
    helper.start()
    while helper.is_alive():
        check_cancel(cancel)
        helper.join(poll)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def user_message(exc: BaseException) -> str:
    """A short sentence for the user about an exception (the traceback goes to the log)."""
    from deletionlab.core.assets import MissingAsset

    if isinstance(exc, Cancelled):
        return "Cancelled."
    if isinstance(exc, (UserError, MissingAsset)):
        msg = str(exc)
    elif isinstance(exc, MemoryError):
        msg = "Out of memory: try a smaller setting."
    elif isinstance(exc, FileNotFoundError):
        msg = f"File not found: {getattr(exc, 'filename', None) or exc}."
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        msg = f"Something went wrong ({type(exc).__name__}{': ' + first if first else ''})."
    msg = " ".join(msg.split())
    return msg if len(msg) <= 300 else msg[:297] + "..."


class JobStatus(str, Enum):
    """Where a job is in its life. A str, so ``status == "finished"`` also reads naturally."""

    PENDING = "pending"      # submitted, not started yet
    RUNNING = "running"
    FINISHED = "finished"    # returned a result
    ERROR = "error"          # raised; ``Job.error`` holds the sentence for the user
    CANCELLED = "cancelled"  # stopped at a cancellation check (or superseded)

    def __str__(self) -> str:
        return self.value


@dataclass
class Job:
    """One run of a function: its status, latest progress, result or error.

    ``on_result(result)`` and ``on_error(message)`` belong to this very job: whoever shows the job
    (e.g. ``deletionlab.widgets.JobBar``) calls them when it finishes.
    """

    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    name: str = ""
    status: JobStatus = JobStatus.PENDING
    done: float = 0.0
    total: float = 0.0
    note: str = ""
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    started: float | None = None
    finished: float | None = None
    token: CancelToken = field(default_factory=CancelToken)
    heavy: bool = False          # goes through the machine-wide gate (and to Dask when configured)
    threads: int | None = None   # a heavy job's torch threads at most (e.g. 1 for tiny models)
    queue_position: int = 0      # while pending in the gate: 1 = next
    where: str = "kernel"        # "kernel" or "dask" once running
    on_result: Callable[[Any], None] | None = field(default=None, repr=False)
    on_error: Callable[[str], None] | None = field(default=None, repr=False)
    _finished_event: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def fraction(self) -> float:
        return float(self.done) / float(self.total) if self.total else 0.0

    @property
    def active(self) -> bool:
        return self.status in (JobStatus.PENDING, JobStatus.RUNNING)

    def cancel(self) -> None:
        self.token.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished; ``False`` on timeout."""
        return self._finished_event.wait(timeout)


class JobRunner:
    """Runs one job at a time in a background thread; the latest request wins.

    ``on_progress(job)`` and ``on_done(job)`` are called from the worker thread (``on_done`` for
    every job that finishes -- done, error or cancelled -- except superseded ones, whose result
    is dropped). ``sync=True`` runs jobs in the calling thread (for tests and scripts).
    """

    def __init__(
        self,
        on_progress: Callable[[Job], None] | None = None,
        on_done: Callable[[Job], None] | None = None,
        sync: bool = False,
        gate: Any = "machine",
        client: Any = "env",
    ) -> None:
        self.on_progress = on_progress
        self.on_done = on_done
        self.sync = sync
        self._gate = gate        # "machine": deletionlab.core.gate.machine_gate(); None: no gate
        self._client = client    # "env": DELETIONLAB_DASK_SCHEDULER; None: always in the kernel
        self._lock = threading.Lock()
        self.current: Job | None = None
        self.history: list[Job] = []

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str = "",
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        heavy: bool = False,
        threads: int | None = None,
        **kwargs: Any,
    ) -> Job:
        """Run ``fn(*args, progress=..., cancel=..., **kwargs)``; cancels the job still running.

        ``on_result`` / ``on_error`` are stored on the job for whoever shows it (see :class:`Job`).
        A ``heavy`` job waits for a slot of the machine-wide gate (``core.gate``) and runs on the
        Dask cluster named by ``DELETIONLAB_DASK_SCHEDULER`` when one is set (``core.remote``);
        ``threads`` caps its torch threads (tiny models run fastest on one thread of a busy machine).
        """
        job = Job(fn=fn, args=args, kwargs=kwargs, name=name or getattr(fn, "__name__", "job"),
                  on_result=on_result, on_error=on_error, heavy=heavy, threads=threads)
        with self._lock:
            previous = self.current
            self.current = job
            self.history = (self.history + [job])[-20:]
        if previous is not None and previous.active:
            previous.cancel()
        if self.sync:
            self._run(job)
        else:
            threading.Thread(target=self._run, args=(job,), name=f"dl-job-{job.name}", daemon=True).start()
        return job

    def cancel(self) -> None:
        """Cancel the current job (it stops at its next cancellation check)."""
        job = self.current
        if job is not None and job.active:
            job.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        job = self.current
        return True if job is None else job.wait(timeout)

    @property
    def busy(self) -> bool:
        job = self.current
        return job is not None and job.active

    def _superseded(self, job: Job) -> bool:
        return self.current is not job

    def _gate_and_client(self, job: Job) -> tuple[Any, Any]:
        if not job.heavy:
            return None, None
        gate = self._gate
        if gate == "machine":
            from deletionlab.core.gate import machine_gate

            gate = machine_gate()
        client = self._client
        if client == "env":
            from deletionlab.core.sweeps import client_from_env

            client = client_from_env()
        return gate, client

    def _execute(self, job: Job, progress: Progress) -> Any:
        """Run the job's function: in the kernel, or on Dask for a heavy job when a cluster is set."""
        gate, client = self._gate_and_client(job)
        if client is not None:
            from deletionlab.core.remote import run_remote

            job.status, job.where = JobStatus.RUNNING, "dask"
            return run_remote(client, job.fn, job.args, job.kwargs, progress=progress, cancel=job.token)
        from deletionlab.core.gate import use_threads

        if gate is None:
            job.status = JobStatus.RUNNING
            if job.heavy and job.threads:
                use_threads(job.threads)
            return job.fn(*job.args, progress=progress, cancel=job.token, **job.kwargs)

        def queued(position: int) -> None:
            job.queue_position = position
            job.note = f"queued — position {position}"
            if self.on_progress and not self._superseded(job):
                self._safe(self.on_progress, job)

        with gate.slot(job.token, on_wait=queued) as threads:
            job.status, job.queue_position = JobStatus.RUNNING, 0
            use_threads(min(threads, job.threads or threads))
            return job.fn(*job.args, progress=progress, cancel=job.token, **job.kwargs)

    def _run(self, job: Job) -> None:
        job.started = time.time()
        last = [0.0]

        def progress(done: float, total: float, note: str = "") -> None:
            job.token.check()
            job.done, job.total, job.note = done, total, note
            now = time.monotonic()
            # at most ~20 updates per second reach the callback, and always the last one
            if self.on_progress and not self._superseded(job) and (now - last[0] > 0.05 or done >= total):
                last[0] = now
                self._safe(self.on_progress, job)

        try:
            job.result = self._execute(job, progress)
            job.status = JobStatus.CANCELLED if job.token.cancelled else JobStatus.FINISHED
        except Cancelled:
            job.status = JobStatus.CANCELLED
        except BaseException as exc:  # noqa: BLE001 - a job must never kill the UI thread
            job.status = JobStatus.ERROR
            job.error = user_message(exc)
            job.traceback = traceback.format_exc()
            log.error("job %s failed:\n%s", job.name, job.traceback)
        job.finished = time.time()
        try:
            if self.on_done and not self._superseded(job):
                self._safe(self.on_done, job)
        finally:
            # set last, so that whoever waits for the job also sees what on_done did
            job._finished_event.set()

    @staticmethod
    def _safe(cb: Callable[[Job], None], job: Job) -> None:
        try:
            cb(job)
        except Exception:  # noqa: BLE001
            log.exception("job callback failed")
