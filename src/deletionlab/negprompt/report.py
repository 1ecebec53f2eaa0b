"""Our measurements next to the paper's: rows of (claim, paper, ours, verdict), computed from the
results of :func:`deletionlab.negprompt.experiment.run_experiment` (never typed in by hand), and
the means over scenes that the results view plots.

The paper's values (Ban et al. 2024, SD 1.x, 30 steps) as our study note reports them from
secondary descriptions: critical step ≈ 5/30 for nouns, ≈ 10/30 for adjectives; a negative prompt
acts later than the same word in the positive prompt; an early-only negative prompt can create
the object (reverse activation); starting the negative prompt at the critical step removes the
object with less change to the rest of the image.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from deletionlab.core.report import Row
from deletionlab.core.report import load_results as _load

#: critical steps as the paper reports them (SD 1.x, of 30 steps)
PAPER = {"noun": 5.0, "adjective": 10.0, "steps": 30}
#: within this many steps of the paper's critical step we say "agrees"
AGREE_STEPS = 2.0
#: mean differences of critical steps smaller than this count as "no difference measured"
NO_DIFFERENCE = 0.5
#: the attention-overlap curves of the results (summary keys), as the results view labels them
OVERLAP_CURVES = {"pos_noun": "noun in prompt", "neg_noun": "noun in negative",
                  "pos_adjective": "adjective in prompt", "neg_adjective": "adjective in negative"}


def paper_critical_steps(steps: int) -> dict[str, float]:
    """The paper's critical steps of nouns and adjectives scaled to ``steps`` denoising steps."""
    scale = steps / PAPER["steps"]
    return {"noun": PAPER["noun"] * scale, "adjective": PAPER["adjective"] * scale}


def mean_overlap_curves(results: dict) -> dict[str, np.ndarray]:
    """Per :data:`OVERLAP_CURVES` key: the share of attention on the object per step, averaged over
    the usable scenes that have that curve (absent keys: no scene had it)."""
    scenes = [sc for sc in results.get("scenes", []) if sc.get("rendered")]
    out = {}
    for key in OVERLAP_CURVES:
        curves = [sc["attention_curves"][key] for sc in scenes if key in sc.get("attention_curves", {})]
        if curves:
            out[key] = np.mean(np.array(curves, dtype=float), axis=0)
    return out


def _ms(d: dict, none: str = "never settled") -> str:
    if not d or not d.get("n"):
        return none
    extra = f", {none} in {d['never']}" if d.get("never") else ""
    return f"{d['mean']:.1f} ± {d['std']:.1f} (n={d['n']}{extra})"


def _close(a: float, b: float, tol: float = AGREE_STEPS) -> str:
    if a is None or math.isnan(a):
        return "not measurable"
    if abs(a - b) <= tol:
        return f"agrees (within {tol:g} steps)"
    return "earlier than reported" if a < b else "later than reported"


def _later(d: float, agrees: str, disagrees: str, none: str) -> str:
    return agrees if d > NO_DIFFERENCE else (none if abs(d) <= NO_DIFFERENCE else disagrees)


def compare(results: dict) -> list[Row]:
    """The comparison table of the notebook, from the results (their ``summary``)."""
    summary = results["summary"]
    steps = summary.get("steps", PAPER["steps"])
    scale = steps / PAPER["steps"]
    rows = []
    for kind in ("noun", "adjective"):
        neg = summary.get(f"attention_neg_{kind}", {})
        paper = PAPER[kind] * scale
        rows.append(Row(
            f"critical step of {kind}s in the negative prompt (attention settles on the object, of {steps})",
            f"≈ {paper:g}", _ms(neg), _close(neg.get("mean", float("nan")), paper)))
    for kind in ("noun", "adjective"):
        pos, neg = summary.get(f"attention_pos_{kind}", {}), summary.get(f"attention_neg_{kind}", {})
        if pos.get("n") and neg.get("n"):
            d = neg["mean"] - pos["mean"]
            verdict = _later(d, "agrees: later in the negative", "disagrees: earlier in the negative", "no delay measured")
            ours = f"positive {pos['mean']:.1f}, negative {neg['mean']:.1f} (Δ = {d:+.1f})"
        else:
            verdict, ours = "not measurable", f"positive {_ms(pos)}, negative {_ms(neg)}"
        rows.append(Row(f"delayed effect: the {kind} settles later in the negative than in the positive prompt", "yes", ours, verdict))
    n, a = summary.get("attention_neg_noun", {}), summary.get("attention_neg_adjective", {})
    if n.get("n") and a.get("n"):
        d = a["mean"] - n["mean"]
        rows.append(Row("adjectives settle later than nouns (negative prompt)",
                        f"yes ({PAPER['adjective'] * scale:g} vs {PAPER['noun'] * scale:g})",
                        f"{a['mean']:.1f} vs {n['mean']:.1f} (Δ = {d:+.1f})",
                        _later(d, "agrees", "disagrees: nouns later", "no difference measured")))
    what = {"noun": "its noun ('a square')", "adjective": "its adjective ('a blue shape')", "object": "the whole object ('a blue square')",
            "named": "an object the prompt itself asks for"}
    for kind in ("noun", "adjective", "object", "named"):
        o, c = summary.get(f"outcome_{kind}"), summary.get(f"curve_{kind}")
        if o is not None and c:
            rows.append(Row(f"latest start that still removes B, negative naming {what[kind]} (of {steps})",
                            (f"≈ {PAPER[kind] * scale:g} (critical step)" if kind in PAPER else "—"),
                            f"{_ms(o, 'not removed even from step 0')}; removed with start 0: {c['removed'][0]:.0%}",
                            "measured with the detector"))
    rev = summary.get("reverse")
    if rev:
        best = max(range(len(rev["ends"])), key=lambda i: rev["appeared"][i])
        ends = ", ".join(str(k) for k in rev["ends"])
        rows.append(Row("reverse activation: a negative prompt only in early steps makes its object appear", "happens (examples)",
                        f"at most {rev['appeared'][best]:.0%} (window [0, {rev['ends'][best]})) over the windows [0, k), k = {ends}, "
                        f"vs {rev['baseline']:.0%} without it (n={rev['n']})",
                        "agrees" if rev["appeared"][best] > rev["baseline"] + 0.05 else "not reproduced"))
    named = summary.get("curve_named")
    if named:
        rows.append(Row("a negative prompt deletes an object that the prompt itself asks for", "— (the paper's prompts do not ask for it)",
                        f"removed in {named['removed'][0]:.0%} of scenes with the negative from step 0",
                        "expected: ε̂ keeps the object with weight 1"))
    ad, cur = summary.get("adaptive"), summary.get("curve_object")
    if ad and cur:
        i0 = cur["starts"].index(0) if 0 in cur["starts"] else 0
        rows.append(Row("removal at the adaptive (critical) start keeps the background better than from step 0",
                        "yes",
                        f"adaptive (step {ad['start']['mean']:.1f}): removed {ad['removed']:.0%}, background Δ {ad['background']:.3f}; "
                        f"from step 0: removed {cur['removed'][i0]:.0%}, background Δ {cur['background'][i0]:.3f}",
                        "agrees" if ad["background"] < cur["background"][i0] else "disagrees"))
    return rows


def load_results(path: Path | None = None) -> dict | None:
    """The committed results of ``scripts/negprompt_experiment.py`` (None if not made yet)."""
    return _load("negprompt", path)
