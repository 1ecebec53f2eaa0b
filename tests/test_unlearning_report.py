"""Verdicts are computed from the numbers: synthetic results move them, the committed ones are quoted."""

import pytest

from deletionlab.unlearning.report import compare, load_results


def series(last: float, sd: float = 0.02, n: int = 8, length: int = 3) -> dict:
    return {"mean": [0.5] * (length - 1) + [last], "std": [sd] * length, "n": n}


def entry(label: str, single: float, average: float, cost: float = 100.0) -> dict:
    return {"label": label, "single_online_auc": series(single), "average_online_auc": series(average),
            "accuracy": series(0.9), "cost": series(cost)}


def results(caching_avg: float, retrain_conf: float, sigma_aucs=(0.40, 0.49)) -> dict:
    h = {"k_learn": 400, "k_unlearn": 25}
    pts = {str(s): {"average_online_auc": {"mean": a, "std": 0.02, "n": 8}, "accuracy": {"mean": 0.9, "std": 0.01, "n": 8}}
           for s, a in zip((0.02, 0.3), sigma_aucs)}
    return {"config": {"releases": 3, "hyper": h},
            "requesters": {"random": {"retrain": entry("retrain", 0.5, 0.5, cost=50.0), "caching": entry("caching", 0.52, caching_avg),
                                      "noisy_gd": entry("Noisy-GD", 0.5, 0.51, cost=500.0)},
                           "confident": {"retrain": entry("retrain", retrain_conf, retrain_conf)}},
            "sigma_sweep": {"requester": "misclassified", "points": pts}}


def verdicts(res: dict) -> dict:
    return {r.claim.split(" (")[0]: r.verdict for r in compare(res)}


def test_verdicts_follow_the_numbers():
    good = verdicts(results(caching_avg=0.70, retrain_conf=0.40))
    assert good["a caching unlearner leaks deleted records over a series of releases"] == "agrees"
    assert good["adaptive requests"] == "agrees"  # 0.40 is 10 s.e. below chance: as informative as 0.60
    assert good["Noisy-GD keeps deleted records private"] == "agrees"
    assert good["privacy of the remaining records"] == "agrees"  # gap 0.10 -> 0.01, the last within 2 s.e.
    assert good["cost per deletion request"].startswith("agrees against retraining by the same gradient descent (16× dearer)")
    bad = verdicts(results(caching_avg=0.505, retrain_conf=0.505, sigma_aucs=(0.40, 0.42)))
    assert bad["a caching unlearner leaks deleted records over a series of releases"].startswith("not reproduced")
    assert bad["adaptive requests"].startswith("not reproduced")
    assert bad["privacy of the remaining records"] == "not reproduced"
    half = verdicts(results(caching_avg=0.70, retrain_conf=0.40, sigma_aucs=(0.40, 0.46)))
    assert half["privacy of the remaining records"].startswith("partly: the gap to 0.5 shrinks from 0.100 to 0.040")


def test_committed_results_are_quoted_in_the_rows():
    res = load_results()
    rows = compare(res)
    assert len(rows) == 9
    caching = res["requesters"]["random"]["caching"]["average_online_auc"]
    assert f"{caching['mean'][-1]:.3f}" in rows[0].ours
    assert all(r.verdict for r in rows)


@pytest.mark.parametrize("drop", ["accumulation", "sigma_sweep"])
def test_missing_measurements_leave_their_rows_out(drop):
    res = dict(load_results())
    res.pop(drop)
    assert len(compare(res)) == 8
