"""What the dashboard shows beyond a run's own numbers: the shared run, its uncertainty, any release's ROC.

One explorer run is one member split, one set of shadow models and a handful of deleted records
per release (5 by default, against ~180 never-members): its AUCs move by ±0.1 from record
sampling alone, enough to put Noisy-GD "above" retraining by chance. So every number the explorer
draws comes with a **bootstrap interval over records**:

* every record id gets a Poisson(1) weight per resample (:func:`record_weights`) -- the *same*
  weights for every learner, attack and release, so that differences between learners are
  bootstrapped **paired** (the same deleted records and never-members carry the same weight);
* an attack's AUC and TPR are recomputed from its kept per-record scores
  (:class:`.attack.Scores`) under those weights (:func:`weighted_auc`, :func:`weighted_tpr`);
  the 2.5 and 97.5 percentiles make the 95 % band;
* accuracy on the never-members gets a Wilson interval.

:func:`shared_explore` is what the dashboard runs: :func:`.explore.explore` plus the bands, through
the machine-wide result cache (:func:`deletionlab.core.cache.cached`), so a class that opens the
dashboard computes the default run once. :func:`roc_at` gives the ROC of any release (the run
itself keeps the curve of the last one only).

This module only computes; the widget draws. It changes no measurement: the point estimates are
those of :func:`.attack.metrics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from deletionlab.core.jobs import CancelToken, Progress, check_cancel, no_progress
from deletionlab.unlearning.attack import Scores
from deletionlab.unlearning.explore import Config, Result, explore, validate
from deletionlab.unlearning.learners import Hyper

#: the attacks the explorer's timeline offers (each gets bands)
TIMELINE_ATTACKS = ("single_online", "average_online", "difference", "matched_online", "single_offline", "members_online")
#: bootstrap resamples per band: the 2.5 % percentile of 400 draws moves by about ±0.01 AUC between seeds
RESAMPLES = 400
LEVEL = 0.95
#: the FPR of the TPR timeline (1 %: with ~180 never-members, lower FPRs are a single record)
TPR_FPR = 0.01
#: the bootstrap's random stream: ``default_rng(seed + BOOTSTRAP_SEED_OFFSET)`` (independent of the run's streams 1, 3, 7, 10·i)
BOOTSTRAP_SEED_OFFSET = 5
#: the namespace of the shared result cache
CACHE_NAMESPACE = "unlearning"


def record_weights(n_records: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(resamples, n_records) Poisson(1) weights: one bootstrap draw of the records per row."""
    return rng.poisson(1.0, size=(resamples, n_records)).astype(float)


def _weights(sc: Scores, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-resample weights of the positives (B, n_pos) and the negatives (B, n_neg)."""
    c = w[:, sc.pos_ids]
    d = w[:, sc.neg_ids]
    if sc.neg_weight is not None:
        d = d * sc.neg_weight[None, :]
    return c, d


def weighted_auc(sc: Scores, w: np.ndarray) -> np.ndarray:
    """AUC of ``sc`` under each row of record weights ``w`` (B, n): the weighted share of
    (positive, negative) pairs the positive wins, ties counting ½ (as :func:`.attack.metrics`)."""
    c, d = _weights(sc, w)
    order = np.argsort(sc.neg, kind="stable")
    neg = sc.neg[order]
    cum = np.concatenate([np.zeros((len(w), 1)), np.cumsum(d[:, order], axis=1)], axis=1)
    pos = np.nan_to_num(sc.pos, nan=-np.inf)
    below = cum[:, np.searchsorted(neg, pos, side="left")]
    upto = cum[:, np.searchsorted(neg, pos, side="right")]
    won = (c * (below + 0.5 * (upto - below))).sum(1)
    total = c.sum(1) * cum[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, won / np.where(total > 0, total, 1), np.nan)


def weighted_tpr(sc: Scores, w: np.ndarray, fpr: float = TPR_FPR) -> np.ndarray:
    """TPR at false-positive rate ≤ ``fpr`` under each row of record weights (the threshold sits
    above the highest-scoring negatives whose weight stays within ``fpr`` of all negatives)."""
    c, d = _weights(sc, w)
    order = np.argsort(-sc.neg, kind="stable")
    neg = sc.neg[order]
    cum = np.cumsum(d[:, order], axis=1)
    k = (cum <= fpr * cum[:, -1:] * (1 + 1e-12)).sum(1)
    thr = np.where(k < len(neg), neg[np.minimum(k, len(neg) - 1)], -np.inf)
    hit = (c * (np.nan_to_num(sc.pos, nan=-np.inf)[None, :] > thr[:, None])).sum(1)
    tot = c.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, hit / np.where(tot > 0, tot, 1), np.nan)


def interval(draws: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of bootstrap draws (NaN draws -- a resample without positives -- left out)."""
    ok = draws[np.isfinite(draws)]
    if len(ok) < 10:
        return float("nan"), float("nan")
    a = (1 - level) / 2 * 100
    lo, hi = np.percentile(ok, [a, 100 - a])
    return float(lo), float(hi)


def wilson(p: float, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson interval of a proportion ``p`` observed on ``n`` records."""
    if not n or not math.isfinite(p):
        return float("nan"), float("nan")
    from scipy.special import ndtri  # the normal quantile, without importing scipy.stats

    z = float(ndtri(0.5 + level / 2))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@dataclass
class Difference:
    """A learner's AUC minus the reference learner's at one release, with its paired bootstrap interval."""

    learner: str
    reference: str
    diff: float
    lo: float
    hi: float

    @property
    def within_noise(self) -> bool:
        return not (self.lo > 0 or self.hi < 0)


@dataclass
class Bands:
    """Bootstrap bands of one run (see the module docstring)."""

    level: float
    resamples: int
    #: attack -> learner -> (lo, hi) lists over releases 1..T
    auc: dict = field(default_factory=dict)
    tpr: dict = field(default_factory=dict)
    #: learner -> (lo, hi) lists over releases 0..T (Wilson, on the never-members)
    accuracy: dict = field(default_factory=dict)
    #: attack -> [Difference] at the last release, every learner against the reference
    differences: dict = field(default_factory=dict)


def reference_learner(result: Result) -> str:
    """The learner the others are compared with: retraining when it ran (the exact baseline), else the first."""
    return "retrain" if "retrain" in result.runs else next(iter(result.runs))


def bands(result: Result, attacks=TIMELINE_ATTACKS, *, resamples: int = RESAMPLES, level: float = LEVEL,
          progress: Progress = no_progress, cancel: CancelToken | None = None) -> Bands:
    """Bootstrap bands of every attack's AUC and TPR per release and learner, paired differences
    against the reference learner at the last release, Wilson intervals of accuracy."""
    rng = np.random.default_rng(int(result.config.get("seed", 0)) + BOOTSTRAP_SEED_OFFSET)
    w = record_weights(result.n_members + result.n_outsiders, resamples, rng)
    out = Bands(level, resamples)
    ref = reference_learner(result)
    for i, att in enumerate(attacks):
        check_cancel(cancel)
        progress(i, len(attacks), f"bootstrap bands: {att}")
        out.auc[att], out.tpr[att], last = {}, {}, {}
        for key, run in result.runs.items():
            check_cancel(cancel)
            draws = [(weighted_auc(sc[att], w), weighted_tpr(sc[att], w)) for sc in run.scores[1:] if att in sc]
            out.auc[att][key] = tuple(list(v) for v in zip(*(interval(a, level) for a, _ in draws))) if draws else ([], [])
            out.tpr[att][key] = tuple(list(v) for v in zip(*(interval(t, level) for _, t in draws))) if draws else ([], [])
            if draws:
                last[key] = draws[-1][0]
        out.differences[att] = [_difference(result, att, key, ref, last, level) for key in result.runs if key != ref and key in last]
    for key, run in result.runs.items():
        pairs = [wilson(r["accuracy"], result.n_outsiders, level) for r in run.releases]
        out.accuracy[key] = ([p[0] for p in pairs], [p[1] for p in pairs])
    progress(len(attacks), len(attacks), "bootstrap bands")
    return out


def _difference(result: Result, att: str, key: str, ref: str, last: dict, level: float) -> Difference:
    a = result.runs[key].releases[-1]["attacks"][att]["auc"]
    b = result.runs[ref].releases[-1]["attacks"][att]["auc"] if ref in last else float("nan")
    lo, hi = interval(last[key] - last[ref], level) if ref in last else (float("nan"), float("nan"))
    return Difference(key, ref, a - b, lo, hi)


def check_accounting(h: Hyper) -> Hyper:
    """``h`` checked for the accounting curves' model (ridge on the diabetes data) by the same
    :meth:`.learners.Hyper.validate` as a run, before a job starts (:func:`.accounting.accounting_curves`
    checks again)."""
    from deletionlab.unlearning.accounting import ACCOUNTING_DATASET
    from deletionlab.unlearning.data import load
    from deletionlab.unlearning.models import Task

    h.validate(Task.from_dataset(load(ACCOUNTING_DATASET), "ridge"))
    return h


def roc_at(sc: Scores) -> tuple[np.ndarray, np.ndarray]:
    """The ROC curve (fpr, tpr) of one attack at one release, from its kept scores, negatives weighted
    by ``neg_weight`` when given: the points of ``sklearn.metrics.roc_curve`` (one per distinct score,
    collinear ones dropped, from (0, 0) to (1, 1)), computed here so that drawing a stored run needs
    neither scikit-learn nor the scipy.stats it imports."""
    if len(sc.pos) == 0 or len(sc.neg) == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    s = np.nan_to_num(np.r_[sc.pos, sc.neg], nan=-np.inf, posinf=1e300, neginf=-1e300)
    is_pos = np.r_[np.ones(len(sc.pos)), np.zeros(len(sc.neg))]
    w = np.r_[np.ones(len(sc.pos)), np.ones(len(sc.neg)) if sc.neg_weight is None else np.asarray(sc.neg_weight, float)]
    order = np.argsort(-s, kind="mergesort")
    s, tp, fp = s[order], np.cumsum((w * is_pos)[order]), np.cumsum((w * (1 - is_pos))[order])
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last record of each distinct score
    tp, fp = tp[last], fp[last]
    if len(tp) > 2:  # drop the points in the middle of a straight run (sklearn's drop_intermediate)
        keep = np.r_[True, (np.diff(fp, 2) != 0) | (np.diff(tp, 2) != 0), True]
        tp, fp = tp[keep], fp[keep]
    return np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]]


@dataclass
class Shown:
    """A run and its bands: what the explorer draws."""

    result: Result
    bands: Bands


def run_with_bands(cfg: Config, *, progress: Progress = no_progress, cancel: CancelToken | None = None) -> Shown:
    """:func:`.explore.explore` and :func:`bands` (one job)."""
    res = explore(cfg, progress=progress, cancel=cancel)
    return Shown(res, bands(res, cancel=cancel, progress=lambda *_: None))


def shared_explore(cfg: Config, *, progress: Progress = no_progress, cancel: CancelToken | None = None) -> Shown:
    """The explorer's run through the machine-wide result cache: every kernel asking for the same
    configuration (the dashboard's default on open, above all) reads the run the first computed."""
    from deletionlab.core.cache import cached, is_cached

    if not is_cached(CACHE_NAMESPACE, cfg):  # a stored run's configuration was checked when it was computed
        validate(cfg)  # (loads the data and makes the model: torch, which a kernel showing a stored run never needs)
    return cached(CACHE_NAMESPACE, cfg, lambda: run_with_bands(cfg, progress=progress, cancel=cancel),
                  cancel=cancel, progress=progress)


def is_shared(cfg: Config) -> bool:
    """Whether :func:`shared_explore` would only read the cache (then the job need not queue as heavy)."""
    from deletionlab.core.cache import is_cached

    return is_cached(CACHE_NAMESPACE, cfg)
