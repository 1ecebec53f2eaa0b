"""Our augmentation experiment next to the paper's claims, as computed rows (never typed by hand).

What Choi & Kim (2024, arXiv 2403.20015) claim, as far as we could read it: the abstract says
adverb deletion is effective "for not just single text classification, but also natural language
inference that requires semantic preservation", and that conventional rule-based augmentation risks
losing a text's meaning while deleting adverbs, "which play a subsidiary role", avoids it; the
conclusion says the gains were clearest on the NLI tasks. Summaries of the paper say it beats EDA,
AEDA and softEDA; we could not read its tables. Nothing we could read says the gains are largest
with little data: that row is our hypothesis, and the rows marked "our control" test questions the
paper did not ask (more copies or better copies?).

Every comparison is paired by seed (or, for meaning kept, by text) with
:func:`~deletionlab.adverbs.experiment.paired_difference`; a difference counts when it is more than
:data:`Z` standard errors from zero, and each verdict says how it reads at the other
:data:`THRESHOLDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from deletionlab.adverbs.experiment import by_seed as _by_seed
from deletionlab.adverbs.experiment import gain_by_seed, paired_difference
from deletionlab.core.report import Row
from deletionlab.core.report import load_results as _load

#: a paired difference counts when it is more than Z standard errors from zero (z = 2: p ≈ 0.08 for a
#: paired t-test over 10 seeds, p ≈ 0.05 over many texts)
Z = 2.0
#: the verdict is also read at these thresholds; where it changes, the row says so
THRESHOLDS = (1.0, 3.0)
SHORT = {"none": "no augmentation", "adverb": "adverb deletion", "adverb_guarded": "guarded adverb deletion",
         "random": "random deletion", "duplicate": "exact duplicates", "eda_matched": "EDA (adverb texts only)",
         "aeda_matched": "AEDA (adverb texts only)", "eda": "EDA", "aeda": "AEDA", "duplicate_all": "duplicates of every text"}
OUR_CONTROL = "not tested (our control)"


def fmt(p: dict) -> str:
    """A paired difference as "+0.012 ± 0.004 (z +3.0)" (or "no spread" when it has no s.e.)."""
    if p.get("se") is None:
        return f"{p['diff']:+.3f} (no spread over {p['n']})"
    return f"{p['diff']:+.3f} ± {p['se']:.3f} (z {p['z']:+.1f})"


def _sign(p: dict, z: float) -> int | None:
    if p.get("se") is None:
        return 0 if p.get("n") and abs(p["diff"]) < 1e-12 else None
    return 1 if p["z"] > z else -1 if p["z"] < -z else 0


def summary(per: dict, z: float, a: str, b: str, claimed: bool, key: Callable = str, where: str = "at") -> str:
    """One verdict over several paired differences ``per`` (by fraction or by augmenter) of ``a - b``.

    ``claimed``: the paper says ``a`` beats ``b`` (the verdict says "agrees" or "not reproduced");
    otherwise it says which side is ahead. ``key`` names an entry of ``per`` and ``where`` the word
    before the names ("at 1%, 5%"; empty for a single comparison)."""
    signs = {k: _sign(p, z) for k, p in per.items()}
    if all(s is None for s in signs.values()):
        return "undetermined: no spread between seeds"

    def at(sel) -> str:
        names = ", ".join(key(k) for k, s in signs.items() if s in sel)
        return f" {where} {names}" if names and where and len(per) > 1 else (" " if names else "")

    ahead, behind, unclear = at((1,)), at((-1,)), at((0, None))
    A, B = SHORT.get(a, a), SHORT.get(b, b)
    if ahead.strip() and behind.strip():
        return f"mixed: {A} ahead{ahead}, behind{behind}"
    rest = f"; no clear difference{unclear}" if unclear.strip() else ""
    if claimed:
        if ahead:
            return "agrees" if not unclear else f"agrees{ahead} only{rest}"
        if behind:
            return f"not reproduced: {B} ahead{behind}".rstrip()
        return f"not reproduced: no difference beyond {z:g} s.e."
    if ahead or behind:
        return f"{A if ahead else B} ahead{ahead or behind}".rstrip() + rest
    return f"no difference beyond {z:g} s.e."


def with_thresholds(per: dict, a: str, b: str, claimed: bool, key: Callable = str, where: str = "at") -> str:
    """The verdict at :data:`Z`, plus how it reads at each other threshold where it differs."""
    main = summary(per, Z, a, b, claimed, key, where)
    same = main.replace(f"{Z:g} s.e.", "")
    other = [f"at {z:g} s.e.: {v}" for z in THRESHOLDS
             if (v := summary(per, z, a, b, claimed, key, where)).replace(f"{z:g} s.e.", "") != same]
    return main + (f" [{'; '.join(other)}]" if other else "")


def _pct(f: float) -> str:
    return f"{f:.0%}"


def _comparison(rows: list, fractions: Sequence[float], a: str, b: str, claim: str, paper: str, claimed: bool) -> Row:
    per = {f: paired_difference(_by_seed(rows, a, f), _by_seed(rows, b, f)) for f in fractions}
    n = max(p["n"] for p in per.values())
    ours = f"accuracy, {SHORT[a]} − {SHORT[b]}, paired over {n} seeds: " + "; ".join(f"{_pct(f)}: {fmt(p)}" for f, p in per.items())
    return Row(claim, paper, ours, with_thresholds(per, a, b, claimed, _pct))


#: (a, b, claim, the paper's side, whether the paper claims that a beats b)
COMPARISONS = (
    ("adverb", "none", "adverb deletion (the paper's method: every adverb) improves the classifier",
     "yes, for single-text classification (abstract)", True),
    ("adverb", "eda", "adverb deletion beats EDA (EDA on every text, as in the paper)",
     "yes (per summaries of its experiments; its tables not read)", True),
    ("adverb", "aeda", "adverb deletion beats AEDA (AEDA on every text, as in the paper)",
     "yes (per summaries of its experiments; its tables not read)", True),
    ("adverb", "eda_matched", "adverb deletion beats EDA at equal copies (EDA only on the texts with an adverb)", OUR_CONTROL, False),
    ("adverb", "aeda_matched", "adverb deletion beats AEDA at equal copies (AEDA only on the texts with an adverb)", OUR_CONTROL, False),
    ("adverb", "duplicate", "better copies, not just more: adverb deletion vs exact duplicates of the same texts", OUR_CONTROL, False),
    ("adverb", "random", "deleting adverbs, not just any words: vs deleting as many random words", OUR_CONTROL, False),
    ("adverb_guarded", "adverb", "guards (negations and wh-adverbs kept) vs the paper's unguarded deletion", OUR_CONTROL, False),
    ("duplicate_all", "none", "more copies alone: an exact copy of every text vs no augmentation", OUR_CONTROL, False),
    ("eda", "duplicate_all", "EDA's gain is more than its extra copies: EDA vs an exact copy of every text", OUR_CONTROL, False),
    ("aeda", "duplicate_all", "AEDA's gain is more than its extra copies: AEDA vs an exact copy of every text", OUR_CONTROL, False),
)


def _little_data(rows: list, fractions: Sequence[float]) -> Row | None:
    lo, hi = min(fractions), max(fractions)
    if lo == hi:
        return None
    g_lo, g_hi = gain_by_seed(rows, "adverb", lo), gain_by_seed(rows, "adverb", hi)
    p = paired_difference(g_lo, g_hi)
    s = _sign(p, Z)
    verdict = ("supported" if s == 1 else "not supported: the gain is larger with more data" if s == -1 else
               "not supported: no difference beyond 2 s.e." if s == 0 else "undetermined: no spread between seeds")
    other = [f"at {z:g} s.e.: {'supported' if _sign(p, z) == 1 else 'not supported'}" for z in THRESHOLDS
             if (_sign(p, z) == 1) != (s == 1)]
    return Row(f"adverb deletion's gain is larger at {_pct(lo)} than at {_pct(hi)} of the training texts",
               "not claimed in what we could read (our hypothesis)",
               f"gain at {_pct(lo)} − gain at {_pct(hi)}, paired over {p['n']} seeds: {fmt(p)}",
               verdict + (f" [{'; '.join(other)}]" if other else ""))


def _meaning(sims: dict) -> list[Row]:
    per_aug, vs = sims.get("augmenters") or {}, sims.get("adverb_vs") or {}
    if "adverb" not in per_aug:
        return []
    kept = ", ".join(f"{SHORT.get(k, k)} {v['mean']:.3f}" + (f" ± {v['se']:.3f}" if v.get("se") else "")
                     for k, v in sorted(per_aug.items(), key=lambda kv: -kv[1]["mean"]))
    rows = []
    baselines = {k: vs[k] for k in ("eda", "aeda") if k in vs}
    if baselines:
        ours = f"mean cosine: {kept}. Adverb deletion − other, paired by text: " + "; ".join(
            f"{SHORT[k]} {fmt(p)} ({p['n']} texts)" for k, p in baselines.items())
        rows.append(Row("adverb deletion keeps meaning better than EDA and AEDA (MiniLM cosine to the original)",
                        "yes: the method's motivation (abstract)", ours,
                        with_thresholds(baselines, "adverb", "EDA/AEDA", True, lambda k: SHORT[k], "vs")))
    if "random" in vs:
        p = vs["random"]
        rows.append(Row("deleting adverbs keeps more meaning than deleting as many random words", OUR_CONTROL,
                        f"adverb deletion − random deletion, paired by text: {fmt(p)} ({p['n']} texts)",
                        with_thresholds({"random": p}, "adverb", "random", False, where="")))
    return rows


def compare(result: dict) -> list[Row]:
    """Rows for one data set's experiment (its ``to_json()`` dict with ``similarity`` added)."""
    rows, cfg = result["rows"], result["config"]
    fr = sorted(cfg["fractions"])
    conds = set(cfg["conditions"])
    out = [_comparison(rows, fr, a, b, claim, paper, claimed) for a, b, claim, paper, claimed in COMPARISONS
           if a in conds and b in conds]
    if "adverb" in conds and (row := _little_data(rows, fr)):
        out.append(row)
    out += _meaning(result.get("similarity") or {})
    out.append(Row("especially effective for NLI, which needs the meaning kept", "yes (abstract and conclusion)",
                   "no sentence-pair data set ships offline; our two data sets are single texts", "not tested"))
    return out


#: the rows the notebook's summary repeats, by the start of their claim: adverb deletion's, then the copy controls'
HEADLINES = (("adverb deletion (the paper's method", "helps the classifier"),
             ("adverb deletion beats EDA (EDA", "beats EDA"),
             ("adverb deletion beats AEDA (AEDA", "beats AEDA"),
             ("better copies, not just more", "beats exact duplicates of the same texts"),
             ("deleting adverbs, not just any words", "beats random deletion of as many words"),
             ("adverb deletion keeps meaning better", "keeps meaning better than EDA and AEDA"))
COPY_HEADLINES = (("more copies alone", "an exact copy of every text vs none"),
                  ("EDA's gain is more", "EDA vs those copies"),
                  ("AEDA's gain is more", "AEDA vs those copies"))


def headlines(results: dict) -> str:
    """Markdown: per data set, the verdicts of the :data:`HEADLINES` and :data:`COPY_HEADLINES` rows
    and the committed run's measured time."""
    out = []
    for name, rows in compare_all(results).items():
        res = by_dataset(results)[name]
        cfg, secs = res["config"], res.get("seconds") or {}

        def pick(heads) -> str:
            return "; ".join(f"{label}: **{row.verdict}**" for start, label in heads for row in rows if row.claim.startswith(start))

        total = secs.get("total", 0) + secs.get("meaning kept", 0)
        out.append(f"* **{name}** ({cfg['n_train']:,} training / {cfg['n_test']:,} test texts, {cfg['seeds']} seeds; "
                   f"this run took {total / 60:.1f} min, {secs.get('embed', 0) / 60:.1f} of them embedding new texts) — adverb "
                   f"deletion {pick(HEADLINES)}. Copies alone: {pick(COPY_HEADLINES)}.")
    return "\n".join(out)


def by_dataset(results: dict) -> dict[str, dict]:
    """The per-data-set experiments of a results file (everything but its ``made_by`` block)."""
    return {name: res for name, res in results.items() if name != "made_by"}


def compare_all(results: dict) -> dict[str, list[Row]]:
    """:func:`compare` for every data set of a results file."""
    return {name: compare(res) for name, res in by_dataset(results).items()}


def load_results(path: Path | None = None) -> dict | None:
    """The committed results of ``scripts/adverbs_experiment.py`` (None if not made yet)."""
    return _load("adverbs", path)
