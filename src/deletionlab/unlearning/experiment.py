"""The measurement behind the notebook's verdicts: the explorer's run over many seeds, and two
measurements that isolate a claim.

* :func:`sweep_seeds` runs :func:`.explore.explore` for every seed (each seed draws new members,
  shadows and requests) on a local pool or a ``dask.distributed`` cluster; :func:`aggregate`
  turns the per-seed series into mean, standard deviation and n.
* :func:`accumulation` (claim 2 in isolation): one batch deletes, the service keeps publishing
  without further requests, the attacker averages every release since the deletion.
* :func:`sigma_sweep` (claim 3): Noisy-GD's noise σ under adaptive requests.
* :func:`run_experiment` runs all of it for an :class:`ExperimentConfig` and returns the
  JSON-able dict that ``scripts/unlearning_experiment.py`` saves as ``results.json``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress
from deletionlab.unlearning import DEFAULT_DATASET, DEFAULT_PER_RELEASE, DEFAULT_RELEASES, DEFAULT_SHADOWS
from deletionlab.unlearning.attack import ATTACKS, ShadowStats, metrics
from deletionlab.unlearning.data import load
from deletionlab.unlearning.explore import REQUEST_SEED_OFFSET, SHADOW_SEED_OFFSET, Config, Result, explore, validate
from deletionlab.unlearning.learners import LEARNERS, Hyper, make
from deletionlab.unlearning.models import Task, balanced_masks

#: claim 2 (accumulation): this many random members delete at release 1, then this many releases
#: follow without requests; the learners compared (SISA behaves like retraining here)
ACCUMULATION_BATCH, ACCUMULATION_RELEASES = 40, 30
ACCUMULATION_LEARNERS = ("retrain", "caching", "noisy_gd")
#: claim 3: Noisy-GD's σ values under adaptive requests (the first is the default σ)
SIGMAS = (0.02, 0.05, 0.1, 0.3)

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
    return summarise(explore(Config(**cfg)))


def sweep_seeds(config: Config, seeds, *, client=None, backend: str = "threads", max_workers: int | None = None,
                progress: Progress = no_progress, cancel: CancelToken | None = None) -> list[dict]:
    """``explore`` for every seed on a local pool or a ``dask.distributed`` cluster (``client``, or
    ``DELETIONLAB_DASK_SCHEDULER``); returns the :func:`summarise` dicts in seed order."""
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


def _accumulation_seed(key: str, dataset: str, seed: int, batch: int, releases: int, shadows: int, hyper: Hyper,
                       cancel: CancelToken | None) -> tuple[list[float], list[float]]:
    """AUC of the deleted batch per release 1..releases: (release t alone, average of releases 1..t)."""
    ds = load(dataset, seed=seed)
    task = Task.from_dataset(ds)
    lr = make(key, task, Hyper(**asdict(hyper)), seed=seed, outsiders=ds.outsiders)  # one learner per run: no stride
    lr.fit(ds.members, cancel=cancel)
    gone = np.random.default_rng(seed + REQUEST_SEED_OFFSET).choice(ds.members, size=min(batch, len(ds.members) - 1),
                                                                    replace=False)
    lr.delete(gone, cancel=cancel)
    for _ in range(releases - 1):
        lr.delete([], cancel=cancel)
    masks = balanced_masks(ds.n, shadows, np.random.default_rng(seed + SHADOW_SEED_OFFSET))
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
    return s_row, a_row


def accumulation(dataset: str = DEFAULT_DATASET, learners=ACCUMULATION_LEARNERS, *, batch: int = ACCUMULATION_BATCH,
                 releases: int = ACCUMULATION_RELEASES, shadows: int = DEFAULT_SHADOWS, hyper: Hyper | None = None, seeds=(0,),
                 progress: Progress = no_progress, cancel: CancelToken | None = None) -> dict:
    """Claim 2 in isolation: ``batch`` random members delete at release 1; the service then keeps
    publishing once per period with no further requests (the caching unlearner draws fresh noise
    for its cached model; the stateless learners republish the same parameters). At every
    release t the attacker scores the deleted batch against never-members with release t alone
    and with the average of releases 1..t.

    Returns {learner: {"single": {mean, std, n}, "average": {mean, std, n}, "label"}} over
    ``seeds`` (AUC per release 1..releases)."""
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
            s_row, a_row = _accumulation_seed(key, dataset, seed, batch, releases, shadows, hyper, cancel)
            singles.append(s_row)
            avgs.append(a_row)
            done += 1
            progress(done, total, f"{label}, seed {seed}")
        out[key] = {"label": label,
                    "single": {"mean": np.mean(singles, 0).tolist(), "std": np.std(singles, 0).tolist(), "n": len(seeds)},
                    "average": {"mean": np.mean(avgs, 0).tolist(), "std": np.std(avgs, 0).tolist(), "n": len(seeds)}}
    return out


# -- the whole measurement -------------------------------------------------------------------------


@dataclass
class ExperimentConfig:
    """What ``scripts/unlearning_experiment.py`` measures (defaults: the committed results)."""

    seeds: int = 8
    requesters: tuple = ("random", "confident", "misclassified")
    dataset: str = DEFAULT_DATASET
    releases: int = DEFAULT_RELEASES
    per_release: int = DEFAULT_PER_RELEASE
    shadows: int = DEFAULT_SHADOWS
    sigmas: tuple = SIGMAS
    sigma_requester: str = "misclassified"
    batch: int = ACCUMULATION_BATCH
    later_releases: int = ACCUMULATION_RELEASES
    workers: int = 1
    hyper: Hyper = field(default_factory=Hyper)

    @classmethod
    def small(cls) -> ExperimentConfig:
        """A few seconds on a laptop: the same structure, tiny sizes (tests, ``DELETIONLAB_FAST``)."""
        return cls(seeds=2, requesters=("random", "confident"), releases=2, per_release=3, shadows=8, sigmas=(0.02, 0.3),
                   batch=10, later_releases=3)

    def run_config(self, requester: str, **changes) -> Config:
        """The explorer's configuration this experiment runs for one requester."""
        kw = dict(dataset=self.dataset, requester=requester, releases=self.releases, per_release=self.per_release,
                  shadows=self.shadows, hyper=Hyper(**asdict(self.hyper)))
        return Config(**(kw | changes))


def sigma_sweep(ecfg: ExperimentConfig, *, progress: Progress = no_progress, cancel: CancelToken | None = None) -> dict:
    """Claim 3: Noisy-GD alone under ``ecfg.sigma_requester`` requests for every σ in ``ecfg.sigmas``;
    the average attack's AUC and the accuracy at the last release (mean, std, n over seeds)."""
    points = {}
    for i, sigma in enumerate(ecfg.sigmas):
        cfg = ecfg.run_config(ecfg.sigma_requester, learners=("noisy_gd",), hyper=Hyper(**(asdict(ecfg.hyper) | {"sigma": sigma})))
        agg = aggregate(sweep_seeds(cfg, range(ecfg.seeds), max_workers=ecfg.workers, cancel=cancel))["noisy_gd"]
        points[str(sigma)] = {k: {"mean": agg[k]["mean"][-1], "std": agg[k]["std"][-1], "n": agg[k]["n"]}
                              for k in ("average_online_auc", "accuracy")}
        progress(i + 1, len(ecfg.sigmas), f"σ = {sigma}")
    return {"requester": ecfg.sigma_requester, "learner": "noisy_gd", "points": points}


def _validate_experiment(ecfg: ExperimentConfig) -> None:
    if not isinstance(ecfg.seeds, int) or ecfg.seeds < 2:
        raise UserError("Use at least 2 seeds: the standard errors come from the spread over seeds.")
    if not ecfg.requesters:
        raise UserError("Name at least one requester.")
    for req in (*ecfg.requesters, ecfg.sigma_requester):
        validate(ecfg.run_config(req))


def run_experiment(ecfg: ExperimentConfig | None = None, *, progress: Progress = no_progress,
                   cancel: CancelToken | None = None) -> dict:
    """Every requester over ``ecfg.seeds`` seeds, the σ sweep and the accumulation measurement:
    the dict ``results.json`` holds (without ``made_by``, which ``save_results`` adds)."""
    ecfg = ecfg or ExperimentConfig()
    _validate_experiment(ecfg)
    t0 = time.time()
    out: dict = {"requesters": {}}
    for req in ecfg.requesters:
        cfg = ecfg.run_config(req)
        sums = sweep_seeds(cfg, range(ecfg.seeds), max_workers=ecfg.workers, cancel=cancel,
                           progress=lambda d, t, n="", req=req: progress(d, t, f"{req} requests: {d:g}/{t:g} seeds"))
        out["requesters"][req] = aggregate(sums)
        cfgd = asdict(cfg)
        cfgd.pop("requester"), cfgd.pop("seed")
        out["config"] = cfgd
    out["sigma_sweep"] = sigma_sweep(ecfg, cancel=cancel, progress=lambda d, t, n="": progress(d, t, f"σ sweep: {n}"))
    out["accumulation"] = accumulation(ecfg.dataset, batch=ecfg.batch, releases=ecfg.later_releases, shadows=ecfg.shadows,
                                       hyper=Hyper(**asdict(ecfg.hyper)), seeds=range(ecfg.seeds), cancel=cancel,
                                       progress=lambda d, t, n="": progress(d, t, f"accumulation: {n}"))
    out["seeds"] = ecfg.seeds
    out["seconds"] = time.time() - t0
    return out
