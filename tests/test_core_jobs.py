"""Background jobs: progress, cancellation within a second, errors as sentences, latest wins."""

import threading
import time

import pytest

from deletionlab.core import Cancelled, CancelToken, JobRunner, MissingAsset, UserError, check_cancel, user_message
from deletionlab.core.jobs import JobStatus

CANCELLED, DONE, ERROR = JobStatus.CANCELLED, JobStatus.FINISHED, JobStatus.ERROR


def counting(n, delay=0.0, progress=None, cancel=None):
    for i in range(n):
        check_cancel(cancel)
        if delay:
            time.sleep(delay)
        progress(i + 1, n, f"step {i + 1}")
    return n * 10


def slow_forever(progress=None, cancel=None):
    i = 0
    while True:
        check_cancel(cancel)
        time.sleep(0.1)  # checks its token every 100 ms, as the contract asks
        i += 1
        progress(i, 1000, "working")


def test_progress_is_reported_in_order_and_result_kept():
    seen = []
    runner = JobRunner(on_progress=lambda j: seen.append((j.done, j.total, j.note)))
    job = runner.submit(counting, 5, delay=0.06)
    assert job.wait(5)
    assert job.status == DONE and job.result == 50
    assert seen[-1] == (5, 5, "step 5")
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)
    assert job.fraction == 1.0


def test_cancel_takes_effect_within_one_second():
    done = []
    runner = JobRunner(on_done=lambda j: done.append(j.status))
    job = runner.submit(slow_forever)
    time.sleep(0.3)
    assert job.status == "running"
    t0 = time.monotonic()
    runner.cancel()
    assert job.wait(1.0), "job did not stop within 1 s of cancel"
    assert time.monotonic() - t0 < 1.0
    assert job.status == CANCELLED and done == [CANCELLED]


def test_errors_become_a_sentence_and_keep_the_traceback():
    def broken(progress=None, cancel=None):
        raise KeyError("no such record: 42")

    job = JobRunner().submit(broken)
    assert job.wait(5)
    assert job.status == ERROR
    assert "KeyError" in job.error and "no such record" in job.error
    assert "Traceback" in job.traceback and "broken" in job.traceback
    assert "\n" not in job.error


def test_user_errors_are_shown_verbatim_and_long_messages_are_cut():
    assert user_message(UserError("The prompt is empty.")) == "The prompt is empty."
    assert "pip install spacy" in user_message(MissingAsset("the tagger", "pip install spacy"))
    assert user_message(Cancelled()) == "Cancelled."
    long = user_message(ValueError("x" * 1000))
    assert len(long) <= 300 and long.endswith("...")


def test_latest_request_wins():
    results = []
    runner = JobRunner(on_done=lambda j: results.append((j.args, j.status, j.result)))
    first = runner.submit(counting, 100, delay=0.05)
    time.sleep(0.15)
    second = runner.submit(counting, 3)
    assert second.wait(5) and first.wait(2)
    assert first.status == CANCELLED  # the superseded job was stopped ...
    assert results == [((3,), DONE, 30)]  # ... and only the latest one was reported
    assert runner.current is second


def test_sync_runner_runs_in_the_calling_thread():
    where = []

    def f(progress=None, cancel=None):
        where.append(threading.current_thread())
        return 1

    job = JobRunner(sync=True).submit(f)
    assert job.status == DONE and where == [threading.current_thread()]


def test_cancel_token_sleep_wakes_up():
    tok = CancelToken()
    threading.Timer(0.1, tok.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        tok.sleep(5)
    assert time.monotonic() - t0 < 1.0


def test_progress_callback_raises_when_cancelled():
    """A job that only reports progress (never checks explicitly) still stops."""

    def only_progress(progress=None, cancel=None):
        for i in range(1000):
            time.sleep(0.01)
            progress(i, 1000)

    runner = JobRunner()
    job = runner.submit(only_progress)
    time.sleep(0.1)
    job.cancel()
    assert job.wait(1.0) and job.status == CANCELLED
