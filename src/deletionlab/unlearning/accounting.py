"""Privacy accounting for Noisy-GD: the paper's Rényi bound, and the exact divergence where every
release is Gaussian (ridge regression without clipping).

Exact part (no approximation). For ridge regression the Noisy-GD update is linear in θ,

    θ_{k+1} = (I − ηA) θ_k + η b + √(2ησ²) Z_k,   A = Σ_n w_n x̃_n x̃_nᵀ + λI,   b = Σ_n w_n y_n x̃_n,

so from θ_0 ~ N(0, σ²/λ · I) every θ_k is Gaussian with mean and covariance that follow

    m_{k+1} = (I − ηA) m_k + η b,      Σ_{k+1} = (I − ηA) Σ_k (I − ηA)ᵀ + 2ησ² I.

"Unlearned" = K_A steps on D, then K_U steps on D' = D without the deleted records;
"retrained" = the same algorithm run on D' from the start (K_A + K_U steps). Both are Gaussian,
and the Rényi divergence of two Gaussians has a closed form (:func:`gaussian_renyi`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress
from deletionlab.unlearning import CERTIFY_TARGET, MAX_RELEASES, MAX_STEPS
from deletionlab.unlearning.data import load
from deletionlab.unlearning.learners import check_count
from deletionlab.unlearning.models import Task

if TYPE_CHECKING:
    from deletionlab.unlearning.learners import Hyper

#: the data set of the exact curve: scikit-learn's diabetes regression (ridge releases are Gaussian)
ACCOUNTING_DATASET = "diabetes"
#: Rényi order α of the curves
DEFAULT_ALPHA = 2.0


def gaussian_renyi(m1: np.ndarray, S1: np.ndarray, m2: np.ndarray, S2: np.ndarray, alpha: float) -> float:
    """D_α(N(m1, S1) ‖ N(m2, S2)) for α > 1 (∞ when αS2 + (1−α)S1 is not positive definite)."""
    if alpha <= 1:
        raise UserError("The Rényi order α must be greater than 1.")
    Sa = alpha * S2 + (1 - alpha) * S1
    try:
        La = np.linalg.cholesky(Sa)
    except np.linalg.LinAlgError:
        return math.inf
    dm = np.asarray(m1 - m2, float).ravel()
    quad = float(np.sum(np.linalg.solve(La, dm) ** 2))
    logdet = lambda S: 2 * float(np.log(np.diag(np.linalg.cholesky(S))).sum())  # noqa: E731
    ld_a = 2 * float(np.log(np.diag(La)).sum())
    return 0.5 * alpha * quad - (ld_a - (1 - alpha) * logdet(S1) - alpha * logdet(S2)) / (2 * (alpha - 1))


@dataclass
class GaussianChain:
    """Mean and covariance of a Noisy-GD chain on ridge regression (one output)."""

    mean: np.ndarray
    cov: np.ndarray

    def steps(self, A: np.ndarray, b: np.ndarray, eta: float, sigma: float, k: int,
              cancel: CancelToken | None = None) -> GaussianChain:
        B = np.eye(len(A)) - eta * A
        m, S = self.mean, self.cov
        for i in range(k):
            if i % 500 == 0:
                check_cancel(cancel)
            m = B @ m + eta * b
            S = B @ S @ B.T + 2 * eta * sigma ** 2 * np.eye(len(A))
        return GaussianChain(m, S)


def ridge_system(X: np.ndarray, y: np.ndarray, ids: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """(A, b) of the loss (1/|ids|) Σ ½(θᵀx̃ − y)² + (λ/2)‖θ‖² over records ``ids`` (x̃ = [x, 1])."""
    Xb = np.c_[np.asarray(X, float), np.ones(len(X))][ids]
    yy = np.asarray(y, float)[ids]
    return Xb.T @ Xb / len(ids) + lam * np.eye(Xb.shape[1]), Xb.T @ yy / len(ids)


def exact_ridge_divergence(X: np.ndarray, y: np.ndarray, members: np.ndarray, deleted: np.ndarray, *,
                           lam: float, sigma: float, eta: float, k_learn: int, k_unlearn: int,
                           alpha: float = 2.0, cancel: CancelToken | None = None) -> np.ndarray:
    """D_α(unlearned after j steps ‖ retrained) for j = 0..k_unlearn: array of length k_unlearn + 1.

    Both chains start from θ_0 ~ N(0, σ²/λ I); unlearned runs k_learn steps on ``members`` and
    then j steps on ``members`` without ``deleted``; retrained runs k_learn + j steps on the
    latter. Requires η < 2/λ_max(A) (checked)."""
    if sigma <= 0:
        raise UserError(f"σ = {sigma:g}: without noise the releases are point masses and the divergence is infinite; "
                        "set σ > 0 to see the curves.")
    members = np.asarray(members, int)
    keep = np.setdiff1d(members, deleted)
    if len(keep) == len(members):
        raise UserError("None of the deleted records is a member.")
    A, b = ridge_system(X, y, members, lam)
    A2, b2 = ridge_system(X, y, keep, lam)
    top = float(np.linalg.eigvalsh(A).max())
    if eta * top >= 2:
        raise UserError(f"η = {eta:g} is too large for this problem (needs η < {2 / top:.3g}); the chain diverges.")
    p = len(A)
    start = GaussianChain(np.zeros(p), sigma ** 2 / lam * np.eye(p))
    u = start.steps(A, b, eta, sigma, k_learn, cancel)
    r = start.steps(A2, b2, eta, sigma, k_learn, cancel)
    out = []
    for j in range(k_unlearn + 1):
        if j % 200 == 0:
            check_cancel(cancel)
        out.append(gaussian_renyi(u.mean, u.cov, r.mean, r.cov, alpha))
        u = u.steps(A2, b2, eta, sigma, 1)
        r = r.steps(A2, b2, eta, sigma, 1)
    return np.array(out)


# -- the bound ----------------------------------------------------------------------------------
#
# PROVENANCE (checked 2026-11-30 with the project's search tools; issue 10, item 14). Of Chourasia
# & Shah, "Forget Unlearning: Towards True Data-Deletion in Machine Learning" (arXiv 2210.08911;
# ICML 2023, PMLR 202:6028-6073; the ICLR 2023 submission), we could read the abstract and the
# opening paragraphs of the introduction (the stored copies of arXiv/ar5iv, of the Hugging Face
# papers page and of the ICLR 2023 submission text serve each page from its beginning only), and
# a sentence quoted elsewhere about the paper's reduction theorem (DP for the remaining records +
# a deletion guarantee for non-adaptive requests gives one for adaptive requests). We could not
# read the paper's Noisy-GD theorem, so we do not implement it: the bound below is RECONSTRUCTED.
#
# It is the bound of Langevin Unlearning (Chien, Wang, Chen, Li, NeurIPS 2024) as its official
# code computes it (github.com/Graph-COM/Langevin_unlearning: ``epsilon_expression`` in
# main_lmc.py and ``epsilon_s_with_alpha`` in baseline.py, read line by line; we leave out
# their conversion to (ε, δ), + log(1/δ)/(α − 1)). In our notation (strong convexity m = λ of the
# mean loss, per-example gradient norm ≤ L, r records deleted per request, n records before the
# request, update noise √(2ησ²)):
#
#   learning (stationary):      ε₀(α)        = 4 α r² L² / (λ σ² n²)
#   after K_U unlearning steps: ε_1(α)       = exp(−λ η K_U / α) · ε₀(α)
#   s-th request in a sequence: ε_s(α)       = exp(−λ η K_U / α) · (α − ½)/(α − 1) · [ε₀(2α) + ε_{s−1}(2α)]
#                               (the Rényi order doubles with every request)
#
# Their code keeps n fixed (a deleted record is replaced); we delete, so ε₀ of the s-th request
# uses the n − (s − 1)·r records held before it (the gradient of the mean loss moves by at most
# 2rL/n either way). The bound assumes the learning phase has reached its stationary
# distribution (K_A large) and η ≤ 1/β; the exact curve uses the actual K_A.
BOUND_SOURCE = ("reconstructed: the bound of Langevin Unlearning (Chien et al. 2024) as its official code computes it; "
                "Chourasia & Shah's own theorem could not be read (only their abstract and introduction)")


def _eps0(a: float, *, records: int, lipschitz: float, lam: float, sigma: float, n: int) -> float:
    """ε₀(a): the stationary Rényi divergence of order a between learning on n records and on n − r."""
    return 4 * a * records ** 2 * lipschitz ** 2 / (lam * sigma ** 2 * n ** 2)


def noisy_gd_bound(k_unlearn, *, alpha: float, sigma: float, eta: float, lam: float, lipschitz: float, n: int,
                   records: int = 1, smooth: float | None = None, requests: int = 1) -> np.ndarray | None:
    """ε(α) after the ``requests``-th deletion request of ``records`` records each, every request
    answered with K_U steps, for every K_U in ``k_unlearn`` (see the provenance note above);
    None if σ = 0 (no noise: no bound). Needs η ≤ 1/β (β = ``smooth``, the smoothness of the
    regularised loss) and fewer deleted records than ``n``."""
    if not isinstance(requests, (int, np.integer)) or requests < 1:
        raise UserError(f"The number of requests must be a whole number of at least 1 (got {requests!r}).")
    if sigma <= 0:
        return None
    if not (alpha > 1 and lam > 0 and n > 0 and lipschitz > 0 and eta > 0):
        raise UserError("The bound needs α > 1, λ > 0, η > 0, L > 0 and at least one record.")
    if requests * records >= n:
        raise UserError(f"{requests} requests × {records} records would delete all {n} records.")
    if smooth is not None and eta > 1.0 / smooth * (1 + 1e-9):
        raise UserError(f"Step size η must be at most 1/β = {1 / smooth:.3g} for the bound (got {eta:.3g}).")
    ks = np.asarray(k_unlearn, float)
    kw = dict(records=records, lipschitz=lipschitz, lam=lam, sigma=sigma)

    def eps(a: float, s: int) -> np.ndarray:
        held = n - (s - 1) * records  # records held before the s-th request
        decay = np.exp(-lam * eta * ks / a)
        if s == 1:
            return decay * _eps0(a, n=held, **kw)
        return decay * (a - 0.5) / (a - 1) * (_eps0(2 * a, n=held, **kw) + eps(2 * a, s - 1))

    with np.errstate(over="ignore", invalid="ignore"):
        return eps(alpha, requests)


def certified_epsilons(*, k_unlearn: int, requests: int, alpha: float = DEFAULT_ALPHA, **kw) -> list[float]:
    """ε after each request s = 1..``requests`` (each answered with ``k_unlearn`` steps); ``kw`` as
    for :func:`noisy_gd_bound` (σ > 0)."""
    return [float(noisy_gd_bound([k_unlearn], alpha=alpha, requests=s, **kw)[0]) for s in range(1, requests + 1)]


def certificate_conditions(task: Task, h: Hyper) -> str | None:
    """Why the bound does not apply to Noisy-GD with ``h`` on ``task`` (None when it does). The
    bound needs a convex, L-Lipschitz, β-smooth loss, λ > 0, η ≤ 1/β and noise. Per-example
    clipping keeps a two-class (or ridge) loss convex -- the clipped gradient is a non-decreasing
    function of the margin (residual) -- but not a softmax over more classes."""
    if h.sigma == 0:
        return "σ = 0: without noise there is no certificate"
    if task.kind == "mlp":
        return "the MLP is not convex: the bound does not apply"
    beta = task.smoothness + h.lam
    if h.step(task) > 1 / beta * (1 + 1e-9):
        return f"η = {h.step(task):.3g} is above 1/β = {1 / beta:.3g}, where the bound is proven"
    if _lipschitz(task, h) is None:
        return "without gradient clipping the squared loss is not Lipschitz"
    if task.kind == "logistic" and task.shape[1] > 2 and h.clip is not None and h.clip < _largest_gradient(task):
        return f"clipping a softmax over {task.shape[1]} classes is not known to keep the loss convex"
    return None


def _largest_gradient(task: Task) -> float:
    """A bound on a logistic model's per-example gradient norm: ‖x̃‖·‖softmax − onehot‖ ≤ ‖x̃‖·√2."""
    return float(task.X.norm(dim=1).max()) * math.sqrt(2)


def _lipschitz(task: Task, h: Hyper) -> float | None:
    """The L of the bound: the clipping norm, or without clipping the logistic loss's own bound
    (None for ridge without clipping)."""
    if h.clip is not None:
        return h.clip if task.kind == "ridge" else min(h.clip, _largest_gradient(task))
    return _largest_gradient(task) if task.kind == "logistic" else None


def certificate(task: Task, h: Hyper, *, n: int, records: int, requests: int, alpha: float = DEFAULT_ALPHA) -> dict:
    """The certified ε of a run of Noisy-GD: ``epsilon`` after each of ``requests`` requests of
    ``records`` records (n records before the first), ``dp_epsilon`` = ε₀(α) for one record (the
    learning phase's own Rényi DP: what protects the remaining records), ``meaningful`` (every ε
    ≤ :data:`CERTIFY_TARGET`) and ``why`` when there is no certificate (then the lists are None)."""
    why = certificate_conditions(task, h)
    out = {"alpha": alpha, "target": CERTIFY_TARGET, "records": records, "n": n, "k_unlearn": h.k_unlearn,
           "epsilon": None, "dp_epsilon": None, "meaningful": False, "why": why, "source": BOUND_SOURCE}
    if why is not None:
        return out
    L = _lipschitz(task, h)
    kw = dict(sigma=h.sigma, eta=h.step(task), lam=h.lam, lipschitz=L)
    eps = certified_epsilons(k_unlearn=h.k_unlearn, requests=requests, alpha=alpha, n=n, records=records, **kw)
    out["epsilon"] = eps
    out["dp_epsilon"] = _eps0(alpha, records=1, lipschitz=L, lam=h.lam, sigma=h.sigma, n=n)
    out["lipschitz"] = L
    out["meaningful"] = bool(all(math.isfinite(e) and e <= CERTIFY_TARGET for e in eps))
    return out


def k_unlearn_for(task: Task, h: Hyper, *, n: int, records: int, requests: int, alpha: float = DEFAULT_ALPHA,
                  target: float = CERTIFY_TARGET) -> int | None:
    """The smallest K_U for which ε ≤ ``target`` after every one of ``requests`` requests (None if
    the bound does not apply, or not even K_U = MAX_STEPS is enough)."""
    if certificate_conditions(task, h) is not None:
        return None
    kw = dict(sigma=h.sigma, eta=h.step(task), lam=h.lam, lipschitz=_lipschitz(task, h), n=n, records=records)

    def ok(k: int) -> bool:
        return max(certified_epsilons(k_unlearn=k, requests=requests, alpha=alpha, **kw)) <= target

    if not ok(MAX_STEPS):
        return None
    lo, hi = 0, MAX_STEPS  # ok(hi); the bound decreases in K_U
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid + 1, hi)
    return lo


def ridge_lipschitz(X: np.ndarray, y: np.ndarray, members: np.ndarray, lam: float) -> float:
    """A *local* Lipschitz constant for ridge regression: the largest per-example gradient norm
    ‖x̃‖·|θ*ᵀx̃ − y| at the regularised minimiser θ* (penalty λ = ``lam``) over the members (the
    squared loss has no global one; Noisy-GD's guarantee would clip gradients to this L)."""
    A, b = ridge_system(X, y, members, lam)
    theta = np.linalg.solve(A, b)
    Xb = np.c_[np.asarray(X, float), np.ones(len(X))][members]
    r = Xb @ theta - np.asarray(y, float)[members]
    return float((np.linalg.norm(Xb, axis=1) * np.abs(r)).max())


def _verdict(exact: np.ndarray, bound: np.ndarray) -> str:
    """Whether the bound lies above the exact curve, said only where both are finite numbers."""
    ok = np.isfinite(exact) & np.isfinite(bound)
    if not ok.any():
        return ". Neither curve is a finite number here, so nothing can be compared"
    if np.all(bound[ok] >= exact[ok] * (1 - 1e-9)):
        return ". The bound lies above the exact curve wherever both are finite"
    return (". <b>The bound falls below the exact curve somewhere</b> -- it does not hold for this setting "
            "(e.g. the Lipschitz constant is only local, or K_A is too short for stationarity)")


def describe(out: dict, hyper: Hyper, eta: float, alpha: float, n: int) -> str:
    """A few HTML sentences comparing the exact divergence with the bound (``out``: what
    :func:`accounting_curves` computed)."""
    exact = np.asarray(out["exact"], float)
    k = min(hyper.k_unlearn, len(exact) - 1)
    parts = [f"<b>At K_U = {k}</b> (α = {alpha:g}, σ = {hyper.sigma:g}, λ = {hyper.lam:g}, η = {eta:.3g}, "
             f"K_A = {hyper.k_learn}, n = {n}, one record deleted): exact divergence {exact[k]:.3g}"]
    if out["bound"] is None:
        parts.append(f". No bound: {escape_text(out['no_bound'])}.")
    else:
        bound = np.asarray(out["bound"], float)
        parts.append(f", bound {bound[k]:.3g}" + _verdict(exact, bound))
        pos = (exact > 0) & np.isfinite(exact)
        rate = np.polyfit(np.flatnonzero(pos), np.log(exact[pos]), 1)[0] if pos.sum() > 2 else float("nan")
        parts.append(f". Decay per step: exact ×{math.exp(rate):.4f}, bound ×{math.exp(-hyper.lam * eta / alpha):.4f}.")
        later = out["bound_requests"][k] if out["bound_requests"] is not None else float("nan")
        worst = max(bound[k], later) if math.isfinite(later) else bound[k]
        word = "meaningful" if math.isfinite(worst) and worst <= CERTIFY_TARGET else "vacuous"
        parts.append(f" After request {out['requests']} the bound is {later:.3g}: {word} "
                     f"(we call a bound meaningful at ε ≤ {CERTIFY_TARGET:g}).")
    parts.append(f"<div class='dl-muted'>Bound: {BOUND_SOURCE}.</div>")
    return "".join(parts)


def escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def accounting_curves(h: Hyper, progress: Progress = no_progress, cancel: CancelToken | None = None,
                      alpha: float = DEFAULT_ALPHA, k_max: int | None = None, requests: int = 1) -> dict:
    """Exact Rényi divergence (ridge regression on ``diabetes``, one deleted record) and the bound
    (first request and the ``requests``-th), as functions of K_U = 0..k_max, for the
    hyper-parameters ``h`` -- checked by :meth:`.learners.Hyper.validate`, the same check as a run.
    Returns a JSON-able dict: ``k``, ``exact``, ``bound`` and ``bound_requests`` (None when there is
    no bound; ``no_bound`` says why), ``requests`` and ``text`` (:func:`describe`)."""
    ds = load(ACCOUNTING_DATASET)
    task = Task.from_dataset(ds, "ridge")
    h.validate(task)
    requests = check_count("Requests", requests, 1, MAX_RELEASES)
    k_max = check_count("K_U axis", k_max, h.k_unlearn, MAX_STEPS) if k_max is not None else \
        max(50, min(4 * h.k_unlearn, h.k_unlearn + 2000))
    beta = task.smoothness + h.lam
    eta = h.step(task)
    progress(0, 2, "exact divergence")
    exact = exact_ridge_divergence(ds.X, ds.y, ds.members, ds.members[:1], lam=h.lam, sigma=h.sigma, eta=eta,
                                   k_learn=h.k_learn, k_unlearn=k_max, alpha=alpha, cancel=cancel)
    check_cancel(cancel)
    progress(1, 2, "bound")
    out = {"k": list(range(k_max + 1)), "exact": exact.tolist(), "bound": None, "bound_requests": None,
           "requests": requests, "no_bound": None}
    if h.sigma == 0:
        out["no_bound"] = "σ = 0, without noise the releases are point masses"
    elif eta > 1 / beta * (1 + 1e-9):
        out["no_bound"] = f"η = {eta:.3g} is above 1/β = {1 / beta:.3g}, where the bound is proven"
    else:
        kw = dict(alpha=alpha, sigma=h.sigma, eta=eta, lam=h.lam, n=len(ds.members), smooth=beta,
                  lipschitz=ridge_lipschitz(ds.X, ds.y, ds.members, h.lam))
        out["bound"] = noisy_gd_bound(np.arange(k_max + 1), **kw).tolist()
        out["bound_requests"] = noisy_gd_bound(np.arange(k_max + 1), **kw, requests=requests).tolist()
    out["text"] = describe(out, h, eta, alpha, len(ds.members))
    progress(2, 2, "done")
    return out


def shared_accounting_curves(h: Hyper, progress: Progress = no_progress, cancel: CancelToken | None = None,
                             alpha: float = DEFAULT_ALPHA, k_max: int | None = None, requests: int = 1) -> dict:
    """:func:`accounting_curves` through the machine-wide result cache (``core.cache``): the notebook's
    curves for the default parameters are computed by the first kernel that draws them and read by
    every later one (computing them needs the data set and torch; reading them needs neither)."""
    from deletionlab.core.cache import cached

    key = {"what": "accounting", "hyper": h, "alpha": alpha, "k_max": k_max, "requests": requests}
    return cached("unlearning", key, lambda: accounting_curves(h, progress, cancel, alpha, k_max, requests),
                  cancel=cancel, progress=progress)
