"""How long the experiment takes: an estimate before it starts, and an ETA while it runs.

The experiment has three steps (:func:`deletionlab.adverbs.experiment.run_experiment` reports them
as progress 0-1, 1-2 and 2-3): tagging and augmenting the pool of texts, embedding every text and
copy that is not on disk yet (MiniLM), and fitting one classifier head per condition, training
share and seed. The rates below were measured on the 2-core development machine while other work
ran (load average 8-10; the run at ``nice 10`` with one torch thread), with ``n_train=1000,
n_test=500``:

* tweets, first run: tagging + augmenting 1,500 texts 8.0 s, embedding 5,826 texts 109 s,
  120 logistic-regression fits 5.0 s (122 s in all); the same pool again with 5 seeds: 31 s
  (tagging 9.8 s, loading the model and the cached embeddings 6.6 s, 200 fits 14.8 s);
* BBC News, first run: 1,499 texts tagged in 10.4 s, 5,100 texts embedded in 123 s, 120 fits in 9.8 s;
* the MLP head (tweets, training shares 5 % and 100 %, 2 seeds): 40 fits in 257 s.

An idle machine is several times faster. :class:`Eta` therefore rescales the estimate of the
steps still to come by how fast this machine has been so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from deletionlab.core.jobs import Progress

#: texts tagged and augmented per second (measured, see the module docstring)
TAG_PER_S = {"tweets": 150.0, "bbc": 145.0}
#: texts embedded per second: BBC paragraphs are several times longer than tweets
EMBED_PER_S = {"tweets": 53.0, "bbc": 41.0}
#: texts to embed per pool text: the original and its distinct copies (5,826 for 1,500 tweets, 5,100 for 1,499 BBC texts)
EMBEDDED_PER_POOL_TEXT = {"tweets": 3.9, "bbc": 3.4}
#: seconds to load MiniLM and a data set's embeddings from disk
EMBED_SETUP_S = 6.0
#: seconds of one head fit per training row and class (logistic regression: 200 fits of ~500 rows,
#: 3 classes, took 5.0-14.8 s; 120 fits with 5 classes 9.8 s; the MLP: 40 fits of ~840 rows, 3 classes, 257 s)
FIT_S_PER_ROW_CLASS = {"logreg": 4e-5, "mlp": 2.5e-3}
#: training rows per original text (originals plus the copies, averaged over the conditions)
ROWS_PER_TEXT = 1.6
STEPS = ("tagging", "embedding", "fitting")
#: classes of the shipped data sets (for an estimate before a data set is loaded)
N_CLASSES = {"tweets": 3, "bbc": 5}


def _rate(table: dict, source: str) -> float:
    return table.get(source, min(table.values()))


@dataclass
class Plan:
    """The experiment's three steps in seconds, as estimated before it runs."""

    seconds: tuple[float, float, float]
    n_pool: int
    n_embed: int
    n_fits: int

    @property
    def total(self) -> float:
        return float(sum(self.seconds))


def plan(n_pool: int, n_train: int, fractions, seeds: int, n_conditions: int, n_classes: int, head: str = "logreg",
         source: str = "tweets", cached_share: float = 0.0) -> Plan:
    """The estimated seconds of each step for a pool of ``n_pool`` texts of which ``cached_share``
    already have their embeddings on disk (the share of their copies is taken to be the same)."""
    n_embed = int(round(n_pool * _rate(EMBEDDED_PER_POOL_TEXT, source) * (1 - cached_share)))
    n_fits = seeds * len(fractions) * n_conditions
    rows = n_train * float(np.mean(fractions)) * ROWS_PER_TEXT
    fit = n_fits * rows * n_classes * FIT_S_PER_ROW_CLASS.get(head, FIT_S_PER_ROW_CLASS["logreg"])
    return Plan((n_pool / _rate(TAG_PER_S, source), EMBED_SETUP_S + n_embed / _rate(EMBED_PER_S, source), fit),
                n_pool, n_embed, n_fits)


def duration(seconds: float) -> str:
    """A rounded duration for a person: "40 s", "3 min", "1 h 10 min"."""
    s = max(0.0, float(seconds))
    if s < 60:
        return f"{max(5, int(round(s / 5.0)) * 5)} s"
    if s < 3600:
        return f"{int(round(s / 60))} min"
    h, m = divmod(int(round(s / 60)), 60)
    return f"{h} h {m} min" if m else f"{h} h"


class Eta:
    """A progress callback for the experiment that adds "about N left" to each note.

    The step running now is extrapolated from its own measured speed once it is 2 % done; the steps
    still to come are the :class:`Plan`'s seconds times how much slower (or faster) than planned
    this machine has been so far. Progress is passed on as a percentage (0-100).
    """

    MIN_FRACTION = 0.02  # extrapolate a step from its own speed once this much of it is done
    MIN_SECONDS = 1.0  # ... and it has run this long

    def __init__(self, plan: Plan, progress: Progress, clock: Callable[[], float] = time.monotonic) -> None:
        self.plan, self.progress, self.clock = plan, progress, clock
        self.started: dict[int, float] = {}
        self.factor = 1.0  # measured / planned seconds, from the steps done so far
        self.remaining: float | None = None

    def _left(self, step: int, f: float, now: float) -> float:
        planned = self.plan.seconds
        elapsed = now - self.started[step]
        if f >= self.MIN_FRACTION and elapsed >= self.MIN_SECONDS:
            current = elapsed * (1 - f) / f
            if planned[step] > 0:
                self.factor = elapsed / (planned[step] * f)
        else:
            current = planned[step] * (1 - f) * self.factor
        return current + sum(planned[step + 1:]) * self.factor

    def __call__(self, done: float, total: float, note: str = "") -> None:
        now = self.clock()
        x = 0.0 if not total else max(0.0, min(float(done) * len(STEPS) / float(total), float(len(STEPS))))
        step = min(int(x), len(STEPS) - 1)
        for s in range(step + 1):
            self.started.setdefault(s, now)
        self.remaining = self._left(step, x - step, now)
        left = f"about {duration(self.remaining)} left" if x < len(STEPS) else ""
        text = " — ".join(t for t in (note, left) if t)
        self.progress(round(100 * x / len(STEPS)), 100, text)


def _cached_share(texts, source: str) -> float:
    """The share of ``texts`` whose MiniLM embeddings are on disk already (``similarity.DiskCache``)."""
    from deletionlab.adverbs.similarity import DiskCache

    if not texts:
        return 0.0
    keys = DiskCache(f"{source}-minilm").keys
    return sum(DiskCache.key(t) in keys for t in texts) / len(texts)


def experiment_plan(cfg, data, cached_share: float | None = None) -> Plan:
    """The :class:`Plan` of ``run_experiment(cfg, data=data)``; ``cached_share`` (None: look on disk)
    is the share of the pool whose embeddings need not be computed."""
    from deletionlab.adverbs.experiment import SAMPLE_SEED

    pool = data.sample(cfg.n_train + cfg.n_test, seed=SAMPLE_SEED)
    share = _cached_share(pool.texts, data.source) if cached_share is None else cached_share
    return plan(len(pool), max(0, len(pool) - cfg.n_test), cfg.fractions, cfg.seeds, len(cfg.conditions), len(pool.classes),
                cfg.head, data.source, share)


def estimate(cfg, n_classes: int | None = None) -> Plan:
    """The :class:`Plan` of a first run (no embeddings on disk) of ``cfg`` before its data are loaded,
    for a pool of ``n_train + n_test`` texts."""
    from deletionlab.adverbs.data import source_of

    source = source_of(cfg.dataset)
    return plan(cfg.n_train + cfg.n_test, cfg.n_train, cfg.fractions, cfg.seeds, len(cfg.conditions),
                n_classes or N_CLASSES.get(source, 3), cfg.head, source, 0.0)
