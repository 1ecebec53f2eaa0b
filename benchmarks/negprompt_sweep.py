"""Delay sweep that shares work vs independent StableDiffusionPipeline calls (shipped model).

A sweep over 10 start steps of the negative prompt at 30 steps: our sampler branches every start
from one cached trajectory and runs the live branches in one UNet batch per step; the baseline
makes 10 separate `StableDiffusionPipeline.__call__`s (the delayed start done with a
`callback_on_step_end`, as the export's diffusers snippet does). Both run here, side by side, on
the same machine; the images must agree (max |Δ| ≤ 1e-3). The last line is `speedup: X.XX`.

    python benchmarks/negprompt_sweep.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from deletionlab.negprompt import DEFAULT_GUIDANCE, DEFAULT_STARTS, DEFAULT_STEPS
    from deletionlab.negprompt.models import load_pipeline
    from deletionlab.negprompt.sampler import Settings, pipeline_image, run

    pipe = load_pipeline("shipped")
    steps = DEFAULT_STEPS
    starts = list(DEFAULT_STARTS)  # the experiment's sweep
    s = Settings("a red circle above a blue square", "a blue square", steps, DEFAULT_GUIDANCE, seed=1)

    def ours():
        r = run(pipe, s, windows=[(k, steps) for k in starts], record=False, previews=False)
        return [b.image for b in r.branches]

    def baseline():
        return [pipeline_image(pipe, Settings(s.prompt, s.negative_prompt, steps, s.guidance, s.seed, k, steps)) for k in starts]

    ours(), baseline()  # warm up both
    t_ours, t_base = [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        t0 = time.perf_counter()
        a = ours()
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = baseline()
        t_base.append(time.perf_counter() - t0)
    diff = max(float(np.abs(x - y).max()) for x, y in zip(a, b))

    # the explorer's full 30-step run with every recording (trunk + branch, ε's, attention, previews)
    from deletionlab.negprompt.explore import explore

    t_explore = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        explore(pipe, s)
        t_explore.append(time.perf_counter() - t0)
    print(f"starts: {starts} at {steps} steps, {torch.get_num_threads()} threads")
    print(f"shared-prefix batched sweep: {np.median(t_ours):.3f} s (median of {args.repeats})")
    print(f"10 x StableDiffusionPipeline: {np.median(t_base):.3f} s")
    print(f"max |image difference|: {diff:.2e} ({'OK' if diff <= 1e-3 else 'MISMATCH'})")
    print(f"explorer: full 30-step run with recordings: {np.median(t_explore):.2f} s (target < 3 s)")
    if diff > 1e-3:
        raise SystemExit("images disagree")
    print(f"speedup: {np.median(t_base) / np.median(t_ours):.2f}")


if __name__ == "__main__":
    main()
