"""The experiment's small run and the verdicts computed from it (they must move when the numbers do)."""

import copy

import pytest

from deletionlab.s2orbit.experiment import ExperimentConfig, run_experiment
from deletionlab.s2orbit.report import compare, load_results, wilson


@pytest.fixture(scope="module")
def small():
    return run_experiment(ExperimentConfig.small())


def test_small_experiment_has_every_part(small):
    assert small["precession"]["schwarzschild_arcmin"] == pytest.approx(12.16, abs=0.05)
    assert {r["gamma"] for r in small["integration"]["cusp"]} == {1.0, 1.75}
    assert all(abs(r["ours_vs_analytic"]) < 0.02 for r in small["integration"]["cusp"])
    fn = small["finite_n"]
    assert len(fn) == 2 * len(ExperimentConfig.small().rate_factors)
    assert all(0 <= r["k"] <= r["n"] == 30 for r in fn)


def test_verdicts_are_computed_from_the_numbers(small):
    rows = compare(small)
    assert len(rows) == 7 and all(r.verdict for r in rows)
    verdicts = [r.verdict for r in rows]
    assert verdicts[0] == "agrees" and verdicts[1] == "agrees" and verdicts[3].startswith("confirmed")
    # a disagreement above 2 % flips the integration verdict
    bad = copy.deepcopy(small)
    bad["integration"]["cusp"][0]["ours_vs_analytic"] = 0.03
    assert compare(bad)[3].verdict.startswith("not confirmed")
    # a threshold inside the paper's band is "agrees", far outside "differs"
    for value, word in ((3e-6, "agrees"), (1e-9, "differs")):
        moved = copy.deepcopy(small)
        for t in moved["thresholds"]["table"]:
            t["without"] = value
        assert compare(moved)[4].verdict.startswith(word)
    # finite-N realisations consistent without collisions far above the threshold would contradict the paper
    flipped = copy.deepcopy(small)
    for r in flipped["finite_n"]:
        if not r["collisions"]:
            r["k"] = r["n"]
    assert compare(flipped)[6].verdict == "differs"


def test_wilson_interval_is_never_degenerate():
    lo, hi = wilson(0, 400)
    assert lo == 0.0 and 0.005 < hi < 0.015
    lo, hi = wilson(200, 400)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(2 * 1.96 * 0.025, rel=0.05)


def test_committed_results_give_rows():
    results = load_results()
    assert results is not None and "made_by" in results
    assert results["made_by"]["command"].startswith("python scripts/s2orbit_experiment.py")
    rows = compare(results)
    assert len(rows) == 7
    assert results["config"]["realisations"] >= 400
