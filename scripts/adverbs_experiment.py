"""Run the adverb-deletion augmentation experiment on the shipped data sets and save the results.

    python scripts/adverbs_experiment.py              # tweets and BBC news, default settings

Writes ``src/deletionlab/assets/adverbs/results.json`` (or ``--out``): per data set, the experiment
(accuracy and macro-F1 per condition, training fraction and seed; every seed with its own
train/test split, so comparisons are paired by seed), adverb coverage, and the meaning kept (MiniLM
cosine, paired by text) per augmenter. The notebook shows it next to the paper's claims. First run:
the MiniLM embeddings are computed and cached on disk in chunks (tens of minutes on a busy 2-core
machine; a killed run resumes from the cache); later runs reuse them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

#: seconds between two progress lines of the same phase
PRINT_EVERY = 20


def _printer(name: str, t0: float):
    """A progress callback that prints a line when the phase changes or every PRINT_EVERY seconds."""
    last = {"phase": None, "t": 0.0}

    def progress(done, total, note=""):
        phase, now = note.split(" ")[0], time.time()
        if phase != last["phase"] or now - last["t"] >= PRINT_EVERY:
            print(f"[{now - t0:6.0f}s] {name}: {note}", flush=True)
            last.update(phase=phase, t=now)

    return progress


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="*", default=["tweets", "bbc"])
    ap.add_argument("--n-train", type=int, default=6000)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the embeddings")
    ap.add_argument("--out", default=None, help="write here instead of the study's results.json (trial runs)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)

    from deletionlab.adverbs.data import load
    from deletionlab.adverbs.experiment import ExperimentConfig, cached_embedder, meaning_kept, run_experiment
    from deletionlab.adverbs.tagger import Tagger
    from deletionlab.core.report import save_results

    tagger = Tagger()
    out = {}
    for name in args.datasets:
        t0 = time.time()
        data = load(name)
        n_train = min(args.n_train, int(0.75 * len(data)))
        n_test = min(args.n_test, len(data) - n_train)
        cfg = ExperimentConfig(dataset=name, n_train=n_train, n_test=n_test, seeds=args.seeds)
        res = run_experiment(cfg, data=data, tagger=tagger, progress=_printer(name, t0))
        d = res.to_json()
        t1 = time.time()
        d["similarity"] = meaning_kept(data, tagger=tagger, embed=cached_embedder(name))
        d["seconds"]["meaning kept"] = time.time() - t1
        out[name] = d
        print(json.dumps({"dataset": name, "table": d["table"], "similarity": d["similarity"], "seconds": d["seconds"],
                          "notices": d["notices"]}, indent=1), flush=True)
    print(save_results("adverbs", out, script="scripts/adverbs_experiment.py", argv=argv, path=args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
