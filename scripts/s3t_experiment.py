"""Run the S3T study's measurement and write ``src/deletionlab/assets/s3t/results.json``.

    python scripts/s3t_experiment.py                 # tweets + BBC, 4 seeds (about 1-2 h on one core)
    python scripts/s3t_experiment.py --seeds 2       # a quicker look
    python scripts/s3t_experiment.py --small         # the CI-sized configuration (seconds)

Each (data set, seed) is kept in ``$DELETIONLAB_CACHE/s3t/experiment/<config hash>/`` as soon as it
finishes: run the same command again after an interruption and it resumes. Seed 0's systems are
the explorer's shipped defaults: with ``--ship`` (the default for the full run) they are written to
``src/deletionlab/assets/s3t/systems/<data set>/{s3t,sisa}/`` (adapters and heads only).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=None, help="seeds per data set (default 4; 2 with --small)")
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
    path = save_results("s3t", data, script="scripts/s3t_experiment.py", argv=sys.argv[1:] if argv is None else argv, path=args.out)
    print(f"wrote {path} in {data['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
