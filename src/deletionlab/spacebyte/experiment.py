"""The mini-tournament: every architecture at a few sizes and compute budgets, several seeds.

Following the paper's protocol (section 4) at CPU scale: each model trains for a fixed budget of
training FLOPs (3 × the paper's inference FLOPs per byte × bytes seen), sizes grow with the budget,
and an architecture's result at a budget is its *Pareto frontier*: the best bits per byte over its
sizes. At the smallest budget every size runs with several seeds (new initialisation and data
order), so differences between architectures are paired by seed and come with a standard error.

:func:`run_experiment` is resumable: each run writes ``<id>.json`` (and a checkpoint while it trains)
into a work folder; a second call skips finished runs and resumes a cut one.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress
from deletionlab.spacebyte import data as D
from deletionlab.spacebyte.flops import flops_per_byte
from deletionlab.spacebyte.models import ARCHS, ModelConfig, build
from deletionlab.spacebyte.patching import global_mask, word_starts
from deletionlab.spacebyte.training import TrainConfig, byte_bits, plan, train

#: model sizes: name -> (D, L); SpaceByte and MegaByte use d = D/2 and L local layers as well
SIZES = {"XS": (64, 2), "S": (128, 2), "M": (128, 4)}
#: patch size P per corpus (paper: 6 on prose, 8 on code) for SpaceByte's context T = P·T_global,
#: SpaceByte fixed-P and the windowed Transformer's context P·D; MegaByte uses P = 8 throughout
CORPUS_PATCH = {"prose": 6, "code": 8}
MEGABYTE_PATCH = 8
#: key dimension: 32 at these widths (64 would leave one or two heads; the paper uses 64 at D ≥ 384)
D_KEY = 32
#: pairs compared seed by seed: (a, b) reads "a has lower bits per byte than b"
PAIRS = [("spacebyte", "byte"), ("spacebyte", "megabyte"), ("spacebyte", "spacebyte_fixed"), ("megabyte", "byte"),
         ("spacebyte", "subword"), ("spacebyte", "byte_window")]


def model_config(arch: str, size: str, corpus: str) -> ModelConfig:
    """The model of an architecture at a named size for a corpus."""
    Dm, L = SIZES[size]
    P = MEGABYTE_PATCH if arch == "megabyte" else CORPUS_PATCH[corpus]
    vocab = D.BPE_VOCAB if arch == "subword" else 256
    return ModelConfig(arch=arch, d_model=Dm, n_layers=L, patch=P, vocab=vocab, d_key=D_KEY)


@dataclass(frozen=True)
class Stage:
    """One block of the grid: a corpus, a budget, the sizes tried, how many seeds."""

    corpus: str
    budget: float
    sizes: tuple[str, ...]
    seeds: int = 1


@dataclass(frozen=True)
class ExperimentConfig:
    """The tournament grid and the training settings shared by every run."""

    stages: tuple[Stage, ...] = (
        Stage("prose", 1e12, ("XS", "S"), seeds=3),
        Stage("code", 1e12, ("S",), seeds=3),
        Stage("prose", 4e12, ("S", "M"), seeds=1),
    )
    archs: tuple[str, ...] = tuple(ARCHS)
    batch_bytes: int = 2048
    lr: float = 0.1
    val_bytes: int = 65536

    @classmethod
    def small(cls) -> ExperimentConfig:
        """A few-second version for tests and CI: two architectures, two seeds, a tiny budget."""
        return cls(stages=(Stage("prose", 5e9, ("XS",), seeds=2),), archs=("spacebyte", "byte"),
                   batch_bytes=512, val_bytes=4096)

    def runs(self) -> list[dict]:
        """Every run of the grid: corpus, budget, arch, size, seed and a file-safe id."""
        out = []
        for st in self.stages:
            for arch in self.archs:
                for size in st.sizes:
                    for seed in range(st.seeds):
                        rid = f"{st.corpus}-{st.budget:.0e}-{arch}-{size}-s{seed}".replace("+", "")
                        out.append({"id": rid, "corpus": st.corpus, "budget": st.budget, "arch": arch, "size": size, "seed": seed})
        return out

    def train_config(self, run: dict) -> TrainConfig:
        return TrainConfig(budget=run["budget"], batch_bytes=self.batch_bytes, lr=self.lr, seed=run["seed"], val_bytes=self.val_bytes)

    def validate(self) -> ExperimentConfig:
        """Check that every run of the grid can train (a budget that buys too few steps is named)."""
        for st in self.stages:
            if st.corpus not in D.CORPORA:
                raise UserError(f"corpus must be one of {', '.join(D.CORPORA)} (got {st.corpus!r}).")
            if not 1 <= st.seeds <= 10:
                raise UserError(f"seeds must be a whole number from 1 to 10 (got {st.seeds}).")
        if not self.archs or any(a not in ARCHS for a in self.archs):
            raise UserError(f"architectures must be chosen from {', '.join(ARCHS)}.")
        for run in self.runs():
            bpt = 4.0 if run["arch"] == "subword" else 1.0  # a lower bound is enough for the check
            plan(model_config(run["arch"], run["size"], run["corpus"]), self.train_config(run), bpt)
        return self


def run_experiment(config: ExperimentConfig = ExperimentConfig(), *, progress: Progress = no_progress,
                   cancel: CancelToken | None = None, workdir: Path | None = None, keep_models: bool = True,
                   log=None) -> dict:
    """Train every run of the grid (resuming from ``workdir``) and aggregate the results."""
    config.validate()
    runs = config.runs()
    total = sum(r["budget"] for r in runs)
    done, records = 0.0, []
    for run in runs:
        check_cancel(cancel)
        path = workdir / f"{run['id']}.json" if workdir else None
        if path is not None and path.exists():
            rec = json.loads(path.read_text())
        else:
            cost = run["budget"]

            def step(i, n, note, _base=done, _cost=cost, _id=run["id"]):
                progress(_base + _cost * i / max(n, 1), total, f"{_id}: {note}")

            torch.manual_seed(run["seed"])
            ck = workdir / f"{run['id']}.ckpt" if workdir else None
            model, rec = train(model_config(run["arch"], run["size"], run["corpus"]), run["corpus"], config.train_config(run),
                               progress=step, cancel=cancel, checkpoint=ck)
            rec.update(run)
            if path is not None:
                if keep_models:
                    torch.save(model.state_dict(), workdir / f"{run['id']}.pt")
                path.write_text(json.dumps(rec))
                if ck is not None and ck.exists():
                    ck.unlink()
            if log:
                log(f"{run['id']}: {rec['bpb']:.4f} bits/byte, {rec['train_seconds']:.0f} s")
        records.append(rec)
        done += run["budget"]
        progress(done, total, f"{run['id']} done")
    return aggregate(config, records, workdir if keep_models else None)


# -- aggregation ------------------------------------------------------------------------------------
def _mean_se(xs: list[float]) -> dict:
    a = np.asarray(xs, dtype=float)
    se = float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else None
    return {"mean": float(a.mean()), "se": se, "n": int(len(a)), "values": [float(x) for x in a]}


def frontier(records: list[dict]) -> dict:
    """corpus -> budget -> arch -> seed -> (best bits per byte over sizes, the size that won)."""
    out: dict = {}
    for r in records:
        key = out.setdefault(r["corpus"], {}).setdefault(f"{r['budget']:.0e}", {}).setdefault(r["arch"], {})
        best = key.get(str(r["seed"]))
        if best is None or r["bpb"] < best["bpb"]:
            key[str(r["seed"])] = {"bpb": r["bpb"], "size": r["size"]}
    return out


def paired(front: dict, pairs=PAIRS) -> list[dict]:
    """Seed-paired differences of frontier bits per byte (a − b; negative = a better) wherever both
    architectures have the same seeds at a corpus and budget."""
    out = []
    for corpus, budgets in front.items():
        for budget, archs in budgets.items():
            for a, b in pairs:
                if a not in archs or b not in archs:
                    continue
                seeds = sorted(set(archs[a]) & set(archs[b]))
                diffs = [archs[a][s]["bpb"] - archs[b][s]["bpb"] for s in seeds]
                out.append({"corpus": corpus, "budget": budget, "a": a, "b": b, "seeds": seeds, **_mean_se(diffs)})
    return out


def patch_statistics(n_bytes: int = 1_000_000) -> dict:
    """Mean patch size of the spacelike rule on each corpus's validation split (paper: ≈ 6 prose, ≈ 8 code)."""
    out = {}
    for corpus in D.CORPORA:
        s = D.byte_stream(corpus, "validation")[:n_bytes]
        out[corpus] = {"bytes": int(len(s)), "mean_patch": float(len(s) / global_mask(s).sum())}
    return out


#: validation bytes scored byte by byte for the word-position analysis
WORD_BYTES = 32768


def word_position_losses(records: list[dict], workdir: Path | None, corpus: str = "prose", n_bytes: int = WORD_BYTES) -> dict:
    """Mean bits on the first byte of a word vs the other bytes, for the best model of each byte-level
    architecture at the largest budget (paper, section 2: the first byte of a word is the hard one)."""
    runs = [r for r in records if r["corpus"] == corpus and r["arch"] != "subword"]
    if workdir is None or not runs:
        return {}
    budget = max(r["budget"] for r in runs)
    data, _ = D.validation_slice(corpus, n_bytes)
    first = word_starts(data)
    out = {}
    for arch in dict.fromkeys(r["arch"] for r in runs):
        best = min((r for r in runs if r["arch"] == arch and r["budget"] == budget), key=lambda r: r["bpb"], default=None)
        path = workdir / f"{best['id']}.pt" if best else None
        if path is None or not path.exists():
            continue
        model = build(ModelConfig(**best["model"]))
        model.load_state_dict(torch.load(path, weights_only=True))
        model.eval()
        bits, _ = byte_bits(model, data)
        out[arch] = {"run": best["id"], "first_bits": float(bits[first].mean()), "other_bits": float(bits[~first].mean()),
                     "n_first": int(first.sum()), "n_bytes": int(len(bits)),
                     "share_of_loss_on_first": float(bits[first].sum() / bits.sum())}
    return out


def aggregate(config: ExperimentConfig, records: list[dict], workdir: Path | None = None) -> dict:
    """The JSON-able results: every run, the frontier per seed, seed-paired differences, means,
    training speed, patch sizes, and (with the runs' weights in ``workdir``) losses by word position."""
    front = frontier(records)
    means = {c: {b: {a: _mean_se([v["bpb"] for v in seeds.values()]) for a, seeds in archs.items()}
                 for b, archs in budgets.items()} for c, budgets in front.items()}
    speed, gflops = {}, {}
    for a in config.archs:
        rs = [r for r in records if r["arch"] == a]
        if rs:
            speed[a] = float(np.median([r["bytes_per_second"] for r in rs]))
            gflops[a] = float(np.median([r["bytes_per_second"] * r["train_flops_per_byte"] / 1e9 for r in rs]))
    return {
        "config": {**asdict(config), "sizes": SIZES, "corpus_patch": CORPUS_PATCH, "megabyte_patch": MEGABYTE_PATCH, "d_key": D_KEY},
        "runs": [{k: v for k, v in r.items() if k != "train"} for r in records],
        "frontier": front, "frontier_mean": means, "paired": paired(front), "bytes_per_second": speed, "gflops_per_second": gflops,
        "train_seconds": float(sum(r["train_seconds"] for r in records)), "word_position": word_position_losses(records, workdir),
        "patches": patch_statistics(), "archs": {a: ARCHS[a] for a in config.archs},
        "flops_per_byte": {a: {s: flops_per_byte(model_config(a, s, "prose"), bytes_per_token=D.bytes_per_token("prose")
                                                 if a == "subword" else 1.0) for s in SIZES} for a in config.archs},
        "torch": torch.__version__, "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d"),
    }


def describe(config: ExperimentConfig, flops_per_second: float = 18e9) -> str:
    """The grid's size in runs and FLOPs, and a time estimate at a measured one-core speed."""
    runs = config.runs()
    total = sum(r["budget"] for r in runs)
    return f"{len(runs)} runs, {total:.3g} training FLOPs in all (about {total / flops_per_second / 3600:.1f} h at " \
           f"{flops_per_second / 1e9:.0f} GFLOP/s)"
