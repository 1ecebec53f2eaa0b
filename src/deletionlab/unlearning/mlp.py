"""A small MLP (one hidden ReLU layer) with the same batched interface as the convex models.

The parameters of one model are flattened into a column of shape (P, 1) -- W1 ((d+1) × h) then
W2 ((h+1) × C) -- so the learners, shadows and attacks run unchanged on a batch (M, P, 1).
Gradients are back-propagated by hand, which gives every record's gradient norm in closed form:

    ‖∇ℓ_n‖² = ‖h̃_n‖²‖r_n‖² + ‖x̃_n‖²‖δ_n‖²,   r_n = softmax(out_n) − y_n,   δ_n = (W2 r_n) ⊙ 1[a_n > 0]

(h̃ = [relu(a), 1], x̃ = [x, 1]); scaling r_n scales δ_n too, so per-example clipping costs one
multiplication. The loss is not convex: "retrain" reaches a deterministic point (same initial
weights, same steps), not a global minimiser, and Noisy-GD's guarantee does not apply.

:func:`make_task` is the factory for every model kind (``models`` does not know this module, so
the two do not import each other).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from deletionlab.core.jobs import UserError
from deletionlab.core.lazy import torch  # imported on first use: a kernel that shows a stored run never needs it
from deletionlab.unlearning.models import Task

#: the model kinds :func:`make_task` builds
MODEL_KINDS = ("logistic", "mlp", "ridge")

HIDDEN = 16
INIT_SEED = 1234


@dataclass
class MLPTask(Task):
    hidden: int = HIDDEN

    def __post_init__(self) -> None:
        self.kind = "mlp"

    @property
    def shape(self) -> tuple[int, int]:
        d1, C, h = self.X.shape[1], self.Y.shape[1], self.hidden
        return d1 * h + (h + 1) * C, 1

    @property
    def smoothness(self) -> float:
        """A working value for the step size 1/β (the MLP has no global smoothness bound)."""
        return 2.0

    def initial(self, M: int) -> torch.Tensor:
        """The same seeded He-style initial weights for every model (retraining is deterministic)."""
        d1, C, h = self.X.shape[1], self.Y.shape[1], self.hidden
        g = torch.Generator().manual_seed(INIT_SEED)
        w1 = torch.randn(d1, h, generator=g, dtype=torch.float64) * math.sqrt(2.0 / d1)
        w2 = torch.randn(h + 1, C, generator=g, dtype=torch.float64) * math.sqrt(1.0 / (h + 1))
        flat = torch.cat([w1.reshape(-1), w2.reshape(-1)])[:, None]
        return flat.expand(M, *flat.shape).clone()

    def _split(self, theta: torch.Tensor):
        d1, C, h = self.X.shape[1], self.Y.shape[1], self.hidden
        lead = theta.shape[:-2]
        flat = theta.reshape(-1, theta.shape[-2])
        w1 = flat[:, : d1 * h].reshape(-1, d1, h)
        w2 = flat[:, d1 * h:].reshape(-1, h + 1, C)
        return lead, w1, w2

    def _forward(self, w1, w2):
        a = torch.einsum("nd,mdh->mnh", self.X, w1)
        hid = torch.cat([torch.relu(a), torch.ones(*a.shape[:2], 1, dtype=a.dtype)], -1)
        return a, hid, torch.einsum("mnh,mhc->mnc", hid, w2)

    def outputs(self, theta: torch.Tensor) -> torch.Tensor:
        lead, w1, w2 = self._split(theta)
        out = self._forward(w1, w2)[2]
        return out.reshape(*lead, *out.shape[1:])

    def gradient(self, theta: torch.Tensor, W: torch.Tensor, clip: float | None = None) -> torch.Tensor:
        lead, w1, w2 = self._split(theta)
        a, hid, out = self._forward(w1, w2)
        R = torch.softmax(out, -1) - self.Y
        delta = torch.einsum("mnc,mhc->mnh", R, w2[:, :-1, :]) * (a > 0)
        if clip is not None and math.isfinite(clip):
            norms = torch.sqrt((hid ** 2).sum(-1) * (R ** 2).sum(-1) + (self.X ** 2).sum(-1) * (delta ** 2).sum(-1))
            c = (clip / norms.clamp_min(1e-12)).clamp(max=1.0)
            R, delta = R * c[..., None], delta * c[..., None]
        R, delta = R * W[..., None], delta * W[..., None]
        g1 = torch.einsum("nd,mnh->mdh", self.X, delta)
        g2 = torch.einsum("mnh,mnc->mhc", hid, R)
        return torch.cat([g1.flatten(1), g2.flatten(1)], 1)[..., None].reshape(theta.shape)

    def loss(self, theta: torch.Tensor, W: torch.Tensor, lam: float) -> torch.Tensor:
        per = -(torch.log_softmax(self.outputs(theta), -1) * self.Y).sum(-1)
        return (per * W).sum(1) + 0.5 * lam * (theta ** 2).flatten(1).sum(1)


def make_task(ds, kind: str | None = None) -> Task:
    """The task for a prepared data set and a model kind: :class:`MLPTask` for ``"mlp"`` (a
    classifier), a convex :class:`.models.Task` for ``"logistic"`` or ``"ridge"`` (``None``: the
    convex model that fits the data set)."""
    if kind is not None and kind not in MODEL_KINDS:
        raise UserError(f"Unknown model {kind!r}; choose {', '.join(MODEL_KINDS)}.")
    if kind == "mlp":
        return MLPTask.from_dataset(ds, "logistic")
    return Task.from_dataset(ds, kind)
