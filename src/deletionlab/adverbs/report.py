"""Our augmentation experiment next to the paper's claim, as computed rows (never typed by hand).

Choi & Kim (2024) report that adverb deletion improves fine-tuned BERT on SST-2, SST-5, CoLA, TREC
and NLI sets, with the largest gains in low-data and NLI settings, and that it keeps meaning
better than EDA/AEDA-style augmenters.
"""

from __future__ import annotations

from pathlib import Path

from deletionlab.core.report import Row
from deletionlab.core.report import load_results as _load


def _by(table: list[dict], cond: str, frac: float) -> dict | None:
    return next((r for r in table if r["condition"] == cond and r["fraction"] == frac), None)


def compare(result: dict) -> list[Row]:
    """Rows for one data set's experiment (its ``to_json()`` dict with ``similarity`` added)."""
    table = result["table"]
    cfg = result["config"]
    fr = sorted(cfg["fractions"])
    lo, hi = fr[0], fr[-1]
    rows = []
    a_lo, n_lo = _by(table, "adverb", lo), _by(table, "none", lo)
    a_hi, n_hi = _by(table, "adverb", hi), _by(table, "none", hi)
    if a_lo and n_lo and a_hi and n_hi:
        g_lo, g_hi = a_lo["gain"], a_hi["gain"]
        se_lo = (a_lo["accuracy_std"] ** 2 / a_lo["n"] + n_lo["accuracy_std"] ** 2 / n_lo["n"]) ** 0.5
        helps = "helps" if g_lo > 2 * se_lo else ("hurts" if g_lo < -2 * se_lo else "no clear effect")
        rows.append(Row(f"adverb deletion helps with little data ({lo:.0%} of {cfg['n_train']} texts)", "yes, gains largest here",
                        f"{g_lo:+.3f} accuracy (± {se_lo:.3f} s.e., {a_lo['n']} seeds)", helps))
        se_hi = (a_hi["accuracy_std"] ** 2 / a_hi["n"] + n_hi["accuracy_std"] ** 2 / n_hi["n"]) ** 0.5
        diff_se = (se_lo ** 2 + se_hi ** 2) ** 0.5
        shrink = ("agrees" if g_lo - g_hi > 2 * diff_se else "disagrees" if g_hi - g_lo > 2 * diff_se
                  else "no clear trend (within 2 s.e.)")
        rows.append(Row("gains shrink as data grows", "yes", f"{g_lo:+.3f} at {lo:.0%} → {g_hi:+.3f} at {hi:.0%}", shrink))
    for frac in fr:
        conds = [r for r in table if r["fraction"] == frac and r["condition"] != "none"]
        if conds:
            best = max(conds, key=lambda r: r["accuracy"])
            adv = _by(table, "adverb", frac)
            if adv is None:
                continue
            se = (best["accuracy_std"] ** 2 / best["n"] + adv["accuracy_std"] ** 2 / adv["n"]) ** 0.5
            verdict = ("agrees" if best["condition"] == "adverb" else
                       "tie (within 2 s.e.)" if best["accuracy"] - adv["accuracy"] <= 2 * se else "disagrees")
            rows.append(Row(f"adverb deletion vs the other augmenters at {frac:.0%}", "adverb deletion best",
                            f"best: {best['condition']} ({best['accuracy']:.3f}); adverb {adv['accuracy']:.3f} (s.e. of the gap {se:.3f})",
                            verdict))
    sims = result.get("similarity")
    if sims:
        order = sorted(sims, key=lambda k: -sims[k])
        rows.append(Row("adverb deletion keeps meaning best (sentence-embedding cosine)", "yes (the paper's motivation)",
                        ", ".join(f"{k} {sims[k]:.3f}" for k in order), "agrees" if order[0] == "adverb" else "disagrees"))
    return rows


def by_dataset(results: dict) -> dict[str, dict]:
    """The per-data-set experiments of a results file (everything but its ``made_by`` block)."""
    return {name: res for name, res in results.items() if name != "made_by"}


def compare_all(results: dict) -> dict[str, list[Row]]:
    """:func:`compare` for every data set of a results file."""
    return {name: compare(res) for name, res in by_dataset(results).items()}


def load_results(path: Path | None = None) -> dict | None:
    """The committed results of ``scripts/adverbs_experiment.py`` (None if not made yet)."""
    return _load("adverbs", path)
