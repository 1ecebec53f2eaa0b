"""Whatever a client sends to the SpaceByte explorer's controls, the answer is one sentence naming the field and its
range (or the value is refused or clamped harmlessly), the tab's views no longer show the previous result, the widget
works afterwards, and the longest job (retraining) stops within a second of Cancel at any moment."""

import time

import pytest
import torch
from badinput import BAD_NUMBERS, BAD_TEXTS, assert_clear_message, send

from deletionlab.core.cache import is_cached
from deletionlab.spacebyte.checkpoints import save_model
from deletionlab.spacebyte.explore import retrain_key
from deletionlab.spacebyte.models import ModelConfig, build
from deletionlab.widgets.spacebyte import SpaceByteExplorer

RETRAIN = dict(budget=5e9, seeds=1, archs=("spacebyte",), batch_bytes=1024, val_bytes=2048)
#: what a client can paste that our limits must catch: a lone surrogate (a broken paste: not valid UTF-8) and 1 MB
EXTRA_TEXTS = ["broken \ud800 paste", "a" * 1_000_000]
#: text boxes that hold a number -> (the job bar that answers, words its message must contain)
NUMBER_BOXES = {"t_global": ("job", "T_global"), "f_vocab": ("flops_job", "subword V"), "f_bpt": ("flops_job", "bytes per token"),
                "r_budget": ("train_job", "budget"), "c_bytes": ("complete_job", "bytes"), "c_temp": ("complete_job", "temperature")}
#: integer controls (bounded boxes and sliders clamp to their range) -> the job bar that answers
INT_CONTROLS = {"patch_size": "job", "r_seeds": "train_job", "c_seed": "complete_job", "f_d": "flops_job", "f_l": "flops_job",
                "f_t": "flops_job", "f_p": "flops_job"}
#: text areas -> (job bar, words of the message)
TEXT_AREAS = {"text": ("job", "text"), "l_text": ("loss_job", "loss map"), "c_prompt": ("complete_job", "prompt")}
#: each job bar's view: (the result attribute, the HTML view that must not show an old result)
VIEWS = {"job": ("exploration", "patch_view"), "flops_job": ("flops", "flops_view"), "train_job": ("retrained", "r_view"),
         "loss_job": ("lossmap", "l_view"), "complete_job": ("completion", "c_view")}


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.mktemp("sbbad")))
        yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    m = build(ModelConfig("spacebyte", d_model=32, n_layers=1, d_key=16), seed=0)
    return {"spacebyte": save_model(m, root / "spacebyte", {"bpb": 8.0})}


@pytest.fixture(scope="module")
def ex(models):
    e = SpaceByteExplorer(sync=True, models=models, retrain_defaults=RETRAIN)
    assert e.job.state == "finished" and e.loss_job.state == "finished"
    return e


def press(ex, bar: str) -> None:
    """Start what the control feeds (the patch view and the calculator restart by themselves)."""
    {"train_job": ex.start_retrain, "loss_job": ex.start_loss, "complete_job": ex.start_complete}.get(bar, lambda: None)()


def check(ex, bar: str, words: str) -> None:
    """One clear sentence and no old result on screen, or an accepted value whose job finished."""
    job = getattr(ex, bar)
    accepted = job.error == ""
    assert_clear_message(job.error, words, allow_empty=accepted)
    result, view = VIEWS[bar]
    if accepted:
        assert bar == "flops_job" or job.state == "finished", job.status.value  # the calculator runs no job: it is instant
        assert getattr(ex, result) is not None
        return
    assert getattr(ex, result) is None and "fix the input" in getattr(ex, view).value, getattr(ex, view).value
    assert "done" not in job.status.value
    if bar == "flops_job":
        assert ex.flops_plot.series == []
    if bar == "train_job":
        assert ex.r_plot.layout.display == "none"


def works(ex) -> None:
    """Every tab computes again with good values."""
    ex.text.value, ex.t_global.value, ex.patch_size.value = "It works again.", "64", 6
    assert ex.job.state == "finished" and "dl-gmark" in ex.patch_view.value
    ex.f_vocab.value, ex.f_bpt.value = "50257", "4.0"
    assert ex.flops is not None and len(ex.flops_plot.series) == 6
    ex.l_text.value = "Loss maps work again."
    ex.start_loss()
    assert ex.loss_job.state == "finished" and "bits per byte over" in ex.l_view.value
    ex.c_prompt.value, ex.c_bytes.value, ex.c_temp.value = "Again", "5", "0.7"
    ex.start_complete()
    assert ex.complete_job.state == "finished" and len(ex.completion) == 5
    ex.r_budget.value, ex.r_seeds.value = "5e9", 1
    ex.start_retrain()
    assert ex.train_job.state == "finished" and ex.retrained is not None


@pytest.mark.parametrize("field", list(TEXT_AREAS))
def test_text_fields(ex, field):
    bar, words = TEXT_AREAS[field]
    w = getattr(ex, field)
    old = w.value
    try:
        for value in BAD_TEXTS + EXTRA_TEXTS:
            assert send(w, value), "a text box takes any text"
            press(ex, bar)
            check(ex, bar, words)
        for value in BAD_NUMBERS:
            before = w.value
            assert not send(w, value) and w.value == before  # a number is refused: the box keeps its text
    finally:
        w.value = old
    works(ex)


def test_limits_are_named_for_huge_and_broken_text(ex):
    for field, limit in (("text", "200,000 bytes"), ("l_text", "6,000 bytes"), ("c_prompt", "20,000 bytes")):
        bar = TEXT_AREAS[field][0]
        send(getattr(ex, field), "a" * 1_000_000)
        press(ex, bar)
        assert limit in getattr(ex, bar).error
        send(getattr(ex, field), "broken \ud800 paste")
        press(ex, bar)
        assert "not valid Unicode" in getattr(ex, bar).error
        send(getattr(ex, field), "")
        press(ex, bar)
        assert "is empty" in getattr(ex, bar).error
    works(ex)


@pytest.mark.parametrize("field", list(NUMBER_BOXES))
def test_number_boxes(ex, field):
    bar, words = NUMBER_BOXES[field]
    w = getattr(ex, field)
    old = w.value
    try:
        for value in BAD_NUMBERS:
            assert not send(w, value)  # a number object is refused by a text box; its text is what a user types
            for text in (str(value), f"{value:e}" if isinstance(value, float) else str(value), " lots "):
                assert send(w, text)
                press(ex, bar)
                check(ex, bar, words)
    finally:
        w.value = old
    works(ex)


@pytest.mark.parametrize("field", list(INT_CONTROLS))
def test_integer_controls_refuse_or_clamp(ex, field):
    bar = INT_CONTROLS[field]
    w = getattr(ex, field)
    old = w.value
    try:
        for value in BAD_NUMBERS:
            before = w.value
            if not send(w, value):
                assert w.value == before
                continue
            assert w.min <= w.value <= w.max  # clamped to the range the label states
            press(ex, bar)
            check(ex, bar, {"f_d": "D", "f_l": "L", "f_t": "T", "f_p": "P"}.get(field, field))
    finally:
        w.value = old
    works(ex)


def test_choices_and_checkboxes(ex):
    from traitlets import TraitError

    for field in ("rule", "t_corpus", "l_arch", "c_arch"):
        w = getattr(ex, field)
        old = w.index
        for value in BAD_NUMBERS:
            try:
                w.set_state({"index": value})
            except (TraitError, TypeError, ValueError, OverflowError):
                continue
            assert w.index in range(len(w.options))
        w.index = old
    for box in ex.r_archs.values():
        for value in BAD_NUMBERS:
            if send(box, value):
                assert isinstance(box.value, bool)
    for a, box in ex.r_archs.items():
        box.value = a in RETRAIN["archs"]
    works(ex)


def test_budgets_too_small_name_the_smallest_that_works(ex):
    ex.r_budget.value = "1e7"
    ex.start_retrain()
    assert_clear_message(ex.train_job.error, "budget")
    assert "budget must be at least" in ex.train_job.error and "training FLOPs" in ex.train_job.error
    check(ex, "train_job", "budget")
    ex.r_budget.value = "5e12"  # beyond what the dashboard trains (hours on one core)
    ex.start_retrain()
    assert "from 1e+06 to 1e+12" in ex.train_job.error
    works(ex)


@pytest.mark.parametrize("moment", ["at once", "while training"])
def test_cancel_stops_a_retraining_within_a_second(models, moment):
    """The study's longest job: a retraining (minutes at the largest budget). Cancel right after the start (while
    PyTorch's optimiser and the corpora load: 2-4 s that cannot check the token) or while training: the job ends
    within a second and nothing is cached."""
    e = SpaceByteExplorer(sync=False, autorun=False, models=models, retrain_defaults=RETRAIN)
    e.r_budget.value = "1e12"
    cfg = e.retrain_config()
    e.start_retrain()
    deadline = time.monotonic() + 120
    if moment == "at once":
        time.sleep(0.05)
    else:
        while "loss" not in e.train_job.status.value:
            assert time.monotonic() < deadline and e.train_job.runner.busy, e.train_job.status.value
            time.sleep(0.05)
    assert e.train_job.runner.busy, "the job ended before Cancel"
    t0 = time.monotonic()
    e.train_job.cancel()
    assert e.train_job.wait(10)
    took = time.monotonic() - t0
    print(f"\nretraining cancelled {moment}: {took * 1000:.0f} ms after the button")
    assert took < 1.0 and e.train_job.state == "cancelled" and e.retrained is None
    assert not is_cached("spacebyte", retrain_key(cfg))
