"""PCA + slicing of SmolLM2-135M at 25 % with 32 × 256 calibration tokens: ours vs the naive way.

*Ours* carries the calibration signals from block to block: each block's attention and MLP run
once on the already rotated and sliced signals, and the signal between them is formed from the
attention output without rerunning anything. The *naive* way recomputes each block's inputs by
running the partly sliced model from the embeddings up to that block (L(L+1)/2 block passes
instead of L). Both compute the same thing; in float32 their signals differ by rounding, which can
turn eigenvectors of nearly equal eigenvalues near the cut, so the check is that both sliced models
have the same held-out perplexity (within 1 %), in one run.

    python benchmarks/slicegpt_pca.py [--seqs 32] [--len 256] [--slicing 25] [--threads 1]

Prints both wall times and, as its last line, ``speedup: X.XX`` (naive / ours; target ≥ 3).
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seqs", type=int, default=32)
    ap.add_argument("--len", type=int, default=256)
    ap.add_argument("--slicing", type=float, default=25.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from deletionlab.slicegpt import models
    from deletionlab.slicegpt.data import corpus, token_windows
    from deletionlab.slicegpt.schedule import Dims
    from deletionlab.slicegpt.slicing import fuse, rotate_and_slice

    dense, tok = models.load(models.choice_by_key("smollm2-135m"))
    cal = list(token_windows(tok, corpus("bbc", "calibration"), args.seqs, args.len, seed=0).split(4))
    test = token_windows(tok, corpus("bbc", "heldout"), 4, 128)
    n, D = dense.config.num_hidden_layers, dense.config.hidden_size
    dims = Dims.from_fractions(D, [args.slicing / 100] * n)
    import copy

    def run(recompute: bool):
        work = copy.deepcopy(dense)
        t = time.perf_counter()
        rotate_and_slice(fuse(work), cal, dims, recompute=recompute)
        return time.perf_counter() - t, work

    t_ours, ours = run(False)
    print(f"ours  (signals carried block to block): {t_ours:8.1f} s", flush=True)
    t_naive, naive = run(True)
    print(f"naive (upstream recomputed per block):  {t_naive:8.1f} s", flush=True)
    from deletionlab.slicegpt.measure import perplexity, window_nll

    with torch.no_grad():
        err = float((ours(input_ids=test).logits - naive(input_ids=test).logits).abs().max())
    p_ours, p_naive = perplexity(window_nll(ours, test)), perplexity(window_nll(naive, test))
    print(f"SmolLM2-135M, {n} blocks, {args.slicing:g} % sliced, {args.seqs} × {args.len} calibration tokens, "
          f"{args.threads} thread(s); held-out perplexity ours {p_ours:.3f}, naive {p_naive:.3f}; max |Δ logit| {err:.2f}")
    if abs(p_ours / p_naive - 1) > 0.01:
        print("speedup: 0.00 (the two ways give different models)")
        return 1
    print(f"speedup: {t_naive / t_ours:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
