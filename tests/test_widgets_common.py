"""Headless tests of the widget kit: job bar (start, cancel, error line), home page, views."""

import time

import numpy as np

from deletionlab.core import UserError, check_cancel
from deletionlab.widgets import HeatmapGrid, Home, ImageStrip, JobBar, StudyRoot


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
    assert got == [4] and bar.state == "done"
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
    assert bar.wait(5) and bar.error_line.value == "" and bar.state == "done"


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
    for s, card in zip(home.studies, home.cards):
        if s.available:
            assert "voila/render/" + s.notebook in card.value
        else:
            assert "href" not in card.value and "not built yet" in card.value.lower()


def test_image_strip_and_heatmap_grid_hold_the_data():
    strip = ImageStrip(scale=2)
    imgs = [np.full((8, 8, 3), v, np.uint8) for v in (0, 100, 200)]
    strip.set_images(imgs, ["t=0", "t=1", "t=2"])
    z = np.asarray(strip.figure.data[0].z)
    assert z.shape[0] == 16 and z[0, 0, 0] == 0 and z[0, -1, 0] == 200
    assert [a.text for a in strip.figure.layout.annotations] == ["t=0", "t=1", "t=2"]

    grid = HeatmapGrid()
    maps = [[np.full((4, 4), r * 10 + c, float) for c in range(3)] for r in range(2)]
    grid.set_maps(maps, ["pos", "neg"], ["1", "2", "3"], zmin=0, zmax=20)
    z = np.asarray(grid.figure.data[0].z, dtype=float)
    assert z[0, 0] == 0 and np.nanmax(z) == 12 and np.isnan(z).any()
    assert grid.figure.data[0].zmax == 20
