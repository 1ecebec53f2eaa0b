"""The measurement: seeds on a dask cluster, aggregation, accumulation over later releases, the new keys, cancel."""

import numpy as np
import pytest

from deletionlab.unlearning.experiment import ExperimentConfig, accumulation, aggregate, run_experiment, sweep_seeds
from deletionlab.unlearning.explore import Config
from deletionlab.unlearning.report import load_results


def test_dask_localcluster_seed_sweep():
    distributed = pytest.importorskip("distributed")
    cfg = Config(releases=2, per_release=3, shadows=8, learners=("retrain",))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        out = sweep_seeds(cfg, [0, 1], client=client)
    local = sweep_seeds(cfg, [0, 1], backend="threads", max_workers=1)
    assert len(out) == 2
    np.testing.assert_allclose(out[1]["retrain"]["single_online_auc"], local[1]["retrain"]["single_online_auc"])
    agg = aggregate(out)
    assert agg["retrain"]["accuracy"]["n"] == 2


def test_accumulation_only_averaging_fresh_noise_changes_anything():
    out = accumulation(batch=12, releases=4, shadows=8, seeds=(0,))
    for key in ("retrain", "noisy_gd"):  # their later releases repeat: averaging adds nothing
        np.testing.assert_allclose(out[key]["average"]["mean"], out[key]["single"]["mean"][:1] * 4, atol=1e-9)
    c = out["caching"]
    assert c["average"]["mean"][0] == pytest.approx(c["single"]["mean"][0])
    assert not np.allclose(c["average"]["mean"][1:], c["single"]["mean"][1:])


@pytest.fixture(scope="module")
def small_results():
    return run_experiment(ExperimentConfig.small())


def test_results_carry_the_certified_epsilon_wherever_noisy_gd_appears(small_results):
    r = small_results
    for req, entry in r["requesters"].items():
        assert len(entry["noisy_gd"]["certified_epsilon"]) == 2, req  # one ε per request (releases = 2)
        assert "certified_epsilon" not in entry["retrain"]
        assert len(entry["retrain"]["single_online_auc"]["per_seed"]) == 2  # per-seed values for paired tests
        assert "difference_auc" in entry["retrain"] and "linked_target_auc" in entry["retrain"]
    assert r["accumulation"]["noisy_gd"]["certified_epsilon"][0] > 0
    for p in r["sigma_sweep"]["points"].values():
        assert len(p["certified_epsilon"]) == 2 and p["k_unlearn_needed"] > 0 and len(p["average_online_auc"]["per_seed"]) == 2
    cert = r["certified"]
    assert max(cert["certified_epsilon"]) <= 10 and cert["certificate"]["meaningful"]
    assert set(cert["requesters"]) == {"random", "confident", "linked"}
    assert cert["requesters"]["linked"]["noisy_gd"]["certified_epsilon"] == cert["certified_epsilon"]


def test_the_committed_results_have_the_new_keys():
    res = load_results()
    assert set(res["requesters"]) == {"random", "confident", "misclassified", "linked"}
    assert res["certified"]["hyper"]["k_unlearn"] > res["config"]["hyper"]["k_unlearn"]
    assert all("certified_epsilon" in e["noisy_gd"] for e in res["requesters"].values())
    assert res["made_by"]["command"].startswith("python scripts/unlearning_experiment.py")


def test_results_view_of_a_live_run(small_results):
    from deletionlab.widgets.unlearning import UnlearningResultsView

    view = UnlearningResultsView(small_results)
    claims = " ".join(r.claim for r in view.rows)
    for part in ("caching unlearner leaks", "accumulates", "Noisy-GD keeps", "privacy of the remaining records", "cost",
                 "reveals a record that stayed", "guarantee at the settings"):
        assert part in claims
    assert all(r.verdict for r in view.rows)
    assert "Source: a live run" in view.children[0].value and "2 seeds" in view.children[0].value
    tables = [w for w in view.children if "dl-utility-table" in w._dom_classes]
    assert len(tables) == 2 and "certified ε" in tables[0].value
    assert tables[0].value.count("<tr>") == 1 + 3 * 4 and tables[1].value.count("<tr>") == 1 + 3 * 2


def test_cancel_reaches_the_runs_on_local_threads():
    """A cancelled sweep returns at once and its worker threads stop too (they see the token)."""
    import threading
    import time

    from deletionlab.core.jobs import Cancelled, CancelToken

    tok = CancelToken()
    out = {}

    def run():
        try:
            sweep_seeds(Config(), range(4), max_workers=2, cancel=tok)
        except Cancelled:
            out["stopped"] = time.perf_counter()

    th = threading.Thread(target=run)
    th.start()
    time.sleep(1.0)
    t0 = time.perf_counter()
    tok.cancel()
    th.join(10)
    assert out["stopped"] - t0 < 1.0
    deadline = time.time() + 2
    while any(t.name.startswith("dl-sweep") for t in threading.enumerate()) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(t.name.startswith("dl-sweep") for t in threading.enumerate())
