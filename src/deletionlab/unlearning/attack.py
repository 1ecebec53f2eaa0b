"""LiRA membership inference (Carlini et al. 2022), its metrics, and the attacks on a series of releases.

For every record the attacker has the statistic s (the logit-scaled confidence, see
:meth:`.models.Task.confidence`) of the target model, and the same statistic under shadow models
trained with the record (IN) and without it (OUT). It fits a Gaussian to each and scores

* **online**:  log N(s; μ_in, σ_in²) − log N(s; μ_out, σ_out²)
* **offline**: log Φ((s − μ_out) / σ_out)   (only OUT shadows needed; large = member-like)

Means are per record; the variances are pooled over records ("fixed variance", the variant
Carlini et al. recommend below 64 shadows; the explorer and the experiment use at most 64).

:func:`attack_learner` runs the attacks of the study on every release of a learner: at release t
the positives are the records deleted so far, the negatives the never-members (a perfect
unlearner gives AUC 0.5):

* ``single_online`` / ``single_offline``: the statistic of release t alone;
* ``average_online``: the statistic of the parameter average of all releases published since the
  record's deletion (an attacker who keeps every release; it cancels fresh noise);
* ``difference``: the attacker differences consecutive releases: a record's score is the largest
  *drop* of its statistic s from one release to the next, up to release t (a record that leaves
  the training data drops when it leaves; never-members only move with the others). The raw
  statistic, not LiRA's likelihood ratio: the ratio's curvature turns small moves of records with
  extreme statistics into large ones (on digits 3 vs 8 with random requests, retraining: AUC 0.61
  with s, 0.47 with the ratio);
* ``members_online``: the ordinary membership attack on the *current* members;
* ``matched_online`` / ``matched_average``: the single-release and the averaging attack with
  **matched negatives**: at every release the requester's own rule also picks never-members (as if
  they were members: the never-members the release predicts most confidently, or worst, or at
  random), and those are the negatives, each scored like a positive deleted at the same release.
  An adaptive requester picks *particular* records (hard ones, easy ones); against all
  never-members they stand out even under a model that never saw them, which is the selection,
  not a leak. Against matched negatives a perfect unlearner gives 0.5 again.

:func:`linked_target_attack` turns the difference attack on the linked requester's messengers
into a membership attack on their targets (records that stayed): see :mod:`.requesters`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import log_ndtr

from deletionlab.core.jobs import CancelToken, check_cancel
from deletionlab.core.lazy import torch  # imported on first use: a kernel that shows a stored run never needs it

if TYPE_CHECKING:
    from deletionlab.unlearning.learners import Learner, Release
    from deletionlab.unlearning.models import Task
    from deletionlab.unlearning.requesters import Pairs

FPRS = (0.001, 0.01)
#: the attacks run on every release (see the module docstring)
ATTACKS = ("single_online", "single_offline", "average_online", "difference", "members_online", "matched_online",
           "matched_average")


def _normal_logpdf(x: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """log of the normal density N(x; mu, sd) (as scipy.stats.norm.logpdf, without importing scipy.stats)."""
    z = (x - mu) / sd
    return -0.5 * z * z - np.log(sd) - 0.5 * np.log(2 * np.pi)


@dataclass
class ShadowStats:
    """Per-record Gaussian fits from shadow statistics ``S`` (M, n) and membership ``masks`` (M, n)."""

    mu_in: np.ndarray
    mu_out: np.ndarray
    sd_in: np.ndarray
    sd_out: np.ndarray

    @classmethod
    def fit(cls, S: np.ndarray, masks: np.ndarray) -> ShadowStats:
        S, masks = np.asarray(S, float), np.asarray(masks, bool)
        n_in, n_out = masks.sum(0), (~masks).sum(0)
        mu_in = np.where(n_in > 0, (S * masks).sum(0) / np.maximum(n_in, 1), np.nan)
        mu_out = np.where(n_out > 0, (S * ~masks).sum(0) / np.maximum(n_out, 1), np.nan)
        r_in = np.where(masks, S - mu_in, 0.0)
        r_out = np.where(~masks, S - mu_out, 0.0)
        sd_in = np.full(S.shape[1], np.sqrt((r_in ** 2).sum() / max(n_in.sum() - S.shape[1], 1)))
        sd_out = np.full(S.shape[1], np.sqrt((r_out ** 2).sum() / max(n_out.sum() - S.shape[1], 1)))
        floor = 1e-6 + 1e-3 * np.nanstd(S)
        return cls(np.nan_to_num(mu_in), np.nan_to_num(mu_out), np.maximum(sd_in, floor), np.maximum(sd_out, floor))

    def score(self, s: np.ndarray, ids: np.ndarray, online: bool = True) -> np.ndarray:
        ids = np.asarray(ids, int)
        s = np.asarray(s, float)
        if online:  # log N(s; μ_in, σ_in) − log N(s; μ_out, σ_out)
            return _normal_logpdf(s, self.mu_in[ids], self.sd_in[ids]) - _normal_logpdf(s, self.mu_out[ids], self.sd_out[ids])
        return log_ndtr((s - self.mu_out[ids]) / self.sd_out[ids])  # log Φ((s − μ_out) / σ_out)


@dataclass
class Scores:
    """One attack's per-record scores at one release: positives and negatives with their record ids
    (a negative may appear several times, e.g. once per window of the averaging attack, with a
    weight). Kept so that a viewer can draw any release's ROC and bootstrap the metrics over
    records (:mod:`.bands`); the metrics themselves are computed from the same numbers."""

    pos_ids: np.ndarray
    pos: np.ndarray
    neg_ids: np.ndarray
    neg: np.ndarray
    neg_weight: np.ndarray | None = None


@dataclass
class Metrics:
    auc: float
    tpr: dict  # {fpr: tpr}
    fpr_curve: np.ndarray
    tpr_curve: np.ndarray
    n_pos: int
    n_neg: int
    scores: Scores | None = None  # the scores behind the metrics (:func:`scored`), for viewers

    @property
    def min_fpr(self) -> float:
        """The smallest non-zero false-positive rate these negatives can resolve (1/n_neg)."""
        return 1.0 / max(self.n_neg, 1)

    def to_json(self) -> dict:
        """The numbers a release records (the curves are kept for the last release only)."""
        return {"auc": self.auc, "tpr": {str(k): v for k, v in self.tpr.items()}, "n_pos": self.n_pos, "n_neg": self.n_neg}


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


def scored(pos_ids, pos, neg_ids, neg, neg_weight: np.ndarray | None = None) -> Metrics:
    """:func:`metrics` of ``pos`` vs ``neg``, keeping the scores and their record ids."""
    m = metrics(pos, neg, neg_weight=neg_weight)
    m.scores = Scores(np.asarray(pos_ids, np.int32), np.asarray(pos, float), np.asarray(neg_ids, np.int32),
                      np.asarray(neg, float), None if neg_weight is None else np.asarray(neg_weight, float))
    return m


# -- the attacks on a learner's releases ----------------------------------------------------------


@dataclass
class LearnerRun:
    """One learner's releases, attacked."""

    key: str
    label: str
    releases: list[dict]  # per release: t, accuracy, cost, deleted (ids), n_present, attacks {name: metrics json}
    roc: dict  # attack name -> {fpr, tpr} at the last release
    deleted_scores: list[dict]  # per deleted record: id, release, single/average score at the end
    linked: dict | None = None  # the linked-target attack at the last release (None without pairs)
    #: per release (index t; empty for release 0): attack name -> :class:`Scores` (for viewers: the
    #: ROC of any release, bootstrap bands); not part of the JSON summaries
    scores: list[dict] = field(default_factory=list)


def _release_json(rel: Release) -> dict:
    return {"t": rel.t, "accuracy": rel.accuracy, "cost": rel.cost, "deleted": [int(i) for i in rel.deleted_now],
            "n_present": int(len(rel.present))}


class _Windows:
    """Target and shadow statistics of the parameter average of releases r0..t (cached); for an
    exact learner (releases depend only on the data left) the average is release t itself."""

    def __init__(self, task: Task, learner: Learner, shadow: list[torch.Tensor], masks: np.ndarray,
                 target_single: list[np.ndarray], stats_single: list[ShadowStats]) -> None:
        self.task, self.learner, self.shadow, self.masks = task, learner, shadow, masks
        self.target_single, self.stats_single = target_single, stats_single
        self.cache: dict[tuple[int, int], tuple[np.ndarray, ShadowStats]] = {}

    def __call__(self, r0: int, t: int) -> tuple[np.ndarray, ShadowStats]:
        if (r0, t) not in self.cache:
            if self.learner.exact:
                self.cache[(r0, t)] = (self.target_single[t], self.stats_single[t])
            else:
                rels, sharded = self.learner.releases, self.learner.releases[0].sharded
                tgt = self.task.confidence(torch.stack([rels[k].params for k in range(r0, t + 1)]).mean(0), sharded)
                sh = self.task.confidence(torch.stack(self.shadow[r0: t + 1]).mean(0), sharded)
                self.cache[(r0, t)] = (tgt, ShadowStats.fit(sh, self.masks))
        return self.cache[(r0, t)]


def _average_attack(window: _Windows, deleted_at: dict[int, int], gone: np.ndarray, outsiders: np.ndarray,
                    t: int, cancel: CancelToken | None = None) -> Metrics:
    """Average since deletion: positives grouped by their deletion release; negatives scored under
    every window, weighted like the positives."""
    pos, neg, wts, pos_ids = [], [], [], []
    for r0 in sorted({deleted_at[int(i)] for i in gone}):
        check_cancel(cancel)
        ids = np.array([i for i in gone if deleted_at[int(i)] == r0])
        tgt, sts = window(r0, t)
        pos.append(sts.score(tgt[ids], ids))
        pos_ids.append(ids)
        neg.append(sts.score(tgt[outsiders], outsiders))
        wts.append(np.full(len(outsiders), len(ids) / len(gone)))
    return scored(np.concatenate(pos_ids), np.concatenate(pos), np.tile(outsiders, len(neg)), np.concatenate(neg),
                  neg_weight=np.concatenate(wts))


def _window_scores(window: _Windows, at: dict[int, int], ids: np.ndarray, t: int) -> np.ndarray:
    """LiRA online scores of ``ids``, each under the average of releases since its own (matched)
    deletion release ``at[id]``."""
    out = np.empty(len(ids))
    for r0 in sorted({at[int(i)] for i in ids}):
        sel = np.array([at[int(i)] == r0 for i in ids])
        tgt, sts = window(r0, t)
        out[sel] = sts.score(tgt[ids[sel]], ids[sel])
    return out


def _matched(window: _Windows, deleted_at: dict, matched_at: dict, gone: np.ndarray, t: int) -> dict[str, Metrics]:
    """The attacks with matched negatives (the never-members the requester's rule picked up to t)."""
    neg = np.array([i for i, r in matched_at.items() if r <= t], dtype=int)
    st, tgt = window.stats_single[t], window.target_single[t]
    return {"matched_online": scored(gone, st.score(tgt[gone], gone), neg, st.score(tgt[neg], neg)),
            "matched_average": scored(gone, _window_scores(window, deleted_at, gone, t), neg, _window_scores(window, matched_at, neg, t))}


def drops(scores: list[np.ndarray]) -> np.ndarray:
    """(T+1, n) → (T, n): at release t (1..T) the largest drop of every record's score between two
    consecutive releases up to t, max_{u ≤ t} [score_{u−1} − score_u]."""
    S = np.asarray(scores, float)
    return np.maximum.accumulate(S[:-1] - S[1:], axis=0)


def linked_target_attack(drop: np.ndarray, pairs: Pairs) -> Metrics:
    """Membership of the linked requester's targets from their messengers alone: a target scores
    its messenger's largest drop (a messenger that left was asked to by a member-looking target).
    Positives: targets that are members (they stayed in the data); negatives: never-members."""
    s = drop[pairs.messengers]
    return metrics(s[pairs.target_member], s[~pairs.target_member])


def attack_learner(task: Task, learner: Learner, shadow: list[torch.Tensor], masks: np.ndarray,
                   outsiders: np.ndarray, cancel: CancelToken | None = None, pairs: Pairs | None = None,
                   matched_at: dict[int, int] | None = None) -> LearnerRun:
    """Run the attacks on every release of ``learner`` with its shadow releases (the linked-target
    attack when ``pairs`` are given; the matched attacks with ``matched_at`` = {never-member id:
    release at which the requester's rule picked it}, else they are NaN)."""
    rels = learner.releases
    T = len(rels) - 1
    sharded = rels[0].sharded
    stats_single = [ShadowStats.fit(task.confidence(shadow[t], sharded), masks) for t in range(T + 1)]
    target_single = [task.confidence(r.params, sharded) for r in rels]
    deleted_at = {int(i): r.t for r in rels for i in r.deleted_now}
    window = _Windows(task, learner, shadow, masks, target_single, stats_single)
    drop = drops(target_single)
    out_rel, roc, scores, kept = [_release_json(rels[0]) | {"attacks": {}}], {}, [], [{}]
    for t in range(1, T + 1):
        check_cancel(cancel)
        gone = np.array([i for i, r in deleted_at.items() if r <= t], dtype=int)
        st, tgt_t = stats_single[t], target_single[t]
        present = rels[t].present
        att = {"single_online": scored(gone, st.score(tgt_t[gone], gone), outsiders, st.score(tgt_t[outsiders], outsiders)),
               "single_offline": scored(gone, st.score(tgt_t[gone], gone, online=False),
                                        outsiders, st.score(tgt_t[outsiders], outsiders, online=False)),
               "average_online": _average_attack(window, deleted_at, gone, outsiders, t, cancel),
               "difference": scored(gone, drop[t - 1, gone], outsiders, drop[t - 1, outsiders]),
               "members_online": scored(present, st.score(tgt_t[present], present), outsiders, st.score(tgt_t[outsiders], outsiders)),
               **_matched(window, deleted_at, matched_at or {}, gone, t)}
        out_rel.append(_release_json(rels[t]) | {"attacks": {k: v.to_json() for k, v in att.items()}})
        kept.append({k: v.scores for k, v in att.items()})
        if t == T:
            roc = {k: {"fpr": v.fpr_curve.tolist(), "tpr": v.tpr_curve.tolist()} for k, v in att.items()}
            for i in sorted(deleted_at, key=lambda i: (deleted_at[i], i)):
                tgt, sts = window(deleted_at[i], t)
                scores.append({"id": i, "release": deleted_at[i], "single": float(st.score(tgt_t[[i]], [i])[0]),
                               "average": float(sts.score(tgt[[i]], [i])[0])})
    linked = None
    if pairs is not None and len(pairs):
        linked = linked_target_attack(drop[T - 1], pairs).to_json()
    return LearnerRun(learner.key, learner.label, out_rel, roc, scores, linked, kept)
