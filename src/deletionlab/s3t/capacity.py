"""How many deletions a sharded, sliced system absorbs before no shard can serve (its deletion rate).

A deletion request hits one slice of one shard. A sequence survives while its first slice has not
been hit; a shard serves while one of its sequences survives; the system serves while one shard
does. With d distinct first slices per shard (d = B′ for the cyclic rotations, B′ ≤ L), the system
dies when all m·d "first" slices out of the m·L have been hit: a coupon collector who needs m·d
particular coupons out of m·L equally likely ones, so the expected number of deletions is

    δ = m·L·H_{m·d}        (H_k the k-th harmonic number; SISA is d = 1, δ = m·L·H_m)

(the paper's O(mL·log(mB′)) against O(mL·log m) for SISA). :func:`alive_probability` is the whole
survival curve, computed exactly by a birth chain over "how many needed slices are hit";
:func:`simulate` checks both by Monte Carlo, also for non-uniform priors and any orderings.
"""

from __future__ import annotations

import numpy as np

from deletionlab.core.jobs import CancelToken, check_cancel


def harmonic(k: int) -> float:
    """H_k = 1 + 1/2 + … + 1/k."""
    return float(np.sum(1.0 / np.arange(1, k + 1))) if k > 0 else 0.0


def first_slices(orderings: np.ndarray) -> int:
    """How many distinct slices lead one of the sequences (d above)."""
    return len(set(np.asarray(orderings)[:, 0].tolist()))


def deletion_rate(shards: int, slices: int, leaders: int) -> float:
    """Expected deletions until no shard serves, under uniform requests: m·L·H_{m·d}."""
    return shards * slices * harmonic(shards * leaders)


def alive_probability(shards: int, slices: int, leaders: int, t_max: int) -> np.ndarray:
    """P(the system still serves after t deletions), t = 0 … t_max, uniform requests (exact).

    The number k of the m·d needed slices hit so far grows by one with probability (m·d − k)/(m·L)
    per deletion; the system is dead when k = m·d.
    """
    need, cells = shards * leaders, shards * slices
    dist = np.zeros(need + 1)
    dist[0] = 1.0
    out = np.empty(t_max + 1)
    up = (need - np.arange(need + 1)) / cells
    for t in range(t_max + 1):
        out[t] = 1.0 - dist[need]
        moved = dist * up
        dist = dist - moved
        dist[1:] += moved[:-1]
    return out


def simulate(shards: int, orderings: np.ndarray, trials: int = 20_000, prior=None, seed: int = 0,
             cancel: CancelToken | None = None) -> np.ndarray:
    """Deletions until no shard serves, in ``trials`` Monte Carlo runs (each request: a uniform
    shard, then a slice from ``prior``, default uniform; requests hit slices with replacement, as
    if slices were large). The same ``orderings`` (B′, L) in every shard."""
    orderings = np.asarray(orderings)
    slices = orderings.shape[1]
    p = np.full(slices, 1.0 / slices) if prior is None else np.asarray(prior, dtype=float) / np.sum(prior)
    cell_p = np.tile(p / shards, shards)  # cell = shard·L + slice
    leaders = sorted(set(orderings[:, 0].tolist()))
    needed = np.array([h * slices + s for h in range(shards) for s in leaders])
    rng = np.random.default_rng(seed)
    out = np.empty(trials, dtype=np.int64)
    horizon = int(4 * deletion_rate(shards, slices, len(leaders)) + 16)
    for start in range(0, trials, 1000):
        check_cancel(cancel)
        out[start:start + min(1000, trials - start)] = _death_times(rng, cell_p, needed, min(1000, trials - start), horizon)
    return out


def _death_times(rng: np.random.Generator, cell_p: np.ndarray, needed: np.ndarray, n: int, horizon: int) -> np.ndarray:
    """For n runs: the request at which the last needed cell is first hit (runs that outlive the
    horizon are redrawn with a doubled horizon, so the result is exact)."""
    draws = rng.choice(len(cell_p), size=(n, horizon), p=cell_p)
    first = np.full((n, len(needed)), horizon, dtype=np.int64)
    for j, c in enumerate(needed):
        hit = draws == c
        first[:, j] = np.where(hit.any(1), hit.argmax(1), horizon)
    out = first.max(1) + 1
    late = out > horizon
    if late.any():
        out[late] = _death_times(rng, cell_p, needed, int(late.sum()), 2 * horizon)
    return out
