"""Run the adverb-deletion augmentation experiment on the shipped data sets and save the results.

    python scripts/adverbs_experiment.py              # tweets and BBC news, default settings

Writes ``src/deletionlab/assets/adverbs/results.json``: per data set, the experiment (accuracy and
macro-F1 per condition, training fraction and seed), adverb coverage, and the mean meaning kept
(MiniLM cosine) per augmenter. The notebook shows it next to the paper's claims. First run: the
MiniLM embeddings are computed and cached (a few minutes); later runs reuse them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "deletionlab" / "assets" / "adverbs" / "results.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="*", default=["tweets", "bbc"])
    ap.add_argument("--n-train", type=int, default=6000)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args(argv)

    from deletionlab.adverbs import augment
    from deletionlab.adverbs.data import load
    from deletionlab.adverbs.experiment import ExperimentConfig, run_experiment
    from deletionlab.adverbs.similarity import embedder
    from deletionlab.adverbs.tagger import Tagger

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
        # meaning kept: mean cosine of 500 texts with their augmented copies, per augmenter
        sample = data.sample(500, seed=1).texts
        docs = list(tagger.iter(sample))
        sims = {}
        for key, aug in augment.all_augmenters().items():
            pairs = [(d_.text, a.text) for d_ in docs if (a := aug(d_, seed=0)).changed]
            if pairs:
                sims[key] = float(np.mean(emb.similarity([p[0] for p in pairs], [p[1] for p in pairs])))
        d["similarity"] = sims
        out[name] = d
        print(json.dumps({"dataset": name, "table": d["table"], "similarity": sims, "seconds": d["seconds"]}, indent=1), flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    out["made_by"] = {"command": "python scripts/adverbs_experiment.py " + " ".join(argv or sys.argv[1:]),
                      "date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
