"""SliceGPTExplorer on a tiny model folder: runs, redraws its interactive charts from the slider, chart clicks select,
colours stay one per method, runs come back from the shared result cache, views go stale on bad input."""

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
    assert [s["label"] for s in ex.spectrum_plot.series] == ["embeddings", "attention → MLP", "output"]  # block 0
    assert ex.spectrum_plot.references["vlines"] == [(24.5, "cut: keep 24")]  # 25 % of width 32
    assert ex.discard_plot.figure.layout.yaxis.type == "log" and ex.spectrum_plot.figure.layout.yaxis.type == "log"
    assert ex.ppl_plot.figure.layout.yaxis.type == "log" and ex.ratio_plot.figure.layout.yaxis.type == "log"
    assert "perplexity" in ex.eval_view.value and "probe accuracy" in ex.eval_view.value
    assert "shortcuts" in ex.size_view.value and "larger" in ex.size_view.value  # untied head + shortcuts on a tiny model
    assert ex.live_points and ex.live_points[-1]["level"] == 25
    assert ex.job.runner.current.heavy and ex.job.runner.current.threads == 1  # waits its turn behind other visitors' heavy jobs
    assert ex.exploration.source == "computed" and ex.exploration.sliced is not None


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
    ex.schedule.value = "custom"
    ex.per_layer.value = "10, 20, 30"  # three values for two blocks: said next to the charts, which keep the constant slicing
    assert "needs 2 values (got 3)" in ex.schedule_note.value and "keeping 24 of 32" in ex.discard_plot.title
    ex.per_layer.value = ""
    ex.schedule.value = "constant"
    assert ex.schedule_note.value == ""


def test_the_charts_show_values_with_units_and_the_slider_in_place(explorer):
    ex = explorer
    ex.slicing.value = 30
    slider = [d for d in ex.ppl_plot.figure.data if d.name.startswith("slicing slider")]
    assert len(slider) == 1 and list(slider[0].x) == [30, 30]
    ex.slicing.value = 25
    assert list(next(d for d in ex.ppl_plot.figure.data if d.name.startswith("slicing slider")).x) == [25, 25]
    bbc = next(d for d in ex.ppl_plot.figure.data if d.name == "PCA, bbc")
    assert "%{x:.3~g} %" in bbc.hovertemplate and "perplexity %{y:,.1f}" in bbc.hovertemplate and "95 % CI" in bbc.text[1]
    out = next(d for d in ex.discard_plot.figure.data if d.name == "block output")
    assert "energy deleted %{y:.3~g} %" in out.hovertemplate and out.text[0] == "keeps 24 of 32 dimensions"
    ratio = next(d for d in ex.ratio_plot.figure.data if d.name == "paper: OPT-125M")
    assert "%{y:.2f} ×" in ratio.hovertemplate


def test_one_colour_per_method_in_every_chart(explorer):
    from deletionlab.widgets.plots import TAB10

    ex = explorer
    colour = {d.name: d.line.color for p in (ex.ppl_plot, ex.ratio_plot) for d in p.figure.data}
    assert colour["PCA, bbc"] == colour["ours: SmolLM2, bbc"] == colour["your runs, bbc"] == TAB10["tab:blue"]
    assert colour["PCA, docstrings"] == colour["ours: SmolLM2, docstrings"] == TAB10["tab:orange"]
    assert colour["paper: OPT-125M"] == TAB10["tab:green"] and colour["paper: Llama-2-7B"] == TAB10["tab:purple"]
    view = SliceGPTResultsView(load_results())
    assert {d.name: d.line.color for d in view.plot.figure.data}["PCA, bbc"] == TAB10["tab:blue"]
    signal = {d.name: d.line.color for p in (ex.spectrum_plot, ex.discard_plot) for d in p.figure.data}
    assert signal["output"] == signal["block output"] and signal["attention → MLP"] == TAB10["tab:pink"]


def test_clicking_a_chart_selects(explorer):
    ex = explorer
    ex.ppl_plot.click("PCA, bbc", 4)  # the 30 % point of the committed curve
    assert ex.slicing.value == 30 and "(30 %)" in ex.discard_plot.title
    ex.ratio_plot.click("paper: Llama-2-7B", 1)
    assert ex.slicing.value == 10
    ex.discard_plot.click("attention → MLP", 1)  # block 1 (its output writes all D dimensions: not on the chart)
    assert ex.block.value == 1 and ex.spectrum_plot.title.startswith("block 1:")
    assert [s["label"] for s in ex.spectrum_plot.series] == ["attention → MLP", "output"]
    ex.slicing.value, ex.block.value = 25, 0
    assert ex.job.error == ""


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
    assert "dl-stale" not in ex.tabs._dom_classes
    for setup, message in BAD_INPUTS:
        old = {k: getattr(ex, k).value for k in setup}
        try:
            for k, v in setup.items():
                getattr(ex, k).value = v
            ex.start()
            assert message in ex.job.error, (setup, ex.job.error)
            assert ex.run is kept and ex.job.state == "error"
            assert "dl-stale" in ex.tabs._dom_classes and "last run" in ex.stale_note.value  # the views no longer match
        finally:
            for k, v in old.items():
                getattr(ex, k).value = v
    ex.start()  # and the widget still works (the same settings as before: from the shared result cache)
    assert ex.job.state == "finished" and ex.job.error == "" and ex.run is not kept and ex.run == kept
    assert "dl-stale" not in ex.tabs._dom_classes and ex.stale_note.value == ""
    assert ex.exploration.source == "cache" and ex.exploration.sliced is None and "shared result cache" in ex.caption.value
    assert len(ex.live_points) == len({(p["level"], p["orientation"]) for p in ex.live_points})  # no second point for it


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
    ex.start()  # read from the shared cache: no models in memory, generation slices the model again first
    assert ex.exploration.source == "cache" and ex.exploration.sliced is None
    ex.prompt.value = "The minister said"
    ex.start_generation()
    assert ex.gen_job.state == "finished" and "The minister said" in ex.gen_dense.value and "The minister said" in ex.gen_sliced.value
    assert ex.exploration.sliced is not None and ex.gen_job.runner.current.heavy  # the rebuilt models stay
    first = ex.gen_sliced.value
    ex.start_generation()  # the same prompt and length: the shared cache answers with the same text
    assert ex.gen_sliced.value == first
    ex.new_tokens.value = 0
    ex.start_generation()
    assert "Generation length must be a whole number of tokens from 1 to 200 (got 0)" in ex.gen_job.error
    assert ex.gen_sliced.value == ""  # the old continuation is cleared: it answered other settings
    ex.new_tokens.value = 40
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
    assert "shipped run" in ex.caption.value and len(ex.spectrum_plot.figure.data) == 3 and len(ex.discard_plot.series[0]["x"]) == 29
    assert ex.block.max == ex.run["n_blocks"] - 1


def test_the_default_settings_are_served_by_the_shipped_run():
    """Slice with the dashboard's defaults returns the shipped run at once: no model is loaded, no heavy queue."""
    from deletionlab.slicegpt import DEFAULT_MODEL
    from deletionlab.slicegpt.explore import Settings, cached_explore, default_run, is_ready
    from deletionlab.slicegpt.models import ModelChoice

    shipped = [ModelChoice(DEFAULT_MODEL, "SmolLM2 (shipped)", "shipped")]
    assert is_ready(Settings(), shipped) and not is_ready(Settings(slicing=26.0, seed=12345), shipped)
    ex = cached_explore(Settings(), models=shipped)
    assert ex.source == "shipped" and ex.sliced is None and ex.data == default_run()


def test_results_view_computes_rows():
    res = load_results()
    if res is None:
        pytest.fail("results.json is missing: run scripts/slicegpt_experiment.py")
    view = SliceGPTResultsView(res)
    assert len(view.rows) >= 6 and all(r.verdict for r in view.rows)
    assert [d.name for d in view.plot.figure.data if d.hoverinfo != "skip"] == ["PCA, bbc", "PCA, docstrings"]
    cal = view.calibration_plot.figure
    assert cal.layout.xaxis.type == "log" and "%{y:.2f} ×" in cal.data[1].hovertemplate and "± 2 s.e." in cal.data[1].text[0]


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
