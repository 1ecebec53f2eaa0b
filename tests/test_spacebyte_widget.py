"""SpaceByteExplorer: patches, FLOPs, the tournament chart, retraining, loss map and completion; interactive charts
with hover text, log axes, one colour per architecture and click-to-select; heavy jobs queued with one thread and
read from the shared result cache; the widget shows "computing…" at once while its default run is in the background."""

import math
import threading

import pytest
import torch

from deletionlab.core.cache import is_cached
from deletionlab.spacebyte.checkpoints import save_model
from deletionlab.spacebyte.explore import loss_key
from deletionlab.spacebyte.models import ARCHS, ModelConfig, build
from deletionlab.spacebyte.report import load_results
from deletionlab.widgets.plots import TAB10, InteractivePlot
from deletionlab.widgets.spacebyte import COLORS, TABS, SpaceByteExplorer, SpaceByteResultsView, sci

RETRAIN = dict(budget=1e10, seeds=1, archs=("spacebyte", "byte"), batch_bytes=1024, val_bytes=2048)
#: the tiny test models stand in for the shipped ones: the record ids of two committed tournament runs
SHIPPED = {"spacebyte": "prose-4e12-spacebyte-S-s0", "byte": "prose-4e12-byte-S-s0"}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True, scope="module")
def fresh_cache(tmp_path_factory):
    """An empty result cache and gate folder: the test really computes, and queues behind nobody."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    out = {}
    for arch in ("spacebyte", "byte"):
        m = build(ModelConfig(arch, d_model=32, n_layers=1, d_key=16, context=192 if arch == "byte" else 0), seed=0)
        out[arch] = save_model(m, root / arch, {"bpb": 8.0, "id": SHIPPED[arch]})
    return out


@pytest.fixture(scope="module")
def ex(models):
    e = SpaceByteExplorer(sync=True, models=models, retrain_defaults=RETRAIN)
    assert e.job.state == "finished", e.job.error
    return e


def test_default_text_is_patched_and_drawn(ex):
    assert ex.exploration.stats["patches"] > 20
    assert ex.patch_view.value.count("dl-gmark") == ex.exploration.stats["patches"]
    assert "mean patch" in ex.stats_view.value and "漢" in ex.patch_view.value


def test_switching_to_fixed_patches_and_a_small_t_global_redraw(ex):
    ex.rule.value = "fixed"
    ex.patch_size.value = 4
    assert ex.exploration.patches.rule == "fixed"
    assert ex.exploration.stats["patches"] == -(-(ex.exploration.stats["bytes"] + 1) // 4)
    ex.rule.value = "spacelike"
    ex.t_global.value = "5"
    assert ex.exploration.stats["bytes_past"] > 0 and "dl-past" in ex.patch_view.value
    ex.t_global.value = "64"


@pytest.mark.parametrize("field,value,message", [
    ("text", "", "text is empty"),
    ("text", "x" * 250_000, "the limit is 200,000 bytes"),
    ("text", "broken \ud800 paste", "not valid Unicode"),
    ("t_global", "lots", "T_global must be a whole number from 1 to 100,000"),
    ("t_global", "0", "T_global must be a whole number from 1"),
])
def test_bad_text_input_gives_a_sentence_clears_the_view_and_the_widget_recovers(ex, field, value, message):
    old = getattr(ex, field).value
    getattr(ex, field).value = value
    assert message in ex.job.error
    assert ex.exploration is None and "fix the input" in ex.patch_view.value and ex.stats_view.value == ""
    assert "done" not in ex.job.status.value  # the bar no longer reports the old result
    getattr(ex, field).value = old
    assert ex.job.error == "" and ex.exploration is not None and "dl-gmark" in ex.patch_view.value


def test_flops_calculator_draws_curves_against_t_and_a_click_sets_t(ex):
    assert set(ex.flops) == set(ARCHS)
    plot = ex.flops_plot
    assert isinstance(plot, InteractivePlot) and plot.figure.layout.xaxis.type == "log" and plot.figure.layout.yaxis.type == "log"
    assert [s["label"] for s in plot.series] == [ARCHS[a] for a in ARCHS]
    byte = next(s for s in plot.series if s["label"] == ARCHS["byte"])
    assert byte["y"] == sorted(byte["y"]) and byte["y"][-1] > 2 * byte["y"][0]  # attention grows with T
    before = ex.flops["byte"]["inference"]
    plot.click(ARCHS["byte"], byte["x"].index(2048))
    assert ex.f_t.value == 2048 and ex.flops["byte"]["inference"] < before
    assert plot.references["vlines"][0][0] == 2048
    assert "attention" in ex.flops_view.value and ex.flops_view.value.count("dl-swatch") == len(ARCHS)
    ex.f_vocab.value = "lots"
    assert "subword V must be a whole number from 256 to 300,000" in ex.flops_job.error and ex.flops is None
    assert "fix the input" in ex.flops_view.value and plot.series == [] and plot.references["note"]
    ex.f_vocab.value = "50257"
    assert ex.flops is not None and ex.flops_job.error == "" and len(plot.series) == len(ARCHS)


def test_tournament_chart_hover_names_the_run_with_units_on_a_log_axis(ex):
    fig = ex.t_plot.figure
    assert fig.layout.xaxis.type == "log"
    runs = [s for s in ex.t_plot.series if s["kind"] == "runs"]
    fronts = [s for s in ex.t_plot.series if s["kind"] == "frontier"]
    assert len(runs) == len(fronts) == len(ARCHS)
    assert [d.showlegend for d in fig.data] == [s["kind"] == "frontier" for s in ex.t_plot.series]  # one legend entry each
    assert all(d.hovertemplate == "%{text}<extra></extra>" for d in fig.data)
    committed = {r["id"]: r for r in ex.results["runs"]}
    for s in runs:
        for rid, tip, x in zip(s["runs"], s["text"], s["x"]):
            r = committed[rid]
            assert tip.startswith(f"<b>{ARCHS[r['arch']]}</b>, size {r['size']} ") and f"seed {r['seed']}<br>" in tip
            assert f"{r['bpb']:.3f} bits per byte" in tip and f"{sci(r['flops'], 4)} training FLOPs" in tip
            assert abs(math.log10(x / r["budget"])) < 0.15  # drawn next to its budget
        assert ("shipped: click for its loss map" in " ".join(s["text"])) == (s["label"] in (ARCHS[a] for a in SHIPPED))
    assert list(fig.layout.xaxis.ticktext) == ["10¹²", "4×10¹²"]


def test_one_colour_per_architecture_in_every_chart(ex):
    ex.start_retrain()
    assert ex.train_job.state == "finished", ex.train_job.error
    for plot in (ex.t_plot, ex.flops_plot, ex.t_curves, ex.r_plot):
        for trace in plot.figure.data:
            arch = next(a for a, name in ARCHS.items() if name == trace.name)
            assert trace.line.color == TAB10[COLORS[arch]], (plot.title, trace.name)


def test_a_click_on_a_run_draws_its_curves_and_a_shipped_model_opens_its_loss_map(ex):
    ex.tabs.selected_index = 2
    runs = next(s for s in ex.t_plot.series if s["kind"] == "runs" and s["label"] == ARCHS["megabyte"])
    ex.t_plot.click(ARCHS["megabyte"], 0)  # MegaByte is not shipped in this test
    run = ex.selected_run
    assert run["id"] == runs["runs"][0] and ex.tabs.selected_index == 2
    assert "Not shipped" in ex.t_detail.value and f"{run['bpb']:.3f}" in ex.t_detail.value
    peers = [r for r in ex.results["runs"] if (r["corpus"], r["budget"], r["size"], r["seed"]) ==
             (run["corpus"], run["budget"], run["size"], run["seed"])]
    assert len(ex.t_curves.series) == len(peers) and ex.t_curves.series[0]["label"] == ARCHS["megabyte"]
    assert ex.t_curves.series[0]["y"] == [b for _, b in run["curve"]] and ex.t_curves.layout.display is None
    sb = next(s for s in ex.t_plot.series if s["kind"] == "runs" and s["label"] == ARCHS["spacebyte"])
    ex.t_plot.click(ARCHS["spacebyte"], sb["runs"].index(SHIPPED["spacebyte"]))
    assert ex.tabs.selected_index == TABS.index("Loss map") and ex.l_arch.value == ex.c_arch.value == "spacebyte"
    assert ex.loss_job.state == "finished" and "The model you clicked: SpaceByte, size S, seed 0" in ex.l_view.value
    front = next(s for s in ex.t_plot.series if s["kind"] == "frontier" and s["label"] == ARCHS["byte"])
    ex._clicked(front["x"][0], front["y"][0], front["label"])  # a frontier point is a mean, not a run
    assert "frontier point" in ex.t_detail.value and ex.selected_run["id"] == SHIPPED["spacebyte"]
    ex.t_corpus.value = "code"
    assert ex.selected_run["corpus"] == "code" and all(s["x"][0] < 2e12 for s in ex.t_plot.series)
    assert all(r["corpus"] == "code" for r in ex.results["runs"] if r["id"] in {i for s in ex.t_plot.series for i in s.get("runs", [])})
    ex.t_corpus.value = "prose"


def test_retraining_runs_draws_its_loss_curves_and_refuses_budgets_too_small(ex):
    assert "2 runs: about" in ex.r_estimate.value
    ex.r_budget.value = "1e6"
    ex.start_retrain()
    assert "budget must be at least" in ex.train_job.error and ex.retrained is None and "fix the input" in ex.r_view.value
    for b in ex.r_archs.values():
        b.value = False
    ex.start_retrain()
    assert "at least one architecture" in ex.train_job.error
    for a, b in ex.r_archs.items():
        b.value = a in RETRAIN["archs"]
    ex.r_budget.value = "1e10"
    ex.start_retrain()
    assert ex.train_job.state == "finished", ex.train_job.error
    assert set(ex.retrained["frontier_mean"]["prose"]["1e+10"]) == {"spacebyte", "byte"}
    assert [s["label"] for s in ex.r_plot.series] == [ARCHS["spacebyte"], ARCHS["byte"]]
    assert ex.r_plot.series[0]["y"] == [b for _, b in ex.retrained["runs"][0]["curve"]]
    assert ex.r_plot.layout.display is None and "SpaceByte" in ex.r_view.value
    ex.start_retrain()  # the same retraining again: read, not trained, and the view says so
    assert not ex.train_job.runner.current.heavy and "Read from this machine's result cache" in ex.r_view.value


def test_heavy_jobs_run_queued_on_one_thread_and_a_cached_run_is_read_not_queued(models):
    e = SpaceByteExplorer(sync=True, autorun=False, models=models, retrain_defaults=RETRAIN)
    e.l_text.value = "A text nobody scored before."
    assert not is_cached("spacebyte", loss_key(e.l_text.value, models["spacebyte"]))
    e.start_loss()
    job = e.loss_job.runner.current
    assert job.heavy and job.threads == 1 and e.loss_job.state == "finished"
    first = e.lossmap
    e.start_loss()  # the same text and model: read from the machine's result cache
    assert not e.loss_job.runner.current.heavy and e.lossmap.bits.tolist() == first.bits.tolist()
    e.c_bytes.value = "8"
    e.start_complete()
    job = e.complete_job.runner.current
    assert job.heavy and job.threads == 1 and len(e.completion) == 8
    e.start_retrain()
    assert e.train_job.runner.current.threads == 1


def test_a_second_kernel_reads_the_default_loss_map_instead_of_computing_it(ex, models, monkeypatch):
    import deletionlab.spacebyte.explore as sx

    def boom(*args, **kwargs):
        raise AssertionError("recomputed a cached loss map")

    monkeypatch.setattr(sx, "loss_map", boom)
    e = SpaceByteExplorer(sync=True, models=models, retrain_defaults=RETRAIN)
    assert e.loss_job.state == "finished" and e.lossmap is not None and not e.loss_job.runner.current.heavy


def test_the_widget_shows_at_once_with_computing_while_the_default_runs(models, monkeypatch):
    import deletionlab.widgets.spacebyte as ui

    release = threading.Event()
    real = ui.shared_loss_map

    def slow(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(ui, "shared_loss_map", slow)
    e = SpaceByteExplorer(sync=False, models=models, retrain_defaults=RETRAIN)
    assert "computing…" in e.l_view.value and e.lossmap is None and e.loss_job.runner.busy
    assert e.t_plot.figure.data and e.flops is not None  # the committed results and the formula are drawn already
    release.set()
    assert e.loss_job.wait(30) and e.job.wait(30)
    assert e.lossmap is not None and "bits per byte over" in e.l_view.value and e.exploration is not None


def test_loss_map_and_completion_with_a_given_model(ex):
    ex.l_arch.value = "spacebyte"
    ex.start_loss()
    assert ex.loss_job.state == "finished", ex.loss_job.error
    lm = ex.lossmap
    assert len(lm.bits) == len(ex.l_text.value.encode()) and "bits per byte" in ex.l_view.value
    assert lm.summary["first_byte_bits"] is not None
    ex.c_bytes.value = "12"
    ex.start_complete()
    assert ex.complete_job.state == "finished" and len(ex.completion) == 12
    ex.c_temp.value = "9"
    ex.start_complete()
    assert "temperature must be a number from 0 to 2" in ex.complete_job.error
    assert ex.completion is None and "fix the input" in ex.c_view.value
    ex.c_temp.value = "0.7"


def test_results_view_of_a_retraining_and_of_the_committed_results(ex):
    view = SpaceByteResultsView(ex.retrained)
    assert view.rows and isinstance(view.plots[0], InteractivePlot) and view.plots[0].figure.data
    committed = load_results()
    assert committed is not None, "run scripts/spacebyte_experiment.py"
    view = SpaceByteResultsView(committed)
    assert len(view.rows) >= 8 and len(view.plots) == 2
    assert any("MegaByte" in r.claim for r in view.rows)
    png = view.diffs.value
    assert png[:4] == b"\x89PNG" and view.diffs.layout.width == "900px" and int.from_bytes(png[16:20], "big") == 1800  # 2× pixels
    s = next(s for s in view.plots[0].series if s["kind"] == "runs")
    view.plots[0].click(s["label"], 0)
    assert f"{committed['runs'][0]['bpb']:.3f}" in view.detail.value
