"""UnlearningExplorer and UnlearningResultsView: runs, draws with uncertainty bands, explains, exports,
and keeps (visibly stale) or clears its views after bad input."""

import csv
import io
import math

import numpy as np
import pytest

from deletionlab.unlearning.attack import Scores
from deletionlab.unlearning.dashboard import BOOTSTRAP_SEED_OFFSET, bands, is_shared, record_weights, roc_at, weighted_auc, weighted_tpr
from deletionlab.widgets.unlearning import UnlearningExplorer, UnlearningResultsView


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """This module's own result cache and heavy-job gate (nothing of other work on the machine)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.mktemp("unlearning-cache")))
        mp.setattr("deletionlab.core.gate._machine_gate", None)
        yield


def small(ex: UnlearningExplorer) -> UnlearningExplorer:
    ex.releases.value, ex.per_release.value, ex.shadows.value, ex.k_learn.value = 3, 4, 8, 100
    return ex


@pytest.fixture(scope="module")
def explorer():
    ex = small(UnlearningExplorer(sync=True))
    ex.start()
    assert ex.job.state == "finished", ex.job.error
    return ex


def traces(plot, band: bool = False):
    return [d for d in plot.figure.data if (d.fill == "toself") == band]


def test_run_fills_every_view(explorer):
    ex, res = explorer, explorer.result
    assert set(res.runs) == {"retrain", "sisa", "caching", "noisy_gd"}
    labels = [r.label for r in res.runs.values()]
    assert [d.name for d in traces(ex.timeline_auc)] == labels
    assert [list(d.y) for d in traces(ex.timeline_auc)] == [ys for _, ys in res.timeline("single_online").values()]
    assert all(len(d.x) == 3 for d in traces(ex.timeline_auc))
    assert "certified ε" in ex.summary.value and "vacuous" in ex.summary.value  # Noisy-GD's, at the defaults
    assert "AUC on linked targets" in ex.summary.value and "record-passes per release" in ex.summary.value
    assert len(traces(ex.acc_plot)) == 4 and len(traces(ex.cost_plot)) == 4 and len(traces(ex.roc)) == 5   # + chance
    assert len(ex.deleted_list.options) == 12
    rid = ex.deleted_list.options[5][1]
    ex.deleted_list.value = rid
    from deletionlab.unlearning.data import load

    assert f"record {rid}" in ex.record_view.value and "<img" in ex.record_view.value
    assert f"class {'38'[int(load('digits_3v8').y[rid])]}" in ex.record_view.value
    assert ex.stale_note.value == "" and "dl-stale" not in ex.tabs._dom_classes


def test_timeline_bands_are_paired_bootstraps_over_records(explorer):
    """Issue 16: one run shows its uncertainty. The band of every learner and release is the 95 %
    percentile interval of AUCs recomputed under Poisson weights per record, checked here against
    scikit-learn's weighted AUC on the same draws; bands have width (never an s.e. of 0)."""
    from sklearn.metrics import roc_auc_score

    ex, res = explorer, explorer.result
    band_traces = traces(ex.timeline_auc, band=True)
    assert len(band_traces) == 4 and all(d.hoverinfo == "skip" for d in band_traces)
    n = res.n_members + res.n_outsiders
    w = record_weights(n, ex.bands.resamples, np.random.default_rng(res.config["seed"] + BOOTSTRAP_SEED_OFFSET))
    sc = res.runs["caching"].scores[2]["single_online"]
    by_hand = []
    for row in w[:60]:
        y = np.r_[np.ones(len(sc.pos)), np.zeros(len(sc.neg))]
        wt = np.r_[row[sc.pos_ids], row[sc.neg_ids]]
        by_hand.append(roc_auc_score(y, np.r_[sc.pos, sc.neg], sample_weight=wt) if wt[: len(sc.pos)].sum() > 0 else np.nan)
    assert np.allclose(weighted_auc(sc, w[:60]), by_hand, equal_nan=True)
    for key in res.runs:
        lo, hi = ex.bands.auc["single_online"][key]
        ys = res.timeline("single_online")[key][1]
        assert all(0 <= a < c <= 1 for a, c in zip(lo, hi)), (key, lo, hi)
        assert sum(a <= y <= c for a, y, c in zip(lo, ys, hi)) >= 2
    assert "bootstrap 95 %" in traces(ex.timeline_auc)[0].text[0]


def _run_with(runs_scores: dict, n: int = 60):
    """A stand-in run: learners with given single_online scores at release 1 (the minimal Result the bands read)."""
    from deletionlab.unlearning.attack import LearnerRun, metrics
    from deletionlab.unlearning.explore import Result

    runs = {}
    for key, sc in runs_scores.items():
        m = metrics(sc.pos, sc.neg)
        rel = {"t": 1, "accuracy": 0.9, "cost": 1.0, "n_present": 10, "attacks": {"single_online": m.to_json()}}
        runs[key] = LearnerRun(key, key, [{"t": 0, "accuracy": 0.9, "cost": 1.0, "attacks": {}}, rel], {}, [], None,
                               [{}, {"single_online": sc}])
    return Result({"seed": 0}, "toy", n // 2, n // 2, runs, 0.0)


def test_paired_differences_move_with_the_data():
    """Two learners with the same scores differ by exactly 0 in every resample (paired), although each
    has a wide band; a learner whose deleted records score far higher is beyond the noise."""
    rng = np.random.default_rng(1)
    pos_ids, neg_ids = np.arange(10), np.arange(30, 60)
    same = Scores(pos_ids, rng.normal(0, 1, 10), neg_ids, rng.normal(0, 1, 30))
    leaky = Scores(pos_ids, same.pos + 5.0, neg_ids, same.neg)
    b = bands(_run_with({"retrain": same, "copy": same, "leaky": leaky}), attacks=("single_online",))
    lo, hi = b.auc["single_online"]["copy"]
    assert hi[0] - lo[0] > 0.2
    d = {x.learner: x for x in b.differences["single_online"]}
    assert d["copy"].diff == 0 and d["copy"].lo == 0 and d["copy"].hi == 0 and d["copy"].within_noise
    assert d["leaky"].diff > 0.3 and d["leaky"].lo > 0 and not d["leaky"].within_noise


def test_weighted_tpr_and_roc_agree_with_the_runs_own_numbers(explorer):
    res = explorer.result
    ones = np.ones((1, res.n_members + res.n_outsiders))
    for run_ in res.runs.values():
        for t in (1, 3):
            sc = run_.scores[t]["average_online"]
            m = run_.releases[t]["attacks"]["average_online"]
            assert weighted_auc(sc, ones)[0] == pytest.approx(m["auc"])
            assert weighted_tpr(sc, ones, 0.01)[0] == pytest.approx(m["tpr"]["0.01"])
        fpr, tpr = roc_at(run_.scores[3]["single_online"])      # the last release: the run kept its curve
        assert np.allclose(fpr, run_.roc["single_online"]["fpr"]) and np.allclose(tpr, run_.roc["single_online"]["tpr"])


def test_clicking_a_release_shows_its_roc(explorer):
    ex = explorer
    assert ex.roc_release.value == 3 and "release 3" in ex.roc.title
    ex.timeline_auc.click("Noisy-GD", 0)                         # release 1
    assert ex.roc_release.value == 1 and ex.roc.title.startswith("ROC at release 1")
    sc = ex.result.runs["noisy_gd"].scores[1]["single_online"]
    f, t = roc_at(sc)
    ok = (f > 0) & (t > 0)
    shown = next(d for d in ex.roc.figure.data if d.name == "Noisy-GD")
    assert list(shown.x) == f[ok].tolist() and list(shown.y) == t[ok].tolist()
    assert ex.roc.figure.layout.xaxis.type == "log" and ex.roc.figure.layout.yaxis.type == "log"
    ex.timeline_auc.click("Noisy-GD", 2)
    assert ex.roc_release.value == 3


def test_switching_attack_redraws_everything_and_explains_it(explorer):
    ex = explorer
    before = [list(d.y) for d in traces(ex.timeline_auc)]
    ex.attack.value = "matched_online"
    assert [list(d.y) for d in traces(ex.timeline_auc)] != before
    assert "matched never-members" in ex.timeline_auc.title and "matched never-members" in ex.roc.title
    assert "same rule" in ex.attack_help.value and "AUC: one release vs matched never-members" in ex.summary.value
    ex.attack.value = "difference"
    assert "compares consecutive releases" in ex.attack_help.value
    ex.attack.value = "single_online"
    assert [list(d.y) for d in traces(ex.timeline_auc)] == before


def test_utility_vs_privacy_shows_intervals_and_says_what_is_noise(explorer):
    ex = explorer
    dots = [d for d in ex.tradeoff.figure.data if d.mode == "markers"]
    assert len(dots) == 4
    bars = [d for d in ex.tradeoff.figure.data if d.mode == "lines"]
    across = [d for d in bars if d.y[0] == d.y[1]]
    up = [d for d in bars if d.x[0] == d.x[1]]
    assert len(across) == 4 and all(d.x[1] > d.x[0] for d in across)            # AUC: bootstrap
    assert len(up) == 4 and all(d.y[0] < dot.y[0] <= d.y[1] <= 1 for d, dot in zip(up, dots))   # accuracy: Wilson, within [0, 1]
    text = ex.tradeoff_text.value
    for d in ex.bands.differences["single_online"]:
        word = "within" if d.within_noise else "beyond"
        assert f"{d.diff:+.3f}" in text and f"{word} the record-sampling noise" in text
    assert "8 seeds" in text


def test_cost_view_explains_newton_against_k_u(explorer):
    ex, res = explorer, explorer.result
    text = ex.cost_text.value
    assert "Newton" in text and "K_U = 25" in text and "record-pass" in text
    retrain = res.runs["retrain"]
    mean = np.mean([r["cost"] for r in retrain.releases[1:]])
    passes = mean / np.mean([r["n_present"] for r in retrain.releases[1:]])
    assert f"{mean:,.0f} record-passes per release ≈ {passes:.1f} passes" in text
    noisy = res.runs["noisy_gd"]
    assert np.mean([r["cost"] for r in noisy.releases[1:]]) > mean       # the numbers the text explains


def test_downloads_are_csv_of_the_shown_numbers(explorer):
    import base64
    import re

    ex, res = explorer, explorer.result

    def link_rows():
        data = re.search(r"base64,([A-Za-z0-9+/=]+)", ex.download_links.value).group(1)
        return list(csv.DictReader(io.StringIO(base64.b64decode(data).decode())))

    ex.offer_csv()
    rows = link_rows()
    assert len(rows) == 4 * (1 + 3 * 6)
    row = next(r for r in rows if r["learner"] == "Noisy-GD" and r["release"] == "2" and r["attack"] == "average_online")
    assert float(row["auc"]) == pytest.approx(res.runs["noisy_gd"].releases[2]["attacks"]["average_online"]["auc"], abs=1e-5)
    assert float(row["auc_95%_lo"]) <= float(row["auc_95%_hi"])
    ex.roc_release.value = 2
    ex.offer_roc_csv()
    rows = link_rows()
    assert {r["release"] for r in rows} == {"2"} and {r["learner"] for r in rows} == {r.label for r in res.runs.values()}
    assert "unlearning-roc-release-2.csv" in ex.download_links.value


def test_inputs_are_bounded_with_units_and_full_labels(explorer):
    ex = explorer
    assert (ex.releases.min, ex.releases.max) == (1, 50) and (ex.k_unlearn.min, ex.k_unlearn.max) == (0, 20_000)
    assert "[records]" in ex.per_release.description and "[steps]" in ex.k_unlearn.description
    for w in (ex.dataset, ex.model, ex.requester, ex.shadows, ex.releases, ex.per_release, ex.seed, ex.sigma, ex.lam, ex.eta,
              ex.k_learn, ex.k_unlearn, ex.shards, ex.slices, ex.attack, ex.roc_release):
        assert w.style.description_width == "initial", w.description     # the label takes the room it needs
    assert all(len(label) > 12 for label, _ in ex.attack.options)           # no "average since deleti…"


def test_bad_input_marks_the_old_views_stale_and_a_good_run_clears_it(explorer):
    ex = explorer
    kept = ex.result
    ex.per_release.value = 500
    ex.start()
    assert "holds only" in ex.job.error and ex.result is kept
    assert "dl-stale" in ex.tabs._dom_classes and "previous run" in ex.stale_note.value
    ex.per_release.value = 4
    ex.start()
    assert ex.job.state == "finished" and "dl-stale" not in ex.tabs._dom_classes and ex.stale_note.value == ""
    ex.seed.value = 1                                                      # a change without Run: said, not dimmed
    assert "settings changed" in ex.stale_note.value.lower()
    ex.seed.value = 0
    ex.start()


def test_no_learner_ticked(explorer):
    for b in explorer.learner_boxes.values():
        b.value = False
    explorer.start()
    assert "at least one learner" in explorer.job.error
    for b in explorer.learner_boxes.values():
        b.value = True


def test_accounting_tab_computes_on_open_and_clears_on_error(explorer):
    ex = explorer
    ex.k_unlearn.value = 10
    ex.tabs.selected_index = 2                                             # opening the tab computes it
    assert ex.account_job.state == "finished", ex.account_job.error
    assert "exact divergence" in ex.account_text.value
    exact, first, third = (list(d.y) for d in ex.account_plot.figure.data)
    assert np.all(np.diff(exact) < 0)
    assert ex.account_plot.figure.data[2].name == "bound, request 3" and np.all(np.array(third) > np.array(first))
    ex.eta.value = "-1"
    ex.start_accounting()
    assert "Step size η must be a number above 0" in ex.account_job.error
    assert len(ex.account_plot.figure.data) == 0 and ex.account_text.value == ""
    assert "fix the input" in ex.account_plot.figure.layout.annotations[-1].text
    ex.eta.value, ex.k_unlearn.value = "", 25
    ex.tabs.selected_index = 0


def test_sigma_zero_is_explained():
    ex = small(UnlearningExplorer(sync=True))
    for k, b in ex.learner_boxes.items():
        b.value = k == "noisy_gd"
    ex.sigma.value = 0
    ex.start()
    assert ex.job.state == "finished"
    assert "σ = 0" in ex.notice.value and "no certificate" in ex.summary.value
    assert "Tick at least two learners" in ex.tradeoff_text.value
    ex.start_accounting()
    assert "σ = 0" in ex.account_job.error and len(ex.account_plot.figure.data) == 0


def test_open_shows_computing_then_the_shared_default_run_once():
    """The widget is there at once with "computing…"; the run goes through the shared cache, so a
    second visitor's identical run is read, not computed (and does not queue as a heavy job)."""
    ex = UnlearningExplorer(autorun=True, releases=2, per_release=4, shadows=8)
    assert ex.job.state in ("pending", "running")
    assert ex.timeline_auc.figure.layout.annotations[-1].text == "computing…"
    assert ex.job.wait(120) and ex.job.state == "finished", ex.job.error
    assert ex.job.runner.current.heavy and is_shared(ex.config())
    other = UnlearningExplorer(sync=True, releases=2, per_release=4, shadows=8)
    other.start()
    assert not other.job.runner.current.heavy
    assert other.result.runs["noisy_gd"].releases == ex.result.runs["noisy_gd"].releases


def test_mlp_model_choice_runs_and_is_flagged():
    ex = small(UnlearningExplorer(sync=True))
    ex.model.value = "mlp"
    for k, b in ex.learner_boxes.items():
        b.value = k == "retrain"
    ex.releases.value = 1
    ex.start()
    assert ex.job.state == "finished", ex.job.error
    assert ex.result.config["model"] == "mlp" and "not convex" in ex.notice.value
    assert "accelerated gradient steps" in ex.cost_text.value


def test_committed_results_view_draws_bands_from_the_seeds():
    from deletionlab.unlearning.report import load_results

    results = load_results()
    view = UnlearningResultsView(results)
    head = view.children[0].value
    assert "Source: python scripts/unlearning_experiment.py" in head
    assert head.count("<tr>") == 1 + len(view.rows) and len(view.rows) >= 6
    e = results["requesters"]["random"]["caching"]["single_online_auc"]
    band = next(d for d in view.timeline.figure.data if d.fill == "toself" and d.name.startswith("caching"))
    hi = [m + 2 * s / math.sqrt(e["n"]) for m, s in zip(e["mean"], e["std"])]
    assert list(band.y[: len(hi)]) == pytest.approx(hi)                   # upper edge: mean + 2 s.e. over 8 seeds
    before = [list(d.y) for d in view.timeline.figure.data]
    view.requester.value = "misclassified"
    view.attack.value = "matched_online_auc"
    assert [list(d.y) for d in view.timeline.figure.data] != before and "matched" in view.timeline.title
    view.csv_button.click()
    assert "unlearning-results.csv" in view.csv_link.value


def test_menus_offer_the_linked_requester_and_explain_it(explorer):
    assert "linked" in [v for _, v in explorer.requester.options]
    explorer.requester.value = "linked"
    assert "messenger" in explorer.requester_help.value
    explorer.requester.value = "random"
