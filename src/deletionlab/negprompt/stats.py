"""Paired statistics of the study's verdicts: sign tests, binomial intervals, paired bootstrap.

Every comparison the report makes pairs the two conditions *within a scene* (same prompt, seed and
trajectory up to the point where they differ), so the tests here take paired values:

* :func:`paired_steps` -- two critical steps per scene (a word in the negative vs in the positive
  prompt): how many later / earlier / equal, the median difference and an exact two-sided sign test;
* :func:`paired_outcomes` -- two yes/no outcomes per scene (removed with one start vs another):
  the discordant pairs and their exact (McNemar) test;
* :func:`wilson` -- a 95 % interval for a share; :func:`bootstrap_ratio` -- a paired bootstrap
  interval for the ratio of two means (background change at start k vs start 0).

Nothing here reports a standard error of 0 for a non-degenerate sample: intervals come from the
data's spread over scenes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: two-sided significance level of every verdict
ALPHA = 0.05
#: resamples of the paired bootstrap (fixed seed: the interval is reproducible)
BOOTSTRAP = 2000
BOOTSTRAP_SEED = 0


def sign_test(wins: int, losses: int) -> float:
    """Exact two-sided sign test of ``wins`` against ``losses`` (ties left out); 1.0 with no pairs."""
    from scipy import stats  # half a second to import; a dashboard kernel rarely tests

    n = int(wins) + int(losses)
    return 1.0 if n == 0 else float(stats.binomtest(int(wins), n, 0.5).pvalue)


def paired_steps(first: Sequence[int | None], second: Sequence[int | None]) -> dict:
    """Per scene ``second − first`` (e.g. negative minus positive critical step) over the scenes where
    both exist: ``n``, ``later`` (second later), ``earlier``, ``equal``, ``median_difference``,
    ``mean_difference`` with its ``se``, the sign test's ``p_value``; and how many scenes had only
    the first (``only_first``) or only the second (``only_second``) step (the other "never")."""
    pairs = [(a, b) for a, b in zip(first, second) if a is not None and b is not None]
    d = np.array([b - a for a, b in pairs], dtype=float)
    later, earlier = int((d > 0).sum()), int((d < 0).sum())
    return {
        "n": len(d), "later": later, "earlier": earlier, "equal": int((d == 0).sum()),
        "median_difference": float(np.median(d)) if len(d) else None,
        "mean_difference": float(d.mean()) if len(d) else None,
        "se": float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else None,
        "p_value": sign_test(later, earlier),
        "only_first": sum(a is not None and b is None for a, b in zip(first, second)),
        "only_second": sum(a is None and b is not None for a, b in zip(first, second)),
    }


def paired_outcomes(first: Sequence[bool], second: Sequence[bool]) -> dict:
    """Two yes/no outcomes per scene: shares, the discordant pairs (``only_first``: yes under the
    first condition only) and the exact McNemar test (a sign test on the discordant pairs)."""
    a, b = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    return {"n": int(len(a)), "first": float(a.mean()) if len(a) else None, "second": float(b.mean()) if len(b) else None,
            "only_first": only_a, "only_second": only_b, "p_value": sign_test(only_a, only_b)}


def paired_values(first: Sequence[float], second: Sequence[float]) -> dict:
    """Two numbers per scene: means, the mean difference ``second − first`` with its s.e., the
    median difference, how often second is larger / smaller, and the sign test."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    d = b - a
    larger, smaller = int((d > 0).sum()), int((d < 0).sum())
    return {"n": int(len(d)), "first": float(a.mean()) if len(a) else None, "second": float(b.mean()) if len(b) else None,
            "mean_difference": float(d.mean()) if len(d) else None,
            "se": float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else None,
            "median_difference": float(np.median(d)) if len(d) else None,
            "larger": larger, "smaller": smaller, "p_value": sign_test(larger, smaller)}


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95 %) of a share; (0, 1) when there is no data."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_ratio(numerator: Sequence[float], denominator: Sequence[float], resamples: int = BOOTSTRAP,
                    seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """Ratio of means Σnum / Σden with a paired bootstrap 95 % interval (scenes resampled together)."""
    num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    if not len(num) or den.sum() <= 0:
        return (float("nan"), float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(num), size=(resamples, len(num)))
    ratios = num[idx].sum(1) / np.maximum(den[idx].sum(1), 1e-12)
    lo, hi = np.quantile(ratios, [0.025, 0.975])
    return (float(num.sum() / den.sum()), float(lo), float(hi))


def mean_se(values: Sequence[float | None]) -> dict:
    """Mean, standard deviation, standard error and n of the values that exist; ``never`` counts the Nones."""
    v = np.array([x for x in values if x is not None], dtype=float)
    n = len(v)
    sd = float(v.std(ddof=1)) if n > 1 else None
    return {"mean": float(v.mean()) if n else None, "std": sd, "se": sd / math.sqrt(n) if sd is not None else None,
            "median": float(np.median(v)) if n else None, "n": n, "never": sum(x is None for x in values)}
