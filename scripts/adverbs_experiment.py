"""Run the adverb-deletion augmentation experiment on the shipped data sets and save the results.

    python scripts/adverbs_experiment.py              # tweets and BBC news, default settings

Writes ``src/deletionlab/assets/adverbs/results.json`` (or ``--out``): per data set, the experiment
(accuracy and macro-F1 per condition, training fraction and seed), adverb coverage, and the mean
meaning kept (MiniLM cosine) per augmenter. The notebook shows it next to the paper's claims. First
run: the MiniLM embeddings are computed and cached (a few minutes); later runs reuse them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="*", default=["tweets", "bbc"])
    ap.add_argument("--n-train", type=int, default=6000)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out", default=None, help="write here instead of the study's results.json (trial runs)")
    args = ap.parse_args(argv)

    from deletionlab.adverbs.data import load
    from deletionlab.adverbs.experiment import ExperimentConfig, meaning_kept, run_experiment
    from deletionlab.adverbs.similarity import embedder
    from deletionlab.adverbs.tagger import Tagger
    from deletionlab.core.report import save_results

    tagger, emb = Tagger(), embedder()
    out = {}
    for name in args.datasets:
        t0 = time.time()
        data = load(name)
        n_train = min(args.n_train, int(0.75 * len(data)))
        n_test = min(args.n_test, len(data) - n_train)
        cfg = ExperimentConfig(dataset=name, n_train=n_train, n_test=n_test, seeds=args.seeds)
        res = run_experiment(cfg, data=data, tagger=tagger,
                             progress=lambda d, t, n="": print(f"[{time.time() - t0:6.0f}s] {name}: {n}", flush=True))
        d = res.to_json()
        d["similarity"] = meaning_kept(data, tagger=tagger, embed=emb)
        out[name] = d
        print(json.dumps({"dataset": name, "table": d["table"], "similarity": d["similarity"], "seconds": d["seconds"]}, indent=1),
              flush=True)
    print(save_results("adverbs", out, script="scripts/adverbs_experiment.py", argv=argv, path=args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
