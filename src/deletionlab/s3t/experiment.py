"""The S3T measurement: both data sets, several seeds, S3T against SISA at equal updates and the
non-sharded references, accuracy after 0…N deletions, deletion rates, sequence selection, costs.

Per (data set, seed): a new training sample and partition, new initialisations and batch orders
(the test set is fixed, so seeds pair). One S3T system and one SISA system are trained; the same
``streams`` random request streams are replayed on both (paired by stream inside a seed, by seed
across seeds). Independent of training: the deletion rate at m = 5, L = 6 (analytic vs Monte
Carlo) and sequence selection under non-uniform priors. :func:`run_experiment` keeps each
(data set, seed) in ``store`` as it finishes, so an interrupted run resumes.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from deletionlab.core.jobs import CancelToken, check_cancel, no_progress
from deletionlab.s3t.capacity import deletion_rate, first_slices, simulate
from deletionlab.s3t.data import sample
from deletionlab.s3t.model import Backbone, TrainConfig
from deletionlab.s3t.sequences import cyclic_orderings, matched_orderings, prior, random_orderings
from deletionlab.s3t.service import Service, accuracy, deletion_curves, request_stream
from deletionlab.s3t.system import SystemConfig, save_system, starts_needed, train_reference, train_sequence, train_system


@dataclass(frozen=True)
class ExperimentConfig:
    """What the experiment covers (``small()`` for CI)."""

    datasets: tuple = ("tweets", "bbc")
    seeds: int = 5
    streams: int = 200           # request streams replayed per trained system
    system: SystemConfig = field(default_factory=SystemConfig)
    capacity_shards: int = 5     # the deletion-rate check of the issue: m = 5, L = 6, B′ = 1..6
    capacity_slices: int = 6
    capacity_trials: int = 20_000
    selection_priors: tuple = ("geometric", "hot")
    selection_sequences: int = 3
    threads: int = 1

    @staticmethod
    def small() -> ExperimentConfig:
        tiny = SystemConfig(shards=2, slices=2, sequences=2, per_step=1, per_shard=12, n_test=20,
                            train=TrainConfig(max_len=16, epochs=1, batch=4))
        return ExperimentConfig(datasets=("bbc",), seeds=2, streams=20, system=tiny, capacity_trials=2000)


def _deaths(serving: np.ndarray) -> np.ndarray:
    """Requests until a system stops serving, per stream (censored at the horizon)."""
    dead = ~serving
    return np.where(dead.any(1), dead.argmax(1), serving.shape[1] - 1)


def _subset(system, sequences: int):
    """The S3T system restricted to its first ``sequences`` sequences (a smaller budget B′)."""
    return replace(system, orderings=system.orderings[:sequences], test_logits=system.test_logits[:, :sequences])


def replay(s3t, sisa, y_test: np.ndarray, streams: int, seed: int) -> dict:
    """Replay the same request streams on S3T (B′ = 1 … B′) and SISA; mean over streams per t."""
    cfg = s3t.config
    n = int(min(len(s3t.shard_of), np.ceil(4 * deletion_rate(cfg.shards, cfg.slices, first_slices(s3t.orderings)))))
    rng = np.random.default_rng(10_000 + seed)
    reqs = np.stack([request_stream(s3t.shard_of, s3t.slice_of, n, rng) for _ in range(streams)])
    out = {"x": list(range(n + 1))}
    runs = {"sisa": sisa, **{f"s3t_b{b}": _subset(s3t, b) for b in range(1, s3t.sequences + 1)}}
    for name, system in runs.items():
        c = deletion_curves(system.test_logits, Service.of(system), y_test, reqs)
        out[name] = {"accuracy": c["accuracy"].mean(0).tolist(), "serving": c["serving"].mean(0).tolist(),
                     "shards": c["shards"].mean(0).tolist(), "deaths": float(_deaths(c["serving"]).mean()),
                     "deaths_se": float(_deaths(c["serving"]).std(ddof=1) / np.sqrt(streams)) if streams > 1 else None}
    out["s3t"] = out[f"s3t_b{s3t.sequences}"]
    return out


def prefix_accuracy(system, y_test: np.ndarray) -> list[float]:
    """Ensemble accuracy when every shard serves prefix i of its first sequence (i = 1 … L slices)."""
    return [accuracy(system.test_logits, [(0, i)] * system.config.shards, y_test) for i in range(system.config.slices)]


def _cache_saving(bb, feats, train, s3t) -> dict:
    """Train shard 0's first sequence again without the frozen-state cache; compare seconds."""
    cfg = s3t.config
    members = s3t.members(0)
    _, costs = train_sequence(bb, feats, train.y, members, s3t.orderings[0], "s3t", cfg, (cfg.seed, 0, 0), len(train.classes), cache=False)
    with_cache = float(np.sum(s3t.step_cost[0, 0]))
    without = float(sum(c.seconds for c in costs))
    return {"seconds_with": with_cache, "seconds_without": without, "layer_passes_without": int(sum(c.layer_passes for c in costs))}


def run_seed(dataset: str, seed: int, config: ExperimentConfig, progress=no_progress, cancel: CancelToken | None = None,
             systems_dir: Path | None = None) -> dict:
    """One data set and seed: train S3T, SISA, full fine-tuning and the probe; replay streams."""
    cfg = replace(config.system, dataset=dataset, seed=seed)
    t0 = time.perf_counter()
    train, test = sample(dataset, cfg.n_train, cfg.n_test, seed)
    bb = Backbone(cfg.train.rank, cfg.train.max_len, threads=config.threads)
    starts = starts_needed(cfg)
    feats, feats_test = bb.encode(train.texts, starts, cancel=cancel), bb.encode(test.texts, starts, cancel=cancel)
    encode_s = time.perf_counter() - t0
    s3t = train_system(bb, "s3t", cfg, feats, train.y, feats_test, train.classes, progress, cancel)
    sisa = train_system(bb, "sisa", cfg, feats, train.y, feats_test, train.classes, progress, cancel)
    refs = {k: train_reference(bb, k, cfg, feats, train.y, feats_test, len(train.classes), cancel) for k in ("full", "probe")}
    if systems_dir is not None:
        save_system(s3t, Path(systems_dir) / dataset / "s3t")
        save_system(sisa, Path(systems_dir) / dataset / "sisa")
    check_cancel(cancel)
    out = {
        "dataset": dataset, "seed": seed, "classes": list(train.classes), "n_train": cfg.n_train, "n_test": cfg.n_test,
        "accuracy": {"s3t": accuracy(s3t.test_logits, Service.of(s3t).served(), test.y),
                     "sisa": accuracy(sisa.test_logits, Service.of(sisa).served(), test.y),
                     **{k: float(np.mean(lg.argmax(-1) == test.y)) for k, (lg, _) in refs.items()}},
        "prefix_accuracy": {"s3t": prefix_accuracy(s3t, test.y), "sisa": prefix_accuracy(sisa, test.y)},
        "cost": {"s3t": asdict(s3t.cost), "sisa": asdict(sisa.cost), **{k: asdict(c) for k, (_, c) in refs.items()},
                 "encode_seconds": encode_s,
                 "sisa_retrain_seconds_per_request": float(np.mean([np.sum(sisa.step_cost[h, 0, p:]) for h in range(cfg.shards)
                                                                    for p in range(cfg.slices)]))},
        "curves": replay(s3t, sisa, test.y, config.streams, seed),
    }
    if seed == 0:
        out["cache"] = _cache_saving(bb, feats, train, s3t)
    out["seconds"] = time.perf_counter() - t0
    return out


def capacity_check(config: ExperimentConfig, cancel: CancelToken | None = None) -> dict:
    """Deletion rate m·L·H_{m·B′} against Monte Carlo for B′ = 1 … L (cyclic orderings)."""
    m, L = config.capacity_shards, config.capacity_slices
    rows = []
    for b in range(1, L + 1):
        sim = simulate(m, cyclic_orderings(L, b), trials=config.capacity_trials, seed=b, cancel=cancel)
        rows.append({"sequences": b, "analytic": deletion_rate(m, L, b), "simulated": float(sim.mean()),
                     "simulated_se": float(sim.std(ddof=1) / np.sqrt(len(sim)))})
    return {"shards": m, "slices": L, "trials": config.capacity_trials, "rows": rows}


def selection_check(config: ExperimentConfig, cancel: CancelToken | None = None) -> dict:
    """Deletions absorbed under non-uniform priors by cyclic, random and matched orderings."""
    m, L, b = config.capacity_shards, config.capacity_slices, config.selection_sequences
    trials = max(1000, config.capacity_trials // 4)
    out = {"shards": m, "slices": L, "sequences": b, "trials": trials, "priors": {}}
    for name in config.selection_priors:
        p = prior(name, L)
        rows = {}
        for strategy, orders in (("cyclic", cyclic_orderings(L, b)), ("random", random_orderings(L, b, np.random.default_rng(0))),
                                 ("matched", matched_orderings(p, b))):
            sim = simulate(m, orders, trials=trials, prior=p, seed=7, cancel=cancel)  # same seed: paired draws
            rows[strategy] = {"orderings": orders.tolist(), "mean": float(sim.mean()), "se": float(sim.std(ddof=1) / np.sqrt(trials))}
        out["priors"][name] = {"prior": p.tolist(), "strategies": rows}
    return out


def _ms(values) -> dict:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else None, "n": int(len(v))}


def aggregate(seeds: list[dict]) -> dict:
    """Mean ± s.e. over seeds of every per-seed number, and paired (by seed) differences."""
    acc = {k: _ms([s["accuracy"][k] for s in seeds]) for k in seeds[0]["accuracy"]}
    diffs = {f"s3t_minus_{k}": _ms([s["accuracy"]["s3t"] - s["accuracy"][k] for s in seeds]) for k in ("sisa", "full", "probe")}
    names = [k for k in seeds[0]["curves"] if k != "x"]
    curves = {"x": seeds[0]["curves"]["x"]}
    for k in names:
        a = np.array([s["curves"][k]["accuracy"] for s in seeds])
        curves[k] = {"accuracy": a.mean(0).tolist(), "accuracy_se": (a.std(0, ddof=1) / np.sqrt(len(a))).tolist() if len(a) > 1 else None,
                     "serving": np.mean([s["curves"][k]["serving"] for s in seeds], axis=0).tolist(),
                     "deaths": _ms([s["curves"][k]["deaths"] for s in seeds])}
    d = np.array([s["curves"]["s3t"]["accuracy"] for s in seeds]) - np.array([s["curves"]["sisa"]["accuracy"] for s in seeds])
    curves["difference"] = {"mean": d.mean(0).tolist(), "se": (d.std(0, ddof=1) / np.sqrt(len(d))).tolist() if len(d) > 1 else None}
    # area: mean accuracy over the first 1.5 × S3T's expected deletion rate (the explorer's horizon)
    area = {k: [float(np.mean(s["curves"][k]["accuracy"][: len(curves["x"]) * 3 // 8 + 1])) for s in seeds] for k in ("s3t", "sisa")}
    return {
        "accuracy": acc, "differences": diffs, "curves": curves,
        "deaths_difference": _ms([s["curves"]["s3t"]["deaths"] - s["curves"]["sisa"]["deaths"] for s in seeds]),
        "area": {k: _ms(v) for k, v in area.items()}, "area_difference": _ms(np.subtract(area["s3t"], area["sisa"])),
        "prefix_accuracy": {k: np.mean([s["prefix_accuracy"][k] for s in seeds], axis=0).tolist() for k in ("s3t", "sisa")},
        "cost": {k: {c: float(np.mean([s["cost"][k][c] for s in seeds])) for c in seeds[0]["cost"][k]}
                 for k in ("s3t", "sisa", "full", "probe")},
        "encode_seconds": float(np.mean([s["cost"]["encode_seconds"] for s in seeds])),
        "sisa_retrain_seconds_per_request": float(np.mean([s["cost"]["sisa_retrain_seconds_per_request"] for s in seeds])),
        "cache": next((s["cache"] for s in seeds if "cache" in s), None),
    }


def run_experiment(config: ExperimentConfig, *, progress=no_progress, cancel: CancelToken | None = None,
                   store: Path | None = None, systems_dir: Path | None = None) -> dict:
    """Every (data set, seed) (kept in ``store/<hash of the system settings>/`` as it finishes, so
    runs over other data sets or more seeds share it), then the capacity and selection checks;
    seed 0's systems go to ``systems_dir`` if given."""
    import hashlib

    what = {"system": asdict(config.system), "streams": config.streams}
    key = hashlib.sha1(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:10]
    folder = Path(store) / key if store is not None else None
    units = [(d, s) for d in config.datasets for s in range(config.seeds)]
    results: dict = {}
    for k, (dataset, seed) in enumerate(units):
        path = folder / f"{dataset}-{seed}.json" if folder is not None else None
        if path is not None and path.exists():
            r = json.loads(path.read_text())
        else:
            r = run_seed(dataset, seed, config, cancel=cancel, systems_dir=systems_dir if seed == 0 else None,
                         progress=lambda d, t, n="", k=k: progress(k + d / max(t, 1), len(units) + 1, f"{dataset} seed {seed}: {n}"))
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(r))
        results.setdefault(dataset, []).append(r)
        progress(k + 1, len(units) + 1, f"{dataset} seed {seed} done")
    out = {"config": json.loads(json.dumps(asdict(config), default=str)),
           "datasets": {d: {"seeds": rs, "summary": aggregate(rs)} for d, rs in results.items()},
           "capacity": capacity_check(config, cancel), "selection": selection_check(config, cancel)}
    progress(len(units) + 1, len(units) + 1, "done")
    return out
