"""Run the S2-orbit study's experiment and save its results.

    python scripts/s2orbit_experiment.py                     # full: about a minute on 2 cores
    python scripts/s2orbit_experiment.py --small             # the CI-sized run (seconds)
    python scripts/s2orbit_experiment.py --realisations 1000 # more finite-N realisations per rate

Runs :func:`deletionlab.s2orbit.experiment.run_experiment`: S2's Schwarzschild precession, G(e, γ) and
the enclosed-mass limits for several allowed shifts of f_SP; the cusp precession by direct
integration (ours and REBOUND + REBOUNDx) over a (mass, γ) grid; the reconstructed cluster model's
capture-rate thresholds with and without destructive collisions and their sensitivity to the
reconstructed parameters; and seeded finite-N realisations around the threshold (paired: the same
seed with and without collisions). Writes ``src/deletionlab/assets/s2orbit/results.json`` with
``save_results``; the notebook computes its verdicts from it.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="the CI-sized configuration")
    ap.add_argument("--realisations", type=int, default=None, help="finite-N realisations per capture rate (default 400)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="default: src/deletionlab/assets/s2orbit/results.json")
    args = ap.parse_args(argv)

    from deletionlab.core.report import save_results
    from deletionlab.s2orbit.experiment import ExperimentConfig, run_experiment

    cfg = ExperimentConfig.small() if args.small else ExperimentConfig()
    cfg = replace(cfg, seed=args.seed, **({"realisations": args.realisations} if args.realisations else {}))
    t0 = time.time()
    data = run_experiment(cfg, progress=lambda d, t, note="": print(f"[{time.time() - t0:6.1f}s] {note}", flush=True))
    path = save_results("s2orbit", data, script="scripts/s2orbit_experiment.py", argv=sys.argv[1:] if argv is None else argv,
                        path=args.out)
    print(f"wrote {path} in {data['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
