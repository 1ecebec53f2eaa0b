"""Run the unlearning study's default experiment over several seeds and requesters; save results.

    python scripts/unlearning_experiment.py                  # 3 requesters × 8 seeds (a few minutes)
    python scripts/unlearning_experiment.py --seeds 2        # a quick look
    DELETIONLAB_DASK_SCHEDULER=tcp://host:8786 python scripts/unlearning_experiment.py   # on a cluster

Every seed draws new members, shadow models and requests. Also runs
:func:`deletionlab.unlearning.simulate.accumulation` (one batch deleted, 30 later releases). Writes
``src/deletionlab/assets/unlearning/results.json`` (mean ± std over seeds of every per-release
series, per requester and learner); the notebook shows it and computes the verdicts from it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "deletionlab" / "assets" / "unlearning" / "results.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--requesters", nargs="*", default=["random", "confident", "misclassified"])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    from deletionlab.unlearning.learners import Hyper
    from deletionlab.unlearning.simulate import Config, accumulation, aggregate, sweep_seeds

    t0 = time.time()
    out = {"requesters": {}}
    for req in args.requesters:
        cfg = Config(dataset="digits_3v8", requester=req)
        sums = sweep_seeds(cfg, range(args.seeds), max_workers=args.workers,
                           progress=lambda d, t, n="": print(f"[{time.time() - t0:6.0f}s] {req}: {d}/{t}", flush=True))
        out["requesters"][req] = aggregate(sums)
        cfgd = asdict(cfg)
        cfgd.pop("requester"), cfgd.pop("seed")
        out["config"] = cfgd
    # claim 3: under adaptive requests, more noise (stronger DP for the remaining records) is what
    # makes Noisy-GD's deleted records indistinguishable again
    sweep = {}
    for sigma in (0.02, 0.05, 0.1, 0.3):
        cfg = Config(dataset="digits_3v8", requester="misclassified", learners=("noisy_gd",), hyper=Hyper(sigma=sigma))
        sums = sweep_seeds(cfg, range(args.seeds), max_workers=args.workers)
        agg = aggregate(sums)["noisy_gd"]
        sweep[str(sigma)] = {k: {"mean": agg[k]["mean"][-1], "std": agg[k]["std"][-1], "n": agg[k]["n"]}
                             for k in ("average_online_auc", "accuracy")}
        print(f"[{time.time() - t0:6.0f}s] sigma sweep: σ = {sigma}", flush=True)
    out["sigma_sweep"] = {"requester": "misclassified", "learner": "noisy_gd", "points": sweep}
    out["accumulation"] = accumulation(seeds=range(args.seeds),
                                       progress=lambda d, t, n="": print(f"[{time.time() - t0:6.0f}s] accumulation: {n}", flush=True))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    out["seeds"] = args.seeds
    out["seconds"] = time.time() - t0
    out["made_by"] = {"command": "python scripts/unlearning_experiment.py " + " ".join(argv or sys.argv[1:]),
                      "date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out} in {out['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
