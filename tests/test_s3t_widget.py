"""S3TExplorer: opens on the shipped system, greys out adapters as requests arrive, refuses bad input
with a sentence and keeps working, retrains when exhausted; S3TResultsView builds its rows."""

import re

import pytest

from deletionlab.s3t.explore import MUST_RETRAIN, Settings
from deletionlab.s3t.model import TrainConfig
from deletionlab.s3t.report import load_results
from deletionlab.widgets.s3t import S3TExplorer, S3TResultsView

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


def test_default_opens_the_shipped_system():
    ex = S3TExplorer(sync=True)
    assert ex.job.state == "finished", ex.job.error
    exp = ex.exploration
    assert exp.source == "shipped" and exp.s3t.config.shards == 3
    assert ex.grid.value.count("dl-cell") == 3 * 3 * 3 and off_cells(ex.grid.value) == 0
    assert ex.sisa_grid.value.count("dl-cell") == 3 * 1 * 3
    assert ex.acc_plot.value[:4] == b"\x89PNG" and len(ex.acc_plot.series) >= 4
    ex.delete_one()
    assert off_cells(ex.grid.value) > 0 and "<b>1</b> request" in ex.summary.value


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
    ("slices", "13", "Slices L must be from 1 to the 12 records of a shard"),
    ("sequences", "7", "Sequences B′ must be from 1 to L! = 6 for L = 3 slices"),
    ("per_step", "3", "at most the model's 6 layers"),
    ("shards", "many", "Shards m must be a whole number"),
    ("shards", "9", "Shards m must be a whole number from 1 to 8"),
])
def test_bad_settings_give_a_sentence_and_keep_the_system(tiny, field, value, message):
    ex = tiny
    kept = ex.exploration
    old = getattr(ex, field).value
    getattr(ex, field).value = value
    try:
        ex.start()
        assert message in ex.job.error
        assert ex.exploration is kept
    finally:
        getattr(ex, field).value = old


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
