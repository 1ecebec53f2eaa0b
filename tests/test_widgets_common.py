"""Headless tests of the widget kit: job bar (start, cancel, error line), home page, views."""

import time

import numpy as np

from deletionlab.core import UserError, check_cancel
from deletionlab.widgets import HeatmapGrid, Home, ImageStrip, JobBar, LinePlot, StudyRoot


def loop(n, delay, progress=None, cancel=None):
    for i in range(n):
        check_cancel(cancel)
        time.sleep(delay)
        progress(i + 1, n, "looping")
    return n


def wait_for(pred, timeout=5.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_jobbar_runs_a_job_and_shows_progress():
    bar = JobBar()
    got = []
    bar.run(loop, 4, 0.02, on_result=got.append, name="Counting")
    assert bar.state == "running" and not bar.cancel_button.disabled
    assert bar.wait(5)
    assert got == [4] and bar.state == "finished"
    assert bar.progress.value == 1.0 and bar.cancel_button.disabled
    assert "Counting" in bar.status.value and bar.error_line.value == ""


def test_jobbar_cancel_button_stops_the_job():
    bar = JobBar()
    got = []
    bar.run(loop, 1000, 0.05, on_result=got.append)
    assert wait_for(lambda: bar.progress.value > 0)
    t0 = time.monotonic()
    bar.cancel_button.click()
    assert bar.wait(1.0) and time.monotonic() - t0 < 1.0
    assert bar.state == "cancelled" and got == [] and "cancelled" in bar.status.value


def test_jobbar_failing_job_shows_the_error_line():
    def bad(progress=None, cancel=None):
        raise UserError("The step count must be between 1 and 500.")

    bar = JobBar()
    errors = []
    bar.run(bad, on_error=errors.append)
    assert bar.wait(5)
    assert bar.state == "error"
    assert "between 1 and 500" in bar.error_line.value and errors == ["The step count must be between 1 and 500."]
    assert "Traceback" in bar.last_traceback
    # the next good job clears the error line
    bar.run(loop, 1, 0.0)
    assert bar.wait(5) and bar.error_line.value == "" and bar.state == "finished"


def test_jobbar_latest_request_wins_in_the_view():
    bar = JobBar()
    got = []
    bar.run(loop, 200, 0.02, on_result=lambda r: got.append(("first", r)))
    bar.run(loop, 2, 0.0, on_result=lambda r: got.append(("second", r)))
    assert bar.wait(5)
    time.sleep(0.2)
    assert got == [("second", 2)]


def test_failing_view_update_is_reported_not_raised():
    bar = JobBar(sync=True)
    bar.run(loop, 1, 0.0, on_result=lambda r: 1 / 0)
    assert bar.state == "error" and "ZeroDivisionError" in bar.error


def test_study_root_classes_and_notice():
    root = StudyRoot("demo")
    assert {"dl-root", "dl-demo"} <= set(root._dom_classes)
    root.say("Words the model never saw: foo")
    assert "never saw" in root.notice.value


def test_home_lists_seven_studies_and_filters():
    home = Home()
    assert len(home.cards) == 7 and "dl-home" in home._dom_classes
    ready = [s.key for s in home.studies if s.available]
    home.filter_buttons.value = "planned"
    assert set(home.visible_studies()) == {s.key for s in home.studies} - set(ready)
    home.filter_buttons.value = "ready"
    assert home.visible_studies() == ready
    intro = next(c.value for c in home.children if str(getattr(c, "value", "")).startswith("<div class='dl-muted'>"))
    assert (f"All {len(ready)} studies are ready" in intro) == (len(ready) == 7)
    assert ("planned" in intro) == (len(ready) < 7)  # no sentence about planned studies when there are none
    for s, card in zip(home.studies, home.cards):
        if s.available:
            assert "voila/render/" + s.notebook in card.value
        else:
            assert "href" not in card.value and "not built yet" in card.value.lower()


def test_image_strip_heatmap_grid_and_line_plot_draw():
    from base64 import b64decode
    from io import BytesIO

    from PIL import Image

    strip = ImageStrip(title="steps", size=16)
    imgs = [np.full((8, 8, 3), v, np.uint8) for v in (0, 100, 200)]
    strip.set_images(imgs, ["t=0", "t=1", "t=<2>"])
    assert strip.value.count("<img") == 3 and "t=&lt;2&gt;" in strip.value and "steps" in strip.value
    first = strip.value.split('src="')[1].split('"')[0]
    png = Image.open(BytesIO(b64decode(first.split(",", 1)[1])))
    assert png.size == (16, 16) and np.asarray(png)[0, 0, 0] == 0  # upscaled 2x, nearest neighbour

    grid = HeatmapGrid(size=8)
    maps = [[np.full((4, 4), r * 10 + c, float) for c in range(3)] for r in range(2)]
    grid.set_maps(maps, ["pos", "neg"], ["1", "2", "3"], zmin=0, zmax=20)
    assert grid.value.count("<img") == 6 + 1  # six tiles and the colour bar
    assert (grid.vmin, grid.vmax) == (0.0, 20.0) and ">pos<" in grid.value and ">neg<" in grid.value
    grid.set_maps([[np.array([[np.nan, 1.0], [2.0, 3.0]])]])
    assert (grid.vmin, grid.vmax) == (1.0, 3.0)

    plot = LinePlot("title", "x", "y")
    plot.draw([dict(x=[0, 1, 2], y=[0.1, 0.5, 0.9], label="curve")], hlines=[(0.5, "threshold")],
              right=[dict(x=[0, 1, 2], y=[3, 2, 1], label="other")])
    assert plot.value[:4] == b"\x89PNG" and plot.series[0]["label"] == "curve"
    plot.draw([], bars={"categories": ["a", "b"], "groups": {"g": ([1.0, None], [0.1, None])}})
    assert len(plot.value) > 1000


def test_jobbar_attempt_shows_a_user_error_and_clears_it_on_success():
    bar = JobBar(sync=True)

    def parse(text):
        if not text.strip():
            raise UserError("The prompt is empty: type a few words.")
        return text.strip()

    assert bar.attempt(parse, "   ") is None
    assert bar.state == "error" and "prompt is empty" in bar.error_line.value
    assert bar.attempt(parse, " cat ") == "cat" and bar.error_line.value == "" and bar.error == ""


def test_jobbar_on_error_callback_is_per_job_and_a_failing_view_is_a_sentence():
    bar = JobBar(sync=True)
    seen = []

    def broken(progress=None, cancel=None):
        raise UserError("No such record: 42.")

    bar.run(broken, on_error=seen.append)
    assert seen == ["No such record: 42."] and bar.state == "error"
    bar.run(loop, 1, 0.0, on_result=lambda r: 1 / 0)  # the view fails to draw
    assert bar.state == "error" and "ZeroDivisionError" in bar.error_line.value
    bar.run(loop, 1, 0.0, on_result=seen.append)  # and the bar still works
    assert bar.state == "finished" and seen[-1] == 1 and bar.runner.current.on_result is not None


def test_claims_table_and_source_line_escape_and_show_every_row():
    from deletionlab.core.report import Row
    from deletionlab.widgets import claims_table, source_line

    rows = [Row("a <b> claim", "yes", "0.5 ± 0.1", "agrees"), Row("second", "no", "n/a", "disagrees")]
    html = claims_table(rows)
    assert html.count("<tr>") == 3 and "&lt;b&gt;" in html and "<b>disagrees</b>" in html
    line = source_line({"command": "python scripts/x_experiment.py --seeds 3", "date": "2026-11-30 10:00"})
    assert "scripts/x_experiment.py --seeds 3" in line and "2026-11-30" in line
    assert "live run" in source_line(None)


def test_lineplot_renders_at_twice_the_pixels_it_is_shown_at_and_draws_from_threads():
    import io
    import threading

    from PIL import Image

    plot = LinePlot("AUC $\\sigma$", "release", "AUC", width=4.0, height=2.5)
    plot.draw([dict(x=[1, 2, 3], y=[0.5, 0.6, 0.55], label="retrain", error=[0.01, 0.02, 0.01], band=([0.4] * 3, [0.7] * 3))])
    assert plot.layout.width == "400px"
    assert Image.open(io.BytesIO(plot.value)).size == (800, 500)
    errors = []

    def draw(i):
        try:
            p = LinePlot(f"$\\alpha_{i}$ and $\\beta$", "x", "y", width=3, height=2)
            p.draw([dict(x=[0, 1], y=[i, i + 1], label=f"$\\gamma_{i}$")], note="all zero" if i % 2 else "")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


def test_interactive_plot_keeps_a_zoom_on_request_and_exports_what_is_on_screen():
    from deletionlab.widgets import InteractivePlot

    p = InteractivePlot("orbit on the sky", "RA offset", "Dec offset", xunit="mas", yunit="mas")
    p.figure.layout.xaxis.autorange = "reversed"  # east to the left
    p.draw([dict(x=[0, 1, 2], y=[0, 1, 0], label="S2")], hlines=[(0.5, "half")], xlim=(0, 2))
    assert tuple(p.figure.layout.xaxis.range) == (2.0, 0.0)  # reversed and fixed
    p.figure.layout.xaxis.range = [1.5, 0.5]  # the user zooms
    p.draw([dict(x=[0, 1, 2], y=[0, 2, 0], label="S2")], hlines=[(0.5, "half")], keep_view=True)
    assert tuple(p.figure.layout.xaxis.range) == (1.5, 0.5) and p.figure.data[0].y == (0, 2, 0)
    svg = p.svg().decode()
    assert svg.startswith("<?xml") and "half" in svg
    p.draw([dict(x=[0, 1, 2], y=[0, 1, 0], label="S2")])
    assert p.figure.layout.xaxis.autorange == "reversed"  # autorange again, still east to the left
    p.offer_svg()
    assert "download=" in p.svg_link.value and p.svg_link.value.count("data:image/svg+xml;base64,") == 1


def test_home_cards_say_that_the_notebook_link_needs_make_lab_under_voila():
    from deletionlab.catalog import study
    from deletionlab.widgets.home import card_html

    under_voila = card_html(study("negprompt"), voila=True)
    in_lab = card_html(study("negprompt"), voila=False)
    assert "make lab" in under_voila and "8888" in under_voila
    assert "make lab" not in in_lab and 'href="/lab/tree/negative_prompts.ipynb"' in in_lab


def test_progress_text_and_legend_only_series():
    from deletionlab.widgets import InteractivePlot
    from deletionlab.widgets.common import progress_text

    assert progress_text(3, 10) == "3/10" and progress_text(1200, 5000) == "1,200/5,000"
    assert progress_text(1.2345, 3) == "41 %" and progress_text(1, 0) == ""
    p = InteractivePlot("accuracy", "share of data", "accuracy", legend="right")
    p.draw([dict(x=[1, 2], y=[0.5, 0.6], label="none"), dict(x=[1, 2], y=[0.4, 0.7], label="EDA", visible=False,
                                                              band=([0.3, 0.6], [0.5, 0.8]))])
    assert p.shown(0) and not p.shown(1)
    assert [d.visible for d in p.figure.data][1:] == ["legendonly", "legendonly"]  # EDA's band and line
    assert "EDA" not in p.svg().decode() and "none" in p.svg().decode()
    p.figure.data[2].visible = True  # the user clicks "EDA" in the legend
    assert p.shown(1) and "EDA" in p.svg().decode()
    assert p.figure.layout.legend.orientation == "v"


def test_series_can_hide_their_legend_entry_and_hover_with_their_own_text():
    from deletionlab.widgets import InteractivePlot

    p = InteractivePlot("runs", "FLOPs", "bits per byte")
    p.draw([dict(x=[1, 2], y=[2.1, 2.0], label="SpaceByte", text=["D=64 seed 0", "D=96 seed 0"], hover="text"),
            dict(x=[1, 2], y=[2.2, 2.1], label="SpaceByte seeds", legend=False)])
    assert p.figure.data[0].hovertemplate == "%{text}<extra></extra>" and p.figure.data[0].showlegend
    assert p.figure.data[1].showlegend is False and "bits per byte" in p.figure.data[1].hovertemplate
