"""Paired statistics of the verdicts, on hand-made examples (values worked out by hand or from the binomial)."""

import math

import numpy as np
import pytest

from deletionlab.negprompt import stats


def test_paired_steps_on_a_hand_made_example():
    pos = [3, 4, 5, 6, None, 2]
    neg = [5, 4, 8, 9, 7, None]
    out = stats.paired_steps(pos, neg)
    # pairs (3,5) (4,4) (5,8) (6,9): differences 2, 0, 3, 3
    assert (out["n"], out["later"], out["earlier"], out["equal"]) == (4, 3, 0, 1)
    assert out["median_difference"] == 2.5 and out["mean_difference"] == 2.0
    assert out["se"] == pytest.approx(math.sqrt(2) / 2)  # deviations 0, −2, 1, 1: variance 6/3 = 2, over sqrt(4)
    assert out["p_value"] == pytest.approx(2 * 0.5**3)  # 3 later, 0 earlier: two-sided exact sign test
    assert out["only_first"] == 1 and out["only_second"] == 1  # one scene "never" on each side


def test_sign_test_matches_the_binomial_by_hand():
    # 24 later vs 10 earlier (the audit's re-analysis): P(X <= 10 | n = 34) doubled
    tail = sum(math.comb(34, k) for k in range(11)) / 2**34
    assert stats.sign_test(24, 10) == pytest.approx(2 * tail)
    assert 0.01 < stats.sign_test(24, 10) < 0.03
    assert stats.sign_test(5, 5) == 1.0 and stats.sign_test(0, 0) == 1.0


def test_paired_outcomes_count_the_discordant_scenes():
    first = [True, True, True, False, True, False]
    second = [True, False, False, False, True, True]
    out = stats.paired_outcomes(first, second)
    assert (out["only_first"], out["only_second"], out["n"]) == (2, 1, 6)
    assert out["p_value"] == pytest.approx(1.0)  # 2 vs 1: binomial two-sided = 1
    assert out["first"] == pytest.approx(4 / 6) and out["second"] == pytest.approx(3 / 6)


def test_paired_values_and_mean_se():
    out = stats.paired_values([1.0, 2.0, 3.0, 4.0], [0.5, 1.0, 3.5, 2.0])
    assert (out["larger"], out["smaller"]) == (1, 3) and out["mean_difference"] == pytest.approx(-0.75)
    ms = stats.mean_se([1, 2, None, 3])
    assert ms["mean"] == 2.0 and ms["n"] == 3 and ms["never"] == 1 and ms["se"] == pytest.approx(1 / math.sqrt(3))
    assert stats.mean_se([None])["mean"] is None  # no NaN in results.json


def test_wilson_interval_by_hand():
    lo, hi = stats.wilson(9, 10)
    # p = 0.9, z = 1.96: centre (0.9 + 0.19208) / 1.38416, half-width 1.96 sqrt(0.009 + 0.009604) / 1.38416
    assert lo == pytest.approx((1.09208 - 1.96 * math.sqrt(0.018604)) / 1.38416, abs=1e-4)
    assert hi == pytest.approx((1.09208 + 1.96 * math.sqrt(0.018604)) / 1.38416, abs=1e-4)
    assert stats.wilson(0, 0) == (0.0, 1.0)
    assert stats.wilson(10, 10)[1] == 1.0 and stats.wilson(10, 10)[0] < 1.0  # never an interval of width 0


def test_bootstrap_ratio_is_paired_and_reproducible():
    rng = np.random.default_rng(1)
    den = rng.uniform(1, 2, 50)
    num = den * 0.5 + rng.normal(0, 0.01, 50)  # every scene halves: a tight interval around 0.5
    r, lo, hi = stats.bootstrap_ratio(num, den)
    assert r == pytest.approx(num.sum() / den.sum()) and lo < r < hi and hi - lo < 0.02
    assert stats.bootstrap_ratio(num, den) == (r, lo, hi)
    shuffled = stats.bootstrap_ratio(num, rng.permutation(den))  # unpaired: the interval widens
    assert shuffled[2] - shuffled[1] > hi - lo
