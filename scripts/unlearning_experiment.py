"""Run the unlearning study's experiment over several seeds and requesters; save results.

    python scripts/unlearning_experiment.py                  # 3 requesters × 8 seeds (a few minutes)
    python scripts/unlearning_experiment.py --seeds 2        # a quick look
    DELETIONLAB_DASK_SCHEDULER=tcp://host:8786 python scripts/unlearning_experiment.py   # on a cluster

Runs :func:`deletionlab.unlearning.experiment.run_experiment`: every requester over the seeds
(each seed draws new members, shadow models and requests), Noisy-GD's σ sweep under adaptive
requests, and the accumulation measurement (one batch deleted, 30 later releases). Writes
``src/deletionlab/assets/unlearning/results.json`` (mean ± std over seeds of every per-release
series, per requester and learner) with ``save_results``; the notebook shows it and computes the
verdicts from it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--requesters", nargs="*", default=["random", "confident", "misclassified"])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="default: src/deletionlab/assets/unlearning/results.json")
    args = ap.parse_args(argv)

    from deletionlab.core.report import save_results
    from deletionlab.unlearning.experiment import ExperimentConfig, run_experiment

    t0 = time.time()
    cfg = ExperimentConfig(seeds=args.seeds, requesters=tuple(args.requesters), workers=args.workers)
    data = run_experiment(cfg, progress=lambda d, t, note="": print(f"[{time.time() - t0:6.0f}s] {note}", flush=True))
    path = save_results("unlearning", data, script="scripts/unlearning_experiment.py",
                        argv=sys.argv[1:] if argv is None else argv, path=args.out)
    print(f"wrote {path} in {data['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
