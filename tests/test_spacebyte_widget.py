"""SpaceByteExplorer: patches, FLOPs, retraining, loss map and completion; bad input gives a sentence."""

import pytest
import torch

from deletionlab.spacebyte.checkpoints import save_model
from deletionlab.spacebyte.models import ModelConfig, build
from deletionlab.spacebyte.report import load_results
from deletionlab.widgets.spacebyte import SpaceByteExplorer, SpaceByteResultsView

RETRAIN = dict(budget=1e10, seeds=1, archs=("spacebyte", "byte"), batch_bytes=1024, val_bytes=2048)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True, scope="module")
def fresh_cache(tmp_path_factory):
    """Retraining keeps finished runs in the cache folder: use an empty one so the test really trains."""
    import os

    old = os.environ.get("DELETIONLAB_CACHE")
    os.environ["DELETIONLAB_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("DELETIONLAB_CACHE")
    else:
        os.environ["DELETIONLAB_CACHE"] = old


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    out = {}
    for arch in ("spacebyte", "byte"):
        m = build(ModelConfig(arch, d_model=32, n_layers=1, d_key=16, context=192 if arch == "byte" else 0), seed=0)
        out[arch] = save_model(m, root / arch, {"bpb": 8.0})
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
    ("t_global", "lots", "T_global must be a number"),
    ("t_global", "0", "T_global must be a whole number from 1"),
])
def test_bad_text_input_gives_a_sentence_and_the_widget_recovers(ex, field, value, message):
    old = getattr(ex, field).value
    getattr(ex, field).value = value
    assert message in ex.job.error
    assert ex.patch_view.value == "" or field == "t_global"
    getattr(ex, field).value = old
    assert ex.job.error == "" and ex.exploration is not None and ex.patch_view.value


def test_flops_calculator_updates_and_rejects_bad_numbers(ex):
    assert set(ex.flops) == {"spacebyte", "spacebyte_fixed", "megabyte", "byte", "byte_window", "subword"}
    before = ex.flops["byte"]["inference"]
    ex.f_t.value = 2048
    assert ex.flops["byte"]["inference"] < before
    assert ex.flops_plot.value[:4] == b"\x89PNG"
    ex.f_vocab.value = "lots"
    assert "subword V must be a number" in ex.flops_job.error and ex.flops is None
    ex.f_vocab.value = "50257"
    assert ex.flops is not None and ex.flops_job.error == ""


def test_retraining_runs_and_refuses_budgets_too_small(ex):
    ex.r_budget.value = "1e6"
    ex.start_retrain()
    assert "budget must be at least" in ex.train_job.error
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
    assert ex.r_plot.value[:4] == b"\x89PNG" and "SpaceByte" in ex.r_view.value


def test_retraining_in_the_background_cancels_within_a_second(models):
    import time

    e = SpaceByteExplorer(sync=False, autorun=False, models=models, retrain_defaults=RETRAIN)
    e.r_budget.value = "1e13"
    e.start_retrain()
    deadline = time.time() + 60
    while "steps" not in e.train_job.status.value and "/" not in e.train_job.status.value and time.time() < deadline:
        time.sleep(0.05)
    assert e.train_job.state == "running"
    t = time.time()
    e.train_job.cancel()
    assert e.train_job.wait(5)
    assert time.time() - t < 1.0 and e.train_job.state == "cancelled"


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
    ex.c_temp.value = "0.7"


def test_results_view_of_a_retraining_and_of_the_committed_results(ex):
    view = SpaceByteResultsView(ex.retrained)
    assert view.rows and view.plots[0].value[:4] == b"\x89PNG"
    committed = load_results()
    assert committed is not None, "run scripts/spacebyte_experiment.py"
    view = SpaceByteResultsView(committed)
    assert len(view.rows) >= 8
    assert any("MegaByte" in r.claim for r in view.rows)
