"""The paper's claims next to our measurements, as rows computed from ``results.json``.

Chowdhury et al. (2024) claim that S3T (i) absorbs more deletion requests than SISA at the same
training budget, with a deletion rate that grows as m·L·H_{m·B′} against SISA's m·L·H_m,
(ii) keeps accuracy close to full fine-tuning and at least as good as SISA's, (iii) degrades more
slowly than SISA as requests arrive, and (iv) that matching sequences to a non-uniform deletion
prior absorbs more requests than cyclic rotations. A verdict needs the difference to exceed two
standard errors of its paired (by seed, or by simulated stream) estimate; the accuracy verdict
depends on a tolerance, and the row says how it moves with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deletionlab.core.report import Row
from deletionlab.core.report import load_results as _load
from deletionlab.s3t.capacity import deletion_rate

#: accuracy gaps (points) that count as "close" for the full-fine-tuning claim; the verdict uses
#: the middle one and the row reports the others
TOLERANCES = (1.0, 2.0, 5.0)
#: relative gap allowed between the analytic deletion rate and Monte Carlo (the issue's 2 %)
RATE_TOLERANCE = 0.02
NAMES = {"tweets": "tweets (sentiment)", "bbc": "BBC News (topic)"}


def _pm(d: dict, scale: float = 1.0, digits: int = 1) -> str:
    se = d.get("se")
    return f"{d['mean'] * scale:.{digits}f}" + (f" ± {se * scale:.{digits}f}" if se is not None else " (one seed)")


def _beyond(d: dict, side: int = 1) -> bool:
    """The mean is more than two standard errors away from 0 on ``side`` (+1 above, −1 below)."""
    se = d.get("se")
    return se is not None and side * d["mean"] > 2 * se


def rate_row(results: dict) -> Row:
    cap = results["capacity"]
    rows = cap["rows"]
    gaps = [abs(r["simulated"] / r["analytic"] - 1) for r in rows]
    ours = "; ".join(f"B′ = {r['sequences']}: {r['analytic']:.1f} vs {r['simulated']:.1f} ± {r['simulated_se']:.1f}" for r in rows)
    ok = max(gaps) < RATE_TOLERANCE
    return Row(f"deletion rate m·L·H(m·B′) for m = {cap['shards']}, L = {cap['slices']} (analytic vs Monte Carlo, "
               f"{cap['trials']:,} runs)", "S3T O(mL·log(mB′)) vs SISA (B′ = 1) O(mL·log m)", ours,
               f"agrees: largest gap {max(gaps):.1%} (< {RATE_TOLERANCE:.0%})" if ok else f"disagrees: gap {max(gaps):.1%}")


def capacity_row(s: dict, config: dict) -> Row:
    """Requests absorbed by the trained systems: the layout and the request streams depend on the
    seed only, so every data set gives the same numbers (one row)."""
    c = s["curves"]
    d = s["deaths_difference"]
    sys_ = config["system"]
    return Row(f"requests absorbed before no shard serves, trained systems (m = {sys_['shards']}, L = {sys_['slices']}, "
               f"B′ = {sys_['sequences']}, equal updates; the same for both data sets)", "S3T absorbs more than SISA",
               f"S3T {_pm(c['s3t']['deaths'])}, SISA {_pm(c['sisa']['deaths'])}; paired difference {_pm(d)} over {d['n']} seeds "
               f"(analytic with replacement: {deletion_rate(sys_['shards'], sys_['slices'], min(sys_['sequences'], sys_['slices'])):.1f}"
               f" vs {deletion_rate(sys_['shards'], sys_['slices'], 1):.1f})",
               "agrees" if _beyond(d) else "not reproduced (difference within 2 s.e.)")


def _closeness(diff_pt: float, within: bool, tolerance: float) -> str:
    """'agrees' when S3T is within the tolerance at 2 s.e.; 'inconclusive' when only its mean is."""
    if within:
        return "agrees"
    return "inconclusive (the mean is within, 2 s.e. are not; more seeds would settle it)" if diff_pt > -tolerance else "not reproduced"


def accuracy_rows(name: str, s: dict) -> list[Row]:
    a, diff = s["accuracy"], s["differences"]
    full = diff["s3t_minus_full"]
    low = (full["mean"] - 2 * (full["se"] or 0)) * 100  # S3T is at most this many points below full fine-tuning
    verdicts = {t: low > -t for t in TOLERANCES}
    t_mid = TOLERANCES[1]
    others = ", ".join(f"{t:g} pt: {'yes' if v else 'no'}" for t, v in verdicts.items() if t != t_mid)
    rows = [Row(f"{NAMES.get(name, name)}: accuracy before deletions close to full fine-tuning",
                "close (within a point or two)",
                f"S3T {_pm(a['s3t'], 100)} %, full fine-tuning {_pm(a['full'], 100)} %, head only {_pm(a['probe'], 100)} %; "
                f"paired difference {_pm(full, 100)} pt",
                f"{_closeness(full['mean'] * 100, verdicts[t_mid], t_mid)} at a {t_mid:g}-pt tolerance (S3T at most "
                f"{max(-low, 0):.1f} pt below full fine-tuning at 2 s.e.; tolerance {others})")]
    sisa = diff["s3t_minus_sisa"]
    rows.append(Row(f"{NAMES.get(name, name)}: S3T vs SISA before deletions (equal updates)", "S3T comparable or better",
                    f"S3T {_pm(a['s3t'], 100)} %, SISA {_pm(a['sisa'], 100)} %; paired difference {_pm(sisa, 100)} pt",
                    "agrees: S3T better (beyond 2 s.e.)" if _beyond(sisa)
                    else f"not reproduced: S3T {-sisa['mean'] * 100:.1f} pt worse (beyond 2 s.e.)" if _beyond(sisa, -1)
                    else "agrees: no difference beyond 2 s.e."))
    ad = s["area_difference"]
    n = len(s["curves"]["x"]) * 3 // 8
    rows.append(Row(f"{NAMES.get(name, name)}: accuracy while requests arrive (mean over requests 0…{n})",
                    "S3T degrades more slowly than SISA",
                    f"S3T {_pm(s['area']['s3t'], 100)} %, SISA {_pm(s['area']['sisa'], 100)} %; paired difference {_pm(ad, 100)} pt",
                    "agrees" if _beyond(ad) else "disagrees (SISA higher beyond 2 s.e.)" if _beyond(ad, -1)
                    else "not reproduced (within 2 s.e.)"))
    return rows


def selection_rows(results: dict) -> list[Row]:
    sel = results["selection"]
    rows = []
    for name, entry in sel["priors"].items():
        st = entry["strategies"]
        c, m = st["cyclic"], st["matched"]
        gap = {"mean": m["mean"] - c["mean"], "se": float(np.hypot(m["se"], c["se"]))}
        rows.append(Row(f"sequence selection under a {name} deletion prior (m = {sel['shards']}, L = {sel['slices']}, "
                        f"B′ = {sel['sequences']})", "matching to the prior absorbs more requests than cyclic orderings",
                        f"requests absorbed: matched {m['mean']:.1f} ± {m['se']:.1f}, cyclic {c['mean']:.1f} ± {c['se']:.1f}, "
                        f"random {st['random']['mean']:.1f} ± {st['random']['se']:.1f}",
                        "agrees" if _beyond(gap) else "not reproduced (within 2 s.e.)"))
    return rows


def cost_rows(results: dict) -> list[Row]:
    rows = []
    for name, entry in results["datasets"].items():
        s = entry["summary"]
        c = s["cost"]
        per_req = s["sisa_retrain_seconds_per_request"]
        rows.append(Row(f"{NAMES.get(name, name)}: training cost at equal updates ({c['s3t']['updates']:.0f} each)",
                        "S3T's extra sequences are trained offline; a deletion switches adapters off",
                        f"S3T {c['s3t']['seconds']:.0f} s ({c['s3t']['layer_passes']:,.0f} layer-passes), "
                        f"SISA {c['sisa']['seconds']:.0f} s "
                        f"({c['sisa']['layer_passes']:,.0f}); SISA retraining per request ≈ {per_req:.0f} s, S3T 0 s",
                        "measured (one CPU thread, shared machine)"))
        cache = s.get("cache")
        if cache:
            lp_with, lp_without = sequence_layer_passes(results["config"]["system"])
            rows.append(Row(f"{NAMES.get(name, name)}: reusing frozen lower-layer states (ours, not in the paper)", "—",
                            f"one S3T sequence: {lp_with:,} layer-passes with the cache, {lp_without:,} without; measured once "
                            f"(not interleaved): {cache['seconds_with']:.0f} s vs {cache['seconds_without']:.0f} s",
                            f"{lp_without / lp_with:.2f}× fewer layer-passes (the last step runs every layer on every slice, "
                            "which bounds the saving; timed in benchmarks/s3t_deletion.py)"))
    return rows


def sequence_layer_passes(system: dict) -> tuple[int, int]:
    """Layer-passes (records × epochs × layers run) of one S3T sequence with the frozen-state cache
    (step i runs the top (i+1)·k layers) and without it (every step runs all N layers)."""
    from deletionlab.s3t.model import N_LAYERS

    L, k, n, epochs = system["slices"], system["per_step"], system["per_shard"], system["train"]["epochs"]
    sizes = [len(np.concatenate(np.array_split(np.arange(n), L)[: i + 1])) for i in range(L)]
    with_cache = sum(epochs * size * (i + 1) * k for i, size in enumerate(sizes))
    return with_cache, sum(epochs * size * N_LAYERS for size in sizes)


def compare(results: dict) -> list[Row]:
    """Every claim as a row (paper, ours, verdict), computed from ``results``."""
    rows = [rate_row(results), capacity_row(next(iter(results["datasets"].values()))["summary"], results["config"])]
    for name, entry in results["datasets"].items():
        rows.extend(accuracy_rows(name, entry["summary"]))
    rows.extend(selection_rows(results))
    rows.extend(cost_rows(results))
    return rows


def load_results(path: Path | None = None) -> dict | None:
    """The committed results of ``scripts/s3t_experiment.py`` (None if not made yet)."""
    return _load("s3t", path)
