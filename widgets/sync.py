"""Widget updates from job threads must reach a page that is still loading.

When a dashboard page connects to its kernel it loads every widget's state: first in one message
(ipywidgets' control comm, ``request_states``), or, when that takes longer than the front end's 4 s
limit (a busy kernel: 16 visitors on 2 cores), one ``request_state`` per widget. Our jobs update
widgets from their own threads, and two things can make such an update miss the page:

1. **Order.** The kernel collects the full state, a job thread's update leaves while it collects,
   and the full state (older) arrives last. Fix: every ``send_state`` and the ``request_states``
   answer take one lock, so whichever message leaves last carries the latest values.
2. **Too early.** The page ignores updates for widgets it has not created yet (it creates them only
   after every state has arrived), so an update that leaves between a widget's state reply and the
   widget's creation on the page is dropped. Fix: for a while after a page asked for states, every
   partial update is sent again a few seconds later (same keys, current values).

Without these, the classroom benchmark saw pages stay at "Denoising: queued — position 1" for good
although the job had finished (1 page of 8, 6 of 16, differing between runs). :func:`install` runs
when the widget kit is imported; idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ipywidgets import Widget

log = logging.getLogger("deletionlab.widgets")

#: held while a widget state is read and sent, and while the full state for a new page is collected and sent
STATE_LOCK = threading.RLock()
#: seconds after a page asked for widget states during which partial updates are sent again
LOAD_WINDOW = 180.0
#: when (seconds after the update) a partial update is sent again
RESEND_AFTER = (2.0, 8.0, 30.0, 90.0)

_last_load = [float("-inf")]
_pending: dict[int, tuple[Widget, set[str]]] = {}
_pending_lock = threading.Lock()


def page_loading() -> None:
    """A page asked for widget states: updates in the next :data:`LOAD_WINDOW` seconds get re-sent."""
    _last_load[0] = time.monotonic()


def _resend_later(widget: Widget, keys: set[str]) -> None:
    with _pending_lock:
        entry = _pending.get(id(widget))
        if entry is not None:
            entry[1].update(keys)
            return
        _pending[id(widget)] = (widget, set(keys))

    def run() -> None:
        start = time.monotonic()
        for delay in RESEND_AFTER:
            time.sleep(max(0.0, start + delay - time.monotonic()))
            with _pending_lock:
                names = sorted(_pending[id(widget)][1])
            try:
                if widget.comm is not None:
                    _send_state(widget, names)
            except Exception:  # noqa: BLE001 - a closed widget has nothing left to send
                log.debug("re-sending %s failed", names, exc_info=True)
                break
        with _pending_lock:
            _pending.pop(id(widget), None)

    threading.Thread(target=run, name="dl-widget-resend", daemon=True).start()


_send_state = Widget.send_state  # replaced by install(): the original, under the lock


def install() -> None:
    """Wrap ``Widget.send_state``, the per-widget message handler and the control comm's
    ``request_states`` handler (see the module docstring)."""
    global _send_state
    if getattr(Widget, "_deletionlab_state_lock", False):
        return
    send_state = Widget.send_state
    handle_msg = Widget._handle_msg
    control = Widget.__dict__["_handle_control_comm_msg"].__func__

    def locked(self: Widget, key: Any = None) -> None:
        with STATE_LOCK:
            send_state(self, key)

    def locked_send_state(self: Widget, key: Any = None) -> None:
        locked(self, key)
        if key is not None and time.monotonic() - _last_load[0] < LOAD_WINDOW:
            _resend_later(self, {key} if isinstance(key, str) else set(key))

    def watched_handle_msg(self: Widget, msg: dict) -> Any:
        if (msg.get("content", {}).get("data") or {}).get("method") == "request_state":
            page_loading()
        return handle_msg(self, msg)

    def locked_control(cls: type, msg: dict) -> None:
        page_loading()
        with STATE_LOCK:
            control(cls, msg)

    locked_send_state.__doc__ = send_state.__doc__
    _send_state = locked
    Widget.send_state = locked_send_state
    Widget._handle_msg = watched_handle_msg
    Widget._handle_control_comm_msg = classmethod(locked_control)
    Widget._deletionlab_state_lock = True
