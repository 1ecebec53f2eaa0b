"""Verdicts are computed from the results: they change when the numbers do."""

import math

import numpy as np
import pytest

from deletionlab.slicegpt.report import compare, curve, load_results, paper_ratio, ratio_stats


def fake_results(ratios: dict, random_ratio: float = 3.0, invariance: float = 1e-6, kept: float = 0.9, windows: int = 16) -> dict:
    """A results dict shaped like ``run_experiment``'s: the sliced NLLs are the dense ones plus
    log(ratio) and a little per-seed, per-window noise; probe answers keep ``kept`` of the dense ones."""
    rng = np.random.default_rng(0)
    dense = {c: list(3.0 + rng.normal(0, 0.2, windows)) for c in ("bbc", "docstrings")}
    dense["probe"] = [1] * 80 + [0] * 20
    runs = []
    for lv, r in ratios.items():
        for seed in range(3):
            nll = {c: list(np.asarray(dense[c]) + math.log(r * (1.3 if c == "docstrings" else 1.0)) + rng.normal(0, 0.01, windows))
                   for c in ("bbc", "docstrings")}
            keep = int(round(80 * kept))
            nll["probe"] = [1] * keep + [0] * (100 - keep)
            runs.append({"orientation": "pca", "level": lv, "seed": seed, "nll": nll, "flops": {"total": 0.8}})
    for lv in (25.0,):
        base = next(r for r in runs if r["level"] == lv and r["seed"] == 0)
        nll = {c: list(np.asarray(base["nll"][c]) + math.log(random_ratio)) for c in ("bbc", "docstrings")}
        runs.append({"orientation": "random", "level": lv, "seed": 0, "nll": {**nll, "probe": base["nll"]["probe"]}})
    main = next(r for r in runs if r["level"] == max(ratios) and r["seed"] == 0)  # less calibration text: higher NLL
    sweep = [{"n_calibration": n, "seq_len": 128, "level": max(ratios), "seed": 0,
              "nll": {c: list(np.asarray(main["nll"][c]) + 0.8 / n + rng.normal(0, 0.01, windows)) for c in ("bbc", "docstrings")}}
             for n in (8, 16)]
    inv = {"max_abs_logit_error": invariance, "fusion_only_error": invariance / 2, "max_abs_logit": 30.0, "tokens": 64}
    return {"config": {"seeds": [0, 1, 2], "n_calibration": 32, "seq_len": 256, "eval_windows": windows, "probe_items": 100},
            "runs": runs, "calibration_sweep": sweep,
            "latency": {"25": {"batch 1": {"dense": 1.0, "sliced": 1.1}, "batch 16": {"dense": 1.0, "sliced": 0.7}}},
            "dense": {"nll": dense, "invariance": {"float64": inv, "float32": {**inv, "max_abs_logit_error": 1e-3}},
                      "flops": {"total": 1.0}, "latency": {"batch 1": 1.0, "batch 16": 1.0}},
            "architectures": {"OPT-125M": {"0": {"params": {"total": 100, "head": 0, "shortcuts": 0}},
                                           "20": {"params": {"total": 120, "head": 30, "shortcuts": 5}}},
                              "SmolLM2-135M": {"0": {"params": {"total": 100}}, "25": {"params": {"total": 104}},
                                               "40": {"params": {"total": 90}}}}}


def verdict(rows, start):
    return next(r.verdict for r in rows if r.claim.startswith(start))


def test_paper_ratios_from_table_1():
    assert paper_ratio("OPT-125M", 25.0) == pytest.approx(37.74 / 27.64)
    assert paper_ratio("Llama-2-7B", 30.0) == pytest.approx(8.12 / 5.47)


def test_ratio_stats_are_paired_over_seeds():
    res = fake_results({10.0: 1.1, 25.0: 1.5})
    st = ratio_stats(res, 25.0)
    assert st["ratio"] == pytest.approx(1.5, rel=0.01) and st["n_seeds"] == 3 and 0 < st["se"] < 0.01
    assert st["lo"] < st["ratio"] < st["hi"]
    assert ratio_stats(res, 25.0, "bbc", "random", against="pca")["ratio"] == pytest.approx(3.0, rel=1e-6)
    cur = curve(res)
    assert [c["level"] for c in cur] == [0.0, 10.0, 25.0] and cur[0]["ratio"] == 1.0


def test_verdicts_follow_the_numbers():
    good = compare(fake_results({10.0: 1.06, 20.0: 1.24, 25.0: 1.37, 30.0: 1.59}, kept=1.0))
    assert verdict(good, "perplexity rises").startswith("agrees")
    assert verdict(good, "cost of slicing").startswith("similar")
    assert verdict(good, "calibration data matters").startswith("agrees")
    assert verdict(good, "rotating a fused model").startswith("agrees")
    assert verdict(good, "PCA is what").startswith("agrees: random Q is far worse")
    assert verdict(good, "a lightly sliced").startswith("agrees")
    assert verdict(good, "more calibration text").startswith("agrees")
    assert verdict(good, "zero-shot accuracy kept").startswith("agrees with the largest models")
    mid = compare(fake_results({25.0: 1.37}, kept=0.9))
    assert verdict(mid, "zero-shot accuracy kept").startswith("undecided")  # 90 % ± 2 s.e. straddles the paper's 90 %
    v = verdict(good, "inference compute")
    assert "measured faster" in v and "batch 16" in v and "batch 1," not in v  # batch 1 was 10 % slower

    bad = compare(fake_results({10.0: 1.5, 20.0: 1.3, 25.0: 4.0, 30.0: 5.0}, random_ratio=0.9, invariance=1e-2, kept=0.5))
    assert verdict(bad, "perplexity rises").startswith("not reproduced")
    assert verdict(bad, "cost of slicing").startswith("steeper")
    assert verdict(bad, "rotating a fused model").startswith("not reproduced")
    assert verdict(bad, "PCA is what").startswith("not reproduced")
    assert verdict(bad, "zero-shot accuracy kept").startswith("keeps less")


def test_committed_results_give_a_full_table():
    res = load_results()
    if res is None:
        pytest.fail("src/deletionlab/assets/slicegpt/results.json is missing: run scripts/slicegpt_experiment.py")
    rows = compare(res)
    assert len(rows) == 9 and all(r.verdict for r in rows)
