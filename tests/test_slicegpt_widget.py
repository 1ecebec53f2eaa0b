"""SliceGPTExplorer on a tiny model folder: runs, redraws from the slider, survives bad input."""

import numpy as np
import pytest

from deletionlab.slicegpt.models import ModelChoice
from deletionlab.slicegpt.report import load_results
from deletionlab.widgets.slicegpt import SliceGPTExplorer, SliceGPTResultsView


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    from deletionlab.slicegpt.tiny import save_tiny

    root = tmp_path_factory.mktemp("models")
    save_tiny(root / "tiny-llama", "llama")
    from transformers import BertConfig, BertLMHeadModel

    BertLMHeadModel(BertConfig(vocab_size=60, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                               is_decoder=True)).save_pretrained(root / "bert")
    return [ModelChoice("folder:tiny-llama", "tiny-llama (models folder)", "folder", str(root / "tiny-llama")),
            ModelChoice("folder:bert", "bert (models folder)", "folder", str(root / "bert"))]


@pytest.fixture(scope="module")
def explorer(tiny_models, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch_module.setenv("DELETIONLAB_GATE", "0")  # the machine-wide queue for heavy jobs is tested in core
    ex = SliceGPTExplorer(sync=True, models=tiny_models, results=load_results() or {}, run=None, model="folder:tiny-llama", cal=(4, 64))
    ex.start()
    assert ex.job.state == "finished", ex.job.error or ex.job.last_traceback
    return ex


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_a_run_fills_every_view(explorer):
    ex = explorer
    assert "your run" in ex.caption.value and "tiny-llama" in ex.caption.value
    assert ex.spectrum_plot.value[:4] == b"\x89PNG" and ex.discard_plot.value[:4] == b"\x89PNG"
    assert any(s["label"].startswith("cut: keep 24") for s in ex.spectrum_plot.series)  # 25 % of width 32
    assert "perplexity" in ex.eval_view.value and "probe accuracy" in ex.eval_view.value
    assert "shortcuts" in ex.size_view.value and "larger" in ex.size_view.value  # untied head + shortcuts on a tiny model
    assert ex.live_points and ex.live_points[-1]["level"] == 25
    assert ex.job.runner.current.heavy  # slicing waits its turn behind other visitors' heavy jobs


def test_the_slicing_slider_redraws_what_would_be_deleted(explorer):
    ex = explorer
    before = [list(s["y"]) for s in ex.discard_plot.series]
    ex.slicing.value = 60
    after = [list(s["y"]) for s in ex.discard_plot.series]
    assert all(np.all(np.array(a) >= np.array(b)) for a, b in zip(after, before)) and after != before
    assert "keeping 8 of 32" in ex.discard_plot.title
    ex.block.value = 1
    assert all(not s["label"].startswith("block 0") for s in ex.spectrum_plot.series)
    ex.slicing.value = 25
    ex.schedule.value = "ramp"  # block 0 sliced 12.5 % (width 24 → 28 rounds to 24), block 1 37.5 % (width 16, but it writes D)
    assert "per-block schedule" in ex.discard_plot.title
    ex.schedule.value = "constant"


BAD_INPUTS = [
    (dict(slicing=0), "Slicing must be more than 0 % and less than 100 % (got 0 %)"),
    (dict(schedule="custom", per_layer="10, ten"), "'ten' is not a number"),
    (dict(schedule="custom", per_layer="10, 20, 30"), "one value per block: 2 values (got 3)"),
    (dict(schedule="custom", per_layer="10, 100"), "from 0 % to below 100 % (got 100 %)"),
    (dict(calibration="custom", custom_text="far too short"), "custom calibration text has only"),
    (dict(model="folder:bert"), "supported: pre-norm, attention then gated MLP"),
]


def test_bad_input_gives_a_sentence_and_keeps_the_last_run(explorer):
    ex = explorer
    kept = ex.run
    for setup, message in BAD_INPUTS:
        old = {k: getattr(ex, k).value for k in setup}
        try:
            for k, v in setup.items():
                getattr(ex, k).value = v
            ex.start()
            assert message in ex.job.error, (setup, ex.job.error)
            assert ex.run is kept and ex.job.state == "error"
        finally:
            for k, v in old.items():
                getattr(ex, k).value = v
    ex.start()  # and the widget still works
    assert ex.job.state == "finished" and ex.job.error == "" and ex.run is not kept


def test_per_block_schedule_and_random_orientation(explorer):
    ex = explorer
    ex.schedule.value, ex.per_layer.value, ex.orientation.value = "custom", "10, 50", "random"
    try:
        ex.start()
        assert ex.job.state == "finished", ex.job.error
        assert ex.run["slice"]["dims"]["blocks"] == [[24, 24, 24], [24, 16, 32]] and ex.run["slice"]["orientation"] == "random"
    finally:
        ex.schedule.value, ex.per_layer.value, ex.orientation.value = "constant", "", "pca"


def test_generation_invariance_and_export(explorer, tiny_models):
    fresh = SliceGPTExplorer(sync=True, models=tiny_models, results={}, run=None)
    fresh.start_generation()
    assert "press Slice first" in fresh.gen_job.error
    ex = explorer
    ex.prompt.value = "The minister said"
    ex.start_generation()
    assert ex.gen_job.state == "finished" and "The minister said" in ex.gen_dense.value and "The minister said" in ex.gen_sliced.value
    ex.prompt.value = "   "
    ex.start_generation()
    assert "prompt is empty" in ex.gen_job.error
    ex.start_invariance()
    assert ex.inv_job.state == "finished" and "at most" in ex.inv_view.value
    ex.start_export()
    assert ex.export_job.state == "finished" and "trust_remote_code=True" in ex.export_view.value


def test_the_dashboard_opens_on_the_shipped_run_without_computing():
    ex = SliceGPTExplorer(sync=True)
    assert ex.job.state == "idle"
    if ex.run is None:
        pytest.fail("the shipped default run is missing: run scripts/slicegpt_experiment.py")
    assert "shipped run" in ex.caption.value and ex.spectrum_plot.value[:4] == b"\x89PNG"
    assert ex.block.max == ex.run["n_blocks"] - 1


def test_results_view_computes_rows():
    res = load_results()
    if res is None:
        pytest.fail("results.json is missing: run scripts/slicegpt_experiment.py")
    view = SliceGPTResultsView(res)
    assert len(view.rows) >= 6 and all(r.verdict for r in view.rows)
    assert view.plot.value[:4] == b"\x89PNG"


def test_cancel_stops_a_run_at_the_next_check(tiny_models):
    from deletionlab.core import Cancelled, CancelToken
    from deletionlab.slicegpt.explore import Settings, explore

    token, notes = CancelToken(), []

    def progress(done, total, note=""):
        notes.append(note)
        if "block 1/" in note:
            token.cancel()

    with pytest.raises(Cancelled):
        explore(Settings(model="folder:tiny-llama", n_calibration=4, seq_len=64, eval_windows=2, probe_items=4, latency=False),
                progress=progress, cancel=token, models=tiny_models)
    assert any("block 1/" in n for n in notes) and not any("perplexity" in n for n in notes)
