"""A machine-wide gate for heavy jobs: at most ``limit`` run at once, the others wait in a fair queue.

Every dashboard visitor has a kernel of their own; without a gate, 8 kernels each start a denoising
run with as many torch threads as there are cores, and every one of them finishes late. The gate
is shared by all processes of one machine (files under ``$DELETIONLAB_CACHE/gate/``):

* a job takes a *ticket* (a file named by its arrival time); the ``limit`` oldest live tickets may
  run, the others wait and learn their position in the queue (1 = next);
* a ticket whose process has died is removed by whoever sees it, so a crashed kernel never blocks
  the queue; cancelling a waiting job removes its ticket at once;
* a running heavy job gets ``threads`` torch/BLAS threads (cores / limit), so jobs do not fight
  over the cores.

``limit`` defaults to half the cores (at least 1) and is set with ``DELETIONLAB_MAX_HEAVY_JOBS``;
``DELETIONLAB_GATE=0`` switches the gate off (each job runs at once with all cores, the behaviour
before the gate; the classroom benchmark compares both).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from deletionlab.core.jobs import CancelToken, check_cancel

ENV_LIMIT = "DELETIONLAB_MAX_HEAVY_JOBS"
ENV_SWITCH = "DELETIONLAB_GATE"
#: how often a waiting job looks at the queue (and checks its cancel token)
POLL_SECONDS = 0.1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def default_limit() -> int:
    env = os.environ.get(ENV_LIMIT, "").strip()
    if env:
        return max(1, int(env))
    return max(1, (os.cpu_count() or 2) // 2)


class Gate:
    """At most ``limit`` heavy jobs at once on this machine, first come first served."""

    def __init__(self, limit: int | None = None, root: Path | None = None) -> None:
        from deletionlab.core.assets import data_dir

        self.limit = default_limit() if limit is None else max(1, int(limit))
        self.root = Path(root) if root is not None else data_dir() / "gate"
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def threads(self) -> int:
        """Torch/BLAS threads for one running heavy job."""
        return max(1, (os.cpu_count() or 2) // self.limit)

    def tickets(self) -> list[Path]:
        """The live tickets, oldest first (dead processes' tickets are removed)."""
        out = []
        for t in sorted(self.root.glob("*.ticket")):
            try:
                pid = int(t.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if _alive(pid):
                out.append(t)
            else:
                t.unlink(missing_ok=True)
        return out

    def running(self) -> int:
        return min(self.limit, len(self.tickets()))

    def position(self, ticket: Path) -> int:
        """0 when the ticket may run, else its place in the waiting queue (1 = next)."""
        live = self.tickets()
        if ticket not in live:
            return 0 if len(live) < self.limit else len(live) - self.limit + 1
        i = live.index(ticket)
        return 0 if i < self.limit else i - self.limit + 1

    @contextmanager
    def slot(self, cancel: CancelToken | None = None, on_wait: Callable[[int], None] | None = None) -> Iterator[int]:
        """Wait for a slot (``on_wait(position)`` whenever the position changes), run the block,
        free the slot. Yields the number of threads the job may use. Cancelling while waiting
        raises ``Cancelled`` and leaves the queue at once."""
        ticket = self.root / f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}.ticket"
        ticket.write_text(str(os.getpid()))
        try:
            last = None
            while (pos := self.position(ticket)) > 0:
                if pos != last and on_wait is not None:
                    on_wait(pos)
                last = pos
                check_cancel(cancel)
                time.sleep(POLL_SECONDS)
            check_cancel(cancel)
            yield self.threads
        finally:
            ticket.unlink(missing_ok=True)


_machine_gate: Gate | None = None


def machine_gate() -> Gate | None:
    """The gate every heavy job of this process goes through (None when ``DELETIONLAB_GATE=0``)."""
    global _machine_gate
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    if _machine_gate is None:
        _machine_gate = Gate()
    return _machine_gate


ENV_THREAD_CAP = "DELETIONLAB_THREAD_CAP"


def use_threads(n: int) -> None:
    """Give the running job ``n`` torch threads (torch is used only if it is already imported).

    ``DELETIONLAB_THREAD_CAP=0`` leaves torch's own thread count alone (every job uses all cores, as
    before the classroom work; the classroom benchmark's "switched off" run sets it)."""
    import sys

    if os.environ.get(ENV_THREAD_CAP, "1").strip().lower() in ("0", "false", "no", "off"):
        return
    torch = sys.modules.get("torch")
    if torch is not None and n > 0:
        torch.set_num_threads(n)
