"""Whatever a client sends to the SliceGPT explorer's controls, the answer is one sentence naming the field and its range
(or the value is refused harmlessly, or accepted as valid), views that no longer match are greyed out, the widget works
afterwards, and the longest job (a slicing run) stops within a second of Cancel at any phase of it."""

import time

import pytest
from badinput import BAD_NUMBERS, BAD_TEXTS, assert_clear_message, send

from deletionlab.slicegpt.models import ModelChoice
from deletionlab.widgets.slicegpt import SliceGPTExplorer

SLICING = ("Slicing",)
PER_BLOCK = ("per-block",)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from deletionlab.slicegpt.tiny import save_tiny

    root = tmp_path_factory.mktemp("sgbad")
    save_tiny(root / "tiny-llama", "llama")
    models = [ModelChoice("folder:tiny-llama", "tiny-llama (models folder)", "folder", str(root / "tiny-llama"))]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DELETIONLAB_CACHE", str(root / "cache"))
        mp.setenv("DELETIONLAB_GATE", "0")
        yield models


@pytest.fixture(scope="module")
def ex(env):
    e = SliceGPTExplorer(sync=True, models=env, results={}, run=None, model="folder:tiny-llama", cal=(4, 64))
    e.start()
    assert e.job.state == "finished", e.job.error
    return e


def texts_for(value) -> list[str]:
    """What a user can type for a number: its str, its scientific form, and a word."""
    out = [str(value), " lots "]
    if isinstance(value, float):
        out.append(f"{value:e}")
    return out


def answered(ex, bar, words) -> bool:
    """The job either ran (True) or said in one sentence what is wrong with the field (False)."""
    if bar.error == "":
        assert bar.state == "finished", bar.state
        return True
    assert_clear_message(bar.error, *words)
    assert "done" not in bar.status.value
    return False


def works(ex) -> None:
    """Good values slice again, the views match the controls again, and both models write."""
    ex.slicing.value, ex.schedule.value, ex.per_layer.value, ex.calibration.value = 25, "constant", "", "bbc"
    ex.start()
    assert ex.job.state == "finished" and ex.job.error == "", ex.job.error
    assert "dl-stale" not in ex.tabs._dom_classes and ex.stale_note.value == ""
    ex.prompt.value, ex.new_tokens.value = "The minister said", 5
    ex.start_generation()
    assert ex.gen_job.state == "finished" and "The minister said" in ex.gen_sliced.value, ex.gen_job.error


def test_slicing_slider(ex):
    """The slider clamps what a client sends to 0–90 (nan/inf are refused); 0 % and what leaves too few dimensions are named."""
    kept = ex.run
    for value in BAD_NUMBERS:
        before = ex.slicing.value
        if not send(ex.slicing, value):
            assert ex.slicing.value == before
            continue
        assert 0 <= ex.slicing.value <= 90
        ex.start()
        if not answered(ex, ex.job, SLICING):
            assert "%" in ex.job.error and ex.run is kept and "dl-stale" in ex.tabs._dom_classes
    works(ex)


def test_per_block_list(ex):
    ex.schedule.value = "custom"
    kept = ex.run
    try:
        for value in BAD_NUMBERS:
            for text in texts_for(value) + BAD_TEXTS:
                assert send(ex.per_layer, text)
                ex.start()
                assert not answered(ex, ex.job, PER_BLOCK), text  # one value for two blocks, or not a slicing at all
                assert ex.run is kept and "dl-stale" in ex.tabs._dom_classes
                assert "per-block" in ex.schedule_note.value.lower()  # said next to the charts too
    finally:
        works(ex)


def test_custom_calibration_text(ex):
    ex.calibration.value = "custom"
    try:
        for text in BAD_TEXTS + ["-1", "1e308", "nan"]:
            assert send(ex.custom_text, text)
            ex.start()
            if answered(ex, ex.job, ("calibration text",)):  # 100,000 characters are enough text to calibrate on
                assert len(text) >= 100_000 and ex.run["settings"]["custom_text"] == f"{len(text)} characters"
    finally:
        works(ex)


def test_prompt_and_generation_length(ex):
    for text in BAD_TEXTS + ["-1", "1e308"]:
        assert send(ex.prompt, text)
        ex.start_generation()
        if answered(ex, ex.gen_job, ("prompt",)):  # odd Unicode and numbers are text both models can continue
            assert text.strip() and len(text) <= 500
        else:
            assert ex.gen_sliced.value == ""  # the continuation of another prompt is not left on screen
    ex.prompt.value = "The minister said"
    for value in BAD_NUMBERS + ["", "lots"]:
        if not send(ex.new_tokens, value):
            continue  # nan, inf and words are refused by the integer box
        ex.start_generation()
        assert not answered(ex, ex.gen_job, ("Generation length",))
        assert "from 1 to 200" in ex.gen_job.error and len(ex.gen_job.error) < 120, ex.gen_job.error
    works(ex)


@pytest.mark.parametrize("field", ["model", "schedule", "calibration", "cal_size", "orientation"])
def test_menus_refuse_what_they_do_not_offer(ex, field):
    """A menu's client sends the index of an option: anything else is refused, the menu keeps its choice."""
    from traitlets import TraitError

    w = getattr(ex, field)
    before = w.value
    offered = [v for _, v in w.options]
    for value in BAD_NUMBERS + BAD_TEXTS + ["../../etc/passwd", "hf:../../etc"]:
        try:
            w.set_state({"index": value})
        except (TraitError, TypeError, ValueError, OverflowError):
            assert w.value == before
            continue
        assert w.value in offered  # index 0: a real option, harmlessly chosen
        w.value = before
    assert w.value == before
    works(ex)


def test_checkbox_and_block_slider(ex):
    for value in BAD_NUMBERS + BAD_TEXTS:
        accepted = send(ex.time_decoding, value)
        assert isinstance(ex.time_decoding.value, bool) and (not accepted or value in (0, 1))
        if send(ex.block, value):
            assert ex.block.min <= ex.block.value <= ex.block.max
    ex.time_decoding.value, ex.block.value = False, 0
    works(ex)


def test_chart_clicks_out_of_range(ex):
    """A click arrives with the x of a point; a client can send any x."""
    for x in BAD_NUMBERS + [2.5, "7", None, "lots"]:
        ex.select_level(x)
        if ex.job.error == "":
            assert x in (0, 2.5, "7") and ex.slicing.value == round(float(x))
        else:
            assert_clear_message(ex.job.error, "slicing level")
            assert "from 0 to 90 %" in ex.job.error
        ex.select_block(x)
        if ex.job.error == "":
            assert x == 0 and ex.block.value == 0
        else:
            assert_clear_message(ex.job.error, "block")
            assert "from 0 to 1" in ex.job.error
    works(ex)


PHASES = ["", "loading", "block 1/", "perplexity on held-out bbc", "perplexity on held-out docstrings", "zero-shot probe", "latency"]


@pytest.mark.parametrize("phase", PHASES)
def test_a_slicing_run_cancels_within_a_second(env, tmp_path, monkeypatch, phase):
    """Cancel at every phase of the longest job (load, rotate and slice, measure, time decoding): it ends within 1 s."""
    monkeypatch.setenv("DELETIONLAB_RESULT_CACHE", "0")  # a real run every time
    e = SliceGPTExplorer(sync=False, models=env, results={}, run=None, model="folder:tiny-llama", cal=(8, 128))
    e.time_decoding.value = True
    e.start()
    assert "computing…" in e.computing.value  # the views keep the last run meanwhile, and say so
    deadline = time.monotonic() + 120
    while phase and phase not in (e.job.runner.current.note or ""):
        assert e.job.runner.current.active, f"the job ended before {phase!r}: {e.job.error}"
        assert time.monotonic() < deadline, f"never reached {phase!r}"
        time.sleep(0.002)
    t0 = time.perf_counter()
    e.job.cancel()
    assert e.job.wait(30)
    latency = time.perf_counter() - t0
    print(f"cancel at {phase or 'the start'!r}: the job ended {latency:.3f} s later")
    assert e.job.state == "cancelled", (e.job.state, e.job.error)
    assert latency < 1.0 and e.computing.value == ""


def test_a_cancel_during_the_model_load_returns_at_once(env, monkeypatch):
    """Importing torch/transformers and loading weights cannot check a token (seconds in a fresh kernel): the load runs
    in a helper thread and the job still ends within a second of Cancel."""
    import threading

    import deletionlab.slicegpt.models as models_mod

    started, release = threading.Event(), threading.Event()

    def slow_load(*args, **kwargs):
        started.set()
        release.wait(20)  # a load that ignores every token
        raise RuntimeError("released")

    monkeypatch.setattr(models_mod, "load", slow_load)
    monkeypatch.setenv("DELETIONLAB_RESULT_CACHE", "0")
    e = SliceGPTExplorer(sync=False, models=env, results={}, run=None, model="folder:tiny-llama", cal=(4, 64))
    e.start()
    assert started.wait(30)
    t0 = time.perf_counter()
    e.job.cancel()
    assert e.job.wait(30)
    latency = time.perf_counter() - t0
    release.set()
    print(f"cancel during the model load: the job ended {latency:.3f} s later")
    assert e.job.state == "cancelled" and latency < 1.0
