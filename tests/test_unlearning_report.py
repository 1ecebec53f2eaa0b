"""Verdicts are computed from the numbers, paired by seed: synthetic results move them, the committed ones are quoted."""

import numpy as np
import pytest

from deletionlab.unlearning.report import Paired, compare, load_results


def test_paired_statistic_by_hand():
    # differences 0.02, 0.04, 0.06, -0.02: mean 0.025, sd (ddof 1) 0.0342, s.e. 0.0171, t = 1.464, df 3 → p = 0.239
    p = Paired.of([0.52, 0.54, 0.56, 0.48], [0.50, 0.50, 0.50, 0.50])
    assert (p.n, p.higher, p.lower) == (4, 3, 1)
    assert p.mean == pytest.approx(0.025) and p.se == pytest.approx(0.0170783, rel=1e-5)
    assert p.p == pytest.approx(0.2393, abs=2e-4) and not p.significant
    assert "not significant at 0.05" in p.text()
    strong = Paired.of([0.60, 0.62, 0.61, 0.63, 0.60], [0.50, 0.51, 0.50, 0.52, 0.49])
    assert strong.significant and "significant at 0.01" in strong.text()
    same = Paired.of([0.5, 0.6], [0.5, 0.6])
    assert same.se == 0 and same.p == 1.0 and not same.significant


def series(last_per_seed, length: int = 3) -> dict:
    m = sum(last_per_seed) / len(last_per_seed)
    return {"mean": [0.5] * (length - 1) + [m], "std": [0.02] * length, "n": len(last_per_seed), "per_seed": list(last_per_seed)}


def entry(label: str, single, average, cost: float = 100.0, linked=None, eps=None) -> dict:
    e = {"label": label, "single_online_auc": series(single), "average_online_auc": series(average),
         "matched_online_auc": series(single), "matched_average_auc": series(average),
         "accuracy": series([0.9] * len(single)), "cost": series([cost] * len(single))}
    if linked is not None:
        e["linked_target_auc"] = {"mean": sum(linked) / len(linked), "std": 0.02, "n": len(linked), "per_seed": list(linked)}
    if eps is not None:
        e["certified_epsilon"] = eps
        e["certificate"] = {"dp_epsilon": 2.0}
    return e


CHANCE = [0.49, 0.51, 0.50, 0.50, 0.48, 0.52]
UP = [0.60, 0.62, 0.58, 0.61, 0.63, 0.59]


def results(caching_avg, retrain_conf, linked, certified_eps=(2.0, 9.0), sigma_aucs=(UP, CHANCE)) -> dict:
    h = {"k_learn": 400, "k_unlearn": 25}
    pts = {str(s): {"average_online_auc": {"mean": sum(a) / len(a), "std": 0.02, "n": len(a), "per_seed": a},
                    "matched_average_auc": {"mean": sum(a) / len(a), "std": 0.02, "n": len(a), "per_seed": a},
                    "accuracy": {"mean": 0.9, "std": 0.01, "n": 6, "per_seed": [0.9] * 6}, "certified_epsilon": [50.0, 500.0],
                    "k_unlearn_needed": 800}
           for s, a in zip((0.02, 0.3), sigma_aucs)}
    reqs = {"random": {"retrain": entry("retrain", CHANCE, CHANCE, cost=50.0, linked=CHANCE),
                       "caching": entry("caching", CHANCE, caching_avg),
                       "noisy_gd": entry("Noisy-GD", CHANCE, CHANCE, cost=500.0, linked=CHANCE, eps=[100.0, 5000.0])},
            "confident": {"retrain": entry("retrain", retrain_conf, retrain_conf, linked=CHANCE),
                          "noisy_gd": entry("Noisy-GD", CHANCE, UP, linked=CHANCE, eps=[100.0, 5000.0])},
            "linked": {"retrain": entry("retrain", CHANCE, CHANCE, linked=linked)}}
    cert_reqs = {"random": {"retrain": entry("retrain", CHANCE, CHANCE), "noisy_gd": entry("Noisy-GD", CHANCE, CHANCE, cost=4000.0,
                                                                                            eps=list(certified_eps))},
                 "confident": {"noisy_gd": entry("Noisy-GD", CHANCE, UP, eps=list(certified_eps))}}
    return {"config": {"releases": 3, "hyper": h},
            "requesters": reqs,
            "certified": {"hyper": {"lam": 0.05, "sigma": 0.05, "k_unlearn": 211, "k_learn": 400}, "requesters": cert_reqs,
                          "certified_epsilon": list(certified_eps)},
            "sigma_sweep": {"requester": "misclassified", "points": pts}}


def verdicts(res: dict) -> dict:
    return {r.claim: r.verdict for r in compare(res)}


def find(v: dict, start: str) -> str:
    hits = [verdict for claim, verdict in v.items() if claim.startswith(start)]
    assert len(hits) == 1, (start, list(v))
    return hits[0]


def test_verdicts_follow_the_numbers():
    good = verdicts(results(caching_avg=UP, retrain_conf=[0.40, 0.41, 0.39, 0.42, 0.38, 0.40], linked=UP))
    assert find(good, "a caching unlearner leaks") == "agrees"
    assert find(good, "adaptive requests (confident)") == "agrees"  # paired against random requests, not against 0.5
    assert find(good, "a deletion made as a function") == "agrees"
    assert find(good, "privacy of the remaining records") == "agrees"  # |AUC − 0.5| shrinks, the last is at chance
    assert find(good, "cost per deletion request").startswith("agrees against retraining by the same gradient descent (16× dearer)")
    # Noisy-GD: vacuous certificate → untested; certified setting: a leak there is a disagreement
    assert find(good, "Noisy-GD keeps deleted records private (random requests, averaging attacker; defaults)") == \
        "untested: the certificate is vacuous here (ε > 10); no leak detected"
    assert find(good, "Noisy-GD keeps deleted records private (confident requests, averaging attacker; certified").endswith(": disagrees")
    assert find(good, "Noisy-GD keeps deleted records private (random requests, averaging attacker; certified") == \
        "no leak detected: agrees"
    bad = verdicts(results(caching_avg=CHANCE, retrain_conf=[0.50, 0.52, 0.49, 0.51, 0.47, 0.53], linked=CHANCE,
                           sigma_aucs=(UP, UP)))
    assert find(bad, "a caching unlearner leaks").startswith("not reproduced")
    assert find(bad, "adaptive requests (confident)") == "not reproduced: with matched never-members not separable from random requests"
    assert find(bad, "a deletion made as a function").startswith("not reproduced")
    assert find(bad, "privacy of the remaining records").startswith("not reproduced")
    loose = verdicts(results(caching_avg=UP, retrain_conf=CHANCE, linked=UP, certified_eps=(2.0, 40.0)))
    assert find(loose, "Noisy-GD keeps deleted records private (confident requests, averaging attacker; certified").startswith(
        "untested: the certificate is vacuous")


def test_committed_results_are_quoted_in_the_rows():
    res = load_results()
    rows = compare(res)
    caching = res["requesters"]["random"]["caching"]["average_online_auc"]
    assert f"{caching['mean'][-1]:.3f}" in rows[0].ours and "paired over" in rows[0].ours
    eps = res["requesters"]["random"]["noisy_gd"]["certified_epsilon"]
    assert any(f"{eps[-1]:.3g}" in r.ours for r in rows if r.claim.startswith("Noisy-GD keeps"))
    assert all(r.verdict for r in rows)


@pytest.mark.parametrize("drop", ["accumulation", "sigma_sweep", "certified"])
def test_missing_measurements_leave_their_rows_out(drop):
    res = dict(load_results())
    n = len(compare(res))
    res.pop(drop)
    assert len(compare(res)) < n


def test_adaptive_rows_judge_by_matched_never_members():
    """A requester that picks hard records: far from 0.5 against all never-members, at chance against
    matched ones → not reproduced, and the row says the gap is the rule's choice of records."""
    res = results(caching_avg=UP, retrain_conf=[0.30, 0.31, 0.29, 0.32, 0.28, 0.30], linked=UP)
    res["requesters"]["confident"]["retrain"]["matched_online_auc"] = series(CHANCE)
    row = next(r for r in compare(res) if r.claim.startswith("adaptive requests (confident)"))
    assert row.verdict == ("not reproduced: with matched never-members not separable from random requests "
                           "(the gap against all never-members is whom the rule picks)")
    assert "Against all never-members 0.300" in row.ours


def test_paired_p_value_is_scipys_one_sample_t_test():
    """Paired.of computes the t-test's p-value with scipy.special (cheaper to import); it must be
    scipy.stats.ttest_1samp's, two-sided, for any number of seeds."""
    from scipy import stats

    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 8, 40):
        a, b = rng.normal(size=n), rng.normal(0.3, 1.0, size=n)
        assert Paired.of(a, b).p == pytest.approx(stats.ttest_1samp(a - b, 0.0).pvalue, rel=1e-12, abs=1e-300)
