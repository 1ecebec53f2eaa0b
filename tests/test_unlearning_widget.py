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
    assert "certified ε" in ex.summary.value and "vacuous" in ex.summary.value  # Noisy-GD's, at the defaults
    assert "AUC linked targets" in ex.summary.value and "AUC difference" in ex.summary.value
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
    ("releases", "0", "Releases must be a whole number from 1 to 50"),
    ("releases", "ten", "must be a number"),
    ("sigma", "-1", "Noise σ must be 0 (no noise) or a number from 0.0001 to 1"),
    ("eta", "50", "would diverge"),
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


FIELDS = {"releases": "Releases", "per_release": "Deletions per release", "seed": "Seed", "sigma": "Noise σ",
          "lam": "Regularisation λ", "eta": "Step size η", "k_learn": "Learning steps K_A", "k_unlearn": "Unlearning steps K_U",
          "shards": "SISA shards", "slices": "SISA slices"}
VALID = {("seed", "0"), ("sigma", "0"), ("k_unlearn", "0")}


@pytest.mark.parametrize("field", list(FIELDS))
def test_every_numeric_field_refuses_odd_numbers_with_its_name_and_range(field):
    """−1, 0, 1e308, 2⁶⁴, nan and inf in every number box: a sentence naming the field and its range
    (never "Something went wrong"), or a run when the value is allowed; the widget works afterwards."""
    ex = UnlearningExplorer(sync=True)
    started = []
    ex.job.run = lambda fn, cfg, **kw: started.append(cfg)  # record instead of running
    for value in ("-1", "0", "1e308", str(2 ** 64), "nan", "inf"):
        getattr(ex, field).value = value
        ex.start()
        if (field, value) in VALID:
            assert not ex.job.error and started, (field, value)
            continue
        msg = ex.job.error
        assert msg.startswith(FIELDS[field]) and "must be" in msg and "Something went wrong" not in msg, (field, value, msg)
        assert len(msg) < 300 and msg.count(". ") == 0, msg  # one sentence, no 309-digit number
    getattr(ex, field).value = {"eta": ""}.get(field, str(getattr(UnlearningExplorer(sync=True), field).value))
    n = len(started)
    ex.start()
    assert not ex.job.error and len(started) == n + 1


@pytest.mark.parametrize("field,value,message", [
    ("eta", "-1", "Step size η must be a number above 0"),
    ("eta", "0", "Step size η must be a number above 0"),
    ("k_unlearn", "-1", "Unlearning steps K_U must be a whole number from 0"),
    ("lam", "1e308", "Regularisation λ must be a number from 0.0001 to 10"),
    ("lam", "0", "Regularisation λ must be a number from 0.0001 to 10"),
    ("sigma", "1e-300", "Noise σ must be 0 (no noise) or a number from 0.0001 to 1"),
    ("sigma", "1e308", "Noise σ must be 0 (no noise) or a number from 0.0001 to 1"),
])
def test_accounting_tab_uses_the_runs_checks(field, value, message):
    ex = UnlearningExplorer(sync=True)
    getattr(ex, field).value = value
    ex.start_accounting()
    assert message in ex.account_job.error and "Something went wrong" not in ex.account_job.error


def test_menus_offer_the_linked_requester_and_the_difference_attack(explorer):
    assert "linked" in [v for _, v in explorer.requester.options]
    explorer.attack.value = "difference"
    assert explorer.timeline_auc.title.endswith("largest drop between consecutive releases")
    explorer.attack.value = "single_online"
