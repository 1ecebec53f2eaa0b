"""What the explorer computes: one service, one configuration, every release attacked.

A service publishes a model, then a new release after each batch of deletion requests, and an
attacker runs LiRA against every release, aimed at the *deleted* records.
``explore(Config(...))`` trains each learner on the service's data (release 0), then for
t = 1..T asks the requester which records delete, lets the learner answer and publish release t.
Independently, it trains the attacker's shadow models with each learner's own procedure
(batched; on random halves of all records, each shadow republishing T + 1 times without
deletions) and runs the attacks of :func:`.attack.attack_learner` on every release. For Noisy-GD
it also computes the certified ε after every request (:func:`.accounting.certificate`).

:func:`validate` is the one place a configuration is checked (the widget calls it before it
starts a job, :func:`explore` again before it computes); :mod:`.experiment` runs
:func:`explore` over many seeds.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress
from deletionlab.unlearning import (
    DEFAULT_DATASET,
    DEFAULT_LEARNERS,
    DEFAULT_MODEL,
    DEFAULT_PER_RELEASE,
    DEFAULT_RELEASES,
    DEFAULT_REQUESTER,
    DEFAULT_SHADOWS,
    MAX_RELEASES,
    MAX_SEED,
    MAX_SHADOWS,
    MIN_SHADOWS,
)
from deletionlab.unlearning.accounting import certificate
from deletionlab.unlearning.attack import LearnerRun, ShadowStats, attack_learner
from deletionlab.unlearning.data import Dataset, load
from deletionlab.unlearning.learners import LEARNERS, Hyper, check_count, make
from deletionlab.unlearning.mlp import make_task
from deletionlab.unlearning.models import Task, balanced_masks, fit_exact
from deletionlab.unlearning.requesters import REQUESTERS, Pairs, link_pairs, max_pairs

# Seeds. Everything random in a run derives from ``Config.seed`` through these fixed offsets, so
# that the member split, the shadow models' halves, the requests and each learner's noise are
# independent streams, and the same for every learner (paired comparisons).
#: the shadow models' halves: ``default_rng(seed + SHADOW_SEED_OFFSET)``
SHADOW_SEED_OFFSET = 1
#: the random requests (the same for every learner): ``default_rng(seed + REQUEST_SEED_OFFSET)``
REQUEST_SEED_OFFSET = 7
#: learner number i draws its noise from ``seed + LEARNER_SEED_STRIDE * i``
LEARNER_SEED_STRIDE = 10
#: the never-members the requester's rule picks as matched negatives (random requests, and the linked
#: requester, whose rule needs pairs): ``default_rng(seed + MATCH_SEED_OFFSET)``
MATCH_SEED_OFFSET = 3
#: deletions per release: the real limit is the service's records (checked with the data)
MAX_DELETIONS = 100_000


@dataclass
class Config:
    """One configuration of the service and the attacker (what the explorer's controls set)."""

    dataset: str = DEFAULT_DATASET
    model: str = DEFAULT_MODEL  # "logistic", "mlp" (one hidden layer; non-convex) or "ridge" (regression data)
    learners: tuple = DEFAULT_LEARNERS
    requester: str = DEFAULT_REQUESTER
    releases: int = DEFAULT_RELEASES  # T: releases after the first
    per_release: int = DEFAULT_PER_RELEASE  # deletion requests answered per release
    shadows: int = DEFAULT_SHADOWS
    seed: int = 0
    hyper: Hyper = field(default_factory=Hyper)


def _check_fields(cfg: Config) -> None:
    """The fields that need no data (the data set's name is checked by ``load``, the model by ``make_task``)."""
    if cfg.requester not in REQUESTERS:
        raise UserError(f"Unknown requester {cfg.requester!r}; choose one of {', '.join(REQUESTERS)}.")
    if not cfg.learners:
        raise UserError("Pick at least one learner.")
    for key in cfg.learners:
        if key not in LEARNERS:
            raise UserError(f"Unknown learner {key!r}; choose from {', '.join(LEARNERS)}.")
    check_count("Releases", cfg.releases, 1, MAX_RELEASES)
    check_count("Deletions per release", cfg.per_release, 1, MAX_DELETIONS)
    shadows = check_count("Shadow models", cfg.shadows, MIN_SHADOWS, MAX_SHADOWS)
    if shadows % 2:
        raise UserError(f"Shadow models must be an even number from {MIN_SHADOWS} to {MAX_SHADOWS} "
                        f"(every record is IN for half of them; got {shadows}).")
    check_count("Seed", cfg.seed, 0, MAX_SEED)


def _prepare(cfg: Config) -> tuple[Dataset, Task]:
    """The data and the model task of a configuration whose fields are valid; the checks that need them."""
    ds = load(cfg.dataset, seed=cfg.seed)
    task = make_task(ds, cfg.model)
    cfg.hyper.validate(task)
    n_del = cfg.releases * cfg.per_release
    if n_del >= len(ds.members):
        most = (len(ds.members) - 1) // cfg.releases
        raise UserError(f"Deletions per release must be at most {most} with {cfg.releases} releases: "
                        f"{cfg.releases} × {cfg.per_release} = {n_del} requests, but the service holds only "
                        f"{len(ds.members)} records.")
    if cfg.requester == "linked" and n_del > max_pairs(len(ds.members), len(ds.outsiders)):
        raise UserError(f"The linked requester pairs every deletion with a target record: releases × deletions per "
                        f"release must be at most {max_pairs(len(ds.members), len(ds.outsiders))} on {ds.name} "
                        f"(got {n_del}).")
    return ds, task


def validate(cfg: Config) -> Config:
    """Check a configuration; a :class:`UserError` names the field and its range. Returns ``cfg``."""
    _check_fields(cfg)
    _prepare(cfg)
    return cfg


@dataclass
class Result:
    """Every learner's releases, attacked (:class:`.attack.LearnerRun`), and what the run was."""

    config: dict
    dataset: str
    n_members: int
    n_outsiders: int
    runs: dict  # key -> LearnerRun
    seconds: float
    notes: list[str] = field(default_factory=list)
    #: Noisy-GD's certified ε per request (:func:`.accounting.certificate`), None without Noisy-GD
    certificate: dict | None = None

    def timeline(self, attack: str = "single_online", metric: str | float = "auc") -> dict:
        """{learner: (releases, values)} for one attack and metric (``auc`` or a FPR such as 0.01)."""
        out = {}
        for key, run in self.runs.items():
            xs, ys = [], []
            for r in run.releases[1:]:
                m = r["attacks"].get(attack)
                if m is None:
                    continue
                xs.append(r["t"])
                ys.append(m["auc"] if metric == "auc" else m["tpr"][str(metric)])
            out[key] = (xs, ys)
        return out


def _notes(cfg: Config) -> list[str]:
    notes = []
    if cfg.model == "mlp":
        notes.append("The MLP is not convex: retraining reaches a deterministic point rather than a minimiser, "
                     "and Noisy-GD's guarantee (and the accounting tab) does not apply to it.")
    if cfg.hyper.sigma == 0 and any(k in ("noisy_gd", "caching") for k in cfg.learners):
        notes.append("σ = 0: Noisy-GD is plain gradient descent and the caching unlearner adds no noise; "
                     "neither has any guarantee (the bound is infinite).")
    return notes


def _run_learner(cfg: Config, li: int, key: str, ds: Dataset, task: Task, masks: np.ndarray, pairs: Pairs, step,
                 cancel: CancelToken | None) -> LearnerRun:
    """Release 0, ``cfg.releases`` answered batches of requests, the shadows, the attacks: one learner."""
    learner = make(key, task, Hyper(**asdict(cfg.hyper)), seed=cfg.seed + LEARNER_SEED_STRIDE * li, outsiders=ds.outsiders)
    rng = np.random.default_rng(cfg.seed + REQUEST_SEED_OFFSET)  # the same random requests for every learner
    match_rng = np.random.default_rng(cfg.seed + MATCH_SEED_OFFSET)
    rule = REQUESTERS["random" if cfg.requester == "linked" else cfg.requester]
    matched_at: dict[int, int] = {}
    step(0, f"{learner.label}: release 0")
    rel = learner.fit(ds.members, cancel=cancel)
    step(1)
    for t in range(1, cfg.releases + 1):
        check_cancel(cancel)
        ids = REQUESTERS[cfg.requester](task, rel, cfg.per_release, rng, pairs)
        pool = np.setdiff1d(ds.outsiders, list(matched_at))  # the same rule on the never-members left
        if len(pool) > 1:
            matched_at |= {int(i): t for i in rule(task, replace(rel, present=pool), cfg.per_release, match_rng, pairs)}
        rel = learner.delete(ids, cancel=cancel)
        step(1, f"{learner.label}: release {t}")
    step(0, f"{learner.label}: {cfg.shadows} shadow models")
    shadow = learner.shadow_releases(masks, cfg.releases + 1, cancel=cancel)
    step(1, f"{learner.label}: attacking")
    run = attack_learner(task, learner, shadow, masks, ds.outsiders, cancel=cancel, pairs=pairs, matched_at=matched_at)
    step(1, f"{learner.label}: done")
    return run


def reference_stats(task: Task, masks: np.ndarray, hyper: Hyper, cancel: CancelToken | None = None) -> ShadowStats:
    """Shadow statistics of exact (retrained) models on the attacker's halves: the linked
    requester's membership test and how the pairs are chosen (drawn for every requester, so that
    the linked-target attack under random requests is the paired baseline)."""
    theta = fit_exact(task, masks, lam=hyper.lam, steps=hyper.exact_steps, cancel=cancel)
    return ShadowStats.fit(task.confidence(theta), masks)


def explore(config: Config | None = None, *, progress: Progress = no_progress,
            cancel: CancelToken | None = None) -> Result:
    """Simulate the releases for every learner and attack them (see the module docstring)."""
    cfg = config or Config()
    _check_fields(cfg)
    t0 = time.time()
    ds, task = _prepare(cfg)
    masks = balanced_masks(ds.n, cfg.shadows, np.random.default_rng(cfg.seed + SHADOW_SEED_OFFSET))
    total = len(cfg.learners) * (cfg.releases + 3) + 1
    done = 0

    def step(n: int, note: str | None = None) -> None:
        nonlocal done
        done += n
        if note is not None:
            progress(done, total, note)

    step(0, "linked pairs: reference shadow models")
    pairs = link_pairs(ds.members, ds.outsiders, cfg.releases * cfg.per_release, reference_stats(task, masks, cfg.hyper, cancel))
    step(1)
    runs = {key: _run_learner(cfg, li, key, ds, task, masks, pairs, step, cancel) for li, key in enumerate(cfg.learners)}
    cert = (certificate(task, cfg.hyper, n=len(ds.members), records=cfg.per_release, requests=cfg.releases)
            if "noisy_gd" in cfg.learners else None)
    return Result(asdict(cfg), ds.name, len(ds.members), len(ds.outsiders), runs, time.time() - t0, _notes(cfg), cert)
