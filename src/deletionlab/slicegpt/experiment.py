"""The measured study behind the notebook: SmolLM2-135M sliced at several levels, PCA vs random.

For every slicing level and calibration seed (each seed draws different calibration articles)
the model is fused, rotated and sliced, then measured on the *same* held-out windows and probe
items as the dense model, so every comparison is paired. Per-window NLLs and per-item answers
are stored: ``report.py`` computes perplexities, paired ratios with their standard errors, and
the verdicts from them. Also: the computational-invariance error (float64 and float32),
parameter counts and FLOPs per level, and decoding latency at batch 1 and 16.

Each finished run is written to a checkpoint file, so an interrupted experiment resumes.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from deletionlab.core import check_cancel, no_progress
from deletionlab.slicegpt import DEFAULT_MODEL
from deletionlab.slicegpt.explore import _sub


@dataclass(frozen=True)
class ExperimentConfig:
    """Sizes of the study (defaults: the committed results; :meth:`small`: CI)."""

    model: str = DEFAULT_MODEL
    levels: tuple[float, ...] = (10.0, 20.0, 25.0, 30.0)
    seeds: tuple[int, ...] = (0, 1, 2)
    random_levels: tuple[float, ...] = (25.0,)
    random_seeds: tuple[int, ...] = (0,)
    n_calibration: int = 32
    seq_len: int = 256
    eval_windows: int = 12
    probe_items: int = 100
    latency_levels: tuple[float, ...] = (25.0,)
    invariance_tokens: tuple[int, int] = (2, 64)

    @classmethod
    def small(cls) -> ExperimentConfig:
        """A few-minute version on the real model (CI, notebook checks)."""
        return cls(levels=(25.0,), seeds=(0,), random_levels=(25.0,), random_seeds=(0,), n_calibration=8, seq_len=128,
                   eval_windows=2, probe_items=8, latency_levels=())


def _runs(cfg: ExperimentConfig) -> list[dict]:
    runs = [{"orientation": "pca", "level": lv, "seed": sd} for lv in cfg.levels for sd in cfg.seeds]
    runs += [{"orientation": "random", "level": lv, "seed": sd} for lv in cfg.random_levels for sd in cfg.random_seeds]
    return runs


def _run_key(r: dict) -> str:
    return f"{r['orientation']}-{r['level']:g}-{r['seed']}"


def _eval(model, tok, cfg: ExperimentConfig, progress, cancel, probe: bool = True) -> dict:
    from deletionlab.slicegpt import measure
    from deletionlab.slicegpt.data import corpus, probe_items, token_windows

    out = {}
    for k, name in enumerate(("bbc", "docstrings")):
        w = token_windows(tok, corpus(name, "heldout"), cfg.eval_windows, cfg.seq_len, what=f"held-out {name} text")
        out[name] = [round(x, 6) for x in measure.window_nll(model, w, progress=_sub(progress, k / 3, (k + 1) / 3), cancel=cancel)]
    if probe:
        out["probe"] = measure.probe(model, tok, probe_items(cfg.probe_items), progress=_sub(progress, 2 / 3, 1), cancel=cancel).tolist()
    return out


#: calibration sizes (sequences, tokens) of the calibration sweep: at the first latency level and the
#: first seed, perplexity only (the main runs' size is added from those runs)
CALIBRATION_SWEEP = ((8, 128), (16, 128), (64, 256))


def _calibration_sweep(dense, tok, cfg: ExperimentConfig, cancel) -> list[dict]:
    """Perplexity after slicing with more or less calibration text (same held-out windows)."""
    import torch

    from deletionlab.slicegpt.data import corpus, token_windows
    from deletionlab.slicegpt.slicing import slice_model

    level, seed, n = cfg.levels[min(2, len(cfg.levels) - 1)], cfg.seeds[0], dense.config.num_hidden_layers
    out = []
    for n_seq, length in CALIBRATION_SWEEP:
        cal = token_windows(tok, corpus("bbc", "calibration"), n_seq, length, seed=seed)
        with torch.no_grad():
            sliced, _ = slice_model(dense, list(cal.split(4)), [level / 100] * n, seed=seed, cancel=cancel)
            out.append({"n_calibration": n_seq, "seq_len": length, "level": level, "seed": seed,
                        "nll": _eval(sliced, tok, cfg, no_progress, cancel, probe=False)})
    return out


def _one_run(dense, tok, cfg: ExperimentConfig, run: dict, progress, cancel) -> dict:
    import torch

    from deletionlab.slicegpt import measure
    from deletionlab.slicegpt.data import corpus, token_windows
    from deletionlab.slicegpt.slicing import slice_model

    t0 = time.time()
    cal = token_windows(tok, corpus("bbc", "calibration"), cfg.n_calibration, cfg.seq_len, seed=run["seed"])
    n = dense.config.num_hidden_layers
    with torch.no_grad():
        sliced, info = slice_model(dense, list(cal.split(4)), [run["level"] / 100] * n, orientation=run["orientation"],
                                   seed=run["seed"], progress=_sub(progress, 0, 0.4), cancel=cancel)
        t_slice = time.time() - t0
        ev = _eval(sliced, tok, cfg, _sub(progress, 0.4, 1), cancel)
    summary = info.to_dict()
    summary.pop("spectra")
    out = {**run, "nll": ev, "slice": summary, "params": measure.parameter_counts(sliced),
           "flops": measure.flops_per_token(sliced, cfg.seq_len), "seconds_slice": round(t_slice, 1),
           "seconds": round(time.time() - t0, 1)}
    return out


def _latency(dense, tok, cfg: ExperimentConfig, cancel) -> dict:
    """Decoding time per token, dense and sliced measured alternately (see ``measure.paired_latency``),
    at each latency level (the sliced model of the first seed, rebuilt)."""
    from deletionlab.slicegpt import measure
    from deletionlab.slicegpt.data import corpus, token_windows
    from deletionlab.slicegpt.slicing import slice_model

    out = {}
    n = dense.config.num_hidden_layers
    for lv in cfg.latency_levels:
        cal = token_windows(tok, corpus("bbc", "calibration"), cfg.n_calibration, cfg.seq_len, seed=cfg.seeds[0])
        sliced, _ = slice_model(dense, list(cal.split(4)), [lv / 100] * n, seed=cfg.seeds[0], cancel=cancel)
        out[f"{lv:g}"] = measure.paired_latency(dense, sliced, cancel=cancel)
    return out


def _dense(dense, tok, cfg, progress, cancel) -> dict:
    from deletionlab.slicegpt import measure
    from deletionlab.slicegpt.explore import invariance_check

    out = {"nll": _eval(dense, tok, cfg, _sub(progress, 0, 0.5), cancel), "params": measure.parameter_counts(dense),
           "flops": measure.flops_per_token(dense, cfg.seq_len)}
    out["invariance"] = {dt: invariance_check(cfg.model, calibration_tokens=cfg.invariance_tokens, dtype=dt, cancel=cancel,
                                              progress=_sub(progress, 0.5 + 0.2 * i, 0.7 + 0.2 * i))
                         for i, dt in enumerate(("float64", "float32"))}
    return out


def _cached(folder: Path | None, name: str, compute, log=None):
    """Load ``folder/name.json`` or compute it and save it there (one file per result: several
    processes can share the folder)."""
    path = folder / f"{name}.json" if folder else None
    if path is not None and path.exists():
        return json.loads(path.read_text())
    value = compute()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(value))
        tmp.replace(path)
    if log:
        log(name)
    return value


def run_experiment(config: ExperimentConfig | None = None, *, progress=no_progress, cancel=None,
                   checkpoint: Path | str | None = None, shard: tuple[int, int] = (0, 1), log=print) -> dict | None:
    """Run the study and return a JSON-able dict. With a ``checkpoint`` folder every finished part
    is saved there and reused (an interrupted run resumes); ``shard=(i, n)`` computes only every
    n-th slicing run (several processes can share one folder) and returns None unless all parts
    are there."""
    import platform

    import torch

    from deletionlab.slicegpt import models as M

    cfg = config or ExperimentConfig()
    folder = Path(checkpoint) / _config_hash(cfg) if checkpoint else None
    dense, tok = M.load(M.choice_by_key(cfg.model), _sub(progress, 0, 0.02), cancel)
    runs = _runs(cfg)
    i, n = shard
    total = len(runs) + 1
    got = {}
    if i == 0:
        got["dense"] = _cached(folder, "dense", lambda: _dense(dense, tok, cfg, _sub(progress, 0.02, 1 / total), cancel), log)
    for k, run in enumerate(runs):
        check_cancel(cancel)
        key = _run_key(run)
        if k % n == i:
            got[key] = _cached(folder, key, lambda: _one_run(dense, tok, cfg, run, _sub(progress, (k + 1) / total, (k + 2) / total),
                                                              cancel), lambda name: log(f"{name} done"))
        progress(k + 2, total, key)
    if i == n - 1 and cfg.latency_levels:  # after this shard's runs: timing wants the machine as quiet as it gets
        got["latency"] = _cached(folder, "latency", lambda: _latency(dense, tok, cfg, cancel), log)
    if i == 0 and cfg.latency_levels:  # the full study only (the small one has no latency levels either)
        got["calibration"] = _cached(folder, "calibration-sweep", lambda: _calibration_sweep(dense, tok, cfg, cancel), log)
    parts = ["dense", *(_run_key(r) for r in runs)] + (["latency", "calibration"] if cfg.latency_levels else [])
    others = [key for key in parts if key not in got]
    if others:  # parts computed by other shards
        files = {"calibration": "calibration-sweep"}
        if folder is None or not all((folder / f"{files.get(key, key)}.json").exists() for key in others):
            return None
        got.update({key: json.loads((folder / f"{files.get(key, key)}.json").read_text()) for key in others})
    return {"config": asdict(cfg), "model": M.choice_by_key(cfg.model).label, "dense": got["dense"], "latency": got.get("latency", {}),
            "calibration_sweep": got.get("calibration", []),
            "runs": [got[_run_key(r)] for r in runs], "architectures": architectures(dense),
            "machine": {"threads": torch.get_num_threads(), "processor": platform.processor() or platform.machine(),
                        "python": platform.python_version(), "torch": torch.__version__}}


def _config_hash(cfg: ExperimentConfig) -> str:
    import hashlib

    return hashlib.sha1(json.dumps(asdict(cfg), sort_keys=True).encode()).hexdigest()[:10]


#: slicing levels at which parameter counts and FLOPs are computed from the architecture alone
ARCH_LEVELS = (0, 5, 10, 15, 20, 25, 30, 40, 50)


def architecture_counts(config, levels=ARCH_LEVELS, context: int = 2048) -> dict:
    """Parameters and FLOPs per token of a model *shape* (no weights: ``meta`` device) sliced at
    each level (percent): what slicing adds (untied head, shortcuts) and removes."""
    import torch
    from transformers import AutoModelForCausalLM

    from deletionlab.slicegpt.measure import flops_per_token, parameter_counts
    from deletionlab.slicegpt.slicing import sliced_shape

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    n = config.num_hidden_layers
    out = {}
    for lv in levels:
        m = model if lv == 0 else sliced_shape(model, [lv / 100] * n)
        out[f"{lv:g}"] = {"params": parameter_counts(m), "flops": flops_per_token(m, context)}
    return out


def architectures(dense) -> dict:
    """:func:`architecture_counts` for OPT-125M (the paper's example; its shape is ``OPTConfig()``)
    and for the model we slice."""
    from transformers import OPTConfig

    return {"OPT-125M": architecture_counts(OPTConfig()), "SmolLM2-135M": architecture_counts(dense.config)}
