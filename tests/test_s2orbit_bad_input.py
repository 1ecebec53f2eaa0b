"""Whatever a client sends to the S2 explorer's controls, the answer is one sentence naming the field
(or the value is refused or clamped harmlessly), the views that no longer match are cleared, the
widget works afterwards, and the longest jobs stop within a second of Cancel."""

import time

import pytest
from badinput import BAD_NUMBERS, BAD_TEXTS, assert_clear_message, send

from deletionlab.widgets.s2orbit import S2OrbitExplorer

#: text field -> words its messages must contain
TEXTS = {"e_text": "Eccentricity", "a_text": "Semi-major axis", "mbh_text": "Black-hole mass",
         "m_relax_text": "Relaxation-fed mass", "t_relax_text": "Relaxation time", "age_text": "Age"}
#: numeric controls whose value a client sends (sliders clamp, refuse, or the science names the field)
NUMBERS = {"mass": "Enclosed mass", "gamma": "Cusp slope", "capture": "Capture rate", "orbits": "Orbits",
           "frame": "orbit", "play": "orbit"}
#: choice controls: a client sends the index of the option
CHOICES = {"exaggeration": "Exaggeration", "realisations": "Realisations", "collisions": "collisions"}


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """This module's own result cache and no machine-wide queue (other work must not hold it up)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.mktemp("s2cache")))
        mp.setenv("DELETIONLAB_GATE", "0")
        yield


@pytest.fixture(scope="module")
def explorer():
    ex = S2OrbitExplorer(sync=True, realisations=0)
    assert ex.job.state == "finished"
    return ex


def send_index(widget, value) -> bool:
    """A selection widget's comm update carries the option's index; False if the widget refused it."""
    from traitlets import TraitError

    try:
        widget.set_state({"index": value})
    except (TraitError, TypeError, ValueError, OverflowError):
        return False
    return True


def check_answer(ex, words: str) -> None:
    """One clear sentence (or a valid value); after an error, no view shows the previous result."""
    message = ex.job.error or ex.cluster_job.error
    accepted = message == ""
    assert_clear_message(message, words, allow_empty=accepted)
    if accepted:
        assert ex.job.state == "finished" and ex.cluster_job.state == "finished"
        assert "f_SP = " in ex.fsp_readout.value
    else:
        assert ex.exploration is None and ex.cluster_run is None and "fix the input" in ex.fsp_readout.value
        assert len(ex.fsp_chart.figure.data) == 0 and len(ex.mass_time.figure.data) == 0


def works(ex) -> None:
    ex.start_all()
    assert ex.job.state == "finished" and ex.cluster_job.state == "finished", (ex.job.error, ex.cluster_job.error)
    assert "f_SP = 0.852" in ex.fsp_readout.value and len(ex.fsp_chart.figure.data) > 0


@pytest.mark.parametrize("field", list(TEXTS))
def test_text_fields(explorer, field):
    ex = explorer
    w = getattr(ex, field)
    old = w.value
    try:
        for value in [str(v) for v in BAD_NUMBERS] + BAD_TEXTS:
            assert send(w, value), "a text box takes any text"
            ex.apply_button.click()
            check_answer(ex, TEXTS[field])
    finally:
        w.value = old
    works(ex)


@pytest.mark.parametrize("field", list(NUMBERS))
def test_numeric_controls(explorer, field):
    ex = explorer
    w = getattr(ex, field)
    old = w.value
    try:
        for value in BAD_NUMBERS:
            if not send(w, value):
                continue
            # the control's own observer has run its job (synchronously); sliders clamp to their range
            check_answer(ex, NUMBERS[field])
            if field == "frame":
                assert 0 <= w.value <= ex.orbits.value and f"orbit {w.value}:" in ex.frame_note.value
    finally:
        w.value = old
    works(ex)


@pytest.mark.parametrize("field", list(CHOICES))
def test_choice_controls(explorer, field):
    ex = explorer
    w = getattr(ex, field)
    old = w.index
    try:
        for value in BAD_NUMBERS:
            if send_index(w, value):
                check_answer(ex, CHOICES[field])
    finally:
        w.index = old
    works(ex)


def _cancel_running(bar) -> float:
    """Press Cancel on a job that is running; seconds until the job has ended."""
    deadline = time.monotonic() + 30
    while bar.runner.current is None or bar.runner.current.started is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)
    assert bar.runner.busy, "the job ended before Cancel: choose a longer one"
    t0 = time.monotonic()
    bar.cancel()
    assert bar.wait(10)
    return time.monotonic() - t0


def test_cancel_stops_the_longest_jobs_within_a_second(monkeypatch):
    """The longest jobs: a direct integration of a very eccentric orbit (4000 steps per orbit, ~2 s
    alone), and the cluster model with 100 finite-N realisations and no collisions (~10⁵ stars each)."""
    monkeypatch.setenv("DELETIONLAB_RESULT_CACHE", "0")
    ex = S2OrbitExplorer(autorun=False, realisations=0)
    ex.e_text.value, ex.a_text.value = "0.995", "100000"
    ex.start_verify()
    took = _cancel_running(ex.verify_job)
    print(f"\nintegration: cancelled {took * 1000:.0f} ms after the button")
    assert took < 1.0 and ex.verify_job.state == "cancelled" and ex.verification is None
    ex.reset_button.click()
    ex.collisions.value, ex.capture.value = False, 1e-4
    assert ex.cluster_job.wait(30)
    ex.realisations.value = 100
    took = _cancel_running(ex.cluster_job)
    print(f"cluster model: cancelled {took * 1000:.0f} ms after the button")
    assert took < 1.0 and ex.cluster_job.state == "cancelled"
    ex.realisations.value = 0
    assert ex.cluster_job.wait(30) and ex.cluster_job.state == "finished"
