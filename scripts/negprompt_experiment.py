"""Run the negative-prompt study's measurements over many scenes on the shipped model.

    python scripts/negprompt_experiment.py                 # 100 scenes + 100 reverse-activation prompts
    python scripts/negprompt_experiment.py --scenes 8      # a quick look

Writes ``src/deletionlab/assets/negprompt/results.json`` (summary + per-scene records + the
configuration, with a ``made_by`` block), which the notebook ``notebooks/negative_prompts.ipynb``
reads and shows next to the paper's numbers. The numbers are whatever this run measures; re-run
after re-training the model.

Resumable: every finished scene is appended to ``--checkpoint`` (default
``.cache/negprompt-experiment/seed<seed>.jsonl``, git-ignored); after an interruption the same
command continues where it stopped, and a run with fewer scenes reuses the first ones (a checkpoint
made with another configuration or other measuring code is set aside).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


#: the files that make results.json: a scene's measurement (experiment.SCENE_CODE), the summary, this script
MEASURING = [f"src/deletionlab/negprompt/{name}" for name in
             ("experiment.py", "sampler.py", "analysis.py", "world.py", "detect.py", "aggregate.py", "stats.py")] + [
    "scripts/negprompt_experiment.py"]


def _commit() -> str:
    """The commit the code was at when the run started (the results' made_by names the one at the end),
    flagged if a file that makes the results had uncommitted changes."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *MEASURING],
                               cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes to the measuring code)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def main(argv: list[str] | None = None) -> int:
    import torch

    from deletionlab.core.report import save_results
    from deletionlab.negprompt.analysis import SETTLE_FRACTION
    from deletionlab.negprompt.experiment import ExperimentConfig, run_experiment

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=ExperimentConfig.scenes)
    ap.add_argument("--reverse", type=int, default=None, help="reverse-activation prompts (default: as many as scenes)")
    ap.add_argument("--seed", type=int, default=ExperimentConfig.seed)
    ap.add_argument("--threshold", type=float, default=SETTLE_FRACTION)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: the tiny model gains nothing from more, and two threads on a busy "
                         "2-core machine ran a scene ~30x slower; 0: torch's default)")
    ap.add_argument("--checkpoint", type=Path, default=None, help="default: .cache/negprompt-experiment/seed<seed>.jsonl")
    ap.add_argument("--out", type=Path, default=None, help="default: src/deletionlab/assets/negprompt/results.json")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    config = ExperimentConfig(scenes=args.scenes, reverse=args.reverse, seed=args.seed, threshold=args.threshold)
    checkpoint = args.checkpoint or ROOT / ".cache" / "negprompt-experiment" / f"seed{args.seed}.jsonl"
    reused = max(0, len(checkpoint.read_text().splitlines()) - 1) if checkpoint.exists() else 0
    started = {"commit": _commit(), "date": time.strftime("%Y-%m-%d %H:%M"),
               "checkpoint_records": reused}  # scenes measured by an earlier run of the same code (the key checks it)
    t0 = time.time()

    def progress(done, total, note=""):
        print(f"[{time.time() - t0:6.0f}s] {done}/{total} {note}", flush=True)

    data = run_experiment(config, progress=progress, checkpoint=checkpoint)
    data["started"] = started
    out = save_results("negprompt", data, script="scripts/negprompt_experiment.py", argv=argv, path=args.out)
    print(json.dumps({k: data["summary"][k] for k in ("scenes", "rendered", "delayed_effect_paired")}, indent=1))
    print(f"{data['seconds']:.0f} s of measuring (summed over scenes); wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
