"""Run the unlearning study's experiment over several seeds and requesters; save results.

    python scripts/unlearning_experiment.py                  # 4 requesters × 8 seeds (about 10 min on a busy 2-core machine)
    python scripts/unlearning_experiment.py --seeds 2        # a quick look
    DELETIONLAB_DASK_SCHEDULER=tcp://host:8786 python scripts/unlearning_experiment.py   # on a cluster

Runs :func:`deletionlab.unlearning.experiment.run_experiment`: every requester over the seeds
(each seed draws new members, shadow models and requests; requesters share them, so they are
compared paired by seed) with the four learners; the certified run (retraining and Noisy-GD at
the λ, σ and smallest K_U for which the reconstructed bound gives ε ≤ 10 after every request);
Noisy-GD's σ sweep under adaptive requests; and the accumulation measurement (one batch
deleted, 30 later releases). Writes ``src/deletionlab/assets/unlearning/results.json`` with
``save_results``; the notebook computes its verdicts from it.

Resumable: each finished part is kept in ``--checkpoint`` (default: a file in the system's temp
folder named after the arguments and the study's source code) and not run again; the file is
removed once the results are written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--requesters", nargs="*", default=None, help="default: random confident misclassified linked")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (these models are tiny: 1 is fastest)")
    ap.add_argument("--checkpoint", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None, help="default: src/deletionlab/assets/unlearning/results.json")
    args = ap.parse_args(argv)

    import torch

    from deletionlab.core.report import save_results
    from deletionlab.unlearning.experiment import REQUESTER_KEYS, ExperimentConfig, run_experiment

    torch.set_num_threads(args.threads)
    t0 = time.time()
    cfg = ExperimentConfig(seeds=args.seeds, requesters=tuple(args.requesters or REQUESTER_KEYS), workers=args.workers)
    # the key covers the arguments and the study's source: a checkpoint of other code is never reused
    src = sorted((Path(__file__).resolve().parents[1] / "src" / "deletionlab" / "unlearning").glob("*.py"))
    key = hashlib.sha1(json.dumps([args.seeds, list(cfg.requesters)]).encode()
                       + b"".join(p.read_bytes() for p in src)).hexdigest()[:10]
    ckpt_path = args.checkpoint or Path(tempfile.gettempdir()) / f"unlearning_experiment_{key}.json"
    ckpt = json.loads(ckpt_path.read_text()) if ckpt_path.exists() else {}
    if ckpt:
        print(f"resuming from {ckpt_path}: {', '.join(k for k in ckpt if k != 'part_seconds')} done", flush=True)

    class Saving(dict):
        def __setitem__(self, k, v):
            super().__setitem__(k, v)
            ckpt_path.write_text(json.dumps(self))

    data = run_experiment(cfg, progress=lambda d, t, note="": print(f"[{time.time() - t0:6.0f}s] {note}", flush=True),
                          checkpoint=Saving(ckpt))
    path = save_results("unlearning", data, script="scripts/unlearning_experiment.py",
                        argv=sys.argv[1:] if argv is None else argv, path=args.out)
    ckpt_path.unlink(missing_ok=True)
    print(f"wrote {path}: {data['seconds']:.0f} s of computing ({', '.join(f'{k} {v:.0f} s' for k, v in data['part_seconds'].items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
