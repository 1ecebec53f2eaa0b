"""Run the negative-prompt study's measurements over many scenes on the shipped model.

    python scripts/negprompt_experiment.py                 # 100 scenes + 100 reverse-activation prompts
    python scripts/negprompt_experiment.py --scenes 8      # a quick look

Writes ``src/deletionlab/assets/negprompt/results.json`` (summary + per-scene records, with a
``made_by`` block), which the notebook ``notebooks/negative_prompts.ipynb`` reads and shows next to
the paper's numbers. The numbers are whatever this run measures; re-run after re-training the model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from deletionlab.core.report import save_results
    from deletionlab.negprompt.analysis import SETTLE_FRACTION
    from deletionlab.negprompt.experiment import ExperimentConfig, run_experiment

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=ExperimentConfig.scenes)
    ap.add_argument("--reverse", type=int, default=None, help="reverse-activation prompts (default: as many as scenes)")
    ap.add_argument("--seed", type=int, default=ExperimentConfig.seed)
    ap.add_argument("--threshold", type=float, default=SETTLE_FRACTION)
    ap.add_argument("--out", type=Path, default=None, help="default: src/deletionlab/assets/negprompt/results.json")
    args = ap.parse_args(argv)

    config = ExperimentConfig(scenes=args.scenes, reverse=args.reverse, seed=args.seed, threshold=args.threshold)
    t0 = time.time()

    def progress(done, total, note=""):
        print(f"[{time.time() - t0:6.0f}s] {done}/{total} {note}", flush=True)

    data = run_experiment(config, progress=progress)
    out = save_results("negprompt", data, script="scripts/negprompt_experiment.py", argv=argv, path=args.out)
    print(json.dumps(data["summary"], indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
