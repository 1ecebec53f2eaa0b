"""UnlearningExplorer: runs, draws, and survives bad input without losing its results."""

import numpy as np
import pytest

from deletionlab.widgets.unlearning import UnlearningExplorer, UnlearningResultsView


def small(ex: UnlearningExplorer) -> UnlearningExplorer:
    ex.releases.value, ex.per_release.value, ex.shadows.value = "3", "4", 8
    ex.k_learn.value = "100"
    return ex


@pytest.fixture(scope="module")
def explorer():
    ex = small(UnlearningExplorer(sync=True))
    ex.start()
    assert ex.job.state == "finished", ex.job.error
    return ex


def test_run_fills_every_view(explorer):
    ex = explorer
    res = ex.result
    assert set(res.runs) == {"retrain", "sisa", "caching", "noisy_gd"}
    assert ex.timeline_auc.value[:4] == b"\x89PNG" and ex.roc.value[:4] == b"\x89PNG"
    labels = [s["label"] for s in ex.timeline_auc.series]
    assert labels == [r.label for r in res.runs.values()]
    assert all(len(s["x"]) == 3 for s in ex.timeline_auc.series)
    assert "cost/release" in ex.summary.value
    assert len(ex.deleted_list.options) == 12
    rid = ex.deleted_list.options[5][1]
    ex.deleted_list.value = rid
    assert f"record {rid}" in ex.record_view.value and "<img" in ex.record_view.value
    from deletionlab.unlearning.data import load

    assert f"class {'38'[int(load('digits_3v8').y[rid])]}" in ex.record_view.value
    # the timeline is the result's own, not recomputed
    assert [s["y"] for s in ex.timeline_auc.series] == [ys for _, ys in res.timeline("single_online").values()]


def test_switching_attack_redraws(explorer):
    before = [list(s["y"]) for s in explorer.timeline_auc.series]
    explorer.attack.value = "members_online"
    after = [list(s["y"]) for s in explorer.timeline_auc.series]
    assert before != after
    explorer.attack.value = "single_online"


@pytest.mark.parametrize("field,value,message", [
    ("releases", "0", "Zero releases"),
    ("releases", "ten", "must be a number"),
    ("sigma", "-1", "cannot be negative"),
    ("eta", "50", "diverge"),
    ("per_release", "500", "holds only"),
])
def test_bad_input_keeps_the_last_result(explorer, field, value, message):
    ex = explorer
    kept = ex.result
    old = getattr(ex, field).value
    getattr(ex, field).value = value
    try:
        ex.start()
        assert message in ex.job.error
        assert ex.result is kept
    finally:
        getattr(ex, field).value = old


def test_no_learner_ticked(explorer):
    for b in explorer.learner_boxes.values():
        b.value = False
    explorer.start()
    assert "at least one learner" in explorer.job.error
    for b in explorer.learner_boxes.values():
        b.value = True


def test_sigma_zero_is_explained():
    ex = small(UnlearningExplorer(sync=True))
    for k, b in ex.learner_boxes.items():
        b.value = k == "noisy_gd"
    ex.sigma.value = "0"
    ex.start()
    assert ex.job.state == "finished"
    assert "σ = 0" in ex.notice.value
    ex.start_accounting()
    assert "σ = 0" in ex.account_job.error


def test_accounting_tab(explorer):
    explorer.k_unlearn.value = "10"
    explorer.start_accounting()
    assert explorer.account_job.state == "finished", explorer.account_job.error
    assert explorer.account_plot.value[:4] == b"\x89PNG"
    assert "exact divergence" in explorer.account_text.value
    ys = explorer.account_plot.series[0]["y"]
    assert np.all(np.diff(ys) < 0)
    # the bound after the 3rd request (releases = 3) lies above the first request's
    first, third = explorer.account_plot.series[1]["y"], explorer.account_plot.series[2]["y"]
    assert explorer.account_plot.series[2]["label"] == "bound, request 3"
    assert np.all(np.array(third) > np.array(first))


def test_results_view_computes_rows():
    from deletionlab.unlearning.experiment import ExperimentConfig, run_experiment

    results = run_experiment(ExperimentConfig.small())  # 2 seeds, requesters random and confident, σ 0.02 and 0.3
    view = UnlearningResultsView(results)
    claims = " ".join(r.claim for r in view.rows)
    for part in ("caching unlearner leaks", "accumulates", "Noisy-GD keeps", "privacy of the remaining records", "cost"):
        assert part in claims
    assert all(r.verdict for r in view.rows)
    assert "Source: a live run" in view.children[0].value and "2 seeds" in view.children[0].value
    assert view.children[-1].value.count("<tr>") == 1 + 2 * 4  # header + requesters × learners
    imgs = [w for box in view.children[1:-1] for w in box.children]
    assert len(imgs) == 2 * 2 + 2 and all(i.value[:4] == b"\x89PNG" for i in imgs)


def test_committed_results_view_names_its_script():
    from deletionlab.unlearning.report import load_results

    results = load_results()
    view = UnlearningResultsView(results)
    assert "Source: python scripts/unlearning_experiment.py" in view.children[0].value
    assert view.children[0].value.count("<tr>") == 1 + len(view.rows) and len(view.rows) >= 6


def test_mlp_model_choice_runs_and_is_flagged():
    ex = small(UnlearningExplorer(sync=True))
    ex.model.value = "mlp"
    for k, b in ex.learner_boxes.items():
        b.value = k == "retrain"
    ex.releases.value = "1"
    ex.start()
    assert ex.job.state == "finished", ex.job.error
    assert ex.result.config["model"] == "mlp"
    assert "not convex" in ex.notice.value
