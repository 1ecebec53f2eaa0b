"""Four learners with one interface: ``fit(members) → release``, ``delete(ids) → next release``.

A :class:`Release` is what the service publishes -- the model's parameters -- plus its
bookkeeping (who was deleted, accuracy, cost). What each learner keeps *between* releases is
exactly what the method keeps:

=============  ================================================  ======================================
learner        internal state                                    deletion
=============  ================================================  ======================================
``retrain``    nothing                                           train again from scratch on what is left
``sisa``       per-shard, per-slice checkpoints                  retrain the shard from the last
                                                                 checkpoint before the deleted record
``caching``    a noise-free model (published + fresh noise)      K_U noise-free steps from the cached model
``noisy_gd``   nothing but the published parameters              K_U Noisy-GD steps from them
=============  ================================================  ======================================

Each learner can also train the attacker's **shadow models** with its own procedure, batched
(:meth:`Learner.shadow_releases`): the attacker knows the algorithm, not the data.

Cost is counted in *record-passes*: the records a training iteration touches, summed over
iterations (a Newton iteration counts like a gradient step; see :func:`.models.fit_exact`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from deletionlab.core.jobs import CancelToken, UserError
from deletionlab.core.lazy import torch  # imported on first use: a kernel that shows a stored run never needs it
from deletionlab.unlearning import CLIP_RANGE, LAMBDA_RANGE, MAX_SHARDS, MAX_SLICES, MAX_STEPS, SIGMA_RANGE
from deletionlab.unlearning.models import Task, descend, fit_exact


def _fmt(v) -> str:
    """A value as typed, short (a 309-digit number is not a message)."""
    text = f"{v:g}" if isinstance(v, float) else repr(v)
    return text if len(text) <= 24 else text[:12] + "…"


def check_number(name: str, v, lo: float, hi: float, *, zero: str | None = None, low_open: bool = False,
                 hint: str = "") -> float:
    """``v`` as a float in [lo, hi] (or (lo, hi] with ``low_open``; also exactly 0 when ``zero``
    names what 0 means), else a :class:`UserError` that names the field and the range."""
    ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)
    if ok and zero is not None and v == 0:
        return 0.0
    if ok and (lo < v if low_open else lo <= v) and v <= hi:
        return float(v)
    what = (f"a number above {lo:g} and at most {hi:.3g}" if low_open else f"a number from {lo:g} to {hi:g}")
    raise UserError(f"{name} must be {zero + ' or ' if zero else ''}{what}{hint} (got {_fmt(v)}).")


def check_count(name: str, v, lo: int, hi: int) -> int:
    """``v`` as a whole number in [lo, hi], else a :class:`UserError` naming the field and the range."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and lo <= v <= hi:
        return int(v)
    raise UserError(f"{name} must be a whole number from {lo:,} to {hi:,} (got {_fmt(v)}).")


@dataclass
class Release:
    """One published model. ``params``: (d+1, C), or (S, d+1, C) for SISA's shard ensemble."""

    t: int
    params: torch.Tensor
    present: np.ndarray  # ids still in the data
    deleted_now: np.ndarray  # ids whose deletion this release answers (empty for the first)
    cost: float  # record-passes spent to make this release
    accuracy: float = float("nan")  # on the never-members

    @property
    def sharded(self) -> bool:
        return self.params.ndim == 3


@dataclass
class Hyper:
    """Hyper-parameters shared by the learners (defaults tuned on breast cancer, see the notebook)."""

    lam: float = 1e-2  # L2 regularisation λ
    eta: float | None = None  # step size η (None: 1/β)
    sigma: float = 0.02  # Noisy-GD noise σ (update noise √(2ησ²)); also sets the caching noise
    k_learn: int = 400  # K_A: Noisy-GD learning steps
    k_unlearn: int = 25  # K_U: steps per deletion request (Noisy-GD and caching)
    clip: float = 1.0  # per-example gradient clipping L (Noisy-GD)
    radius: float | None = None  # optional projection radius R (Noisy-GD)
    shards: int = 5  # SISA shards
    slices: int = 4  # SISA slices per shard
    publish_noise: float | None = None  # caching: std of the fresh noise per release (None: σ/√λ)
    exact_steps: int = 300  # Nesterov steps when Newton is not used (large models)

    def validate(self, task: Task) -> None:
        """Every field against its range (:mod:`deletionlab.unlearning` names them); a
        :class:`UserError` names the field and the range. η's range depends on the model: β is
        the smoothness of the regularised loss."""
        lam = check_number("Regularisation λ", self.lam, *LAMBDA_RANGE)
        check_number("Noise σ", self.sigma, *SIGMA_RANGE, zero="0 (no noise)")
        beta = task.smoothness + lam
        if self.eta is not None:
            check_number("Step size η", self.eta, 0.0, 2.0 / beta, low_open=True,
                         hint=f" (2/β for this model: beyond it gradient descent would diverge; leave it blank "
                              f"for 1/β = {1 / beta:.3g})")
        check_count("Learning steps K_A", self.k_learn, 1, MAX_STEPS)
        check_count("Unlearning steps K_U", self.k_unlearn, 0, MAX_STEPS)
        check_count("SISA shards", self.shards, 1, MAX_SHARDS)
        check_count("SISA slices", self.slices, 1, MAX_SLICES)
        check_count("Exact learners' gradient steps", self.exact_steps, 1, MAX_STEPS)
        if self.clip is not None:  # None: no clipping
            check_number("Gradient clipping L", self.clip, *CLIP_RANGE)
        if self.radius is not None:
            check_number("Projection radius R", self.radius, 1e-3, 1e6)
        if self.publish_noise is not None:
            check_number("Caching noise", self.publish_noise, 0.0, 100.0)

    def step(self, task: Task) -> float:
        return self.eta or 1.0 / (task.smoothness + self.lam)

    def caching_noise(self) -> float:
        return self.publish_noise if self.publish_noise is not None else self.sigma / math.sqrt(self.lam)


def _mask(n: int, ids: np.ndarray) -> np.ndarray:
    m = np.zeros((1, n), dtype=bool)
    m[0, ids] = True
    return m


class Learner:
    """Base class. Subclasses implement :meth:`_fit`, :meth:`_delete`, :meth:`shadow_releases`."""

    key = "base"
    label = "learner"
    exact = False  # True when a release depends only on the data left (no randomness)

    def __init__(self, task: Task, hyper: Hyper | None = None, seed: int = 0, outsiders: np.ndarray | None = None):
        self.task, self.hyper = task, hyper or Hyper()
        self.hyper.validate(task)
        self.gen = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.outsiders = np.asarray(outsiders if outsiders is not None else [], dtype=int)
        self.present: np.ndarray | None = None
        self.releases: list[Release] = []

    # -- public --------------------------------------------------------------------------
    def fit(self, members: np.ndarray, cancel: CancelToken | None = None) -> Release:
        members = np.unique(np.asarray(members, dtype=int))
        if len(members) == 0:
            raise UserError("There are no records to train on.")
        self.present = members
        params, cost = self._fit(members, cancel)
        return self._publish(params, np.array([], dtype=int), cost)

    def delete(self, ids, cancel: CancelToken | None = None) -> Release:
        """Answer one batch of deletion requests and publish the next release. An empty batch
        republishes without training (:meth:`_republish`)."""
        if self.present is None:
            raise UserError("Train the first release before deleting.")
        ids = np.unique(np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=int))
        if len(ids) == 0:
            return self._publish(self._republish(), ids, 0.0)
        missing = np.setdiff1d(ids, self.present)
        if len(missing):
            gone = [int(i) for i in missing if 0 <= i < self.task.n]
            bad = [int(i) for i in missing if not 0 <= i < self.task.n]
            parts = []
            if bad:
                parts.append(f"record {', '.join(map(str, bad[:5]))} does not exist")
            if gone:
                parts.append(f"record {', '.join(map(str, gone[:5]))} is not (or no longer) in the data")
            raise UserError("Cannot delete: " + "; ".join(parts) + ". Nothing was changed.")
        if len(ids) >= len(self.present):
            raise UserError("That would delete every remaining record; a model needs at least one. Nothing was changed.")
        remaining = np.setdiff1d(self.present, ids)
        params, cost = self._delete(ids, remaining, cancel)
        self.present = remaining
        return self._publish(params, ids, cost)

    def shadow_releases(self, masks: np.ndarray, n_releases: int, cancel: CancelToken | None = None,
                        requests: bool = True) -> list[torch.Tensor]:
        """Train len(masks) shadow models with this learner's procedure (batched) and let each
        publish ``n_releases`` releases without deleting anything; returns a list of (M, …)
        params. ``requests``: whether the periods between releases carry (other users')
        requests, i.e. whether Noisy-GD keeps stepping; without requests releases repeat."""
        raise NotImplementedError

    def _republish(self) -> torch.Tensor:
        """A release when no request arrived: the same parameters (stateless learners)."""
        return self.releases[-1].params

    # -- helpers ---------------------------------------------------------------------------
    def _publish(self, params: torch.Tensor, deleted: np.ndarray, cost: float) -> Release:
        rel = Release(t=len(self.releases), params=params.detach().clone(), present=self.present.copy(),
                      deleted_now=deleted, cost=float(cost),
                      accuracy=self.task.accuracy(params, self.outsiders) if len(self.outsiders) else float("nan"))
        self.releases.append(rel)
        return rel

    def _exact(self, masks: np.ndarray, theta0=None, cancel=None) -> tuple[torch.Tensor, float]:
        h = self.hyper
        theta, iters = fit_exact(self.task, masks, lam=h.lam, steps=h.exact_steps, theta0=theta0,
                                 return_iters=True, cancel=cancel)
        return theta, float(np.asarray(masks).sum()) * iters

    def _fit(self, members, cancel):
        raise NotImplementedError

    def _delete(self, ids, remaining, cancel):
        raise NotImplementedError


class Retrain(Learner):
    """Retrain from scratch on what is left (the exact minimiser; deterministic)."""

    key, label, exact = "retrain", "retrain from scratch", True

    def _fit(self, members, cancel):
        th, cost = self._exact(_mask(self.task.n, members), cancel=cancel)
        return th[0], cost

    def _delete(self, ids, remaining, cancel):
        th, cost = self._exact(_mask(self.task.n, remaining), cancel=cancel)
        return th[0], cost

    def shadow_releases(self, masks, n_releases, cancel=None, requests=True):
        th, _ = self._exact(masks, cancel=cancel)
        return [th] * n_releases


class SISA(Learner):
    """SISA (Bourtoule et al. 2021): S shards × R slices. Each shard is trained incrementally on
    slices 1..r with a checkpoint after each slice (warm-started to the exact minimiser of the
    data so far); a deletion retrains the affected shard from the checkpoint before the deleted
    record's slice. The release averages the shards' class probabilities."""

    key, label, exact = "sisa", "SISA (shards × slices)", True

    def _fit(self, members, cancel):
        h = self.hyper
        if h.shards > len(members):
            raise UserError(f"{h.shards} shards need at least {h.shards} records.")
        perm = self.rng.permutation(members)
        self.shard_of = {int(i): s for s, part in enumerate(np.array_split(perm, h.shards)) for i in part}
        self.slices_ = [[np.sort(sl) for sl in np.array_split(part, h.slices)] for part in np.array_split(perm, h.shards)]
        self.ckpt: list[list[torch.Tensor]] = []
        total = 0.0
        for s in range(h.shards):
            cps, cost = self._train_shard(s, 0, self.task.initial(1), cancel)
            self.ckpt.append(cps)
            total += cost
        return self._params(), total

    def _train_shard(self, s, start, theta, cancel):
        cps, cost = [], 0.0
        for r in range(start, self.hyper.slices):
            ids = np.concatenate(self.slices_[s][: r + 1]) if r >= 0 else np.array([], int)
            if len(ids) == 0:
                cps.append(theta[0].clone())
                continue
            theta, c = self._exact(_mask(self.task.n, ids), theta0=theta, cancel=cancel)
            cps.append(theta[0].clone())
            cost += c
        return cps, cost

    def _params(self):
        return torch.stack([c[-1] for c in self.ckpt])

    def _delete(self, ids, remaining, cancel):
        first: dict[int, int] = {}
        for i in ids:
            s = self.shard_of.pop(int(i))
            r = next(k for k, sl in enumerate(self.slices_[s]) if int(i) in sl)
            self.slices_[s][r] = self.slices_[s][r][self.slices_[s][r] != i]
            first[s] = min(first.get(s, r), r)
        total = 0.0
        for s, r in first.items():
            start = self.ckpt[s][r - 1][None] if r > 0 else self.task.initial(1)
            cps, cost = self._train_shard(s, r, start, cancel)
            self.ckpt[s] = self.ckpt[s][:r] + cps
            total += cost
        return self._params(), total

    def shadow_releases(self, masks, n_releases, cancel=None, requests=True):
        S = self.hyper.shards
        M, n = masks.shape
        shard = self.rng.integers(0, S, size=(M, n))
        sm = np.stack([masks & (shard == s) for s in range(S)], 1).reshape(M * S, n)
        th, _ = self._exact(sm, cancel=cancel)
        th = th.reshape(M, S, *self.task.shape)
        return [th] * n_releases


class Caching(Learner):
    """Keeps a noise-free model and publishes it plus fresh Gaussian noise each release; a
    deletion runs K_U noise-free gradient steps on the data left from the cached model. Every
    single release is noisy, but the noise is fresh each time: averaging releases removes it."""

    key, label = "caching", "caching unlearner"

    def _fit(self, members, cancel):
        th, cost = self._exact(_mask(self.task.n, members), cancel=cancel)
        self.state = th
        return self._noisy(th[0]), cost

    def _noisy(self, theta):
        return theta + self.hyper.caching_noise() * torch.randn(theta.shape, generator=self.gen, dtype=theta.dtype)

    def _delete(self, ids, remaining, cancel):
        h = self.hyper
        W = self.task.weights(_mask(self.task.n, remaining))
        self.state = descend(self.task, self.state, W, lam=h.lam, eta=h.step(self.task), steps=h.k_unlearn, cancel=cancel)
        return self._noisy(self.state[0]), h.k_unlearn * len(remaining)

    def _republish(self):
        return self._noisy(self.state[0])

    def shadow_releases(self, masks, n_releases, cancel=None, requests=True):
        th, _ = self._exact(masks, cancel=cancel)
        return [self._noisy(th) for _ in range(n_releases)]


class NoisyGD(Learner):
    """Noisy gradient descent (Chourasia & Shah 2023): θ_0 ~ N(0, σ²/λ I); K_A noisy steps on the
    data; on each request K_U noisy steps on the data left, from the current parameters only.
    Per-example gradients clipped to L; optional projection onto a ball of radius R."""

    key, label = "noisy_gd", "Noisy-GD"

    def _init(self, M):
        h = self.hyper
        return math.sqrt(h.sigma ** 2 / h.lam) * torch.randn(M, *self.task.shape, generator=self.gen, dtype=torch.float64)

    def _run(self, theta, W, steps, cancel):
        h = self.hyper
        return descend(self.task, theta, W, lam=h.lam, eta=h.step(self.task), steps=steps, sigma=h.sigma,
                       clip=h.clip, radius=h.radius, generator=self.gen, cancel=cancel)

    def _fit(self, members, cancel):
        h = self.hyper
        th = self._run(self._init(1), self.task.weights(_mask(self.task.n, members)), h.k_learn, cancel)
        self.state = th
        return th[0], h.k_learn * len(members)

    def _delete(self, ids, remaining, cancel):
        h = self.hyper
        self.state = self._run(self.state, self.task.weights(_mask(self.task.n, remaining)), h.k_unlearn, cancel)
        return self.state[0], h.k_unlearn * len(remaining)

    def shadow_releases(self, masks, n_releases, cancel=None, requests=True):
        h = self.hyper
        W = self.task.weights(masks)
        th = self._run(self._init(len(masks)), W, h.k_learn, cancel)
        out = [th]
        for _ in range(n_releases - 1):
            if requests:
                th = self._run(th, W, h.k_unlearn, cancel)
            out.append(th)
        return out


LEARNERS = {c.key: c for c in (Retrain, SISA, Caching, NoisyGD)}


def make(key: str, task: Task, hyper: Hyper | None = None, seed: int = 0, outsiders=None) -> Learner:
    if key not in LEARNERS:
        raise UserError(f"Unknown learner {key!r}; choose one of {', '.join(LEARNERS)}.")
    return LEARNERS[key](task, hyper, seed=seed, outsiders=outsiders)
