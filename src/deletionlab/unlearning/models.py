"""Batched convex models: many logistic- or ridge-regression models trained in one tensor program.

All models of a batch share the records ``X`` (n × d, a bias column is appended here) and differ
only in which records they train on: a weight matrix ``W`` of shape (M, n) whose row m holds
1/|D_m| for the records of model m and 0 elsewhere. Parameters have shape (M, d + 1, C)
(C = number of classes for logistic regression, 1 for ridge). One gradient step of all M models
is two ``einsum`` calls, so 64 shadow models cost about as much as a handful of single fits.

The loss of model m is  L_m(θ) = Σ_n W[m, n] ℓ(θ; x_n) + (λ/2)‖θ‖²  with

* logistic (softmax cross-entropy): ∇ℓ = x̃ (softmax(θᵀx̃) − onehot(y))ᵀ,
* ridge (squared error / 2):        ∇ℓ = x̃ (θᵀx̃ − y).

Per-example gradients are clipped to norm ``clip`` without being materialised: the norm of
x̃ rᵀ is ‖x̃‖·‖r‖. With rows ‖x‖ ≤ 1 (see :mod:`.data`), ‖x̃‖² ≤ 2, so the logistic loss is
β-smooth with β ≤ 1 + λ and the ridge loss with β ≤ 2 + λ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from deletionlab.core.jobs import CancelToken, UserError, check_cancel
from deletionlab.core.lazy import torch  # imported on first use: a kernel that shows a stored run never needs it


class Diverged(UserError):
    """Training produced non-finite or exploding parameters (e.g. a learning rate far too large)."""


@dataclass
class Task:
    """The records as tensors, and the model family (``"logistic"`` or ``"ridge"``)."""

    X: torch.Tensor  # n × (d+1), bias column last
    Y: torch.Tensor  # n × C: one-hot labels (logistic) or targets (ridge, C = 1)
    y: np.ndarray  # labels (int) or targets (float), as given
    kind: str

    @classmethod
    def from_arrays(cls, X: np.ndarray, y: np.ndarray, kind: str = "logistic", n_classes: int | None = None) -> Task:
        """The records as tensors for a convex model (the small MLP: :func:`.mlp.make_task`)."""
        if kind not in ("logistic", "ridge"):
            raise UserError(f"Unknown model kind {kind!r}; use 'logistic' or 'ridge' (the MLP is made by mlp.make_task).")
        Xt = torch.as_tensor(np.asarray(X), dtype=torch.float64)
        Xb = torch.cat([Xt, torch.ones(len(Xt), 1, dtype=torch.float64)], dim=1)
        if kind == "logistic":
            yi = np.asarray(y, dtype=np.int64)
            C = int(n_classes or (yi.max() + 1))
            Y = torch.nn.functional.one_hot(torch.as_tensor(yi), C).to(torch.float64)
        else:
            Y = torch.as_tensor(np.asarray(y, dtype=np.float64), dtype=torch.float64).reshape(-1, 1)
        return cls(X=Xb, Y=Y, y=np.asarray(y), kind=kind)

    @classmethod
    def from_dataset(cls, ds, kind: str | None = None) -> Task:
        kind = kind or ("logistic" if ds.task == "classification" else "ridge")
        if kind == "logistic" and ds.task != "classification":
            raise UserError(f"{ds.name} is a regression data set; use the ridge model.")
        return cls.from_arrays(ds.X, ds.y, kind, ds.n_classes or None)

    @property
    def n(self) -> int:
        return self.X.shape[0]

    def initial(self, M: int) -> torch.Tensor:
        """Where training starts: zeros for the convex models (their minimiser does not depend on it)."""
        return torch.zeros(M, *self.shape, dtype=torch.float64)

    @property
    def outer(self) -> torch.Tensor:
        """(n, (d+1)²) outer products x̃ x̃ᵀ of the rows (cached; used by Newton's method)."""
        if getattr(self, "_outer", None) is None:
            self._outer = (self.X[:, :, None] * self.X[:, None, :]).reshape(self.n, -1)
        return self._outer

    @property
    def outer32(self) -> torch.Tensor:
        """:attr:`outer` in single precision (for approximate Hessians; cached)."""
        if getattr(self, "_outer32", None) is None:
            self._outer32 = self.outer.to(torch.float32)
        return self._outer32

    @property
    def shape(self) -> tuple[int, int]:
        """Parameter shape of one model: (d + 1, C)."""
        return self.X.shape[1], self.Y.shape[1]

    @property
    def smoothness(self) -> float:
        """An upper bound β on the smoothness of the per-example loss (without λ)."""
        r2 = float((self.X ** 2).sum(1).max())
        return 0.5 * r2 if self.kind == "logistic" else r2

    def weights(self, masks: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(M, n) 0/1 masks → rows that sum to 1 (an empty row stays 0)."""
        m = torch.as_tensor(np.asarray(masks), dtype=torch.float64)
        if m.ndim == 1:
            m = m[None]
        return m / m.sum(1, keepdim=True).clamp_min(1.0)

    def outputs(self, theta: torch.Tensor) -> torch.Tensor:
        """(..., d+1, C) parameters → (..., n, C) logits (or predictions)."""
        if theta.ndim == 3:  # one GEMM for the whole batch: (n, d) @ (d, M·C)
            M, d, C = theta.shape
            return (self.X @ theta.permute(1, 0, 2).reshape(d, M * C)).reshape(-1, M, C).permute(1, 0, 2)
        return torch.einsum("nd,...dc->...nc", self.X, theta)

    def gradient(self, theta: torch.Tensor, W: torch.Tensor, clip: float | None = None) -> torch.Tensor:
        """∇ of Σ_n W[m,n] ℓ(θ_m; x_n) for every model m (without the λ term); theta (M, d+1, C)."""
        out = self.outputs(theta)
        R = torch.softmax(out, -1) - self.Y if self.kind == "logistic" else out - self.Y
        if clip is not None and math.isfinite(clip):
            norms = self.X.norm(dim=1)[None, :] * R.norm(dim=-1)
            R = R * (clip / norms.clamp_min(1e-12)).clamp(max=1.0)[..., None]
        G = R * W[..., None]  # M, n, C
        M, n, C = G.shape
        return (self.X.T @ G.permute(1, 0, 2).reshape(n, M * C)).reshape(-1, M, C).permute(1, 0, 2)

    def loss(self, theta: torch.Tensor, W: torch.Tensor, lam: float) -> torch.Tensor:
        out = self.outputs(theta)
        if self.kind == "logistic":
            per = -(torch.log_softmax(out, -1) * self.Y).sum(-1)
        else:
            per = 0.5 * ((out - self.Y) ** 2).sum(-1)
        return (per * W).sum(1) + 0.5 * lam * (theta ** 2).flatten(1).sum(1)

    # -- what an attacker sees --------------------------------------------------------
    def log_probs(self, theta: torch.Tensor, sharded: bool = False) -> torch.Tensor:
        """(..., [S,] d+1, C) → (..., n, C) log class probabilities; with ``sharded`` the
        probabilities of the S shard models (axis -3) are averaged, as SISA publishes them."""
        lp = torch.log_softmax(self.outputs(theta), -1)
        if sharded:
            lp = torch.logsumexp(lp, -3) - math.log(theta.shape[-3])
        return lp

    def confidence(self, theta: torch.Tensor, sharded: bool = False) -> np.ndarray:
        """LiRA's statistic for every record: the logit-scaled confidence
        log p_y − log Σ_{y'≠y} p_y' (logistic), or minus the squared error (ridge).
        (..., [S,] d+1, C) → (..., n)."""
        if self.kind == "ridge":
            pred = self.outputs(theta)
            if sharded:
                pred = pred.mean(-3)
            return (-((pred - self.Y) ** 2).sum(-1)).numpy()
        lp = self.log_probs(theta, sharded)
        ly = (lp * self.Y).sum(-1)
        other = torch.logsumexp(lp.masked_fill(self.Y.bool(), -math.inf), -1)
        return (ly - other).numpy()

    def accuracy(self, theta: torch.Tensor, ids: np.ndarray) -> float:
        """Accuracy (classifiers) or R² (ridge) of one published model -- (d+1, C), or (S, d+1, C)
        for a sharded one -- on records ``ids``."""
        ids = np.asarray(ids)
        if len(ids) == 0:
            return float("nan")
        sharded = theta.ndim == 3
        if self.kind != "ridge":
            pred = self.log_probs(theta, sharded).argmax(-1).numpy()
            return float((pred[ids] == self.y[ids]).mean())
        pred = self.outputs(theta)
        pred = (pred.mean(0) if sharded else pred)[:, 0].numpy()
        y = np.asarray(self.y, dtype=float)
        return float(1 - ((pred[ids] - y[ids]) ** 2).sum() / max(((y[ids] - y[ids].mean()) ** 2).sum(), 1e-12))


def check_finite(theta: torch.Tensor, what: str = "training") -> None:
    if not torch.isfinite(theta).all() or float(theta.abs().max()) > 1e6:
        raise Diverged(f"The {what} diverged (parameters became huge or NaN). Lower the learning rate η "
                       f"(it must stay below 2/β; the default 1/β is safe).")


def descend(task: Task, theta: torch.Tensor, W: torch.Tensor, *, lam: float, eta: float, steps: int,
            sigma: float = 0.0, clip: float | None = None, radius: float | None = None,
            accelerate: bool = False, generator: torch.Generator | None = None,
            cancel: CancelToken | None = None) -> torch.Tensor:
    """``steps`` full-batch gradient steps of every model in the batch.

    Noisy-GD when ``sigma > 0``:  θ ← Π_R(θ − η(∇L(θ) + λθ) + √(2ησ²) Z),  Z ~ N(0, I).
    ``accelerate`` (noise-free only) uses Nesterov's method for λ-strongly convex losses, which
    reaches the minimiser in far fewer steps; it is how the exact (non-private) learners train.
    ``eta`` and ``steps`` come checked (:meth:`.learners.Hyper.validate`); a step too large for
    the loss ends in :class:`Diverged`.
    """
    theta = theta.clone()
    if accelerate and sigma == 0:
        q = math.sqrt(max(lam, 1e-12) * eta)
        mom = (1 - q) / (1 + q)
        prev = theta.clone()
        for k in range(steps):
            check_cancel(cancel)  # a step of the MLP's shadows takes up to ~20 ms on a busy machine
            look = theta + mom * (theta - prev)
            prev = theta
            theta = look - eta * (task.gradient(look, W, clip) + lam * look)
            if radius is not None:
                theta = _project(theta, radius)
    else:
        scale = math.sqrt(2 * eta * sigma ** 2)
        for k in range(steps):
            check_cancel(cancel)  # a step of the MLP's shadows takes up to ~20 ms on a busy machine
            theta = theta - eta * (task.gradient(theta, W, clip) + lam * theta)
            if sigma > 0:
                theta = theta + scale * torch.randn(theta.shape, generator=generator, dtype=theta.dtype)
            if radius is not None:
                theta = _project(theta, radius)
    check_finite(theta)
    return theta


def _project(theta: torch.Tensor, radius: float) -> torch.Tensor:
    norms = theta.flatten(1).norm(dim=1).clamp_min(1e-12)
    return theta * (radius / norms).clamp(max=1.0).reshape(-1, *([1] * (theta.ndim - 1)))


def hessian(task: Task, theta: torch.Tensor, W: torch.Tensor, lam: float) -> torch.Tensor:
    """(M, p, p) Hessians of the regularised losses, p = (d+1)·C, θ flattened row-major."""
    M = theta.shape[0]
    d1, C = task.shape
    if task.kind == "logistic":
        P = torch.softmax(task.outputs(theta), -1)  # M, n, C
        S = torch.diag_embed(P) - P[..., :, None] * P[..., None, :]  # M, n, C, C
        A = (S * W[..., None, None]).permute(0, 2, 3, 1).reshape(M * C * C, -1)  # (M·C·C, n)
    else:
        A, C = W, 1
    H = (A @ task.outer).reshape(M, C, C, d1, d1).permute(0, 3, 1, 4, 2)  # m, d, a, e, b
    H = H.reshape(M, d1 * C, d1 * C)
    return H + lam * torch.eye(d1 * C, dtype=H.dtype)


def _sigmoid_newton(X: torch.Tensor, t: torch.Tensor, W: torch.Tensor, lam: float, iters: int, tol: float,
                    cancel: CancelToken | None, w0: torch.Tensor | None = None,
                    XX: torch.Tensor | None = None) -> tuple[torch.Tensor, int]:
    """Newton's method for M binary logistic regressions Σ_n W[m,n] log(1+exp(−s_n wᵀx_n)) + (λ/2)‖w‖²
    (targets t ∈ {0,1}), from ``w0`` (default 0); ``XX`` = the rows' outer products x xᵀ, (n, d²)
    (single precision is enough: it only enters the Hessian).
    Returns ((M, d), iterations)."""
    M, (n, d) = W.shape[0], X.shape
    w = w0.clone() if w0 is not None else torch.zeros(M, d, dtype=X.dtype)
    if XX is None:
        XX = (X[:, :, None] * X[:, None, :]).reshape(n, d * d)
    eye = torch.eye(d, dtype=X.dtype)
    sgn = 2 * t - 1
    XT = X.T.contiguous()

    def loss(w, z=None):
        z = w @ XT if z is None else z  # M, n
        return (torch.nn.functional.softplus(-sgn * z) * W).sum(1) + 0.5 * lam * (w * w).sum(1)

    ladder = torch.tensor([1.0, 0.5, 0.25, 0.125, 0.0625, 0.0], dtype=X.dtype)
    XX32 = XX if XX.dtype == torch.float32 else XX.to(torch.float32)
    it = 0
    z = w @ XT
    cur = loss(w, z)
    for it in range(1, iters + 1):
        check_cancel(cancel)
        p = torch.sigmoid(z)
        g = (W * (p - t)) @ X + lam * w
        if float(g.norm(dim=1).max()) < tol:
            break
        # the Hessian's big GEMM in single precision: Newton only needs an approximate Hessian
        # (the gradient, which decides the minimiser, stays in double precision)
        H = ((W * p * (1 - p)).to(torch.float32) @ XX32).to(X.dtype).reshape(M, d, d) + lam * eye
        delta = torch.linalg.solve(H, g)
        full = w - delta
        z_full = full @ XT
        new = loss(full, z_full)
        if bool((new <= cur).all()):
            w, z, cur = full, z_full, new
            continue
        cands = w[None] - ladder[:, None, None] * delta[None]
        losses = torch.stack([loss(c) for c in cands])
        best = losses.argmin(0)
        w = cands[best, torch.arange(M)]
        z = w @ XT
        cur = losses[best, torch.arange(M)]
    return w, it


def newton(task: Task, theta: torch.Tensor, W: torch.Tensor, *, lam: float, iters: int = 40, tol: float = 1e-9,
           cancel: CancelToken | None = None) -> tuple[torch.Tensor, int]:
    """Damped Newton's method for every model of the batch (each model picks its own step length
    from 1, ½, ¼, … so that its loss decreases). Returns (θ, iterations run).

    Two-class softmax regression with penalty (λ/2)‖θ‖² has its minimiser at θ = [−w/2, w/2],
    where w is the binary (sigmoid) logistic regression with penalty (λ/4)‖w‖² -- that smaller
    problem is solved instead (same answer, a quarter of the Hessian)."""
    if task.kind == "logistic" and task.shape[1] == 2:
        w0 = theta[..., 1] - theta[..., 0]
        w, it = _sigmoid_newton(task.X, task.Y[:, 1], W, lam / 2, iters, tol, cancel, w0=w0, XX=task.outer32)
        theta = torch.stack([-w / 2, w / 2], dim=-1)
        check_finite(theta)
        return theta, it
    steps = torch.tensor([1.0, 0.5, 0.25, 0.125, 0.0625, 0.0], dtype=theta.dtype)
    it = 0
    for it in range(1, iters + 1):
        check_cancel(cancel)
        G = task.gradient(theta, W) + lam * theta
        if float(G.flatten(1).norm(dim=1).max()) < tol:
            break
        H = hessian(task, theta, W, lam)
        delta = torch.linalg.solve(H, G.reshape(len(G), -1)).reshape(G.shape)
        cands = theta[None] - steps[:, None, None, None] * delta[None]  # 6, M, d1, C
        losses = torch.stack([task.loss(c, W, lam) for c in cands])  # 6, M
        best = losses.argmin(0)
        theta = cands[best, torch.arange(len(best))]
    check_finite(theta)
    return theta, it


#: Newton's method is used when a model has at most this many parameters, Nesterov otherwise
NEWTON_MAX_PARAMS = 160


def fit_exact(task: Task, masks: np.ndarray, *, lam: float, steps: int = 300, eta: float | None = None,
              theta0: torch.Tensor | None = None, method: str = "auto", return_iters: bool = False,
              cancel: CancelToken | None = None):
    """Train M models to their regularised minimiser: (M, n) masks → (M, d+1, C).

    ``method="newton"`` (the default for small models, d·C ≤ 160: binary logistic regression on
    the tabular sets, ridge) converges to machine precision in a few iterations; ``"nesterov"``
    runs ``steps`` accelerated gradient steps (multi-class digits). With ``return_iters`` the
    result is (θ, iterations)."""
    W = task.weights(masks)
    p = task.shape[0] * task.shape[1]
    use_newton = task.kind != "mlp" and (method == "newton" or (method == "auto" and p <= NEWTON_MAX_PARAMS))
    if theta0 is not None:
        theta = theta0.clone()
    elif use_newton and W.shape[0] > 2:
        # warm start: every model of a large batch starts from the model of the pooled data, which
        # is close to all of them (shadow models differ in half of their records), so Newton needs
        # about half as many iterations; the minimisers are the same
        pooled = W.mean(0, keepdim=True)
        theta = newton(task, torch.zeros(1, *task.shape, dtype=torch.float64), pooled / pooled.sum(), lam=lam, cancel=cancel)[0]
        theta = theta.expand(W.shape[0], *task.shape).clone()
    else:
        theta = task.initial(W.shape[0])
    if use_newton:
        theta, it = newton(task, theta, W, lam=lam, cancel=cancel)
    else:
        eta = eta or 1.0 / (task.smoothness + lam)
        theta, it = descend(task, theta, W, lam=lam, eta=eta, steps=steps, accelerate=True, cancel=cancel), steps
    return (theta, it) if return_iters else theta


def balanced_masks(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """(m, n) boolean masks in which every record is in exactly half of the models (m even)."""
    if m < 2 or m % 2:
        raise UserError("Use an even number (≥ 2) of shadow models.")
    keep = np.argsort(rng.random((m, n)), axis=0) < m // 2
    return keep
