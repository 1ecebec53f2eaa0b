"""The paper's claims next to our measurements, as rows computed from ``results.json``.

Every perplexity comparison is paired: the sliced and the dense model are scored on the same
held-out windows, and the log of the perplexity ratio is averaged over windows *and* calibration
seeds; its standard error comes from the per-seed means (between-seed spread, which includes the
window noise). Probe accuracies are paired by item. Verdicts say how they depend on their
thresholds; where ours disagree with the paper, they say so.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from deletionlab.core.report import Row
from deletionlab.core.report import load_results as _load

#: Table 1 of the paper: WikiText-2 perplexity at 0/10/20/25/30 % slicing
PAPER_PPL = {"OPT-125M": (27.64, 29.34, 34.26, 37.74, 43.98), "Llama-2-7B": (5.47, 5.89, 6.64, 7.24, 8.12)}
PAPER_LEVELS = (0.0, 10.0, 20.0, 25.0, 30.0)
#: zero-shot accuracy kept at 25 % slicing (the paper's abstract)
PAPER_KEPT = {"Llama-2-70B": 0.99, "OPT-66B": 0.99, "Phi-2": 0.90}
#: invariance holds when the largest logit difference is at most this (float64)
INVARIANCE_TOL = 1e-4
#: "measured faster" when the sliced model needs less than this share of the dense model's time per token
FASTER = 0.95
#: "similar to the paper" when our perplexity ratio is within this factor of the paper's (and the looser band shown too)
SIMILAR_BAND, LOOSE_BAND = 1.10, 1.25


def paper_ratio(model: str, level: float) -> float:
    """Perplexity at ``level`` % over the dense one, from Table 1."""
    p = PAPER_PPL[model]
    return p[PAPER_LEVELS.index(level)] / p[0]


def ratio_stats(results: dict, level: float, corpus: str = "bbc", orientation: str = "pca", against: str = "dense") -> dict | None:
    """Paired perplexity ratio (sliced / ``against``) at one level, over seeds: mean log ratio,
    its s.e. from the per-seed means, ratio, 95 % interval, per-seed ratios."""
    runs = [r for r in results["runs"] if r["orientation"] == orientation and r["level"] == level]
    if not runs:
        return None
    per_seed = []
    for r in runs:
        if against == "dense":
            base = results["dense"]["nll"][corpus]
        else:
            twin = next((x for x in results["runs"]
                         if x["orientation"] == against and x["level"] == level and x["seed"] == r["seed"]), None)
            if twin is None:
                continue
            base = twin["nll"][corpus]
        per_seed.append(float(np.mean(np.asarray(r["nll"][corpus]) - np.asarray(base))))
    if not per_seed:
        return None
    m = float(np.mean(per_seed))
    if len(per_seed) > 1:
        se = float(np.std(per_seed, ddof=1) / math.sqrt(len(per_seed)))
    else:  # one seed: the window-to-window spread of the paired differences
        r = runs[0]
        base = results["dense"]["nll"][corpus]
        d = np.asarray(r["nll"][corpus]) - np.asarray(base)
        se = float(d.std(ddof=1) / math.sqrt(len(d)))
    return {"log": m, "se": se, "ratio": math.exp(m), "lo": math.exp(m - 1.96 * se), "hi": math.exp(m + 1.96 * se),
            "seeds": [math.exp(x) for x in per_seed], "n_seeds": len(per_seed)}


def ppl(nll) -> float:
    return float(math.exp(float(np.mean(nll))))


def curve(results: dict, corpus: str = "bbc", orientation: str = "pca") -> list[dict]:
    """Perplexity per level (dense at 0 %): mean over seeds, with the paired ratio interval."""
    out = [{"level": 0.0, "ppl": ppl(results["dense"]["nll"][corpus]), "ratio": 1.0, "lo": 1.0, "hi": 1.0}]
    base = out[0]["ppl"]
    for lv in sorted({r["level"] for r in results["runs"] if r["orientation"] == orientation}):
        st = ratio_stats(results, lv, corpus, orientation)
        out.append({"level": lv, "ppl": base * st["ratio"], "ratio": st["ratio"], "lo": st["lo"], "hi": st["hi"]})
    return out


def _num(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3f}"


def _fmt_ratio(st: dict) -> str:
    return f"×{_num(st['ratio'])} (95 % CI {_num(st['lo'])}–{_num(st['hi'])}, {st['n_seeds']} seed{'s' if st['n_seeds'] > 1 else ''})"


def _invariance_row(results: dict) -> Row:
    inv = results["dense"]["invariance"]
    f64, f32 = inv["float64"], inv["float32"]
    err = f64["max_abs_logit_error"]
    ok = err <= INVARIANCE_TOL
    return Row("rotating a fused model by orthogonal Q leaves its output unchanged (computational invariance)",
               "exact (Theorem 1)",
               f"max |Δ logit| {err:.1e} in float64 (fusion alone {f64['fusion_only_error']:.1e}; logits up to "
               f"{f64['max_abs_logit']:.0f}), {f32['max_abs_logit_error']:.1e} in float32, {f64['tokens']} tokens",
               f"agrees (≤ {INVARIANCE_TOL:g}; would hold down to a tolerance of {err:.0e})" if ok
               else f"not reproduced at {INVARIANCE_TOL:g} (error {err:.1e})")


def _trend_row(results: dict) -> Row | None:
    cur = curve(results, "bbc")
    if len(cur) < 3:
        return None
    steps = [ratio_stats(results, c["level"], "bbc") for c in cur[1:]]
    rising = all(b["log"] - a["log"] > 0 for a, b in zip(steps, steps[1:])) and steps[0]["lo"] > 1
    sep = all(b["log"] - a["log"] > 2 * math.hypot(a["se"], b["se"]) for a, b in zip(steps, steps[1:]))
    ours = ", ".join(f"{c['level']:g} %: {c['ppl']:.2f}" for c in cur)
    paper = "OPT-125M " + " → ".join(f"{x:g}" for x in PAPER_PPL["OPT-125M"]) + " (0/10/20/25/30 %)"
    verdict = ("agrees: rises at every step, each step beyond 2 s.e." if rising and sep else
               "agrees: rises at every step (some steps within 2 s.e.)" if rising else "not reproduced: not monotone")
    return Row("perplexity rises steadily with slicing (held-out BBC News)", paper, ours, verdict)


def _magnitude_row(results: dict, level: float = 25.0) -> Row | None:
    st = ratio_stats(results, level, "bbc")
    if st is None:
        return None
    opt, llama = paper_ratio("OPT-125M", level), paper_ratio("Llama-2-7B", level)

    def band(b: float) -> str:
        if st["hi"] < opt / b:
            return "milder"
        if st["lo"] > opt * b:
            return "steeper"
        return "similar"

    v = band(SIMILAR_BAND)
    return Row(f"cost of slicing {level:g} % at this model size (perplexity ratio)",
               f"OPT-125M ×{opt:.3f}; Llama-2-7B ×{llama:.3f} (WikiText-2)",
               f"SmolLM2-135M {_fmt_ratio(st)} on BBC News",
               f"{v} to OPT-125M (band ×/÷{SIMILAR_BAND}); with a ×/÷{LOOSE_BAND} band: {band(LOOSE_BAND)}")


def _domain_row(results: dict, level: float = 25.0) -> Row | None:
    a, b = ratio_stats(results, level, "bbc"), ratio_stats(results, level, "docstrings")
    if a is None or b is None:
        return None
    diff, se = b["log"] - a["log"], math.hypot(a["se"], b["se"])
    verdict = ("agrees: text unlike the calibration data suffers more" if diff > 2 * se else
               "not seen: out-of-domain text suffers no more than in-domain (within 2 s.e.)" if abs(diff) <= 2 * se
               else "opposite: out-of-domain text suffers less")
    return Row(f"calibration data matters: news-calibrated model at {level:g} % on news vs on Python docstrings",
               "yes (Alpaca calibration beat WikiText-2 on zero-shot tasks)",
               f"BBC {_fmt_ratio(a)}; docstrings {_fmt_ratio(b)}", verdict)


def _probe_row(results: dict, level: float = 25.0) -> Row | None:
    dense = np.asarray(results["dense"]["nll"]["probe"], float)
    runs = [r for r in results["runs"] if r["orientation"] == "pca" and r["level"] == level]
    if not runs or not len(dense):
        return None
    accs = np.array([np.mean(r["nll"]["probe"]) for r in runs])
    diffs = np.concatenate([np.asarray(r["nll"]["probe"], float) - dense for r in runs])
    se = float(diffs.std(ddof=1) / math.sqrt(len(dense))) if len(diffs) > 1 else float("nan")
    kept = float(accs.mean() / dense.mean()) if dense.mean() > 0 else float("nan")
    kse = se / dense.mean() if dense.mean() > 0 else float("nan")
    paper = ", ".join(f"{k} {v:.0%}" for k, v in PAPER_KEPT.items())
    lo, hi = kept - 2 * kse, kept + 2 * kse
    verdict = ("keeps less than any model in the paper (all of the ±2 s.e. interval below 90 %)" if hi < 0.90 else
               "agrees with the largest models (99 %)" if lo >= 0.99 else
               "within the paper's range (90–99 %)" if lo >= 0.90 else
               f"undecided: the ±2 s.e. interval {lo:.0%}–{hi:.0%} spans the paper's 90 %")
    return Row(f"zero-shot accuracy kept at {level:g} % slicing (our probe: pick the true continuation of 4, chance 25 %)",
               paper, f"dense {dense.mean():.1%}, sliced {accs.mean():.1%} over {len(runs)} seeds: kept {kept:.0%} ± {kse:.0%} "
               f"({len(dense)} items, paired)", verdict)


def _random_row(results: dict) -> Row | None:
    lv = max((r["level"] for r in results["runs"] if r["orientation"] == "random"), default=None)
    if lv is None:
        return None
    st = ratio_stats(results, lv, "bbc", "random", against="pca")
    if st is None:
        return None
    return Row(f"PCA is what makes the deleted directions cheap: random orthogonal Q vs PCA at {lv:g} %",
               "Q from PCA of the signals (Sec. 3.3)", f"random / PCA perplexity {_fmt_ratio(st)}",
               "agrees: random Q is far worse" if st["lo"] > 1.5 else "agrees: random Q is worse" if st["lo"] > 1 else
               "not reproduced: random Q is no worse")


def _params_row(results: dict) -> Row | None:
    arch = results.get("architectures", {})
    opt = arch.get("OPT-125M")
    if not opt:
        return None
    d, s20 = opt["0"]["params"]["total"], opt["20"]["params"]["total"]
    smol = arch.get("SmolLM2-135M", {})
    dense_smol = smol["0"]["params"]["total"] if smol else 0
    cross = next((lv for lv in sorted(smol, key=float) if float(lv) > 0 and smol[lv]["params"]["total"] < dense_smol), None)
    ours = (f"OPT-125M (from its architecture): dense {d / 1e6:.1f} M, 20 % sliced {s20 / 1e6:.1f} M "
            f"(head untied {opt['20']['params']['head'] / 1e6:.1f} M, shortcuts {opt['20']['params']['shortcuts'] / 1e6:.1f} M); "
            f"SmolLM2: fewer parameters than dense only from {cross} % slicing" if cross else "")
    return Row("a lightly sliced small model can have more parameters than the dense one",
               "yes: untied head + shortcut matrices (20 %-sliced OPT-125M)", ours,
               "agrees" if s20 > d else "not reproduced")


def _compute_row(results: dict, level: float = 25.0) -> Row | None:
    run = next((r for r in results["runs"] if r["orientation"] == "pca" and r["level"] == level), None)
    paired = results.get("latency", {}).get(f"{level:g}")
    if run is None or not paired:
        return None
    fl = run["flops"]["total"] / results["dense"]["flops"]["total"]
    lat = {b: v["sliced"] / v["dense"] for b, v in paired.items()}
    faster = [b for b, v in lat.items() if v < FASTER]
    return Row(f"inference compute falls with slicing ({level:g} %)",
               "Llama-2-70B: 64 % of dense on 24 GB GPUs, 66 % on 40 GB A100s (gains at large batch and model)",
               f"FLOPs per token {fl:.0%} of dense; CPU decoding time per token " +
               ", ".join(f"{b}: {v:.0%}" for b, v in lat.items()),
               "agrees for FLOPs" + (f"; measured faster (≥ {1 - FASTER:.0%} less time) at {', '.join(faster)}, dense and sliced "
                                     "timed alternately on a shared machine" if faster else
                                     "; not measurably faster on 2 CPU cores (small matrices: overheads dominate)"))


def calibration_curve(results: dict, corpus: str = "bbc") -> list[dict]:
    """Perplexity ratio (sliced / dense) against the number of calibration tokens, at the sweep's
    level and seed; the main run of that level and seed is one of the points."""
    sweep = results.get("calibration_sweep") or []
    if not sweep:
        return []
    lv, seed = sweep[0]["level"], sweep[0]["seed"]
    pts = [(s["n_calibration"] * s["seq_len"], s["nll"][corpus]) for s in sweep]
    main = next((r for r in results["runs"] if r["orientation"] == "pca" and r["level"] == lv and r["seed"] == seed), None)
    if main:
        pts.append((results["config"]["n_calibration"] * results["config"]["seq_len"], main["nll"][corpus]))
    base = np.asarray(results["dense"]["nll"][corpus])
    out = []
    for tokens, nll in sorted(pts, key=lambda p: p[0]):
        d = np.asarray(nll) - base
        se = float(d.std(ddof=1) / math.sqrt(len(d)))
        out.append({"tokens": tokens, "level": lv, "ratio": math.exp(float(d.mean())), "log": float(d.mean()), "se": se, "nll": list(nll)})
    return out


def _calibration_row(results: dict) -> Row | None:
    cur = calibration_curve(results)
    if len(cur) < 2:
        return None
    a, b = cur[0], cur[-1]
    diff = np.asarray(b["nll"]) - np.asarray(a["nll"])
    se = float(diff.std(ddof=1) / math.sqrt(len(diff)))
    ours = "; ".join(f"{c['tokens']:,} tokens ×{c['ratio']:.2f}" for c in cur)
    verdict = (f"agrees: {b['tokens'] // a['tokens']}× more text, perplexity ×{math.exp(float(diff.mean())):.2f} (paired over windows, "
               f"beyond 2 s.e.)" if diff.mean() < -2 * se else "not seen: more text did not help beyond 2 s.e.")
    return Row(f"more calibration text makes slicing cheaper ({a['level']:g} %, one seed, BBC News)",
               "the paper calibrates on 1,024 × 2,048 tokens", ours, verdict)


def compare(results: dict) -> list[Row]:
    """The comparison table (rows whose data are missing from ``results`` are left out)."""
    rows = [_invariance_row(results), _trend_row(results), _magnitude_row(results), _domain_row(results), _calibration_row(results),
            _probe_row(results), _random_row(results), _params_row(results), _compute_row(results)]
    return [r for r in rows if r is not None]


def load_results(path: Path | str | None = None) -> dict | None:
    """The committed results of ``scripts/slicegpt_experiment.py`` (None if not made yet)."""
    return _load("slicegpt", path)
