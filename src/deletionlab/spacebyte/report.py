"""The paper's claims next to our tournament, as rows computed from ``results.json``.

Slagle (2024), Table 1, at 10^19 training FLOPs: SpaceByte < MegaByte < byte Transformer in bits per
byte on every data set, SpaceByte beats its fixed-P variant, and SpaceByte roughly matches the
subword Transformer. We compare seed-paired frontier differences: a claim "a < b" *agrees* when the
mean difference is below zero by more than Z standard errors (Z = 2; the row says whether Z = 1 or
Z = 3 would change the verdict), *disagrees* when it is above zero by as much, and is *not resolved*
otherwise. A budget with one seed has no standard error; its row says so and borrows nothing.
"""

from __future__ import annotations

from pathlib import Path

from deletionlab.core.report import Row
from deletionlab.core.report import load_results as _load

#: paper Table 1 bits per byte at 1e19 FLOPs (PG-19, arXiv, GitHub)
PAPER_BPB = {
    "subword": (0.989, 0.768, 0.508),
    "byte": (1.138, 0.909, 0.655),
    "megabyte": (1.083, 0.822, 0.570),
    "spacebyte_fixed": (1.112, 0.804, 0.552),
    "spacebyte": (1.009, 0.748, 0.500),
}
#: paper: average patch size of the spacelike rule on prose (PG-19) and code (GitHub)
PAPER_PATCH = {"prose": 6.0, "code": 8.0}
#: standard errors a paired difference must clear for a verdict (and the two we also report)
Z = 2.0
Z_OTHERS = (1.0, 3.0)
#: "roughly matches": |relative gap| at most this (the paper's SpaceByte vs subword gaps are ≤ 2.6 %)
MATCH_TOLERANCE = 0.03
#: the patch-size check: within this fraction of the paper's average
PATCH_TOLERANCE = 0.15
NAMES = {"spacebyte": "SpaceByte", "spacebyte_fixed": "SpaceByte fixed-P", "megabyte": "MegaByte",
         "byte": "byte Transformer", "byte_window": "windowed byte Transformer", "subword": "subword Transformer"}
CORPUS_NAMES = {"prose": "prose (BBC News)", "code": "code (Python stdlib)"}


def _paper(a: str, b: str) -> str:
    if a in PAPER_BPB and b in PAPER_BPB:
        return "; ".join(f"{n} {x:.3f} vs {y:.3f}" for n, x, y in zip(("PG-19", "arXiv", "GitHub"), PAPER_BPB[a], PAPER_BPB[b]))
    return "yes (paper, section 4)"


def verdict_less(mean: float, se: float | None, z: float = Z) -> str:
    """Verdict for the claim "a < b" from a paired mean difference a − b and its standard error."""
    if se is None:
        return "one seed: no verdict"
    if mean < -z * se:
        return "agrees"
    if mean > z * se:
        return "disagrees"
    return "not resolved"


def _threshold_note(mean: float, se: float | None) -> str:
    if se is None:
        return ""
    base = verdict_less(mean, se)
    moved = [f"{verdict_less(mean, se, z)} at {z:g} s.e." for z in Z_OTHERS if verdict_less(mean, se, z) != base]
    return f" ({'; '.join(moved)})" if moved else ""


def _fmt_diff(p: dict) -> str:
    se = f" ± {p['se']:.3f}" if p["se"] is not None else ""
    return f"Δ = {p['mean']:+.3f}{se} bits/byte over {p['n']} seed{'s' if p['n'] > 1 else ''}"


def _levels(results: dict, corpus: str, budget: str, a: str, b: str) -> str:
    m = results["frontier_mean"][corpus][budget]
    return f"{m[a]['mean']:.3f} vs {m[b]['mean']:.3f}"


def compare(results: dict) -> list[Row]:
    """Rows: patch sizes, then every paired claim at every corpus and budget of the tournament."""
    rows: list[Row] = []
    for corpus, st in results.get("patches", {}).items():
        ours, ref = st["mean_patch"], PAPER_PATCH[corpus]
        ok = abs(ours - ref) <= PATCH_TOLERANCE * ref
        rows.append(Row(f"average patch of the spacelike rule on {CORPUS_NAMES[corpus]}", f"≈ {ref:g} bytes",
                        f"{ours:.2f} bytes ({st['bytes']:,} validation bytes)",
                        "agrees" if ok else f"differs (more than {PATCH_TOLERANCE:.0%} from the paper)"))
    words = results.get("word_position", {})
    if words:
        ours = "; ".join(f"{NAMES[a]} {w['first_bits']:.2f} vs {w['other_bits']:.2f} bits ({w['share_of_loss_on_first']:.0%} of the loss "
                         f"on {w['n_first'] / w['n_bytes']:.0%} of the bytes)" for a, w in words.items())
        hard = all(w["first_bits"] > w["other_bits"] for w in words.values())
        rows.append(Row("the first byte of a word is the hardest to predict (why global blocks go after spaces)",
                        "yes (section 2)", f"first byte vs other bytes, best model at the largest budget: {ours}",
                        "agrees" if hard else "not for every architecture"))
    for p in results["paired"]:
        corpus, budget, a, b = p["corpus"], p["budget"], p["a"], p["b"]
        where = f"{CORPUS_NAMES[corpus]}, {float(budget):.0e} FLOPs"
        levels = _levels(results, corpus, budget, a, b)
        if (a, b) == ("spacebyte", "subword"):
            rel = p["mean"] / results["frontier_mean"][corpus][budget][b]["mean"]
            ok = abs(rel) <= MATCH_TOLERANCE
            rows.append(Row(f"SpaceByte roughly matches the subword Transformer ({where})", _paper(a, b),
                            f"{levels}; {_fmt_diff(p)} ({rel:+.1%})",
                            (f"agrees (within {MATCH_TOLERANCE:.0%})" if ok else
                             ("SpaceByte better by more than " if rel < 0 else "subword better by more than ") + f"{MATCH_TOLERANCE:.0%}")))
            continue
        claim = f"{NAMES[a]} has lower bits per byte than the {NAMES[b]} at equal compute ({where})"
        rows.append(Row(claim, _paper(a, b), f"{levels}; {_fmt_diff(p)}",
                        verdict_less(p["mean"], p["se"]) + _threshold_note(p["mean"], p["se"])))
    return rows


def ordering(results: dict, corpus: str, budget: str) -> list[tuple[str, float, float | None]]:
    """Architectures at a corpus and budget, best first: (arch, mean frontier bits per byte, s.e.)."""
    m = results["frontier_mean"][corpus][budget]
    return sorted(((a, v["mean"], v["se"]) for a, v in m.items()), key=lambda t: t[1])


#: the paper's order at equal compute (Table 1, every data set), best first
PAPER_ORDER = ("spacebyte", "megabyte", "byte")


def summary(results: dict) -> list[str]:
    """Plain sentences, computed from the results: our order at each corpus and budget next to the
    paper's, and how many of the paper's pairwise claims the seed-paired differences support."""
    out = []
    for corpus, budgets in results["frontier_mean"].items():
        for budget in sorted(budgets, key=float):
            order = ordering(results, corpus, budget)
            seeds = max(v["n"] for v in budgets[budget].values())
            items = " < ".join(f"{NAMES[a]} {m:.3f}" + (f" ± {se:.3f}" if se is not None else "") for a, m, se in order)
            ours = [a for a, _, _ in order if a in PAPER_ORDER]
            same = "the paper's order" if ours == [a for a in PAPER_ORDER if a in ours] else "not the paper's order"
            out.append(f"{CORPUS_NAMES[corpus]}, {float(budget):.0e} FLOPs ({seeds} seed{'s' if seeds > 1 else ''}): {items} "
                       f"bits per byte; of SpaceByte, MegaByte and the byte Transformer, that is {same} "
                       f"({' < '.join(NAMES[a] for a in ours)}).")
    verdicts = [r.verdict for r in compare(results) if "at equal compute" in r.claim]
    agree = sum(v.startswith("agrees") for v in verdicts)
    against = sum(v.startswith("disagrees") for v in verdicts)
    out.append(f"Of {len(verdicts)} seed-paired claims \"a has lower bits per byte than b\", {agree} agree with the paper, "
               f"{against} disagree beyond two standard errors and {len(verdicts) - agree - against} are unresolved or single-seed.")
    return out


def load_results(path: Path | None = None) -> dict | None:
    """The committed results of ``scripts/spacebyte_experiment.py`` (None if not made yet)."""
    return _load("spacebyte", path)
