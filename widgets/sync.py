"""Widget updates from job threads and a page's first state request, in one order.

A dashboard page that connects to its kernel asks for the state of every widget at once
(ipywidgets' control comm, ``request_states``): the kernel collects all states, then sends them in
one message. Our jobs update widgets from their own threads. Without coordination a job's
``update`` ("done", the new picture) can leave *while* the kernel is still collecting: it reaches
the page first, and the full state collected just before it arrives afterwards and overwrites it.
The page then shows a stale status ("queued — position 1") for good, although the job finished.
The classroom benchmark hit this under load (1 page of 8, 6 of 16).

:func:`install` makes every ``send_state`` and the ``request_states`` answer take one lock, so
whichever message leaves last also carries the latest values. Installed on import of the widget
kit; idempotent.
"""

from __future__ import annotations

import threading
from typing import Any

from ipywidgets import Widget

#: held while a widget state is read and sent, and while the full state for a new page is collected and sent
STATE_LOCK = threading.RLock()


def install() -> None:
    """Wrap ``Widget.send_state`` and the control comm's ``request_states`` handler in :data:`STATE_LOCK`."""
    if getattr(Widget, "_deletionlab_state_lock", False):
        return
    send_state = Widget.send_state
    control = Widget.__dict__["_handle_control_comm_msg"].__func__

    def locked_send_state(self: Widget, key: Any = None) -> None:
        with STATE_LOCK:
            send_state(self, key)

    def locked_control(cls: type, msg: dict) -> None:
        with STATE_LOCK:
            control(cls, msg)

    locked_send_state.__doc__ = send_state.__doc__
    Widget.send_state = locked_send_state
    Widget._handle_control_comm_msg = classmethod(locked_control)
    Widget._deletionlab_state_lock = True
