"""Run the negative-prompt study's measurements over many scenes on the shipped model.

    python scripts/negprompt_experiments.py                 # 100 scenes + 100 reverse-activation prompts
    python scripts/negprompt_experiments.py --scenes 8      # a quick look

Writes ``src/deletionlab/assets/negprompt/results.json`` (summary + per-scene records), which the
notebook ``notebooks/negative_prompts.ipynb`` reads and shows next to the paper's numbers. The
numbers are whatever this run measures; re-run after re-training the model.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "deletionlab" / "assets" / "negprompt" / "results.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=100)
    ap.add_argument("--reverse", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    from deletionlab.negprompt import DEFAULT_GUIDANCE, DEFAULT_STEPS
    from deletionlab.negprompt.experiments import study
    from deletionlab.negprompt.models import load_pipeline, shipped_path

    pipe = load_pipeline(shipped_path())
    t0 = time.time()

    def progress(done, total, note=""):
        print(f"[{time.time() - t0:6.0f}s] {done}/{total} {note}", flush=True)

    res = study(pipe, n_scenes=args.scenes, n_reverse=args.reverse, seed=args.seed, steps=DEFAULT_STEPS,
                guidance=DEFAULT_GUIDANCE, threshold=args.threshold, model="shipped tiny-shapes-sd", progress=progress)
    data = res.to_json()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    data["made_by"] = {"command": "python scripts/negprompt_experiments.py " + " ".join(argv or sys.argv[1:]),
                       "date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit}
    args.out.write_text(json.dumps(data, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    print(json.dumps(data["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
