"""Answering a burst of deletion requests: S3T switches adapters off, SISA retrains.

On an S3T system big enough to absorb the burst (tweets, m = 8 shards of 60 texts × L = 3 slices,
B′ = 3 sequences, k = 2, MiniLM + LoRA: 8·3·H(24) ≈ 91 requests expected before no shard serves,
P(still serving after 50) ≈ 0.97; the explorer's 3 × 3 default absorbs only ≈ 25) and SISA at the
same number of updates (trained once and cached), the same burst of 50 random requests is answered

* by S3T: for each request, truncate the shard's sequences and load the adapters of its longest
  surviving prefix into the model (what serving the new model takes), and
* by SISA: for each shard hit, retrain from the last checkpoint before the earliest deleted slice
  to the end, on the records left (the burst batched per shard: the cheapest SISA can do),

in one run, and prints both timings and ``speedup: X.XX`` (SISA / S3T; target ≥ 20). Before that it
prints the training speed-up of the frozen-state cache: one S3T sequence trained with the cached
lower-layer states and again running every layer from the embeddings.

    python benchmarks/s3t_deletion.py [--dataset tweets] [--burst 50] [--shards 8] [--per-shard 60] [--seed 0]

Encoding the texts (shared by both) is done before the clocks start. One torch thread. Should the
burst exhaust S3T, the time to retrain its dead shards is added to S3T's answer (and said so).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def sisa_retrain(bb, sisa, service, feats, y, feats_test) -> float:
    """Retrain SISA's hit shards from their earliest deleted slice, on the records left; seconds."""
    from dataclasses import replace

    from deletionlab.s3t.model import N_LAYERS, fit_step, logits, new_head
    from deletionlab.s3t.system import generator, subset

    cfg = sisa.config
    train = replace(cfg.train, epochs=cfg.train.epochs * cfg.sequences)
    t0 = time.perf_counter()
    for h in range(cfg.shards):
        first = int(service.alive[h, 0])  # steps before the earliest deleted slice survive
        if first == cfg.slices:
            continue
        members = sisa.members(h, ~service.deleted)
        state = dict(sisa.checkpoints[(h, 0, first - 1)]) if first > 0 else {}
        head = {k: v.clone() for k, v in state.items() if k.startswith("head")} or None
        for i in range(first, cfg.slices):
            gen = generator(cfg.seed, h, 0, i)
            records = np.concatenate([members[s] for s in sisa.orderings[0][: i + 1]])
            bb.load(state)
            if head is None:
                head = new_head(len(sisa.classes), generator(cfg.seed, h, 0, 10**6))
                bb.init_adapters(range(N_LAYERS), gen)
            fit_step(bb, head, subset(feats, records, 0), y[records], 0, list(range(N_LAYERS)), train, gen)
            state = {**bb.adapters(range(N_LAYERS)), **{k: v.detach().clone() for k, v in head.items()}}
            sisa.checkpoints[(h, 0, i)] = state
            sisa.test_logits[h, 0, i] = logits(bb, state, subset(feats_test, np.arange(len(feats_test)), 0), 0)
    return time.perf_counter() - t0


def s3t_answer(bb, s3t, service, reqs, feats, train, feats_test) -> float:
    """Answer each request: truncate, then load the adapters of the shard's longest surviving
    prefix into the model. If the burst leaves no shard serving, retraining the dead shards counts."""
    from deletionlab.s3t.service import Exhausted
    from deletionlab.s3t.system import train_system

    t0 = time.perf_counter()
    for r in reqs:
        try:
            out = service.delete(int(r))
        except Exhausted:
            continue
        sv = service.served()[out.shard]
        if sv is not None:
            bb.load(s3t.model_state(out.shard, *sv))  # switch the shard's adapters
    if service.exhausted:
        dead = [h for h, sv in enumerate(service.served()) if sv is None]
        train_system(bb, "s3t", s3t.config, feats, train.y, feats_test, train.classes, base=s3t, shards=dead, alive=~service.deleted)
        service.reset(dead)
        print(f"the burst exhausted S3T: retraining its {len(dead)} dead shard(s) is included in its time")
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="tweets", choices=["tweets", "bbc"])
    ap.add_argument("--burst", type=int, default=50)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--per-shard", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=2, help="interleaved repeats of the cache timing (best of)")
    args = ap.parse_args(argv)

    from deletionlab.s3t.explore import Settings, encoded, explore
    from deletionlab.s3t.model import torch_threads
    from deletionlab.s3t.service import Service, accuracy, request_stream
    from deletionlab.s3t.system import train_sequence

    settings = Settings(dataset=args.dataset, shards=args.shards, per_shard=args.per_shard)
    print("loading or training (once, then cached) the S3T and SISA systems ...", flush=True)
    exp = explore(settings, progress=lambda d, t, n="": None)
    s3t, sisa = exp.s3t, exp.sisa
    cfg = s3t.config
    with torch_threads(1):
        bb, feats, feats_test, train, test = encoded(cfg)
        print(f"system: {args.dataset}, m = {cfg.shards}, L = {cfg.slices}, B′ = {cfg.sequences}, k = {cfg.per_step}, "
              f"{cfg.n_train} training texts ({exp.source})")
        # the frozen-state cache: one sequence both ways, interleaved, best of --repeats
        members, order = s3t.members(0), s3t.orderings[0]
        times = {True: [], False: []}
        for _ in range(args.repeats):
            for cache in (True, False):
                t0 = time.perf_counter()
                train_sequence(bb, feats, train.y, members, order, "s3t", cfg, (cfg.seed, 0, 0), len(train.classes), cache=cache)
                times[cache].append(time.perf_counter() - t0)
        t_cache, t_full = min(times[True]), min(times[False])
        print(f"one S3T sequence (best of {args.repeats}): {t_cache:.2f} s with the frozen-state cache, {t_full:.2f} s running "
              "every layer from the embeddings")
        print(f"training speed-up from reusing frozen lower-layer outputs: {t_full / t_cache:.2f}")

        reqs = request_stream(s3t.shard_of, s3t.slice_of, args.burst, np.random.default_rng(args.seed))
        a, b = Service.of(s3t), Service.of(sisa)
        t_s3t = s3t_answer(bb, s3t, a, reqs, feats, train, feats_test)
        for r in reqs:
            b.delete(int(r))
        t_sisa = sisa_retrain(bb, sisa, b, feats, train.y, feats_test)
    acc_s3t = accuracy(s3t.test_logits, a.served(), test.y)
    acc_sisa = accuracy(sisa.test_logits, [(0, cfg.slices - 1)] * cfg.shards, test.y)
    print(f"burst of {len(reqs)} requests: S3T switched adapters in {t_s3t * 1000:.1f} ms "
          f"({sum(sv is not None for sv in a.served())}/{cfg.shards} shards serving, accuracy "
          f"{'n/a' if acc_s3t is None else f'{acc_s3t:.3f}'}); SISA retrained in {t_sisa:.1f} s (accuracy {acc_sisa:.3f})")
    print(f"speedup: {t_sisa / t_s3t:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
