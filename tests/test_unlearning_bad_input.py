"""Whatever a client sends to the unlearning explorer's controls -- the run's and the accounting tab's --
the answer is one sentence naming the field and its range, or the value is refused or clamped into
range harmlessly; after an error the run's views are marked stale and the accounting tab is cleared;
the widget works afterwards; and the longest jobs stop within a second of Cancel."""

import time

import pytest
from badinput import BAD_NUMBERS, BAD_TEXTS, assert_clear_message, send

from deletionlab.widgets.unlearning import UnlearningExplorer

#: numeric controls -> words their messages must contain (bounded inputs and sliders clamp into range;
#: what they let through, e.g. nan or σ = 1e-300, the science names)
NUMBERS = {"releases": "Releases", "per_release": "Deletions per release", "seed": "Seed", "sigma": "Noise σ",
           "lam": "Regularisation λ", "k_learn": "Learning steps K_A", "k_unlearn": "Unlearning steps K_U",
           "shards": "SISA shards", "slices": "SISA slices", "roc_release": "release"}
#: the fields the accounting tab reads (it runs the same checks as a run)
ACCOUNTING = {"sigma", "lam", "k_learn", "k_unlearn", "eta"}
#: choice controls: a client sends the index of the option
CHOICES = {"dataset": "data set", "model": "model", "requester": "requester", "shadows": "Shadow models", "attack": "attack"}


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.mktemp("unlearning-bad-input")))
        mp.setattr("deletionlab.core.gate._machine_gate", None)
        yield


def small(**kw) -> UnlearningExplorer:
    ex = UnlearningExplorer(sync=True, releases=3, per_release=4, shadows=8, **kw)
    ex.k_learn.value = 100
    return ex


@pytest.fixture(scope="module")
def explorer():
    ex = small()
    ex.start()
    ex.start_accounting()
    assert ex.job.state == "finished" and ex.account_job.state == "finished", (ex.job.error, ex.account_job.error)
    return ex


class Recorder:
    """Stands in for the jobs while abuse values are sent: a valid configuration is recorded, not run
    (a clamped K_A of 20,000 steps is valid and would take minutes)."""

    def __init__(self, ex):
        self.ex, self.runs, self.accounts = ex, [], []
        ex.job.run = lambda fn, cfg, **kw: self.runs.append(cfg)
        ex.account_job.run = lambda fn, h, **kw: self.accounts.append(h)

    def restore(self):
        del self.ex.job.run, self.ex.account_job.run


def check_run(ex, rec, words: str, kept) -> None:
    """Run: a clear sentence and the old views marked stale, or a recorded valid configuration."""
    n = len(rec.runs)
    ex.start()
    message = ex.job.error
    assert_clear_message(message, words, allow_empty=True)
    if message:
        assert ex.result is kept and "dl-stale" in ex.tabs._dom_classes and "previous run" in ex.stale_note.value
    else:
        assert len(rec.runs) == n + 1


def check_accounting(ex, rec, words: str) -> None:
    n = len(rec.accounts)
    ex.start_accounting()
    message = ex.account_job.error
    assert_clear_message(message, words, allow_empty=True)
    if message:
        assert len(ex.account_plot.figure.data) == 0 and ex.account_text.value == ""   # no curves of other settings
    else:
        assert len(rec.accounts) == n + 1


def works(ex) -> None:
    """Back to the module's settings: a real run (read from the cache) and a real accounting."""
    ex.start()
    ex.start_accounting()
    assert ex.job.state == "finished" and ex.account_job.state == "finished", (ex.job.error, ex.account_job.error)
    assert "dl-stale" not in ex.tabs._dom_classes and len(ex.account_plot.figure.data) == 3
    assert len([d for d in ex.timeline_auc.figure.data if d.fill != "toself"]) == 4


@pytest.mark.parametrize("field", list(NUMBERS))
def test_numeric_fields(explorer, field):
    ex, w = explorer, getattr(explorer, field)
    old, kept = w.value, explorer.result
    rec = Recorder(ex)
    try:
        for value in [*BAD_NUMBERS, *BAD_TEXTS]:
            if not send(w, value):
                continue                                   # refused by the control: it keeps its value
            if w.value == w.value and hasattr(w, "min"):   # not nan: clamped into the control's range
                assert w.min <= w.value <= w.max, (field, value, w.value)
            check_run(ex, rec, NUMBERS[field], kept)
            if field in ACCOUNTING:
                check_accounting(ex, rec, NUMBERS[field])
    finally:
        rec.restore()
        w.value = old
    works(ex)


def test_step_size_text(explorer):
    """η is the one text field (blank = 1/β): numbers out of range and every odd text get a sentence."""
    ex, kept = explorer, explorer.result
    rec = Recorder(ex)
    try:
        for value in [str(v) for v in BAD_NUMBERS] + BAD_TEXTS + ["1e400", "-0", "½"]:
            assert send(ex.eta, value)
            check_run(ex, rec, "Step size η", kept)
            check_accounting(ex, rec, "Step size η")
            if value.strip():
                assert "Step size η must be" in ex.job.error, value[:40]
            elif not value.strip():
                assert ex.job.error == "" and rec.runs[-1].hyper.eta is None      # blank: η = 1/β
    finally:
        rec.restore()
        ex.eta.value = ""
    works(ex)


def send_index(widget, value) -> bool:
    from traitlets import TraitError

    try:
        widget.set_state({"index": value})
    except (TraitError, TypeError, ValueError, OverflowError):
        return False
    return True


@pytest.mark.parametrize("field", list(CHOICES))
def test_choice_fields(explorer, field):
    ex, w = explorer, getattr(explorer, field)
    old, kept = w.index, explorer.result
    rec = Recorder(ex)
    try:
        for value in BAD_NUMBERS:
            if send_index(w, value):
                check_run(ex, rec, CHOICES[field], kept)
    finally:
        rec.restore()
        w.index = old
    works(ex)


def test_no_learner_and_huge_requests(explorer):
    ex, kept = explorer, explorer.result
    for b in ex.learner_boxes.values():
        assert not send(b, float("nan")) or b.value in (True, False)
        b.value = False
    ex.start()
    assert_clear_message(ex.job.error, "learner")
    for b in ex.learner_boxes.values():
        b.value = True
    ex.per_release.value = 100_000
    ex.start()
    assert_clear_message(ex.job.error, "Deletions per release")
    assert ex.result is kept
    ex.per_release.value = 4
    works(ex)


def _cancel_running(bar) -> float:
    """Press Cancel on a job that is running; seconds until the job has ended."""
    deadline = time.monotonic() + 60
    while bar.runner.current is None or bar.runner.current.started is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.5)
    assert bar.runner.busy, "the job ended before Cancel: choose a longer one"
    t0 = time.monotonic()
    bar.cancel()
    assert bar.wait(10)
    return time.monotonic() - t0


def test_cancel_stops_the_longest_jobs_within_a_second(monkeypatch):
    """The longest jobs: the default run with the MLP (about 15× the logistic model's time) and the
    accounting tab at K_U = 20,000 (22,000 exact Gaussian steps). ``start`` validates the inputs before
    the job starts, so the data and sklearn are loaded when Cancel is pressed, as in the dashboard."""
    monkeypatch.setenv("DELETIONLAB_RESULT_CACHE", "0")
    ex = UnlearningExplorer()
    ex.model.value = "mlp"
    ex.start()
    took = _cancel_running(ex.job)
    print(f"\nrun (MLP): cancelled {took * 1000:.0f} ms after the button")
    assert took < 1.0 and ex.job.state == "cancelled" and ex.result is None
    ex.k_unlearn.value = 20_000
    ex.start_accounting()
    took = _cancel_running(ex.account_job)
    print(f"accounting (K_U = 20,000): cancelled {took * 1000:.0f} ms after the button")
    assert took < 1.0 and ex.account_job.state == "cancelled"
