"""Run the SliceGPT study on SmolLM2-135M and save its results (and the explorer's default run).

    python scripts/slicegpt_experiment.py                 # the committed results (about 1.5 h of CPU time)
    python scripts/slicegpt_experiment.py --workers 2     # the same, in two processes of one thread each
    python scripts/slicegpt_experiment.py --small         # a few minutes, on the real model (a check)
    python scripts/slicegpt_experiment.py --default-only  # only the explorer's shipped default run

Writes ``src/deletionlab/assets/slicegpt/results.json`` (per-window NLLs, probe answers,
parameters, FLOPs, latency, invariance; the notebook computes its verdicts from them) and
``src/deletionlab/assets/slicegpt/default_run.json`` (what the dashboard shows before any run).
Every finished part is kept in ``$DELETIONLAB_CACHE/slicegpt/experiment/``: rerunning the same
command resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def default_run(argv_list: list[str], t0: float) -> None:
    """The explorer's default settings, run once (kept in the checkpoint folder under a hash of
    the settings); the dashboard opens on this. Decoding is timed too (the explorer's
    checkbox), so that the size-and-speed view is complete before any run."""
    import hashlib
    from dataclasses import asdict

    from deletionlab.core import asset_path, data_dir
    from deletionlab.slicegpt.experiment import _cached
    from deletionlab.slicegpt.explore import Settings, explore

    settings = Settings(latency=True)
    key = hashlib.sha1(json.dumps(asdict(settings), sort_keys=True).encode()).hexdigest()[:10]
    run = _cached(data_dir() / "slicegpt" / "experiment", f"default-run-{key}", lambda: explore(settings).to_dict())
    run["made_by"] = {"command": "python scripts/slicegpt_experiment.py " + " ".join(argv_list), "date": time.strftime("%Y-%m-%d %H:%M")}
    out = asset_path("slicegpt", "default_run.json", must_exist=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(run, separators=(",", ":")))
    print(f"[{time.time() - t0:6.0f}s] default run written to {out} ({out.stat().st_size / 1e3:.0f} kB)", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="CI-sized experiment (a few minutes)")
    ap.add_argument("--default-only", action="store_true", help="only write default_run.json")
    ap.add_argument("--workers", type=int, default=1, help="processes (one torch thread each); they share the checkpoint folder")
    ap.add_argument("--shard", default=None, help=argparse.SUPPRESS)  # i/n: one worker's share
    args = ap.parse_args(argv)
    argv_list = [a for a in (sys.argv[1:] if argv is None else argv)]

    import torch

    torch.set_num_threads(1)  # one thread per process: fastest on a shared 2-core machine
    from deletionlab.core import data_dir
    from deletionlab.core.report import save_results
    from deletionlab.slicegpt.experiment import ExperimentConfig, run_experiment

    t0 = time.time()
    cfg = ExperimentConfig.small() if args.small else ExperimentConfig()
    ck = data_dir() / "slicegpt" / "experiment"

    def log(msg: str) -> None:
        print(f"[{time.time() - t0:6.0f}s] {args.shard or ''} {msg}", flush=True)

    if args.shard:
        i, n = (int(x) for x in args.shard.split("/"))
        run_experiment(cfg, checkpoint=ck, shard=(i, n), log=log)
        if i == n - 1 and not args.small:
            default_run([a for a in argv_list if not a.startswith("--shard")], t0)
        return 0
    if args.default_only:
        default_run(argv_list, t0)
        return 0
    if args.workers > 1:
        extra = ["--small"] if args.small else []
        procs = [subprocess.Popen([sys.executable, "-u", __file__, "--shard", f"{i}/{args.workers}", *extra])
                 for i in range(args.workers)]
        if any(p.wait() != 0 for p in procs):
            return 1
    elif not args.small:
        default_run(argv_list, t0)
    data = run_experiment(cfg, checkpoint=ck, log=log)
    data["seconds"] = round(time.time() - t0)
    # the small run is a check, not the committed results: it goes to the cache folder
    p = save_results("slicegpt", data, script="scripts/slicegpt_experiment.py", argv=argv_list,
                     path=data_dir() / "slicegpt" / "results-small.json" if args.small else None)
    print(f"wrote {p} in {data['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
