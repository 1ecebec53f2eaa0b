"""The SpaceByte mini-tournament: train every architecture at equal compute, write results.json.

    python scripts/spacebyte_experiment.py                 # the full grid (about 2 h on one core), resumable
    python scripts/spacebyte_experiment.py --plan          # what the grid holds, without training
    python scripts/spacebyte_experiment.py --small         # the CI-sized grid, a few seconds
    python scripts/spacebyte_experiment.py --export        # ship the best model per architecture + tokenizers

Runs go to ``--workdir`` (default ``$DELETIONLAB_CACHE/spacebyte/tournament``): one JSON per finished
run, a checkpoint every two minutes while one trains, the final weights. Killing the script and
starting it again resumes where it stopped. Uses one PyTorch thread (``--threads``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from deletionlab.core.assets import asset_path, data_dir
from deletionlab.core.report import save_results
from deletionlab.spacebyte import data as D
from deletionlab.spacebyte.checkpoints import save_model
from deletionlab.spacebyte.experiment import ExperimentConfig, describe, run_experiment
from deletionlab.spacebyte.models import ModelConfig, build


def ship_tokenizers() -> None:
    """Train the BPE tokenizer of each corpus on its training split and ship it (once)."""
    for corpus in D.CORPORA:
        path = D.tokenizer_path(corpus)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            D.train_bpe(corpus).save(str(path))
            print(f"wrote {path}", flush=True)


def export(results: dict, workdir: Path, corpus: str = "prose") -> None:
    """Ship the best model (lowest bits per byte) of each architecture at the largest budget."""
    budget = max(r["budget"] for r in results["runs"] if r["corpus"] == corpus)
    for arch in results["archs"]:
        runs = [r for r in results["runs"] if r["corpus"] == corpus and r["arch"] == arch and r["budget"] == budget]
        if not runs:
            continue
        best = min(runs, key=lambda r: r["bpb"])
        model = build(ModelConfig(**best["model"]))
        model.load_state_dict(torch.load(workdir / f"{best['id']}.pt", weights_only=True))
        keep = {k: best[k] for k in ("id", "corpus", "budget", "size", "seed", "bpb", "steps", "bytes_trained", "flops",
                                      "train_flops_per_byte", "train_seconds")}
        folder = save_model(model, asset_path("spacebyte", "models", arch, must_exist=False), keep)
        print(f"shipped {arch} ({best['id']}, {best['bpb']:.3f} bits/byte) to {folder}", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="the CI-sized grid")
    ap.add_argument("--plan", action="store_true", help="print the grid and stop")
    ap.add_argument("--export", action="store_true", help="after the grid, ship the best model per architecture")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="write results here instead of the shipped results.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = ExperimentConfig.small() if args.small else ExperimentConfig()
    print(describe(cfg), flush=True)
    if args.plan:
        for r in cfg.runs():
            print(r["id"])
        return
    ship_tokenizers()
    work = args.workdir or data_dir() / "spacebyte" / ("tournament-small" if args.small else "tournament")
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    def progress(done, total, note):
        if note.endswith("done"):
            print(f"[{time.time() - t0:7.0f} s] {done / total:6.1%} {note}", flush=True)

    results = run_experiment(cfg, progress=progress, workdir=work, log=lambda s: print(s, flush=True))
    results["wall_seconds"] = time.time() - t0
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
        print(f"wrote {args.out}")
    else:
        used = sys.argv[1:] if argv is None else argv
        print(f"wrote {save_results('spacebyte', results, script='scripts/spacebyte_experiment.py', argv=used)}")
    if args.export:
        export(results, work)


if __name__ == "__main__":
    main()
