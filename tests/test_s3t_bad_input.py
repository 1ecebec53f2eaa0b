"""Whatever a client sends to the S3T explorer's controls, the answer is one sentence naming the field and its range
(or the value is refused harmlessly), views that no longer match are greyed out, the widget works afterwards, and the
longest job (training a system) stops within a second of Cancel at any moment of it."""

import time
from dataclasses import replace

import pytest
from badinput import BAD_NUMBERS, BAD_TEXTS, assert_clear_message, send

from deletionlab.s3t.explore import Settings
from deletionlab.s3t.model import TrainConfig
from deletionlab.widgets.s3t import S3TExplorer

# the tiny system of tests/test_s3t_widget.py (24 training texts)
TINY = Settings(dataset="bbc", shards=2, slices=3, sequences=2, per_step=2, per_shard=12, n_test=15,
                train=TrainConfig(max_len=16, epochs=1, batch=4))
#: the settings boxes -> words their message must contain (each names its range)
SETTINGS = {"shards": "Shards m", "slices": "Slices L", "sequences": "Sequences B′", "per_step": "layers per step k",
            "per_shard": "Records per shard"}
#: the request boxes -> (the explorer's method that reads it, words of the message)
REQUESTS = {"record": ("delete_one", "Record"), "burst_size": ("send_burst", "Burst size"),
            "stream_size": ("start_stream", "Stream length")}
RANGE = ("from ", "at least", "at most")


@pytest.fixture(scope="module")
def ex(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.mktemp("s3tbad")))
        e = S3TExplorer(sync=True, settings=TINY, delay=0)
        assert e.job.state == "finished", e.job.error
        yield e


def texts_for(value) -> list[str]:
    """What a user can type for a number: its str, its scientific form, and a word."""
    out = [str(value), " lots "]
    if isinstance(value, float):
        out.append(f"{value:e}")
    return out


def works(ex) -> None:
    """Good values load the system again (greyed-out views come back) and a request goes through."""
    for field, value in (("shards", "2"), ("slices", "3"), ("sequences", "2"), ("per_step", "2"), ("per_shard", "12")):
        getattr(ex, field).value = value
    ex.start()
    assert ex.job.state == "finished" and ex.job.error == "", ex.job.error
    assert "dl-stale" not in ex.views._dom_classes and ex.stale_note.value == ""
    ex.forget()
    ex.record.value = "3"
    ex.delete_one()
    assert ex.job.error == "" and ex.exploration.s3t_service.deleted[3]
    ex.forget()


@pytest.mark.parametrize("field", list(SETTINGS))
def test_settings_boxes(ex, field):
    w = getattr(ex, field)
    kept = ex.exploration
    try:
        for value in BAD_NUMBERS:
            assert not send(w, value)  # a number object is refused by a text box: what a user types is text
            for text in texts_for(value) + BAD_TEXTS:
                assert send(w, text)
                ex.start()
                if ex.job.error == "":  # a value in range (e.g. "0" is never one; "1" may be): loaded, and it works
                    assert ex.job.state == "finished"
                    continue
                assert_clear_message(ex.job.error, SETTINGS[field])
                assert any(r in ex.job.error for r in RANGE), ex.job.error
                assert ex.exploration is kept and "dl-stale" in ex.views._dom_classes  # the old system stays, greyed out
                assert "done" not in ex.job.status.value
    finally:
        works(ex)


@pytest.mark.parametrize("field", list(REQUESTS))
def test_request_boxes(ex, field):
    method, words = REQUESTS[field]
    w = getattr(ex, field)
    try:
        for value in BAD_NUMBERS:
            assert not send(w, value)
            for text in texts_for(value) + BAD_TEXTS:
                ex.forget()
                assert send(w, text)
                getattr(ex, method)()
                if ex.job.error == "":  # "0" is a record; a count of 1 is a valid burst
                    assert ex.exploration.s3t_service.deleted.sum() >= 1
                    continue
                assert_clear_message(ex.job.error, words)
                assert "from " in ex.job.error, ex.job.error
                assert not ex.exploration.s3t_service.deleted.any()  # nothing was sent: the views still match
                assert "dl-stale" not in ex.views._dom_classes
    finally:
        ex.forget()
    works(ex)


@pytest.mark.parametrize("field", ["dataset", "strategy", "prior"])
def test_menus_refuse_what_they_do_not_offer(ex, field):
    """A menu's client sends the index of an option: anything else is refused, the menu keeps its choice."""
    from traitlets import TraitError

    w = getattr(ex, field)
    before = w.value
    offered = [v for _, v in w.options]
    for value in BAD_NUMBERS + BAD_TEXTS + ["../../etc/passwd", "tweets "]:
        try:
            w.set_state({"index": value})
        except (TraitError, TypeError, ValueError, OverflowError):
            assert w.value == before
            continue
        assert w.value in offered  # index 0: a real option, harmlessly chosen
        w.value = before
    assert w.value == before
    works(ex)


def test_checkbox_takes_only_a_truth_value(ex):
    for value in BAD_NUMBERS + BAD_TEXTS:
        accepted = send(ex.retrain_sisa, value)
        assert isinstance(ex.retrain_sisa.value, bool) and (not accepted or value in (0, 1))
    ex.retrain_sisa.value = False
    works(ex)


def test_chart_clicks_out_of_range(ex):
    """A click arrives with the x of a point; a client can send any x."""
    n = len(ex.exploration.curves["x"]) - 1
    for x in BAD_NUMBERS + [n + 1, 2.5, "7", None]:
        ex.forget()
        ex.replay_to(x, "S3T, mean of 200 streams")
        if ex.job.error == "":  # a count in range (a float x is rounded to its point)
            assert x in (0, 2.5, "7")
            assert int(ex.exploration.s3t_service.deleted.sum()) == {0: 0, 2.5: 2, "7": 7}[x]
            continue
        assert_clear_message(ex.job.error, "Requests to replay")
        assert f"from 0 to {n}" in ex.job.error
    ex.replay_to(3, "S3T")
    assert ex.job.error == "" and int(ex.exploration.s3t_service.deleted.sum()) == 3
    works(ex)


def _cancel_when(ex: S3TExplorer, phase: str) -> float:
    """Start a training, wait until its progress note starts with ``phase`` ("" = at once), cancel,
    and return the seconds from the cancel to the job's end."""
    ex.start()
    deadline = time.monotonic() + 120
    while phase and not (ex.job.runner.current.note or "").startswith(phase):
        assert ex.job.runner.current.active, f"the job ended before {phase!r}: {ex.job.error}"
        assert time.monotonic() < deadline, f"never reached {phase!r}"
        time.sleep(0.005)
    t0 = time.perf_counter()
    ex.job.cancel()
    assert ex.job.wait(30)
    latency = time.perf_counter() - t0
    assert ex.job.state == "cancelled", ex.job.error
    return latency


@pytest.mark.parametrize("phase", ["", "encoding", "training S3T", "training SISA"])
def test_training_cancels_within_a_second(tmp_path, monkeypatch, phase):
    monkeypatch.setenv("DELETIONLAB_CACHE", str(tmp_path))
    seed = 20 + ["", "encoding", "training S3T", "training SISA"].index(phase)  # never trained before: a real training
    ex = S3TExplorer(sync=False, autorun=False, settings=replace(TINY, seed=seed, per_shard=40))
    latency = _cancel_when(ex, phase)
    print(f"cancel at {phase or 'the start'!r}: the job ended {latency:.3f} s later")
    assert latency < 1.0
    assert not list(tmp_path.glob("s3t/*/s3t/system.json")) and not list(tmp_path.glob("results/s3t/*.pkl"))


def test_a_cancel_during_the_model_load_returns_at_once(tmp_path, monkeypatch):
    """Importing torch/transformers/peft and loading MiniLM cannot check a token (seconds in a fresh kernel): the
    load runs in a helper thread and the job still ends within a second of Cancel."""
    import threading

    import deletionlab.s3t.explore as explore_mod

    monkeypatch.setenv("DELETIONLAB_CACHE", str(tmp_path))
    started, release = threading.Event(), threading.Event()

    class SlowBackbone:
        def __init__(self, *args, **kwargs):
            started.set()
            release.wait(20)  # a load that ignores every token

    monkeypatch.setattr(explore_mod, "Backbone", SlowBackbone)
    loaded: dict = {}
    monkeypatch.setattr(explore_mod, "_backbones", loaded)
    monkeypatch.setattr(explore_mod, "_models", {})
    ex = S3TExplorer(sync=False, autorun=False, settings=replace(TINY, seed=30))
    ex.start()
    assert started.wait(30)
    t0 = time.perf_counter()
    ex.job.cancel()
    assert ex.job.wait(30)
    latency = time.perf_counter() - t0
    release.set()
    deadline = time.monotonic() + 20  # the abandoned load finishes into this test's cache, not the process's
    while not loaded and time.monotonic() < deadline:
        time.sleep(0.02)
    assert loaded
    print(f"cancel during the model load: the job ended {latency:.3f} s later")
    assert ex.job.state == "cancelled" and latency < 1.0
