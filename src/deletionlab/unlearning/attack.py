"""LiRA membership inference (Carlini et al. 2022) and its metrics.

For every record the attacker has the statistic s (the logit-scaled confidence, see
:meth:`.models.Task.confidence`) of the target model, and the same statistic under shadow models
trained with the record (IN) and without it (OUT). It fits a Gaussian to each and scores

* **online**:  log N(s; μ_in, σ_in²) − log N(s; μ_out, σ_out²)
* **offline**: log Φ((s − μ_out) / σ_out)   (only OUT shadows needed; large = member-like)

Means are per record; with few shadows the variances are pooled over records ("fixed variance",
the variant Carlini et al. recommend below 64 shadows) unless ``per_example_var=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

FPRS = (0.001, 0.01)


@dataclass
class ShadowStats:
    """Per-record Gaussian fits from shadow statistics ``S`` (M, n) and membership ``masks`` (M, n)."""

    mu_in: np.ndarray
    mu_out: np.ndarray
    sd_in: np.ndarray
    sd_out: np.ndarray

    @classmethod
    def fit(cls, S: np.ndarray, masks: np.ndarray, per_example_var: bool = False) -> ShadowStats:
        S, masks = np.asarray(S, float), np.asarray(masks, bool)
        n_in, n_out = masks.sum(0), (~masks).sum(0)
        mu_in = np.where(n_in > 0, (S * masks).sum(0) / np.maximum(n_in, 1), np.nan)
        mu_out = np.where(n_out > 0, (S * ~masks).sum(0) / np.maximum(n_out, 1), np.nan)
        r_in = np.where(masks, S - mu_in, 0.0)
        r_out = np.where(~masks, S - mu_out, 0.0)
        if per_example_var:
            sd_in = np.sqrt((r_in ** 2).sum(0) / np.maximum(n_in - 1, 1))
            sd_out = np.sqrt((r_out ** 2).sum(0) / np.maximum(n_out - 1, 1))
        else:
            sd_in = np.full(S.shape[1], np.sqrt((r_in ** 2).sum() / max(n_in.sum() - S.shape[1], 1)))
            sd_out = np.full(S.shape[1], np.sqrt((r_out ** 2).sum() / max(n_out.sum() - S.shape[1], 1)))
        floor = 1e-6 + 1e-3 * np.nanstd(S)
        return cls(np.nan_to_num(mu_in), np.nan_to_num(mu_out), np.maximum(sd_in, floor), np.maximum(sd_out, floor))

    def score(self, s: np.ndarray, ids: np.ndarray, online: bool = True) -> np.ndarray:
        ids = np.asarray(ids, int)
        s = np.asarray(s, float)
        if online:
            return (norm.logpdf(s, self.mu_in[ids], self.sd_in[ids])
                    - norm.logpdf(s, self.mu_out[ids], self.sd_out[ids]))
        return norm.logcdf((s - self.mu_out[ids]) / self.sd_out[ids])


@dataclass
class Metrics:
    auc: float
    tpr: dict  # {fpr: tpr}
    fpr_curve: np.ndarray
    tpr_curve: np.ndarray
    n_pos: int
    n_neg: int

    @property
    def min_fpr(self) -> float:
        """The smallest non-zero false-positive rate these negatives can resolve (1/n_neg)."""
        return 1.0 / max(self.n_neg, 1)

    def to_json(self, curve: bool = False) -> dict:
        d = {"auc": self.auc, "tpr": {str(k): v for k, v in self.tpr.items()}, "n_pos": self.n_pos, "n_neg": self.n_neg}
        if curve:
            d["fpr_curve"] = self.fpr_curve.tolist()
            d["tpr_curve"] = self.tpr_curve.tolist()
        return d


def metrics(pos: np.ndarray, neg: np.ndarray, fprs=FPRS, neg_weight: np.ndarray | None = None) -> Metrics:
    """ROC AUC and TPR at the given FPRs for scores of members (``pos``) vs non-members (``neg``).
    TPR at an FPR below 1/len(neg) is reported as the TPR at FPR = 0 (no false positive at all).
    ``neg_weight`` weights the negatives (e.g. one negative scored under several windows)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if len(pos) == 0 or len(neg) == 0:
        return Metrics(float("nan"), {f: float("nan") for f in fprs}, np.array([0.0, 1.0]), np.array([0.0, 1.0]), len(pos), len(neg))
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    s = np.r_[pos, neg]
    s = np.nan_to_num(s, nan=-np.inf, posinf=1e300, neginf=-1e300)
    w = None if neg_weight is None else np.r_[np.ones(len(pos)), np.asarray(neg_weight, float)]
    fpr, tpr, _ = roc_curve(y, s, sample_weight=w)
    tprs = {f: float(tpr[fpr <= f].max()) if (fpr <= f).any() else 0.0 for f in fprs}
    n_neg = len(neg) if neg_weight is None else int(round(float(np.sum(neg_weight))))
    return Metrics(float(roc_auc_score(y, s, sample_weight=w)), tprs, fpr, tpr, len(pos), n_neg)
