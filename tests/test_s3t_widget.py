"""S3TExplorer: opens on the shipped system (at once, "computing…" until the background job is done; the
default run comes from the shared result cache), greys out adapters as requests arrive, refuses bad input
with a sentence and greys out the views that no longer match, retrains when exhausted; its curves are
interactive (bands, one colour per system, a click replays a stream into the grid); S3TResultsView builds
its rows and charts."""

import re

import pytest

import deletionlab.s3t.explore as explore_mod
from deletionlab.s3t.explore import MUST_RETRAIN, Settings
from deletionlab.s3t.model import TrainConfig
from deletionlab.s3t.report import load_results
from deletionlab.widgets.plots import InteractivePlot
from deletionlab.widgets.s3t import COLORS, S3TExplorer, S3TResultsView

# the same tiny system as tests/test_s3t_system.py (trained once per session, then loaded from the cache)
TINY = Settings(dataset="bbc", shards=2, slices=3, sequences=2, per_step=2, per_shard=12, n_test=15,
                train=TrainConfig(max_len=16, epochs=1, batch=4))


def off_cells(html: str) -> int:
    return len(re.findall(r"dl-state-0", html))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.getbasetemp() / "s3t-shared"))
    ex = S3TExplorer(sync=True, settings=TINY, delay=0)
    assert ex.job.state == "finished", ex.job.error
    assert ex.exploration.source in ("trained just now", "cached")
    yield ex
    mp.undo()


def test_default_opens_the_shipped_system(tmp_path, monkeypatch):
    monkeypatch.setenv("DELETIONLAB_CACHE", str(tmp_path))
    ex = S3TExplorer(sync=True)
    assert ex.job.state == "finished", ex.job.error
    assert ex.job.status.value.startswith("Loading: done")  # a shipped system is loaded, never "Training"
    exp = ex.exploration
    assert exp.source == "shipped" and exp.s3t.config.shards == 3
    assert ex.grid.value.count("dl-cell") == 3 * 3 * 3 and off_cells(ex.grid.value) == 0
    assert ex.sisa_grid.value.count("dl-cell") == 3 * 1 * 3
    assert isinstance(ex.acc_plot, InteractivePlot) and isinstance(ex.cap_plot, InteractivePlot)
    mean = ex.acc_plot.series[0]
    lo, hi = mean["band"]
    assert all(a <= m <= b for a, m, b in zip(lo, mean["y"], hi)) and any(b - a > 0 for a, b in zip(lo, hi))  # a real band
    assert ex.acc_plot.references["note"] == ""
    ex.delete_one()
    assert off_cells(ex.grid.value) > 0 and "<b>1</b> request" in ex.summary.value


def test_the_widget_shows_at_once_and_computes_in_the_background(tmp_path, monkeypatch):
    """The notebook cell returns before the default run: the views say "computing…" until the job is done."""
    import threading

    monkeypatch.setenv("DELETIONLAB_CACHE", str(tmp_path))
    release = threading.Event()
    real = explore_mod.replay_curves

    def held(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(explore_mod, "replay_curves", held)
    ex = S3TExplorer(sync=False)
    assert ex.exploration is None and "computing…" in ex.grid.value
    assert ex.acc_plot.references["note"] == "computing…" and ex.cap_plot.references["note"] == "computing…"
    release.set()
    assert ex.job.wait(60) and ex.job.state == "finished", ex.job.error
    assert ex.exploration is not None and "computing…" not in ex.grid.value and ex.acc_plot.references["note"] == ""


def test_the_default_run_is_computed_once_for_every_kernel(tmp_path, monkeypatch):
    """A second visitor (a second explorer, as another kernel would) reads the default curves from the shared cache."""
    monkeypatch.setenv("DELETIONLAB_CACHE", str(tmp_path))
    calls = []
    real = explore_mod.replay_curves
    monkeypatch.setattr(explore_mod, "replay_curves", lambda *a, **k: calls.append(a[3]) or real(*a, **k))
    first = S3TExplorer(sync=True)
    assert calls == ["uniform"] and explore_mod.opens_at_once(Settings())
    second = S3TExplorer(sync=True)
    assert calls == ["uniform"], "the second visitor replayed the streams again"
    assert second.exploration.curves == first.exploration.curves
    assert list((tmp_path / "results" / "s3t").glob("*.pkl"))


def test_one_colour_per_system_everywhere(tiny):
    ex = tiny
    ex.forget()
    acc = {s["label"].split(",")[0]: s["color"] for s in ex.acc_plot.series if s.get("label") != "now"}
    cap = {s["label"].split(" ")[0]: s["color"] for s in ex.cap_plot.series}
    assert acc == {"S3T": COLORS["s3t"], "SISA": COLORS["sisa"]} and cap == acc
    assert COLORS["s3t"] != COLORS["sisa"]
    view = S3TResultsView(load_results())
    for plot in view.plots[:-1]:
        colors = {s["label"]: s["color"] for s in plot.series}
        assert colors["S3T"] == COLORS["s3t"] and colors["SISA"] == COLORS["sisa"]
    # the grids use the same families: S3T's served cells green, SISA's orange
    assert "#2d6a4f" in ex.grid.value and "#b35c00" in ex.sisa_grid.value and "#b35c00" not in ex.grid.value


def test_clicking_a_curve_replays_a_stream_into_the_grid(tiny):
    ex = tiny
    ex.forget()
    label = ex.acc_plot.series[0]["label"]
    ex.acc_plot.click(label, 4)
    exp = ex.exploration
    assert ex.job.error == "" and int(exp.s3t_service.deleted.sum()) == 4 == int(exp.sisa_service.deleted.sum())
    assert "<b>4</b> request" in ex.summary.value and off_cells(ex.grid.value) >= 1
    assert ex.acc_plot.series[-2]["x"] == [4] and "Replayed the first 4 request(s)" in ex.notice.value
    grid_at_4 = ex.grid.value
    ex.cap_plot.click(ex.cap_plot.series[0]["label"], 2)  # the other chart too; fewer requests: a replay from the start
    assert int(exp.s3t_service.deleted.sum()) == 2
    ex.acc_plot.click(label, 4)
    assert ex.grid.value == grid_at_4  # the same stream every time
    ex.acc_plot.click("now", 0)  # the "now" marker is not a curve: nothing happens
    assert int(exp.s3t_service.deleted.sum()) == 4
    ex.forget()


def test_a_grid_with_many_sequences_draws_a_few_and_counts_the_rest(tiny, monkeypatch):
    import deletionlab.widgets.s3t as w

    ex = tiny
    ex.forget()
    monkeypatch.setattr(w, "MAX_ROWS", 1)
    html = w.grid_html(ex.exploration, "s3t", ex.exploration.s3t_service, "t")
    assert html.count("dl-cell") == 2 * 1 * 3 and html.count("and 1 more sequences") == 2


def test_a_deletion_greys_out_its_shards_adapters(tiny):
    ex = tiny
    ex.forget()
    r = ex.record.value
    assert f"record {r}:" in ex.record_line.value
    ex.delete_one()
    assert ex.job.error == ""
    exp = ex.exploration
    assert exp.s3t_service.deleted[int(r)] and off_cells(ex.grid.value) >= 1
    h = exp.s3t.shard_of[int(r)]
    assert (exp.s3t_service.alive[h] < 3).all() and (exp.s3t_service.alive[1 - h] == 3).all()
    assert ex.record.value != r  # the box moves on to a record still present
    assert ex.acc_plot.series[-2]["x"] == [1]  # the "now" marker sits at one request


def test_unknown_records_are_refused_and_the_widget_keeps_working(tiny):
    ex = tiny
    ex.forget()
    for value in ("abc", "24", "-3", "1e3"):
        ex.record.value = value
        ex.delete_one()
        assert f"Record must be a whole number from 0 to 23 (got '{value}')" in ex.job.error
    assert not ex.exploration.s3t_service.deleted.any()
    ex.record.value = "5"
    ex.delete_one()
    assert ex.job.error == "" and ex.exploration.s3t_service.deleted[5]
    ex.record.value = "5"
    ex.delete_one()
    assert "Record 5 is already deleted" in ex.job.error


@pytest.mark.parametrize("field,value,message", [
    ("slices", "13", "Slices L must be a whole number from 1 to 3 (L × k at most the model's 6 layers) (got 13)"),
    ("per_shard", "2", "Slices L must be at most the records per shard, 2 (got 3)"),
    ("sequences", "7", "Sequences B′ must be from 1 to L! = 6 for L = 3 slices"),
    ("per_step", "3", "at most the model's 6 layers"),
    ("shards", "many", "Shards m must be a whole number from 1 to 8 (got 'many')"),
    ("shards", "9", "Shards m must be a whole number from 1 to 8"),
    ("slices", "1e3", "Slices L must be a whole number from 1 to 3 (L × k at most the model's 6 layers)"),
    ("sequences", "2.5", "Sequences B′ must be a whole number from 1 to L! = 6"),
])
def test_bad_settings_give_a_sentence_keep_the_system_and_grey_it_out(tiny, field, value, message):
    ex = tiny
    kept = ex.exploration
    old = getattr(ex, field).value
    getattr(ex, field).value = value
    try:
        ex.start()
        assert message in ex.job.error
        assert ex.exploration is kept
        assert "dl-stale" in ex.views._dom_classes and "belong to the system loaded before" in ex.stale_note.value
        assert "done" not in ex.job.status.value
    finally:
        getattr(ex, field).value = old
    ex.start()  # the same system again: loaded at once, no longer greyed out
    assert ex.job.state == "finished" and "dl-stale" not in ex.views._dom_classes and ex.stale_note.value == ""


def test_changed_controls_say_the_views_show_the_loaded_system(tiny):
    ex = tiny
    ex.shards.value = "3"
    assert "differ from the system shown below" in ex.stale_note.value
    ex.shards.value = "2"
    assert ex.stale_note.value == ""
    ex.prior.value = "geometric"  # the prior only changes the curves of cyclic sequences
    assert ex.stale_note.value == ""
    ex.prior.value = "uniform"


def test_exhausted_system_says_it_must_retrain_and_retrains(tiny):
    ex = tiny
    ex.forget()
    ex.burst_size.value = "30"
    ex.send_burst()
    assert "from 1 to 24" in ex.job.error  # more than the records there are
    ex.burst_size.value = "20"
    ex.send_burst()
    assert ex.exploration.s3t_service.exhausted
    assert ex.job.error == MUST_RETRAIN and ex.retrain_button.button_style == "danger"
    assert "cannot serve" in ex.summary.value
    gone = int(ex.exploration.s3t_service.deleted.nonzero()[0][0])
    ex.start_retrain()  # S3T only (the default)
    assert ex.job.state == "finished", ex.job.error
    assert off_cells(ex.grid.value) == 0 and off_cells(ex.sisa_grid.value) > 0
    assert "Retrained S3T shard(s) 1, 2 on the records left" in ex.notice.value
    ex.retrain_sisa.value = True
    ex.start_retrain()  # now SISA's shards; S3T has nothing left to retrain
    assert ex.job.state == "finished", ex.job.error
    assert off_cells(ex.sisa_grid.value) == 0 and "Retrained S3T shard(s) none and SISA shard(s) 1, 2" in ex.notice.value
    ex.retrain_sisa.value = False
    ex.record.value = str(gone)
    ex.delete_one()
    assert f"Record {gone} is already deleted" in ex.job.error
    ex.forget()


def test_stream_and_prior(tiny):
    ex = tiny
    ex.forget()
    ex.stream_size.value = "3"
    ex.start_stream()
    assert ex.job.state == "finished" and int(ex.exploration.s3t_service.deleted.sum()) == 3
    ex.prior.value = "hot"
    assert ex.job.state == "finished" and ex.exploration.curves["prior"] == "hot"
    assert "one hot slice prior" in ex.acc_plot.title
    ex.prior.value = "uniform"
    ex.forget()


def test_training_in_the_background_can_be_cancelled(tmp_path, monkeypatch):
    from dataclasses import replace

    monkeypatch.setenv("DELETIONLAB_CACHE", str(tmp_path))
    ex = S3TExplorer(sync=False, autorun=False, settings=replace(TINY, seed=7))
    ex.start()
    assert ex.job.state == "running"
    ex.job.cancel()
    assert ex.job.wait(60)
    assert ex.job.state == "cancelled" and ex.exploration is None
    assert not list(tmp_path.glob("s3t/*/s3t/system.json"))  # nothing half-trained was cached


def test_results_view_builds_its_rows():
    results = load_results()
    assert results is not None, "run scripts/s3t_experiment.py"
    view = S3TResultsView(results)
    claims = " ".join(r.claim for r in view.rows)
    for part in ("deletion rate", "requests absorbed", "close to full fine-tuning", "S3T vs SISA", "sequence selection", "training cost"):
        assert part in claims
    assert all(r.verdict for r in view.rows)
    assert "<table" in view.children[0].value
    assert len(view.plots) == len(results["datasets"]) + 1 and all(isinstance(p, InteractivePlot) for p in view.plots)
    rate = view.plots[-1]
    assert [s["label"] for s in rate.series][0] == "m·L·H(m·B′)" and rate.series[1]["error"][0] > 0
