"""A service that publishes a model, then a new release after each batch of deletion requests --
and an attacker who runs LiRA against every release, aimed at the *deleted* records.

``run(Config(...))`` trains each learner on the service's data (release 0), then for
t = 1..T asks the requester which records delete, lets the learner answer and publish release t.
Independently, it trains the attacker's shadow models with each learner's own procedure
(batched; on random halves of all records, each shadow republishing T + 1 times without deletions).

At each release t the leakage of the deleted records is the ROC of LiRA scores of *records deleted
so far* (positives) against *never-members* (negatives); a perfect unlearner gives AUC 0.5.
Two attacks:

* ``single``: the statistic of release t alone;
* ``average``: the statistic of the parameter average of all releases published since the
  record's deletion (an attacker who keeps every release; it cancels fresh noise).

The ordinary membership attack on the *current* members is reported too (``members``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress
from deletionlab.unlearning.attack import ShadowStats, metrics
from deletionlab.unlearning.data import DATASETS, load
from deletionlab.unlearning.learners import LEARNERS, Hyper, Learner, Release, make
from deletionlab.unlearning.mlp import make_task
from deletionlab.unlearning.models import Task, balanced_masks

# -- requesters -------------------------------------------------------------------------------


def _conf(task: Task, rel: Release) -> np.ndarray:
    return task.confidence(rel.params, rel.sharded)


def request_random(task, rel, k, rng):
    """k members chosen uniformly at random (non-adaptive)."""
    return rng.choice(rel.present, size=min(k, len(rel.present) - 1), replace=False)


def request_confident(task, rel, k, rng):
    """Adaptive: the k members the current release predicts most confidently delete ("the model
    knows me too well")."""
    c = _conf(task, rel)[rel.present]
    return rel.present[np.argsort(-c, kind="stable")[: min(k, len(rel.present) - 1)]]


def request_misclassified(task, rel, k, rng):
    """Adaptive: the k members the current release gets most wrong delete ("the model is wrong
    about me")."""
    c = _conf(task, rel)[rel.present]
    return rel.present[np.argsort(c, kind="stable")[: min(k, len(rel.present) - 1)]]


REQUESTERS = {"random": request_random, "confident": request_confident, "misclassified": request_misclassified}

# -- configuration and results -------------------------------------------------------------------


@dataclass
class Config:
    dataset: str = "digits_3v8"
    model: str = "logistic"  # or "mlp" (one hidden layer; non-convex) or "ridge" (regression data)
    learners: tuple = ("retrain", "sisa", "caching", "noisy_gd")
    requester: str = "random"
    releases: int = 10  # T: releases after the first
    per_release: int = 5  # deletion requests answered per release
    shadows: int = 32
    seed: int = 0
    hyper: Hyper = field(default_factory=Hyper)

    def validate(self) -> None:
        if self.dataset not in DATASETS:
            raise UserError(f"Unknown dataset {self.dataset!r}.")
        if self.model not in ("logistic", "mlp", "ridge"):
            raise UserError(f"Unknown model {self.model!r}; choose logistic, mlp or ridge.")
        if self.requester not in REQUESTERS:
            raise UserError(f"Unknown requester {self.requester!r}; choose one of {', '.join(REQUESTERS)}.")
        if not self.learners:
            raise UserError("Pick at least one learner.")
        for key in self.learners:
            if key not in LEARNERS:
                raise UserError(f"Unknown learner {key!r}.")
        if not isinstance(self.releases, (int, np.integer)) or self.releases < 1:
            raise UserError("Zero releases: there is nothing to attack. Ask for at least 1 release after the first.")
        if self.releases > 50:
            raise UserError("At most 50 releases, please (each one is trained and attacked).")
        if not isinstance(self.per_release, (int, np.integer)) or self.per_release < 1:
            raise UserError("Each release must answer at least one deletion request.")
        if self.shadows < 4 or self.shadows % 2 or self.shadows > 512:
            raise UserError("Use an even number of shadow models between 4 and 512.")


@dataclass
class LearnerRun:
    key: str
    label: str
    releases: list[dict]  # per release: t, accuracy, cost, deleted (ids), attacks {name: metrics json}
    roc: dict  # attack name -> {fpr_curve, tpr_curve} at the last release
    deleted_scores: list[dict]  # per deleted record: id, release, single/average score at the end


@dataclass
class Result:
    config: dict
    dataset: str
    n_members: int
    n_outsiders: int
    runs: dict  # key -> LearnerRun
    seconds: float
    notes: list[str] = field(default_factory=list)

    def timeline(self, attack: str = "single_online", metric: str = "auc") -> dict:
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

    def to_json(self) -> dict:
        d = asdict(self)
        d["runs"] = {k: asdict(v) for k, v in self.runs.items()}
        return d


ATTACKS = ("single_online", "single_offline", "average_online", "members_online")


def _release_json(rel: Release) -> dict:
    return {"t": rel.t, "accuracy": rel.accuracy, "cost": rel.cost, "deleted": [int(i) for i in rel.deleted_now],
            "n_present": int(len(rel.present))}


def attack_learner(task: Task, learner: Learner, shadow: list[torch.Tensor], masks: np.ndarray,
                   outsiders: np.ndarray, cancel: CancelToken | None = None) -> LearnerRun:
    """Run the attacks on every release of ``learner`` with its shadow releases."""
    rels = learner.releases
    T = len(rels) - 1
    sharded = rels[0].sharded
    conf = lambda th: task.confidence(th, sharded)  # noqa: E731
    s_single = [conf(shadow[t]) for t in range(T + 1)]  # (M, n) each
    stats_single = [ShadowStats.fit(s, masks) for s in s_single]
    target_single = [conf(r.params) for r in rels]
    deleted_at = {int(i): r.t for r in rels for i in r.deleted_now}
    avg_cache: dict[tuple[int, int], tuple[np.ndarray, ShadowStats]] = {}

    def window(r0: int, t: int):
        if (r0, t) not in avg_cache:
            if learner.exact:
                avg_cache[(r0, t)] = (target_single[t], stats_single[t])
            else:
                tgt = conf(torch.stack([rels[k].params for k in range(r0, t + 1)]).mean(0))
                sh = conf(torch.stack(shadow[r0: t + 1]).mean(0))
                avg_cache[(r0, t)] = (tgt, ShadowStats.fit(sh, masks))
        return avg_cache[(r0, t)]

    out_rel, roc = [_release_json(rels[0]) | {"attacks": {}}], {}
    for t in range(1, T + 1):
        check_cancel(cancel)
        gone = np.array([i for i, r in deleted_at.items() if r <= t], dtype=int)
        st = stats_single[t]
        att = {}
        m1 = metrics(st.score(target_single[t][gone], gone), st.score(target_single[t][outsiders], outsiders))
        att["single_online"] = m1
        att["single_offline"] = metrics(st.score(target_single[t][gone], gone, online=False),
                                        st.score(target_single[t][outsiders], outsiders, online=False))
        # average since deletion: positives grouped by their deletion release; negatives scored
        # under every window, weighted like the positives
        pos, neg, wts = [], [], []
        starts = sorted({deleted_at[int(i)] for i in gone})
        for r0 in starts:
            ids = np.array([i for i in gone if deleted_at[int(i)] == r0])
            tgt, sts = window(r0, t)
            pos.append(sts.score(tgt[ids], ids))
            neg.append(sts.score(tgt[outsiders], outsiders))
            wts.append(np.full(len(outsiders), len(ids) / len(gone)))
        att["average_online"] = metrics(np.concatenate(pos), np.concatenate(neg), neg_weight=np.concatenate(wts))
        present = rels[t].present
        att["members_online"] = metrics(st.score(target_single[t][present], present), st.score(target_single[t][outsiders], outsiders))
        out_rel.append(_release_json(rels[t]) | {"attacks": {k: v.to_json() for k, v in att.items()}})
        if t == T:
            roc = {k: {"fpr": v.fpr_curve.tolist(), "tpr": v.tpr_curve.tolist()} for k, v in att.items()}
            scores = []
            for i in sorted(deleted_at, key=lambda i: (deleted_at[i], i)):
                tgt, sts = window(deleted_at[i], t)
                scores.append({"id": i, "release": deleted_at[i],
                               "single": float(st.score(target_single[t][[i]], [i])[0]),
                               "average": float(sts.score(tgt[[i]], [i])[0])})
    return LearnerRun(learner.key, learner.label, out_rel, roc, scores)


def run(config: Config | None = None, *, progress: Progress = no_progress, cancel: CancelToken | None = None) -> Result:
    """Simulate the releases for every learner and attack them (see the module docstring)."""
    cfg = config or Config()
    cfg.validate()
    t0 = time.time()
    ds = load(cfg.dataset, seed=cfg.seed)
    task = make_task(ds, cfg.model)
    cfg.hyper.validate(task)
    n_del = cfg.releases * cfg.per_release
    notes = []
    if n_del >= len(ds.members):
        raise UserError(f"{cfg.releases} releases × {cfg.per_release} deletions = {n_del} requests, but the service "
                        f"holds only {len(ds.members)} records. Ask for fewer.")
    if cfg.model == "mlp":
        notes.append("The MLP is not convex: retraining reaches a deterministic point rather than a minimiser, "
                     "and Noisy-GD's guarantee (and the accounting tab) does not apply to it.")
    if cfg.hyper.sigma == 0 and any(k in ("noisy_gd", "caching") for k in cfg.learners):
        notes.append("σ = 0: Noisy-GD is plain gradient descent and the caching unlearner adds no noise; "
                     "neither has any guarantee (the bound is infinite).")
    masks = balanced_masks(ds.n, cfg.shadows, np.random.default_rng(cfg.seed + 1))
    total = len(cfg.learners) * (cfg.releases + 3)
    done = 0
    runs = {}
    for li, key in enumerate(cfg.learners):
        learner = make(key, task, Hyper(**asdict(cfg.hyper)), seed=cfg.seed + 10 * li, outsiders=ds.outsiders)
        rng = np.random.default_rng(cfg.seed + 7)  # the same random requests for every learner
        progress(done, total, f"{learner.label}: release 0")
        rel = learner.fit(ds.members, cancel=cancel)
        done += 1
        for t in range(1, cfg.releases + 1):
            check_cancel(cancel)
            ids = REQUESTERS[cfg.requester](task, rel, cfg.per_release, rng)
            rel = learner.delete(ids, cancel=cancel)
            done += 1
            progress(done, total, f"{learner.label}: release {t}")
        progress(done, total, f"{learner.label}: {cfg.shadows} shadow models")
        shadow = learner.shadow_releases(masks, cfg.releases + 1, cancel=cancel)
        done += 1
        progress(done, total, f"{learner.label}: attacking")
        runs[key] = attack_learner(task, learner, shadow, masks, ds.outsiders, cancel=cancel)
        done += 1
        progress(done, total, f"{learner.label}: done")
    cfgd = asdict(cfg)
    return Result(cfgd, ds.name, len(ds.members), len(ds.outsiders), runs, time.time() - t0, notes)


# -- many seeds --------------------------------------------------------------------------------


def summarise(res: Result) -> dict:
    """The per-release numbers of one run, small enough to send between processes or save."""
    out = {}
    for key, r in res.runs.items():
        out[key] = {"label": r.label,
                    "accuracy": [x["accuracy"] for x in r.releases],
                    "cost": [x["cost"] for x in r.releases],
                    **{f"{a}_{m}": [x["attacks"][a]["auc"] if m == "auc" else x["attacks"][a]["tpr"]["0.01"]
                                    for x in r.releases[1:]]
                       for a in ATTACKS for m in ("auc", "tpr01")}}
    return out


def run_summary(config: dict, seed: int) -> dict:
    """One seed of a configuration given as a plain dict (what a dask worker receives)."""
    cfg = dict(config)
    cfg["hyper"] = Hyper(**cfg.get("hyper", {}))
    cfg["learners"] = tuple(cfg.get("learners", Config().learners))
    cfg["seed"] = seed
    return summarise(run(Config(**cfg)))


def sweep_seeds(config: Config, seeds, *, client=None, backend: str = "threads", max_workers: int | None = None,
                progress: Progress = no_progress, cancel: CancelToken | None = None) -> list[dict]:
    """``run`` for every seed (each seed draws new members, shadows and requests) on a local pool
    or a ``dask.distributed`` cluster (``client``, or ``DELETIONLAB_DASK_SCHEDULER``); returns the
    :func:`summarise` dicts in seed order."""
    from deletionlab.core.sweeps import sweep

    cfg = asdict(config)
    cfg.pop("seed")
    return sweep(run_summary, {"seed": list(seeds)}, fixed={"config": cfg}, client=client, backend=backend,
                 max_workers=max_workers, progress=progress, cancel=cancel)


def aggregate(summaries: list[dict]) -> dict:
    """Mean and standard deviation over seeds of every per-release series."""
    out = {}
    for key in summaries[0]:
        entry = {"label": summaries[0][key]["label"]}
        for name, vals in summaries[0][key].items():
            if name == "label":
                continue
            arr = np.array([s[key][name] for s in summaries], dtype=float)
            entry[name] = {"mean": arr.mean(0).tolist(), "std": arr.std(0).tolist(), "n": len(arr)}
        out[key] = entry
    return out


# -- accumulation over a series ------------------------------------------------------------------


def accumulation(dataset: str = "digits_3v8", learners=("retrain", "caching", "noisy_gd"), *, batch: int = 40,
                 releases: int = 30, shadows: int = 32, hyper: Hyper | None = None, seeds=(0,),
                 progress: Progress = no_progress, cancel: CancelToken | None = None) -> dict:
    """Claim 2 in isolation: ``batch`` random members delete at release 1; the service then keeps
    publishing once per period with no further requests (the caching unlearner draws fresh noise
    for its cached model; the stateless learners republish the same parameters). At every release t the attacker scores the deleted batch against
    never-members with release t alone and with the average of releases 1..t.

    Returns {learner: {"single": {mean, std}, "average": {mean, std}, "label"}} over ``seeds``
    (AUC per release 1..releases)."""
    if releases < 1 or batch < 1:
        raise UserError("Need at least one release and one deleted record.")
    hyper = hyper or Hyper()
    out: dict = {}
    total = len(seeds) * len(learners)
    done = 0
    for key in learners:
        singles, avgs = [], []
        label = LEARNERS[key].label
        for seed in seeds:
            check_cancel(cancel)
            ds = load(dataset, seed=seed)
            task = Task.from_dataset(ds)
            lr = make(key, task, Hyper(**asdict(hyper)), seed=seed, outsiders=ds.outsiders)
            lr.fit(ds.members, cancel=cancel)
            gone = np.random.default_rng(seed + 7).choice(ds.members, size=min(batch, len(ds.members) - 1), replace=False)
            lr.delete(gone, cancel=cancel)
            for _ in range(releases - 1):
                lr.delete([], cancel=cancel)
            masks = balanced_masks(ds.n, shadows, np.random.default_rng(seed + 1))
            shadow = lr.shadow_releases(masks, releases + 1, cancel=cancel, requests=False)
            sharded = lr.releases[0].sharded
            s_row, a_row = [], []
            run_p = torch.zeros_like(lr.releases[1].params)
            run_s = torch.zeros_like(shadow[1])
            for t in range(1, releases + 1):
                run_p += lr.releases[t].params
                run_s += shadow[t]
                for row, tgt, sh in ((s_row, lr.releases[t].params, shadow[t]), (a_row, run_p / t, run_s / t)):
                    st = ShadowStats.fit(task.confidence(sh, sharded), masks)
                    c = task.confidence(tgt, sharded)
                    row.append(metrics(st.score(c[gone], gone), st.score(c[ds.outsiders], ds.outsiders)).auc)
            singles.append(s_row)
            avgs.append(a_row)
            done += 1
            progress(done, total, f"{label}, seed {seed}")
        out[key] = {"label": label,
                    "single": {"mean": np.mean(singles, 0).tolist(), "std": np.std(singles, 0).tolist(), "n": len(seeds)},
                    "average": {"mean": np.mean(avgs, 0).tolist(), "std": np.std(avgs, 0).tolist(), "n": len(seeds)}}
    return out
