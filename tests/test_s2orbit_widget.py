"""S2OrbitExplorer: opens at once, draws interactive charts, redraws when a control moves, animates
without losing the zoom, selects by clicking a chart, shares heavy runs through the result cache,
clears its views after bad input."""

import threading

import pytest

from deletionlab.s2orbit import explore as s2explore
from deletionlab.s2orbit.orbit import S2, f_sp, mass_limit
from deletionlab.s2orbit.report import load_results
from deletionlab.widgets import s2orbit as s2widget
from deletionlab.widgets.s2orbit import S2OrbitExplorer, S2OrbitResultsView


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """A result cache of this module's own (so runs are computed here) and no machine-wide queue
    (other work on the machine must not hold these tests up)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.mktemp("s2cache")))
        mp.setenv("DELETIONLAB_GATE", "0")
        yield


@pytest.fixture(scope="module")
def explorer():
    ex = S2OrbitExplorer(sync=True, realisations=0)
    assert ex.job.state == "finished", ex.job.error
    assert ex.cluster_job.state == "finished", ex.cluster_job.error
    return ex


def notes(plot) -> list[str]:
    return [a.text for a in plot.figure.layout.annotations]


def trace(plot, name):
    return next(d for d in plot.figure.data if d.name == name)


def plots(ex):
    return [ex.sky, ex.plane, ex.fsp_chart, ex.accrual, ex.kernel, ex.mass_time, ex.fsp_time, ex.steady]


def test_default_run_draws_every_chart_interactively(explorer):
    ex = explorer
    assert "f_SP = 0.852" in ex.fsp_readout.value and "allowed" in ex.fsp_readout.value
    s = ex.settings()                                     # the text boxes hold S2's elements (6 digits)
    assert (s.e, s.a_au, s.m_bh) == pytest.approx((S2.e, S2.a_au, S2.mass), rel=1e-5)
    for plot in plots(ex):
        assert len(plot.figure.data) >= 1 and all(len(d.x) for d in plot.figure.data if d.name != "earlier orbits"), plot.title
        assert "computing…" not in notes(plot)
    # GRAVITY's band is a shaded band with its label; the paper's criterion and GR are lines
    shapes = ex.fsp_chart.figure.layout.shapes
    band = [s for s in shapes if s.type == "rect"]
    assert len(band) == 1 and band[0].y0 == pytest.approx(0.91) and band[0].y1 == pytest.approx(1.29)
    assert "GRAVITY 2020 (1σ)" in notes(ex.fsp_chart) and "f_SP = 0.81" in notes(ex.fsp_chart)
    limit = float(mass_limit(1.75))
    assert f"limit {limit:,.0f} M☉" in notes(ex.fsp_chart)
    # hover carries units; log axes stay log
    assert "M☉" in trace(ex.fsp_chart, "this cusp").hovertemplate
    assert ex.mass_time.figure.layout.yaxis.type == "log"
    assert ex.steady.figure.layout.xaxis.type == "log" and ex.steady.figure.layout.yaxis.type == "log"
    assert any("S2 limit" in n for n in notes(ex.mass_time))
    # log ticks read as numbers: 1,000 / 2,000 (not "2" next to 1000), 10⁻⁶ per year (not "1µ")
    assert ex.mass_time.figure.layout.yaxis.tickformat == ",.0f" and ex.steady.figure.layout.xaxis.exponentformat == "power"
    assert "Depletion is needed above" in ex.cluster_text.value
    assert ex.frame.max == ex.orbits.value == len(ex.exploration.frames_sky) - 1


def test_orbits_are_drawn_at_equal_aspect_with_east_to_the_left(explorer):
    for plot in (explorer.sky, explorer.plane):
        assert plot.figure.layout.yaxis.scaleanchor == "x" and plot.figure.layout.yaxis.scaleratio == 1
        assert plot.figure.layout.xaxis.constrain == "domain"         # 1:1 by a smaller drawing area, not padded axes
    lo, hi = explorer.sky.figure.layout.xaxis.range
    assert lo > hi                                  # RA increases to the left on the sky
    lo, hi = explorer.plane.figure.layout.xaxis.range
    assert lo < hi
    assert "AU from the black hole" in trace(explorer.plane, "this orbit").text[0]


def test_opens_at_once_and_says_computing(monkeypatch):
    """The widget is returned while its default run is still computing in a background job."""
    release = threading.Event()
    real = s2widget.shared_cluster

    def slow_cluster(s, *, progress, cancel):
        assert release.wait(30)
        return real(s, progress=progress, cancel=cancel)

    monkeypatch.setattr(s2widget, "shared_cluster", slow_cluster)
    ex = S2OrbitExplorer(realisations=0)
    try:
        assert ex.cluster_job.state in ("running", "pending") and ex.cluster_run is None
        assert "computing…" in ex.cluster_text.value and "computing…" in notes(ex.mass_time)
    finally:
        release.set()
    assert ex.cluster_job.wait(30) and ex.job.wait(30)
    assert ex.cluster_job.state == "finished" and "computing…" not in notes(ex.mass_time)
    assert "Depletion is needed above" in ex.cluster_text.value


def test_mass_slider_moves_f_sp(explorer):
    ex = explorer
    before = ex.fsp_readout.value
    marker = trace(ex.fsp_chart, "this cusp").y[0]
    ex.mass.value = 3000
    assert ex.fsp_readout.value != before and "ruled out" in ex.fsp_readout.value
    assert list(trace(ex.fsp_chart, "this cusp").x) == [3000.0] and trace(ex.fsp_chart, "this cusp").y[0] < marker
    ex.mass.value = 1000


def test_gamma_redraws_the_limit_and_reruns_the_cluster(explorer):
    ex = explorer
    limit = ex.exploration.limit
    colour = trace(ex.fsp_chart, "γ = 1.5").line.color
    ex.gamma.value = 1.0
    try:
        assert ex.exploration.limit < limit
        assert trace(ex.fsp_chart, "γ = 1.5").line.color == colour      # a slope keeps its colour whichever is chosen
        assert trace(ex.fsp_chart, "γ = 1 (chosen)").line.color == "black"
        assert ex.cluster_run.settings.gamma == 1.0 and "γ = 1," in ex.cluster_text.value   # no button press needed
    finally:
        ex.gamma.value = 1.75
    assert ex.cluster_run.settings.gamma == 1.75


def test_clicking_a_curve_of_f_sp_moves_the_sliders(explorer):
    ex = explorer
    curve = next(s for s in ex.fsp_chart.series if s["label"] == "γ = 1")
    try:
        ex.fsp_chart.click("γ = 1", 40)
        assert ex.gamma.value == 1.0 and ex.mass.value == pytest.approx(round(curve["x"][40] / 10) * 10)
        assert f"f_SP = {float(f_sp(ex.mass.value, 1.0)):.3f}" in ex.fsp_readout.value
    finally:
        ex.gamma.value, ex.mass.value = 1.75, 1000


def test_clicking_the_steady_state_chart_sets_the_capture_rate(explorer):
    ex = explorer
    target = trace(ex.steady, "without collisions").x[8]
    try:
        ex.steady.click("without collisions", 8)
        assert ex.capture.value == pytest.approx(target, rel=0.07)      # the slider's step is 0.05 in log10
        assert ex.cluster_run.settings.capture_rate == pytest.approx(ex.capture.value)
    finally:
        ex.capture.value = 3e-6


def test_animation_frames_keep_the_users_zoom(explorer):
    ex = explorer
    ex.frame.value = 0
    first = list(trace(ex.sky, "this orbit").x)
    ex.sky.figure.layout.xaxis.range = [50.0, 20.0]       # what a drag-zoom in the browser sends back
    ex.frame.value = 5
    assert list(trace(ex.sky, "this orbit").x) != first and len(trace(ex.sky, "earlier orbits").x) == 5 * 362
    assert tuple(ex.sky.figure.layout.xaxis.range) == (50.0, 20.0)
    assert "orbit 5" in ex.frame_note.value
    ex.mass.value = 1100                                  # a new orbit fits the axes again
    assert tuple(ex.sky.figure.layout.xaxis.range) != (50.0, 20.0)
    ex.mass.value = 1000


def test_collision_toggle_changes_the_cluster_readout(explorer):
    ex = explorer
    ex.collisions.value = False
    assert "collisions <b>off</b>" in ex.cluster_text.value and "ruled out" in ex.cluster_text.value
    ex.collisions.value = True
    assert "collisions <b>on</b>" in ex.cluster_text.value


def test_direct_integration_is_a_heavy_job_and_stays_until_the_orbit_changes(explorer):
    ex = explorer
    ex.verify_button.click()
    assert ex.verify_job.state == "finished", ex.verify_job.error
    assert ex.verify_job.runner.current.heavy and ex.cluster_job.runner.current.heavy
    assert ex.verify_table.value.count("<tr>") == 5 and "+0.0" in ex.verify_table.value
    ex.exaggeration.value = 300                           # drawing only: the integration still holds
    assert ex.verification is not None
    ex.mass.value = 1200                                  # another cusp: the old table would be wrong
    assert ex.verification is None and "Press the button" in ex.verify_table.value
    ex.exaggeration.value, ex.mass.value = 100, 1000


def test_heavy_runs_are_computed_once_and_shared(monkeypatch):
    """A second kernel (here: a second explorer) asking for the same default runs reads them from the cache."""
    first = S2OrbitExplorer(sync=True, realisations=20)
    first.verify_button.click()
    assert first.cluster_job.state == "finished" and first.verify_job.state == "finished"

    def must_not_run(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(s2explore, "cluster", must_not_run)
    monkeypatch.setattr(s2explore, "verify", must_not_run)
    second = S2OrbitExplorer(sync=True, realisations=20)
    second.exaggeration.value = 1                         # the keys leave out what a run ignores (here: the drawing)
    second.verify_button.click()
    second.start_cluster()
    assert second.cluster_job.state == "finished", second.cluster_job.error
    assert second.verify_job.state == "finished", second.verify_job.error
    assert second.cluster_run.realisation_fsp == first.cluster_run.realisation_fsp and len(first.cluster_run.realisation_fsp) == 20
    assert second.verification.rows == first.verification.rows


def test_all_zero_kernel_says_so(explorer):
    ex = explorer
    ex.mass.value = 0
    try:
        assert any("no mass inside the orbit" in n for n in notes(ex.kernel)) and len(ex.kernel.figure.data) == 0
    finally:
        ex.mass.value = 1000
    assert len(ex.kernel.figure.data) == 1 and not any("no mass" in n for n in notes(ex.kernel))


BAD = [("e_text", "1.2", "Eccentricity e must be at least 0.001 and below 1"),
       ("e_text", "abc", "Eccentricity e must be a number"),
       ("mbh_text", "-4e6", "Black-hole mass M• must be positive"),
       ("m_relax_text", "-100", "Relaxation-fed mass M_rlx must be from 0"),
       ("age_text", "nan", "Age must be a finite number")]


def test_bad_input_gives_a_sentence_clears_the_views_and_the_widget_keeps_working(explorer):
    ex = explorer
    ex.verify_button.click()
    for field, value, words in BAD:
        old = getattr(ex, field).value
        getattr(ex, field).value = value
        try:
            ex.apply_button.click()
            assert words in ex.job.error and ex.job.state == "error", (field, ex.job.error)
            assert words in ex.cluster_job.error
            # nothing on screen belongs to the previous inputs
            assert ex.exploration is None and ex.cluster_run is None and ex.verification is None
            assert "fix the input" in ex.fsp_readout.value and "fix the input" in ex.cluster_text.value
            for plot in plots(ex):
                assert len(plot.figure.data) == 0 and any("fix the input" in n for n in notes(plot)), plot.title
        finally:
            getattr(ex, field).value = old
    ex.apply_button.click()
    assert ex.job.state == "finished" and ex.job.error == "" and "f_SP =" in ex.fsp_readout.value
    assert ex.cluster_job.state == "finished" and all(len(p.figure.data) for p in plots(ex))


def test_non_converging_integration_is_explained(explorer):
    ex = explorer
    ex.e_text.value, ex.a_text.value = "0.9999", "1000000"
    try:
        ex.apply_button.click()
        assert ex.job.state == "finished", ex.job.error
        ex.verify_button.click()
        assert ex.verify_job.state == "error" and "did not converge" in ex.verify_job.error
        assert "Press the button" in ex.verify_table.value
    finally:
        ex.reset_button.click()
    assert ex.job.state == "finished" and ex.exploration.settings.e == pytest.approx(0.884649)


def test_results_view_builds_with_rows():
    results = load_results()
    view = S2OrbitResultsView(results)
    assert len(view.rows) == 7 and all(r.verdict for r in view.rows)
    th, fn = view.charts
    assert th.figure.layout.yaxis.type == "log" and {d.name for d in th.figure.data} == {"without collisions", "with collisions"}
    assert fn.figure.layout.xaxis.type == "log"
    series = fn.series[0]
    lo, hi = series["band"]
    assert all(a <= p <= b for a, p, b in zip(lo, series["y"], hi)) and any(b - a > 0 for a, b in zip(lo, hi))
    row = next(r for r in results["finite_n"] if not r["collisions"])
    assert f"{row['k']} of {row['n']} consistent" in series["text"][0]
