"""Adverb deletion throughput: batched tagging with only the needed spaCy components vs the full
pipeline called once per sentence, on 2,000 tweets, side by side in one run.

Both produce the same augmented texts (checked). The last line is `speedup: X.XX`.

    python benchmarks/adverbs_throughput.py [--n 2000]
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()

    from deletionlab.adverbs.augment import AdverbDeletion
    from deletionlab.adverbs.data import load_tweets
    from deletionlab.adverbs.tagger import load

    texts = load_tweets().sample(args.n, seed=0).texts
    fast_nlp, full_nlp = load(full=False), load(full=True)
    adv = AdverbDeletion()
    fast_nlp("warm up"), full_nlp("warm up")

    t0 = time.perf_counter()
    fast = [adv(d).text for d in fast_nlp.pipe(texts, batch_size=256)]
    t_fast = time.perf_counter() - t0

    t0 = time.perf_counter()
    slow = [adv(full_nlp(t)).text for t in texts]
    t_slow = time.perf_counter() - t0

    same = sum(a == b for a, b in zip(fast, slow))
    print(f"{len(texts)} tweets; fast pipeline components: {fast_nlp.pipe_names}; full: {full_nlp.pipe_names}")
    print(f"batched, tagging components only: {t_fast:.2f} s ({len(texts) / t_fast:.0f} texts/s)")
    print(f"full pipeline, one call per text: {t_slow:.2f} s ({len(texts) / t_slow:.0f} texts/s)")
    print(f"identical augmented texts: {same}/{len(texts)}")
    if same < 0.99 * len(texts):
        raise SystemExit("outputs differ")
    print(f"speedup: {t_slow / t_fast:.2f}")


if __name__ == "__main__":
    main()
