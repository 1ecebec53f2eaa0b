"""Shadow-model training for LiRA: 64 logistic regressions trained batched (one tensor program,
Newton's method on all 64 at once) vs a loop of scikit-learn ``LogisticRegression`` fits with the
same regularisation, on the same 64 random halves of one data set, side by side in one run.

Checks that the two reach equal test accuracy (within 1 point, on each model's held-out half)
and prints, as its last line, ``speedup: X.XX`` (loop time / batched time; target ≥ 10).

    python benchmarks/unlearning_shadows.py [--dataset breast_cancer] [--models 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="breast_cancer")
    ap.add_argument("--models", type=int, default=64)
    ap.add_argument("--lam", type=float, default=1e-3)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)

    from sklearn.linear_model import LogisticRegression

    from deletionlab.unlearning.data import load
    from deletionlab.unlearning.models import Task, balanced_masks, fit_exact

    ds = load(args.dataset)
    task = Task.from_dataset(ds)
    masks = balanced_masks(ds.n, args.models, np.random.default_rng(0))
    fit_exact(task, masks[:2], lam=args.lam)  # warm-up

    def batched():
        return fit_exact(task, masks, lam=args.lam)

    def loop():
        out = []
        for m in masks:
            # sklearn minimises C·Σ loss + ½‖w‖²  ⇔  (1/n)Σ loss + (λ/2)‖w‖² with C = 1/(λ n)
            out.append(LogisticRegression(C=1.0 / (args.lam * m.sum()), max_iter=2000).fit(ds.X[m], ds.y[m]))
        return out

    tb, tl = [], []
    for _ in range(args.repeats):  # interleaved, best of n
        t = time.perf_counter()
        thetas = batched()
        tb.append(time.perf_counter() - t)
        t = time.perf_counter()
        clfs = loop()
        tl.append(time.perf_counter() - t)
    acc_b = np.mean([task.accuracy(thetas[i], np.where(~m)[0]) for i, m in enumerate(masks)])
    acc_l = np.mean([c.score(ds.X[~m], ds.y[~m]) for c, m in zip(clfs, masks)])
    print(f"dataset {ds.name}: n={ds.n}, d={ds.d}, {args.models} models, λ={args.lam:g}")
    print(f"batched Newton : {min(tb):.3f} s   mean test accuracy {acc_b:.4f}")
    print(f"sklearn loop   : {min(tl):.3f} s   mean test accuracy {acc_l:.4f}")
    gap = abs(acc_b - acc_l) * 100
    print(f"accuracy gap   : {gap:.2f} points ({'within' if gap <= 1 else 'NOT within'} 1 point)")
    if gap > 1:
        print("speedup: 0.00 (accuracies differ by more than 1 point)")
        return 1
    print(f"speedup: {min(tl) / min(tb):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
