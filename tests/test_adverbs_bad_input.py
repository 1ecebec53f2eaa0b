"""Whatever a client sends to the adverb explorer's controls, the answer is one sentence naming the field
and its range (or the value is refused or clamped harmlessly), the views of that tab no longer show
the previous result, the widget works afterwards, and the longest job stops within a second of Cancel."""

import time

import numpy as np
import pytest
from badinput import BAD_NUMBERS, BAD_TEXTS, assert_clear_message, send

import deletionlab.widgets.adverbs as ui
from deletionlab.adverbs.data import Dataset
from deletionlab.adverbs.experiment import ExperimentConfig, run_experiment
from deletionlab.adverbs.explore import shared_tagger
from deletionlab.core.cache import is_cached
from deletionlab.widgets.adverbs import AdverbExplorer

#: numeric control -> (the job bar it answers on, words its message must contain)
NUMBERS = {"seed": ("job", "seed"), "samples": ("job", "Samples"), "coverage_n": ("data_job", "Texts"),
           "exp_train": ("exp_job", "Train texts"), "exp_test": ("exp_job", "Test texts"), "exp_seeds": ("exp_job", "Seeds")}
#: choice controls (a client sends the option's index)
CHOICES = {"dataset": "Data set", "exp_head": "head"}


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.mktemp("advbad")))
        mp.setenv("DELETIONLAB_GATE", "0")
        yield


def fake_embed(texts, progress=None, cancel=None):
    out = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).normal(size=384) for t in texts]) if texts else np.zeros((0, 384))
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def small():
    texts = [f"I {a} like the car number {i}." for i, a in zip(range(60), ["really", "truly"] * 30)] + \
            [f"The traffic is {a} bad on road {i}." for i, a in zip(range(60), ["very", "quite"] * 30)]
    return Dataset("small", texts, ["pos"] * 60 + ["neg"] * 60, "a small test set")


@pytest.fixture(scope="module")
def explorer(small):
    """The explorer on a small data set; its experiment job is one real small run, reused (this module
    tests what the widget does with its inputs; the experiment itself is tested elsewhere)."""
    canned = run_experiment(ExperimentConfig.small(n_train=60, n_test=40, seeds=2), data=small, tagger=shared_tagger(), embed=fake_embed)

    def experiment(cfg, *, data=None, tagger=None, embed=None, progress=None, cancel=None):
        cfg.validate()
        return canned

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ui, "shared_experiment", experiment)
        ex = AdverbExplorer(sync=True, loader=lambda name: small, embed=fake_embed)
        assert ex.job.state == "finished"
        yield ex


def check_tab(ex, bar: str, words: str) -> None:
    """One clear sentence (or an accepted value whose job finished); after an error the tab shows no old result."""
    job = getattr(ex, bar)
    accepted = job.error == ""
    assert_clear_message(job.error, words, allow_empty=accepted)
    if accepted:
        assert job.state == "finished", job.status.value
        return
    assert "done" not in job.status.value
    if bar == "job":
        assert ex.exploration is None and "fix the input" in ex.tagged.value and ex.methods.value == ""
    elif bar == "data_job":
        assert ex.dataset_coverage is None and ex.csv_text == "" and "fix the input" in ex.coverage_view.value
    else:
        assert ex.experiment is None and "fix the input" in ex.exp_header.value and len(ex.exp_plot.figure.data) == 0


def press(ex, bar: str) -> None:
    """Start what the control feeds (the text tab restarts by itself when a control changes)."""
    if bar == "data_job":
        ex.coverage_button.click()
        check_tab(ex, bar, "Texts")
        ex.csv_button.click()
    elif bar == "exp_job":
        ex.exp_button.click()


def works(ex) -> None:
    ex.text.value, ex.seed.value, ex.samples.value = "It really works.", 0, 2
    assert ex.job.state == "finished" and ex.exploration.samples and "dl-tok-deleted" in ex.tagged.value
    ex.coverage_n.value = 100
    ex.coverage_button.click()
    assert ex.data_job.state == "finished" and ex.dataset_coverage.n_texts == 100
    ex.exp_button.click()
    assert ex.exp_job.state == "finished" and ex.experiment is not None and len(ex.exp_plot.figure.data) > 0


def test_text_field(explorer, small):
    ex = explorer
    for value in BAD_TEXTS + [str(v) for v in BAD_NUMBERS]:
        assert send(ex.text, value), "a text box takes any text"
        check_tab(ex, "job", "text")
    ex.text.value = "x"
    ex.random_button.click()
    assert ex.job.state == "finished" and ex.text.value in small.texts  # a random example from the chosen set
    works(ex)


@pytest.mark.parametrize("field", list(NUMBERS))
def test_numeric_controls(explorer, field):
    ex = explorer
    bar, words = NUMBERS[field]
    w = getattr(ex, field)
    old = w.value
    try:
        for value in BAD_NUMBERS:
            before = w.value
            if not send(w, value):
                assert w.value == before  # refused: the control keeps its value
                continue
            if hasattr(w, "max"):
                assert w.min <= w.value <= w.max  # sliders clamp to their range
            press(ex, bar)
            check_tab(ex, bar, words)
    finally:
        w.value = old
    works(ex)


def test_export_beyond_its_range_is_a_sentence(explorer):
    ex = explorer
    ex.coverage_n.value = 20_000
    ex.csv_button.click()
    assert_clear_message(ex.data_job.error, "Texts to export")
    assert "5,000" in ex.data_job.error and ex.csv_text == "" and "fix the input" in ex.coverage_view.value
    works(ex)


def test_choice_controls_and_switches(explorer):
    from traitlets import TraitError

    ex = explorer
    for field in CHOICES:
        w = getattr(explorer, field)
        old = w.index
        for value in BAD_NUMBERS:
            try:
                w.set_state({"index": value})
            except (TraitError, TypeError, ValueError, OverflowError):
                continue
            assert w.index in range(len(w.options))  # a valid choice: nothing to explain
        w.index = old
    for box in ex.guard_boxes.values():
        for value in BAD_NUMBERS:
            if send(box, value):
                assert isinstance(box.value, bool)
                check_tab(ex, "job", "guard")
        box.value = True
    works(ex)


def test_cancel_stops_the_experiment_within_a_second(tmp_path, monkeypatch):
    """The study's longest job is the experiment's first run, most of it embedding texts with MiniLM:
    Cancel while it embeds (nothing on disk yet) ends the job within a second and caches nothing."""
    from deletionlab.adverbs import explore

    monkeypatch.setenv("DELETIONLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(ui, "shared_experiment", explore.shared_experiment)  # the real job, not this module's canned one
    ex = AdverbExplorer(autorun=False)
    ex.exp_train.value, ex.exp_test.value, ex.exp_seeds.value = 100, 50, 2
    cfg = ex.experiment_config()
    ex.exp_button.click()
    deadline = time.monotonic() + 240
    while "embedding" not in ex.exp_job.status.value:
        assert time.monotonic() < deadline and ex.exp_job.runner.busy, ex.exp_job.status.value
        time.sleep(0.05)
    assert "left" in ex.exp_job.status.value  # the ETA
    time.sleep(0.3)
    assert ex.exp_job.runner.busy, "the job ended before Cancel: choose a longer one"
    t0 = time.monotonic()
    ex.exp_job.cancel()
    assert ex.exp_job.wait(10)
    took = time.monotonic() - t0
    print(f"\nexperiment (embedding): cancelled {took * 1000:.0f} ms after the button")
    assert took < 1.0 and ex.exp_job.state == "cancelled" and ex.experiment is None
    assert not is_cached("adverbs", ("experiment", cfg))
