"""A page that connects while a job updates a widget ends up with the job's last value (widgets/sync.py)."""

from __future__ import annotations

import threading
import time

import ipywidgets as W
import pytest
from ipywidgets import Widget

import deletionlab.widgets  # noqa: F401 - installs the lock
from deletionlab.widgets import sync


class Wire:
    """Stands in for the kernel's iopub socket: messages in the order they leave."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    def send(self, kind: str, payload: dict) -> None:
        with self.lock:
            self.messages.append((kind, payload))

    def page_state(self, model_id: str) -> object:
        """What a page holds after applying the messages in order (a full state replaces, an update patches)."""
        value = None
        for kind, payload in self.messages:
            if kind == "states" and model_id in payload:
                value = payload[model_id]["state"].get("value", value)
            elif kind == "update" and payload["id"] == model_id and "value" in payload["state"]:
                value = payload["state"]["value"]
        return value


@pytest.fixture
def wire(monkeypatch):
    w = Wire()

    class ControlComm:
        def send(self, data, buffers=None):
            w.send("states", data["states"])

    def _send(self, msg, buffers=None):
        w.send("update", {"id": self.model_id, "state": msg["state"]})

    monkeypatch.setattr(Widget, "_control_comm", ControlComm(), raising=False)
    monkeypatch.setattr(Widget, "_send", _send)
    return w


def test_the_lock_is_installed_once():
    sync.install()
    sync.install()
    assert Widget._deletionlab_state_lock
    assert Widget.__dict__["_handle_control_comm_msg"].__func__.__name__ == "locked_control"
    assert Widget.send_state.__name__ == "locked_send_state" and Widget._handle_msg.__name__ == "watched_handle_msg"


def _page_loads_while_a_job_finishes(monkeypatch, final: str) -> W.HTML:
    """A page asks for every widget's state while a job thread sets the status to ``final``: the
    kernel reads the status for the page, then is slow to finish collecting (as under load), and the
    job's update happens in that gap. Returns the status widget (close it)."""
    status = W.HTML("queued — position 1")
    get_state = Widget.get_state
    collecting = threading.Event()
    calls = []

    def slow_get_state(self, key=None, drop_defaults=False):
        state = get_state(self, key=key, drop_defaults=drop_defaults)
        if key is None and self is status:
            calls.append(1)
            if len(calls) == 2:  # ipywidgets reads every state twice; the second read is the one sent
                collecting.set()
                time.sleep(0.3)
        return state

    monkeypatch.setattr(Widget, "get_state", slow_get_state)
    t = threading.Thread(target=lambda: (collecting.wait(5), setattr(status, "value", final)))
    t.start()
    Widget._handle_control_comm_msg({"content": {"data": {"method": "request_states"}}})
    t.join(5)
    return status


def test_a_page_connecting_during_a_jobs_update_keeps_the_jobs_last_value(wire, monkeypatch):
    """The race the classroom benchmark hit: the kernel collects every widget's state for a new page
    (slowly, under load) while a job thread sets the status; the page must end with the final status."""
    status = _page_loads_while_a_job_finishes(monkeypatch, "Denoising: done in 1.2 s")
    assert status.value == "Denoising: done in 1.2 s"
    assert wire.page_state(status.model_id) == "Denoising: done in 1.2 s", wire.messages[-3:]
    status.close()


def test_without_the_lock_the_page_would_keep_the_stale_status(wire, monkeypatch):
    """The same sequence with the lock taken away: the full state leaves last and overwrites the job's
    update (this is what the test above guards against)."""

    class NoLock:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(sync, "STATE_LOCK", NoLock())
    status = _page_loads_while_a_job_finishes(monkeypatch, "done")
    assert wire.page_state(status.model_id) == "queued — position 1"
    status.close()


def test_updates_soon_after_a_page_asked_for_states_are_sent_again(wire, monkeypatch):
    """The page drops updates for widgets it has not created yet (it creates them after every state
    reply has come): an update in that gap is sent again a moment later, with the current value."""
    monkeypatch.setattr(sync, "RESEND_AFTER", (0.2, 0.4))
    monkeypatch.setattr(sync, "_last_load", [float("-inf")])
    status = W.HTML("queued — position 1")
    status.value = "running"  # no page is loading: sent once
    time.sleep(0.6)
    mine = [m for m in wire.messages if m[1].get("id") == status.model_id]
    assert mine == [("update", {"id": status.model_id, "state": {"value": "running"}})]

    wire.messages.clear()
    status._handle_msg({"content": {"data": {"method": "request_state"}}})  # a page loads this widget (the slow path)
    status.value = "Denoising: done in 1.2 s"
    time.sleep(0.8)
    sent = [m[1]["state"]["value"] for m in wire.messages
            if m[0] == "update" and m[1]["id"] == status.model_id and "value" in m[1]["state"]]
    assert sent[-3:] == ["Denoising: done in 1.2 s"] * 3, sent  # the update and two re-sends
    status.close()
