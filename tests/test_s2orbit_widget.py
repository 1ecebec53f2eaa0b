"""S2OrbitExplorer: runs, redraws when a control moves, animates, verifies, and survives bad input."""

import pytest

from deletionlab.s2orbit.report import load_results
from deletionlab.widgets.s2orbit import S2OrbitExplorer, S2OrbitResultsView


@pytest.fixture(scope="module")
def explorer():
    ex = S2OrbitExplorer(sync=True, realisations=0)
    assert ex.job.state == "finished", ex.job.error
    assert ex.cluster_job.state == "finished", ex.cluster_job.error
    return ex


def test_default_run_draws_every_view(explorer):
    ex = explorer
    assert "f_SP = 0.852" in ex.fsp_readout.value and "allowed" in ex.fsp_readout.value
    assert ex.sky.value[:4] == b"\x89PNG" and ex.plane.value[:4] == b"\x89PNG"
    assert ex.fsp_chart.value == b"" and ex.fsp_chart.series    # hidden tabs keep their data, not drawn yet
    for tab, charts in ((1, [ex.fsp_chart]), (2, [ex.accrual, ex.kernel]), (4, [ex.mass_time, ex.fsp_time, ex.steady])):
        ex.tabs.selected_index = tab
        assert all(c.value[:4] == b"\x89PNG" for c in charts)
    ex.tabs.selected_index = 0
    assert ex.frame.max == ex.orbits.value == len(ex.exploration.frames_sky) - 1
    assert "Depletion is needed above" in ex.cluster_text.value


def test_mass_slider_moves_f_sp(explorer):
    ex = explorer
    before = ex.fsp_readout.value
    marker = ex.fsp_chart.series[-1]
    ex.mass.value = 3000
    assert ex.fsp_readout.value != before and "ruled out" in ex.fsp_readout.value
    assert ex.fsp_chart.series[-1]["x"] == [3000.0] and ex.fsp_chart.series[-1]["y"][0] < marker["y"][0]
    ex.mass.value = 1000


def test_gamma_changes_the_limit_and_the_cluster(explorer):
    ex = explorer
    limit = ex.exploration.limit
    cluster = ex.cluster_run
    ex.gamma.value = 1.0
    assert ex.exploration.limit < limit
    ex.start_cluster()
    assert ex.cluster_run is not cluster and ex.cluster_run.settings.gamma == 1.0
    ex.gamma.value = 1.75
    ex.start_cluster()


def test_animation_frames_change_the_orbit(explorer):
    ex = explorer
    ex.frame.value = 0
    first = ex.sky.value
    ex.frame.value = 5
    assert ex.sky.value != first
    assert "orbit 5" in ex.frame_note.value and ex.sky.series[-3]["label"] == "orbit 5"


def test_collision_toggle_changes_the_cluster_readout(explorer):
    ex = explorer
    ex.collisions.value = False
    assert "collisions <b>off</b>" in ex.cluster_text.value and "ruled out" in ex.cluster_text.value
    ex.collisions.value = True
    assert "collisions <b>on</b>" in ex.cluster_text.value


def test_direct_integration_table(explorer):
    explorer.verify_button.click()
    assert explorer.verify_job.state == "finished", explorer.verify_job.error
    assert explorer.verify_table.value.count("<tr>") == 5 and "+0.0" in explorer.verify_table.value


BAD = [("e_text", "1.2", "Eccentricity e must be at least 0.001 and below 1"),
       ("e_text", "abc", "Eccentricity e must be a number"),
       ("mbh_text", "-4e6", "Black-hole mass M• must be positive"),
       ("m_relax_text", "-100", "Relaxation-fed mass M_rlx must be from 0"),
       ("age_text", "nan", "Age must be a finite number")]


def test_bad_input_gives_a_sentence_and_the_widget_keeps_working(explorer):
    ex = explorer
    kept = ex.exploration
    for field, value, words in BAD:
        old = getattr(ex, field).value
        getattr(ex, field).value = value
        try:
            ex.apply_button.click()
            assert words in ex.job.error and ex.job.state == "error", (field, ex.job.error)
            assert ex.exploration is kept and "fix the input" in ex.fsp_readout.value
        finally:
            getattr(ex, field).value = old
    ex.apply_button.click()
    assert ex.job.state == "finished" and ex.job.error == "" and "f_SP =" in ex.fsp_readout.value


def test_non_converging_integration_is_explained(explorer):
    ex = explorer
    ex.e_text.value, ex.a_text.value = "0.9999", "1000000"
    try:
        ex.apply_button.click()
        assert ex.job.state == "finished", ex.job.error
        ex.verify_button.click()
        assert ex.verify_job.state == "error" and "did not converge" in ex.verify_job.error
        assert "press the button" in ex.verify_table.value
    finally:
        ex.reset_button.click()
    assert ex.job.state == "finished" and ex.exploration.settings.e == pytest.approx(0.884649)


def test_results_view_builds_with_rows():
    view = S2OrbitResultsView(load_results())
    assert len(view.rows) == 7 and all(r.verdict for r in view.rows)
    assert all(c.value[:4] == b"\x89PNG" for c in view.charts)
    assert len(view.charts[1].series) == 2 and "yerr" in view.charts[1].series[0]
