"""Which layers each step trains, and in which orders a shard's slices are trained (the sequences).

S3T (Chowdhury et al. 2024, Sec. 3) trains a shard's slices *sequentially*: step i of a sequence
trains on slices S_1..S_i cumulatively, and only the classifier head plus the LoRA adapters of the
next k layers are trainable, top layers first (layers N−1−(i·k + j), j < k, for 0-based i). Each
shard trains B′ sequences (orderings of its L slices, the "budget").

Orderings:

* :func:`cyclic_orderings` -- the paper's cyclic rotations for B′ ≤ L (every slice leads exactly one
  sequence); for L < B′ ≤ L! we extend them by rotating suffixes ("balanced": the first elements,
  then the second elements under each first, ... are spread as evenly as possible).
* :func:`random_orderings` -- B′ distinct uniformly random permutations.
* :func:`matched_orderings` -- the paper's sequence selection for non-uniform deletion priors: grow
  B′ orderings position by position, each round a maximum-weight matching (Hungarian method,
  ``scipy.optimize.linear_sum_assignment``) of orderings to unused slices that maximises
  Σ_n n·(1 − c_n)^t, c_n the cumulative deletion probability of the n-slice prefix.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from deletionlab.core.jobs import UserError

STRATEGIES = {
    "cyclic": "cyclic rotations (the paper's default)",
    "random": "random distinct orderings",
    "matched": "matched to the deletion prior (Hungarian)",
}
#: a forbidden cell of the matching (a slice already in that ordering); finite so scipy accepts it
_FORBIDDEN = -1e18


def layer_schedule(n_layers: int, slices: int, per_step: int) -> list[list[int]]:
    """Layers whose adapters train at each step: step i trains N−1−(i·k + j) for j < k.

    >>> layer_schedule(6, 3, 2)
    [[5, 4], [3, 2], [1, 0]]
    """
    if per_step < 1 or slices < 1:
        raise UserError(f"Slices L and layers per step k must be at least 1 (got L = {slices}, k = {per_step}).")
    if slices * per_step > n_layers:
        raise UserError(f"Slices L × layers per step k must be at most the model's {n_layers} layers "
                        f"(got {slices} × {per_step} = {slices * per_step}).")
    return [[n_layers - 1 - (i * per_step + j) for j in range(per_step)] for i in range(slices)]


def start_layer(n_layers: int, step: int, per_step: int) -> int:
    """The lowest layer that runs (forward) at ``step``: everything below it is the frozen backbone."""
    return n_layers - (step + 1) * per_step


def check_budget(slices: int, sequences: int) -> None:
    """B′ distinct orderings of L slices exist only for 1 ≤ B′ ≤ L!."""
    most = math.factorial(slices) if slices <= 12 else 10**9
    if not 1 <= sequences <= most:
        raise UserError(f"Sequences B′ must be from 1 to L! = {most} for L = {slices} slices (got {sequences}).")


def _balanced(elements: list[int], count: int) -> list[list[int]]:
    if len(elements) == 1:
        return [list(elements)]
    n = len(elements)
    out = []
    for r in range(min(count, n)):
        share = count // n + (1 if r < count % n else 0)
        rest = elements[r + 1:] + elements[:r]  # the rotation that starts at element r
        out.extend([elements[r], *tail] for tail in _balanced(rest, share))
    return out


def cyclic_orderings(slices: int, sequences: int) -> np.ndarray:
    """(B′, L) orderings: rotation r is (r, r+1, …, r−1) mod L for r < B′ ≤ L; beyond L, suffixes
    are rotated the same way (balanced), so all B′ ≤ L! orderings are distinct."""
    check_budget(slices, sequences)
    return np.array(_balanced(list(range(slices)), sequences), dtype=np.int64)


def random_orderings(slices: int, sequences: int, rng: np.random.Generator) -> np.ndarray:
    """(B′, L) distinct uniformly random orderings."""
    check_budget(slices, sequences)
    if math.factorial(slices) <= 5040:
        every = list(itertools.permutations(range(slices)))
        pick = rng.choice(len(every), size=sequences, replace=False)
        return np.array([every[i] for i in pick], dtype=np.int64)
    seen: dict[tuple, None] = {}
    while len(seen) < sequences:
        seen[tuple(rng.permutation(slices).tolist())] = None
    return np.array(list(seen), dtype=np.int64)


def prefix_score(ordering, prior, t: float) -> float:
    """Σ_n n·(1 − c_n)^t: the paper's score of one ordering, c_n = Σ_{j ≤ n} p(ordering_j)
    (the chance that one deletion hits the n-slice prefix); t deletions."""
    c = np.cumsum(np.asarray(prior, dtype=float)[np.asarray(ordering)])
    n = np.arange(1, len(c) + 1)
    return float(np.sum(n * np.clip(1.0 - c, 0.0, 1.0) ** t))


def matched_orderings(prior, sequences: int, t: float | None = None) -> np.ndarray:
    """(B′, L) orderings for the per-slice deletion prior ``prior`` (B′ ≤ L), grown one position per
    round by a maximum-weight matching of the B′ partial orderings to the slices they do not
    contain yet, weight = the new prefix's term n·(1 − c_n)^t. ``t`` defaults to L deletions."""
    p = np.asarray(prior, dtype=float)
    slices = len(p)
    if not 1 <= sequences <= slices:
        raise UserError(f"Matched selection needs 1 ≤ sequences B′ ≤ L = {slices} (got {sequences}).")
    from scipy.optimize import linear_sum_assignment

    t = float(slices if t is None else t)
    orders = [[] for _ in range(sequences)]
    mass = np.zeros(sequences)
    for n in range(1, slices + 1):
        weight = n * np.clip(1.0 - mass[:, None] - p[None, :], 0.0, 1.0) ** t
        for b, order in enumerate(orders):
            weight[b, order] = _FORBIDDEN
        rows, cols = linear_sum_assignment(weight, maximize=True)
        for b, j in zip(rows, cols):
            orders[b].append(int(j))
            mass[b] += p[j]
    return np.array(orders, dtype=np.int64)


def orderings(strategy: str, slices: int, sequences: int, prior=None, seed: int = 0, t: float | None = None) -> np.ndarray:
    """The (B′, L) orderings of one strategy (:data:`STRATEGIES`); ``prior`` only for ``matched``."""
    if strategy == "cyclic":
        return cyclic_orderings(slices, sequences)
    if strategy == "random":
        return random_orderings(slices, sequences, np.random.default_rng(seed))
    if strategy == "matched":
        check_budget(slices, sequences)
        return matched_orderings(np.full(slices, 1.0 / slices) if prior is None else prior, sequences, t)
    raise UserError(f"Selection strategy must be one of {', '.join(STRATEGIES)} (got {strategy!r}).")


PRIORS = {
    "uniform": "uniform: every slice equally likely",
    "geometric": "geometric: slice j has probability ∝ 2^−j",
    "hot": "one hot slice: slice 1 draws half of all requests",
}


def prior(name: str, slices: int) -> np.ndarray:
    """Per-slice deletion probabilities within a shard (the same in every shard)."""
    if name == "uniform":
        p = np.ones(slices)
    elif name == "geometric":
        p = 0.5 ** np.arange(slices)
    elif name == "hot":
        p = np.full(slices, 0.5 / max(slices - 1, 1)) if slices > 1 else np.ones(1)
        p[0] = 0.5 if slices > 1 else 1.0
    else:
        raise UserError(f"Deletion prior must be one of {', '.join(PRIORS)} (got {name!r}).")
    return p / p.sum()
