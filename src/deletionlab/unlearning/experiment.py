"""The measurement behind the notebook's verdicts: the explorer's run over many seeds, and the
measurements that isolate a claim.

* :func:`sweep_seeds` runs :func:`.explore.explore` for every seed (each seed draws new members,
  shadows and requests; the same seed gives every requester the same members and shadows, so
  requesters are compared *paired by seed*) on a local pool or a ``dask.distributed`` cluster;
  :func:`aggregate` turns the per-seed series into mean, standard deviation, n and the per-seed
  values at the last release (for paired tests).
* :func:`accumulation` (claim 2 in isolation): one batch deletes, the service keeps publishing
  without further requests, the attacker averages every release since the deletion.
* :func:`sigma_sweep` (claim 3): Noisy-GD's noise σ under adaptive requests, with the certified
  ε of every σ and the K_U a meaningful certificate would need.
* :func:`certified_run` (claim 4 where the bound means something): Noisy-GD at λ, σ and the
  smallest K_U for which the reconstructed bound gives ε ≤ 10 after every request.
* :func:`run_experiment` runs all of it for an :class:`ExperimentConfig` and returns the
  JSON-able dict that ``scripts/unlearning_experiment.py`` saves as ``results.json``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress
from deletionlab.core.lazy import torch  # imported on first use: a kernel that shows a stored run never needs it
from deletionlab.unlearning import (
    CERTIFIED_LAMBDA,
    CERTIFIED_SIGMA,
    DEFAULT_DATASET,
    DEFAULT_PER_RELEASE,
    DEFAULT_RELEASES,
    DEFAULT_SHADOWS,
)
from deletionlab.unlearning.accounting import certificate, k_unlearn_for
from deletionlab.unlearning.attack import ATTACKS, ShadowStats, metrics
from deletionlab.unlearning.data import load
from deletionlab.unlearning.explore import REQUEST_SEED_OFFSET, SHADOW_SEED_OFFSET, Config, Result, explore, validate
from deletionlab.unlearning.learners import LEARNERS, Hyper, check_count, make
from deletionlab.unlearning.mlp import make_task
from deletionlab.unlearning.models import Task, balanced_masks

#: claim 2 (accumulation): this many random members delete at release 1, then this many releases
#: follow without requests; the learners compared (SISA behaves like retraining here)
ACCUMULATION_BATCH, ACCUMULATION_RELEASES = 40, 30
ACCUMULATION_LEARNERS = ("retrain", "caching", "noisy_gd")
#: claim 3: Noisy-GD's σ values under adaptive requests (the first is the default σ)
SIGMAS = (0.02, 0.05, 0.1, 0.3)
#: the requesters of the experiment (random first: it is every adaptive requester's paired baseline)
REQUESTER_KEYS = ("random", "confident", "misclassified", "linked")
#: the learners of the certified run (retraining as the reference)
CERTIFIED_LEARNERS = ("retrain", "noisy_gd")

# -- many seeds --------------------------------------------------------------------------------


def summarise(res: Result) -> dict:
    """The per-release numbers of one run, small enough to send between processes or save; the
    linked-target AUC of every learner, and Noisy-GD's certificate (the same for every seed)."""
    out = {}
    for key, r in res.runs.items():
        out[key] = {"label": r.label,
                    "accuracy": [x["accuracy"] for x in r.releases],
                    "cost": [x["cost"] for x in r.releases],
                    **{f"{a}_{m}": [x["attacks"][a]["auc"] if m == "auc" else x["attacks"][a]["tpr"]["0.01"]
                                    for x in r.releases[1:]]
                       for a in ATTACKS for m in ("auc", "tpr01")}}
        if r.linked is not None:
            out[key]["linked_target_auc"] = r.linked["auc"]
        if key == "noisy_gd" and res.certificate is not None:
            out[key]["certificate"] = res.certificate
    return out


def run_summary(config: dict, seed: int, cancel: CancelToken | None = None) -> dict:
    """One seed of a configuration given as a plain dict (what a dask worker receives; ``cancel``
    only on local threads, where the token can be shared)."""
    cfg = dict(config)
    cfg["hyper"] = Hyper(**cfg.get("hyper", {}))
    cfg["learners"] = tuple(cfg.get("learners", Config().learners))
    cfg["seed"] = seed
    return summarise(explore(Config(**cfg), cancel=cancel))


def sweep_seeds(config: Config, seeds, *, client=None, backend: str = "threads", max_workers: int | None = None,
                progress: Progress = no_progress, cancel: CancelToken | None = None) -> list[dict]:
    """``explore`` for every seed on a local pool or a ``dask.distributed`` cluster (``client``, or
    ``DELETIONLAB_DASK_SCHEDULER``); returns the :func:`summarise` dicts in seed order. On local
    threads the runs themselves see ``cancel`` (they stop within a fraction of a second)."""
    from deletionlab.core.sweeps import client_from_env, sweep

    cfg = asdict(config)
    cfg.pop("seed")
    fixed = {"config": cfg}
    if client is None and backend == "threads" and client_from_env() is None:
        fixed["cancel"] = cancel
    return sweep(run_summary, {"seed": list(seeds)}, fixed=fixed, client=client, backend=backend,
                 max_workers=max_workers, progress=progress, cancel=cancel)


def _stats(arr: np.ndarray) -> dict:
    """Mean and std over seeds (axis 0), n, and the per-seed values at the last position."""
    return {"mean": arr.mean(0).tolist(), "std": arr.std(0).tolist(), "n": len(arr),
            "per_seed": (arr[:, -1] if arr.ndim > 1 else arr).tolist()}


def aggregate(summaries: list[dict]) -> dict:
    """Mean, standard deviation, n and the per-seed last values (seed order) of every series; the
    certificate of Noisy-GD is copied (its ε list becomes ``certified_epsilon``)."""
    out = {}
    for key in summaries[0]:
        entry = {"label": summaries[0][key]["label"]}
        for name, vals in summaries[0][key].items():
            if name == "label":
                continue
            if name == "certificate":
                entry["certificate"] = vals
                entry["certified_epsilon"] = vals["epsilon"]
                continue
            entry[name] = _stats(np.array([s[key][name] for s in summaries], dtype=float))
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
        check_cancel(cancel)
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

    Returns {learner: {"single": {mean, std, n, per_seed}, "average": {…}, "label"}} over ``seeds``
    (AUC per release 1..releases; ``per_seed``: the single release's AUC averaged over the
    releases, the average's at the last release); Noisy-GD's entry also carries its
    ``certified_epsilon`` (one request of ``batch`` records)."""
    check_count("Later releases", releases, 1, 1000)
    check_count("Deleted batch", batch, 1, 100_000)
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
        singles, avgs = np.array(singles, float), np.array(avgs, float)
        out[key] = {"label": label, "single": _stats(singles) | {"per_seed": singles.mean(1).tolist()},
                    "average": _stats(avgs)}
        if key == "noisy_gd":
            ds = load(dataset)
            cert = certificate(make_task(ds, "logistic"), hyper, n=len(ds.members), records=min(batch, len(ds.members) - 1),
                               requests=1)
            out[key] |= {"certificate": cert, "certified_epsilon": cert["epsilon"]}
    return out


# -- the whole measurement -------------------------------------------------------------------------


@dataclass
class ExperimentConfig:
    """What ``scripts/unlearning_experiment.py`` measures (defaults: the committed results)."""

    seeds: int = 8
    requesters: tuple = REQUESTER_KEYS
    dataset: str = DEFAULT_DATASET
    releases: int = DEFAULT_RELEASES
    per_release: int = DEFAULT_PER_RELEASE
    shadows: int = DEFAULT_SHADOWS
    sigmas: tuple = SIGMAS
    sigma_requester: str = "misclassified"
    batch: int = ACCUMULATION_BATCH
    later_releases: int = ACCUMULATION_RELEASES
    certified_lam: float = CERTIFIED_LAMBDA
    certified_sigma: float = CERTIFIED_SIGMA
    workers: int = 1
    hyper: Hyper = field(default_factory=Hyper)

    @classmethod
    def small(cls) -> ExperimentConfig:
        """A few seconds on a laptop: the same structure, tiny sizes (tests, ``DELETIONLAB_FAST``)."""
        return cls(seeds=2, requesters=("random", "confident", "linked"), releases=2, per_release=3, shadows=8,
                   sigmas=(0.02, 0.3), batch=10, later_releases=3)

    def run_config(self, requester: str, **changes) -> Config:
        """The explorer's configuration this experiment runs for one requester."""
        kw = dict(dataset=self.dataset, requester=requester, releases=self.releases, per_release=self.per_release,
                  shadows=self.shadows, hyper=Hyper(**asdict(self.hyper)))
        return Config(**(kw | changes))

    def task_and_n(self) -> tuple[Task, int]:
        """The model task of the data set and the number of records the service starts with."""
        ds = load(self.dataset)
        return make_task(ds, "logistic"), len(ds.members)


def _last(agg: dict, k: str) -> dict:
    """A per-release series at its last release: mean, std, n, per-seed values."""
    return {"mean": agg[k]["mean"][-1], "std": agg[k]["std"][-1], "n": agg[k]["n"], "per_seed": agg[k]["per_seed"]}


def sigma_sweep(ecfg: ExperimentConfig, *, progress: Progress = no_progress, cancel: CancelToken | None = None) -> dict:
    """Claim 3: Noisy-GD alone under ``ecfg.sigma_requester`` requests for every σ in ``ecfg.sigmas``
    (the same seeds for every σ: paired); the average attack's AUC against all never-members and
    against matched ones, the accuracy at the last release, the certified ε after every request
    and the K_U a meaningful certificate would need."""
    task, n = ecfg.task_and_n()
    points = {}
    for i, sigma in enumerate(ecfg.sigmas):
        hyper = Hyper(**(asdict(ecfg.hyper) | {"sigma": sigma}))
        cfg = ecfg.run_config(ecfg.sigma_requester, learners=("noisy_gd",), hyper=hyper)
        agg = aggregate(sweep_seeds(cfg, range(ecfg.seeds), max_workers=ecfg.workers, cancel=cancel))["noisy_gd"]
        points[str(sigma)] = {k: _last(agg, k) for k in ("average_online_auc", "matched_average_auc", "accuracy")}
        points[str(sigma)] |= {"certified_epsilon": agg.get("certified_epsilon"),
                               "dp_epsilon": agg["certificate"]["dp_epsilon"] if "certificate" in agg else None,
                               "k_unlearn_needed": k_unlearn_for(task, hyper, n=n, records=ecfg.per_release,
                                                                 requests=ecfg.releases)}
        progress(i + 1, len(ecfg.sigmas), f"σ = {sigma}")
    return {"requester": ecfg.sigma_requester, "learner": "noisy_gd", "k_unlearn": ecfg.hyper.k_unlearn, "points": points}


def certified_hyper(ecfg: ExperimentConfig) -> Hyper | None:
    """The experiment's λ and σ for the certified run, with the smallest K_U for which the bound
    gives ε ≤ 10 after every request (None when no K_U up to the maximum does)."""
    task, n = ecfg.task_and_n()
    h = Hyper(**(asdict(ecfg.hyper) | {"lam": ecfg.certified_lam, "sigma": ecfg.certified_sigma}))
    k = k_unlearn_for(task, h, n=n, records=ecfg.per_release, requests=ecfg.releases)
    return None if k is None else Hyper(**(asdict(h) | {"k_unlearn": k}))


def certified_run(ecfg: ExperimentConfig, *, progress: Progress = no_progress, cancel: CancelToken | None = None) -> dict:
    """Claim 4 where the bound is meaningful: every requester, retraining and Noisy-GD at
    :func:`certified_hyper` (same seeds as the main run)."""
    h = certified_hyper(ecfg)
    if h is None:
        return {"hyper": None, "why": "no K_U up to the maximum makes the bound ≤ 10 at this λ and σ"}
    out = {"hyper": asdict(h), "rule": "K_U = the smallest number of steps with ε ≤ 10 (α = 2) after every request",
           "requesters": {}}
    for i, req in enumerate(ecfg.requesters):
        cfg = ecfg.run_config(req, learners=CERTIFIED_LEARNERS, hyper=Hyper(**asdict(h)))
        out["requesters"][req] = aggregate(sweep_seeds(cfg, range(ecfg.seeds), max_workers=ecfg.workers, cancel=cancel))
        progress(i + 1, len(ecfg.requesters), f"certified run: {req} requests")
    ng = next(iter(out["requesters"].values()))["noisy_gd"]
    out["certificate"], out["certified_epsilon"] = ng["certificate"], ng["certified_epsilon"]
    return out


def _validate_experiment(ecfg: ExperimentConfig) -> None:
    check_count("Seeds", ecfg.seeds, 2, 1000)  # the standard errors come from the spread over seeds
    if not ecfg.requesters:
        raise UserError("Name at least one requester.")
    for req in (*ecfg.requesters, ecfg.sigma_requester):
        validate(ecfg.run_config(req))
    for sigma in ecfg.sigmas:
        validate(ecfg.run_config(ecfg.sigma_requester, hyper=Hyper(**(asdict(ecfg.hyper) | {"sigma": sigma}))))
    validate(ecfg.run_config("random", hyper=Hyper(lam=ecfg.certified_lam, sigma=ecfg.certified_sigma)))


def _main_run(ecfg: ExperimentConfig, progress: Progress, cancel: CancelToken | None) -> dict:
    """Every requester over the seeds with the four learners at the experiment's hyper-parameters."""
    out: dict = {"requesters": {}}
    for req in ecfg.requesters:
        cfg = ecfg.run_config(req)
        sums = sweep_seeds(cfg, range(ecfg.seeds), max_workers=ecfg.workers, cancel=cancel,
                           progress=lambda d, t, n="", req=req: progress(d, t, f"{req} requests: {d:g}/{t:g} seeds"))
        out["requesters"][req] = aggregate(sums)
        cfgd = asdict(cfg)
        cfgd.pop("requester"), cfgd.pop("seed")
        out["config"] = cfgd
    return out


def run_experiment(ecfg: ExperimentConfig | None = None, *, progress: Progress = no_progress,
                   cancel: CancelToken | None = None, checkpoint: dict | None = None) -> dict:
    """Every requester over ``ecfg.seeds`` seeds, the certified run, the σ sweep and the accumulation
    measurement: the dict ``results.json`` holds (without ``made_by``, which ``save_results``
    adds). ``checkpoint`` (a dict the caller saves after each part, e.g. to disk) holds the parts
    already done, which are not run again."""
    ecfg = ecfg or ExperimentConfig()
    _validate_experiment(ecfg)
    done = checkpoint if checkpoint is not None else {}
    parts = {
        "main": lambda: _main_run(ecfg, progress, cancel),
        "certified": lambda: certified_run(ecfg, cancel=cancel, progress=lambda d, t, n="": progress(d, t, n)),
        "sigma_sweep": lambda: sigma_sweep(ecfg, cancel=cancel, progress=lambda d, t, n="": progress(d, t, f"σ sweep: {n}")),
        "accumulation": lambda: accumulation(ecfg.dataset, batch=ecfg.batch, releases=ecfg.later_releases,
                                             shadows=ecfg.shadows, hyper=Hyper(**asdict(ecfg.hyper)), seeds=range(ecfg.seeds),
                                             cancel=cancel, progress=lambda d, t, n="": progress(d, t, f"accumulation: {n}")),
    }
    for name, run in parts.items():
        if name not in done:
            t0 = time.time()
            result = run()
            done["part_seconds"] = dict(done.get("part_seconds", {})) | {name: time.time() - t0}
            done[name] = result
    out = dict(done["main"])
    out |= {k: done[k] for k in ("certified", "sigma_sweep", "accumulation")}
    out["seeds"] = ecfg.seeds
    out["part_seconds"] = done["part_seconds"]
    out["seconds"] = float(sum(done["part_seconds"].values()))
    return out
