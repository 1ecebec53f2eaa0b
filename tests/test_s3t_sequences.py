"""S3T's combinatorics: the layer schedule, the orderings, the deletion rate (analytic vs Monte Carlo)."""

import math

import numpy as np
import pytest

from deletionlab.core.jobs import UserError
from deletionlab.s3t.capacity import alive_probability, deletion_rate, first_slices, harmonic, simulate
from deletionlab.s3t.sequences import (
    check_budget,
    cyclic_orderings,
    layer_schedule,
    matched_orderings,
    orderings,
    prefix_score,
    prior,
    random_orderings,
    start_layer,
)


def test_layer_schedule_trains_the_top_layers_first():
    # step i trains layers N−1−(i·k + j), j < k: MiniLM has 6 layers
    assert layer_schedule(6, 3, 2) == [[5, 4], [3, 2], [1, 0]]
    assert layer_schedule(6, 6, 1) == [[5], [4], [3], [2], [1], [0]]
    assert layer_schedule(6, 2, 1) == [[5], [4]]  # layers 0..3 never get an adapter
    assert [start_layer(6, i, 2) for i in range(3)] == [4, 2, 0]
    every = [x for step in layer_schedule(6, 2, 3) for x in step]
    assert sorted(every) == list(range(6)) and len(set(every)) == 6


@pytest.mark.parametrize("L,k,msg", [(4, 2, "at most the model's 6 layers"), (0, 1, "at least 1"), (3, 0, "at least 1")])
def test_layer_schedule_rejects_what_does_not_fit(L, k, msg):
    with pytest.raises(UserError, match=msg):
        layer_schedule(6, L, k)


def test_cyclic_orderings_are_rotations_then_balanced():
    assert cyclic_orderings(4, 3).tolist() == [[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1]]
    o = cyclic_orderings(4, 13)
    assert len({tuple(r) for r in o}) == 13 and all(sorted(r) == [0, 1, 2, 3] for r in o.tolist())
    leads = np.bincount(o[:, 0], minlength=4)
    assert leads.max() - leads.min() <= 1  # first slices spread evenly
    assert len({tuple(r) for r in cyclic_orderings(3, 6)}) == 6  # all of L!


def test_budget_beyond_L_factorial_is_refused():
    check_budget(3, 6)
    with pytest.raises(UserError, match=r"from 1 to L! = 6 for L = 3"):
        check_budget(3, 7)
    with pytest.raises(UserError, match="L! = 6"):
        orderings("cyclic", 3, 7)


def test_random_orderings_are_distinct_permutations():
    o = random_orderings(5, 20, np.random.default_rng(1))
    assert len({tuple(r) for r in o}) == 20 and all(sorted(r) == list(range(5)) for r in o.tolist())


def test_prefix_score_by_hand():
    # p = (0.5, 0.3, 0.2), ordering (2, 1, 0), t = 2: c = 0.2, 0.5, 1.0 -> 1·0.8² + 2·0.5² + 3·0 = 1.14
    assert prefix_score([2, 1, 0], [0.5, 0.3, 0.2], 2) == pytest.approx(1.14)


def test_matched_orderings_put_unlikely_slices_first_and_stay_distinct():
    p = prior("geometric", 4)  # slice 0 the most likely to be deleted
    o = matched_orderings(p, 3)
    assert sorted(o[:, 0].tolist()) == [1, 2, 3]  # the three least likely slices lead
    assert all(sorted(r) == [0, 1, 2, 3] for r in o.tolist())
    # every position holds distinct slices across the sequences (one matching per position)
    assert all(len(set(o[:, j].tolist())) == 3 for j in range(4))
    # it beats the cyclic rotations on the paper's objective
    t = 4
    assert sum(prefix_score(r, p, t) for r in o) > sum(prefix_score(r, p, t) for r in cyclic_orderings(4, 3))


def test_harmonic_and_the_reference_deletion_rates():
    assert harmonic(4) == pytest.approx(25 / 12)
    # m = 5, L = 6, B′ = 1..6 (SISA is B′ = 1): 68.5, 87.9, 99.5, 107.9, 114.5, 119.8
    got = [round(deletion_rate(5, 6, b), 1) for b in range(1, 7)]
    assert got == [68.5, 87.9, 99.5, 107.9, 114.5, 119.8]


@pytest.mark.parametrize("sequences", [1, 6])
def test_analytic_deletion_rate_matches_monte_carlo_within_2_percent(sequences):
    o = cyclic_orderings(6, sequences)
    sim = simulate(5, o, trials=10_000, seed=sequences)  # s.e. ≈ 0.6 % of the mean
    analytic = deletion_rate(5, 6, first_slices(o))
    assert abs(sim.mean() / analytic - 1) < 0.02
    # the survival curve sums to the same expectation (E[T] = Σ_t P(T > t))
    assert alive_probability(5, 6, sequences, 3000).sum() == pytest.approx(analytic, rel=1e-6)


def test_survival_curve_by_hand():
    # m = 1, L = 2, one sequence: dies when its first slice is hit, p = 1/2 per request
    assert np.allclose(alive_probability(1, 2, 1, 3), [1, 0.5, 0.25, 0.125])
    # m = 1, L = 2, both slices lead: dies when both are hit
    assert np.allclose(alive_probability(1, 2, 2, 3), [1, 1, 0.5, 0.25])


def test_matched_orderings_absorb_more_deletions_under_a_skewed_prior():
    p = prior("geometric", 6)
    cyc = simulate(3, cyclic_orderings(6, 3), trials=3000, prior=p, seed=0).mean()
    mat = simulate(3, matched_orderings(p, 3), trials=3000, prior=p, seed=0).mean()
    assert mat > 2 * cyc


def test_priors_are_distributions():
    for name in ("uniform", "geometric", "hot"):
        p = prior(name, 5)
        assert p.sum() == pytest.approx(1) and (p > 0).all()
    assert prior("hot", 5)[0] == pytest.approx(0.5)
    with pytest.raises(UserError, match="Deletion prior must be one of"):
        prior("zipf", 3)
    assert math.isclose(prior("geometric", 3)[0], 4 / 7)
