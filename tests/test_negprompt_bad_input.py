"""Every field of the negative-prompt dashboard fed what a client can send (issue 18): each bad value
gives one sentence naming the field and its range (or is refused / accepted as valid), never
"Something went wrong"; the views are marked stale; the widget works afterwards. And the longest job
(the live study) stops within a second of a press on Cancel."""

import math
import time

import pytest
from badinput import BAD_NUMBERS, BAD_TEXTS, assert_clear_message, send

from deletionlab.widgets import LiveStudy, NegativePromptExplorer

GOOD_PROMPT = "a red circle above a blue square"


@pytest.fixture(autouse=True, scope="module")
def _one_thread_own_cache(tmp_path_factory):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.mktemp("negprompt-bad-input")))
        mp.setenv("DELETIONLAB_GATE", "0")  # the machine-wide queue is tested in core
        yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def explorer(tiny_pipe):
    return NegativePromptExplorer(pipe=tiny_pipe, sync=True, prompt=GOOD_PROMPT, steps=4, guidance=5.0)


def works_again(w: NegativePromptExplorer) -> None:
    """Back to good settings: a run finishes and the views are current again."""
    with w.hold_sync():
        w._suspend = True
        w.prompt.value, w.negative.value, w.negative_on.value = GOOD_PROMPT, "a blue square", True
        w.guidance.value, w.seed.value, w.steps.value = 5.0, 1, 4
        w.start.max = w.end.max = 4
        w.start.value, w.end.value = 0, 4
        w._suspend = False
    w.generate()
    assert w.job.state == "finished", w.job.error
    assert "dl-stale" not in w.views._dom_classes and w.result.settings.prompt == GOOD_PROMPT


def check(w: NegativePromptExplorer, *field_words: str) -> None:
    msg = w.job.error_line.value
    assert_clear_message(msg, *field_words, allow_empty=True)
    if msg:  # an error: the old pictures are marked as not matching the controls
        assert w.job.state == "error" and "dl-stale" in w.views._dom_classes and "last valid setting" in w.stale_note.value
    else:
        assert w.job.state == "finished", w.job.status.value


@pytest.mark.parametrize("field,words", [("steps", ("steps",)), ("seed", ("seed",)), ("guidance", ("guidance",)),
                                         ("start", ("start step",)), ("end", ("end step",))])
def test_every_number_field(explorer, field, words):
    w = explorer
    for value in [*BAD_NUMBERS, None]:
        works_again(w)
        if send(getattr(w, field), value):
            w.generate()  # as the Generate button would
            check(w, *words)
        else:
            assert w.job.state == "finished"  # refused by the control: nothing changed
    works_again(w)


def test_typed_overflow_values_name_their_range(explorer):
    """The messages quote values short and name the range (a 20-digit seed, a steps value of 1e308)."""
    w = explorer
    works_again(w)
    send(w.seed, 10**20)
    assert "between 0 and 4,294,967,295" in w.job.error_line.value and "21-digit number" in w.job.error_line.value
    works_again(w)
    send(w.steps, int(1e308))
    assert "between 1 and 150" in w.job.error_line.value and len(w.job.error_line.value) < 200
    works_again(w)
    send(w.guidance, math.nan)
    assert "Guidance must be a number between 1 and 30" in w.job.error_line.value
    works_again(w)


@pytest.mark.parametrize("field,words", [("prompt", ("prompt",)), ("negative", ("negative prompt",))])
def test_every_text_field(explorer, field, words):
    w = explorer
    for value in BAD_TEXTS:
        works_again(w)
        assert send(getattr(w, field), value)
        check(w, *words)
        if len(value) > 2000:
            assert "limited to 2000 characters" in w.job.error_line.value
    works_again(w)
    send(w.prompt, "   ")
    assert "prompt is empty" in w.job.error_line.value


def test_sweep_with_bad_settings_says_why_and_shows_no_old_sweep(explorer):
    w = explorer
    works_again(w)
    w.sweep_button.click()
    assert w.job.state == "finished" and w.sweep is not None
    send(w.negative, "x" * 100_000)  # the run refuses it ...
    w.sweep_button.click()  # ... and so does the sweep
    assert_clear_message(w.job.error_line.value, "negative prompt")
    assert w.sweep is None and "fix the input" in w.sweep_note.value and "<img" not in w.sweep_images.value
    works_again(w)
    w.negative_on.value = False
    w.sweep_button.click()
    assert_clear_message(w.job.error_line.value, "negative prompt")
    works_again(w)


def test_choices_refuse_values_that_are_not_offered(explorer):
    w = explorer
    works_again(w)
    for control in (w.model, w.word, w.critical_word, w.overlay_on):
        before = control.value
        for value in ("/etc/passwd", "../../secret", "", 3, None):
            send(control, value)
            assert control.value == before or control.value in [o[1] if isinstance(o, tuple) else o for o in control.options]
    assert w.job.state == "finished"


def test_live_study_scene_count_stays_in_range(tiny_pipe):
    live = LiveStudy(pipe=tiny_pipe, n_scenes=2, sync=True)
    for value in BAD_NUMBERS:
        send(live.n, value)
        assert 1 <= live.n.value <= 60 and "reverse-activation prompt" in live.estimate.value
    assert live.job.state == "idle"


def test_live_study_stops_within_a_second_of_cancel():
    """The longest job of the study, cancelled from the page's Cancel button while a scene computes."""
    from deletionlab.negprompt.models import load_pipeline

    pipe = load_pipeline()
    calls = [0]
    handle = pipe.unet.register_forward_hook(lambda *a: calls.__setitem__(0, calls[0] + 1))
    try:
        for at in (20, 70):  # inside the first scene's recorded run, then inside its delay sweep
            live = LiveStudy(pipe=pipe, n_scenes=2)
            calls[0] = 0
            live.measure()
            deadline = time.monotonic() + 120
            while calls[0] < at and time.monotonic() < deadline:
                time.sleep(0.005)
            assert calls[0] >= at, live.job.status.value
            t0 = time.monotonic()
            live.job.cancel_button.click()
            assert live.job.wait(10)
            latency = time.monotonic() - t0
            print(f"live study cancelled at UNet call {at}: stopped {latency:.3f} s later")
            assert live.job.state == "cancelled" and latency < 1.0
            assert live.out.children == ()  # nothing half-drawn stays
    finally:
        handle.remove()
