"""Whatever a client sends to the S2 explorer's controls, the answer is one sentence naming the field."""

import pytest
from badinput import BAD_NUMBERS, BAD_TEXTS, assert_clear_message, send

from deletionlab.widgets.s2orbit import S2OrbitExplorer

#: text field -> words its messages must contain
TEXTS = {"e_text": "Eccentricity", "a_text": "Semi-major axis", "mbh_text": "Black-hole mass",
         "m_relax_text": "Relaxation-fed mass", "t_relax_text": "Relaxation time", "age_text": "Age"}
#: numeric controls -> words (sliders clamp or refuse; either way nothing generic may appear)
NUMBERS = {"mass": "Enclosed mass", "gamma": "Cusp slope", "capture": "Capture rate", "exaggeration": "Exaggeration",
           "orbits": "Orbits"}


@pytest.fixture(scope="module")
def explorer():
    ex = S2OrbitExplorer(sync=True, realisations=0)
    assert ex.job.state == "finished"
    return ex


@pytest.mark.parametrize("field", list(TEXTS))
def test_text_fields(explorer, field):
    ex = explorer
    w = getattr(ex, field)
    old = w.value
    try:
        for value in [str(v) for v in BAD_NUMBERS] + BAD_TEXTS:
            if not send(w, value):
                continue
            ex.start_all()
            accepted = ex.job.error == "" and ex.cluster_job.error == ""
            assert_clear_message(ex.job.error or ex.cluster_job.error, TEXTS[field], allow_empty=accepted)
    finally:
        w.value = old
    ex.start_all()
    assert ex.job.state == "finished" and ex.cluster_job.state == "finished"


@pytest.mark.parametrize("field", list(NUMBERS))
def test_numeric_controls(explorer, field):
    ex = explorer
    w = getattr(ex, field)
    old = w.value
    try:
        for value in BAD_NUMBERS:
            if not send(w, value):
                continue
            # the control's own observer has started its job (synchronously); sliders clamp to their range
            accepted = ex.job.error == "" and ex.cluster_job.error == ""
            assert_clear_message(ex.job.error or ex.cluster_job.error, NUMBERS[field], allow_empty=accepted)
    finally:
        w.value = old
    assert ex.job.state == "finished" and ex.cluster_job.state == "finished"
