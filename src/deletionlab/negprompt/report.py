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

from pathlib import Path

import numpy as np

from deletionlab.core.report import Row
from deletionlab.core.report import load_results as _load
from deletionlab.negprompt.analysis import RISE

#: critical steps as the paper reports them (SD 1.x, of 30 steps)
PAPER = {"noun": 5.0, "adjective": 10.0, "steps": 30}
#: within this many steps of the paper's critical step we say "agrees"
AGREE_STEPS = 2.0
#: two-sided level of every paired test (sign tests, exact McNemar tests)
ALPHA = 0.05
#: removal levels at which the application claim is read (the verdict uses MAIN_REMOVAL_LEVEL)
REMOVAL_LEVELS = (0.8, 0.9, 0.95)
MAIN_REMOVAL_LEVEL = 0.9
#: fewer scenes than this get no verdict (a live mini-study of one scene shows its numbers only)
MIN_N = 5
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


def _p(p: float | None) -> str:
    if p is None:
        return "p = n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def _ms(d: dict | None, none: str = "never settled") -> str:
    """"mean ± s.e. (n, never in k)" of a :func:`~deletionlab.negprompt.stats.mean_se` dict."""
    if not d or not d.get("n"):
        return none
    extra = f", {none} in {d['never']}" if d.get("never") else ""
    se = d.get("se")
    spread = f" ± {se:.1f} s.e." if se is not None else (f" ± {d['std']:.1f} sd" if d.get("std") is not None else "")
    return f"{d['mean']:.1f}{spread} (n={d['n']}{extra})"


def _too_few(n: int | None) -> str | None:
    """The verdict when there are too few scenes to judge (None when there are enough)."""
    if not n:
        return "not measurable"
    return f"too few scenes to judge (n = {n})" if n < MIN_N else None


def _close(d: dict | None, paper: float, tol: float = AGREE_STEPS) -> str:
    """Verdict of a mean critical step against the paper's: the 95 % interval of the mean must
    reach within ``tol`` steps of it ("agrees") or it is "not reproduced"."""
    if not d or d.get("mean") is None or _too_few(d.get("n")):
        return _too_few(d.get("n") if d else 0) or "not measurable"
    se = d.get("se")
    if se is None and d.get("std") is not None:  # results made before s.e. was stored
        se = d["std"] / d["n"] ** 0.5
    half = 1.96 * (se or 0.0)
    lo, hi = d["mean"] - half, d["mean"] + half
    if hi >= paper - tol and lo <= paper + tol:
        return f"agrees (within {tol:g} steps)"
    return "not reproduced: later than reported" if lo > paper else "not reproduced: earlier than reported"


def _definition_label(d: str) -> str:
    return "largest rise" if d == RISE else f"settled {float(d):.0%}"


def _by_definition(summary: dict, key: str) -> str:
    table = summary.get("critical_step_by_threshold", {}).get(key, {})
    parts = [f"{_definition_label(d)}: {v['mean']:.1f}" if v.get("n") else f"{_definition_label(d)}: never"
             for d, v in table.items()]
    return "; ".join(parts)


def closest_definition(summary: dict, key: str, paper: float) -> tuple[str, dict] | None:
    """The definition of the critical step whose mean comes closest to the paper's value."""
    table = {d: v for d, v in summary.get("critical_step_by_threshold", {}).get(key, {}).items() if v.get("n")}
    if not table:
        return None
    best = min(table, key=lambda d: abs(table[d]["mean"] - paper))
    return best, table[best]


def _paired_text(pd: dict, definition: str) -> str:
    if not pd.get("n"):
        return f"no scene with both steps ({_definition_label(definition)})"
    return (f"n = {pd['n']} scenes: later {pd['later']}, earlier {pd['earlier']}, equal {pd['equal']}; median Δ "
            f"{pd['median_difference']:+.1f} steps; sign test {_p(pd['p_value'])} ({_definition_label(definition)})")


def _paired_verdict(pd: dict, yes: str, no: str) -> str:
    if _too_few(pd.get("n")):
        return _too_few(pd.get("n"))
    if pd["p_value"] < ALPHA:
        return yes + f" ({_p(pd['p_value'])})" if pd["later"] > pd["earlier"] else f"not reproduced: {no} ({_p(pd['p_value'])})"
    return f"not shown: no significant difference ({_p(pd['p_value'])})"


def _directions(by_def: dict, word: str) -> tuple[list[str], list[str], int]:
    """The definitions under which ``word`` settles significantly later / earlier in the negative
    prompt, and how many definitions had data."""
    res = {d: v[word] for d, v in by_def.items() if v.get(word, {}).get("n")}
    later = [d for d, r in res.items() if r["later"] > r["earlier"] and r["p_value"] < ALPHA]
    earlier = [d for d, r in res.items() if r["earlier"] > r["later"] and r["p_value"] < ALPHA]
    return later, earlier, len(res)


def _labels(defs: list[str]) -> str:
    return ", ".join(_definition_label(d) for d in defs) or "none"


def _across(by_def: dict, word: str) -> str:
    """How a paired verdict moves with the definition: under which definitions later / earlier."""
    later, earlier, n = _directions(by_def, word)
    if not n:
        return ""
    return f"; over {n} definitions significantly later under {_labels(later)}, earlier under {_labels(earlier)}"


def _delay_verdict(pd: dict, by_def: dict, word: str) -> str:
    """The paired verdict at the run's threshold, downgraded to "partly" when another definition of
    the critical step gives a significant difference the other way (the effect is not robust)."""
    verdict = _paired_verdict(pd, "agrees: later in the negative", "earlier in the negative")
    later, earlier, _ = _directions(by_def, word)
    if later and earlier:
        return (f"partly: later in the negative under {_labels(later)}, but earlier under {_labels(earlier)} "
                "(the direction depends on the definition)")
    return verdict


def critical_rows(summary: dict, steps: int, scale: float) -> list[Row]:
    """The critical step of nouns and adjectives in the negative prompt, and which definition is
    closest to the paper's value."""
    rows = []
    for kind in ("noun", "adjective"):
        neg = summary.get(f"attention_neg_{kind}", {})
        paper = PAPER[kind] * scale
        rows.append(Row(
            f"critical step of {kind}s in the negative prompt (attention settles on the object, of {steps})",
            f"≈ {paper:g}", f"{_ms(neg)} at {summary['threshold']:.0%}", _close(neg, paper)))
        best = closest_definition(summary, f"neg_{kind}", paper)
        if best is not None:
            d, v = best
            rows.append(Row(f"the {kind}'s critical step under each definition (negative prompt, of {steps})", f"≈ {paper:g}",
                            _by_definition(summary, f"neg_{kind}"),
                            f"closest: {_definition_label(d)} ({_ms(v)}); {_close(v, paper)}"))
    return rows


def delay_rows(summary: dict, scale: float) -> list[Row]:
    """The delayed effect, paired by scene: each word in the negative vs in the positive prompt, and
    adjectives vs nouns."""
    rows = []
    de = summary.get("delayed_effect_paired")
    if not de:
        return rows
    by_def = de.get("by_definition", {})
    for kind, pd in (("noun", de), ("adjective", de.get("adjective", {}))):
        rows.append(Row(f"delayed effect: the {kind} settles later in the negative than in the positive prompt (same scene)", "yes",
                        _paired_text(pd, de.get("definition", "")) + _across(by_def, kind),
                        _too_few(pd.get("n")) or _delay_verdict(pd, by_def, kind)))
    av = summary.get("adjective_vs_noun_paired")
    if av:
        rows.append(Row("adjectives settle later than nouns (negative prompt, same scene)",
                        f"yes ({PAPER['adjective'] * scale:g} vs {PAPER['noun'] * scale:g})",
                        _paired_text(av, av.get("definition", "")),
                        _paired_verdict(av, "agrees", "nouns later")))
    return rows


def outcome_rows(summary: dict, steps: int, scale: float) -> list[Row]:
    what = {"noun": "its noun ('a square')", "adjective": "its adjective ('a blue shape')", "object": "the whole object ('a blue square')",
            "named": "an object the prompt itself asks for"}
    rows = []
    for kind in ("noun", "adjective", "object", "named"):
        o, c = summary.get(f"outcome_{kind}"), summary.get(f"curve_{kind}")
        if o is not None and c:
            rows.append(Row(f"latest start that still removes B, negative naming {what[kind]} (of {steps})",
                            (f"≈ {PAPER[kind] * scale:g} (critical step)" if kind in PAPER else "—"),
                            f"{_ms(o, 'not removed even from step 0')}; removed with start 0: {c['removed'][0]:.0%}",
                            "measured with the detector"))
    return rows


def latest_start(table: dict, level: float) -> int | None:
    """The latest start whose removal share is at least ``level`` (None: not even the first start)."""
    ok = [k for k, r in zip(table["starts"], table["removed"]) if r >= level]
    return max(ok) if ok else None


def application_rows(summary: dict) -> list[Row]:
    """Removal vs background change by start step (the whole-object negative), at several removal
    levels: the latest start that still removes B that often, its removal against start 0 (paired
    exact test) and its background change as a ratio of start 0's (paired bootstrap interval)."""
    table = summary.get("removal_by_start", {}).get("object")
    if not table:
        return []
    parts = []
    verdict = _too_few(table["n"]) or "not reproduced: no later start keeps removal at this level with less background change"
    for level in REMOVAL_LEVELS:
        k = latest_start(table, level)
        if k is None:
            parts.append(f"≥ {level:.0%}: not even from step 0")
            continue
        j = table["starts"].index(k)
        if k == min(table["starts"]):
            parts.append(f"≥ {level:.0%} only from step {k} (removed {table['removed'][j]:.0%})")
            continue
        ratio, lo, hi = table["background_ratio"][j]
        lo_r, hi_r = table["removed_ci"][j]
        vs0 = table["removed_vs_first"][j]
        parts.append(f"≥ {level:.0%} until start {k} (removed {table['removed'][j]:.0%} [{lo_r:.0%}, {hi_r:.0%}] vs "
                     f"{table['removed'][0]:.0%} at start 0, paired {_p(vs0['p_value'])}; background change {ratio:.2f}× "
                     f"[{lo:.2f}, {hi:.2f}] of start 0)")
        as_reliable = not (vs0["only_first"] > vs0["only_second"] and vs0["p_value"] < ALPHA)
        if level == MAIN_REMOVAL_LEVEL and hi < 1 and as_reliable and not _too_few(table["n"]):
            verdict = (f"agrees: start {k} removes B in {table['removed'][j]:.0%} of scenes (not significantly fewer than "
                       f"start 0) with {ratio:.2f}× the background change")
    return [Row("a later start still removes the object and changes the background less (whole-object negative)",
                "yes (from the critical step on)", f"n = {table['n']} scenes; " + "; ".join(parts), verdict)]


def _background_direction(bg: dict) -> int:
    """−1: the second condition changes the background less (the sign test is significant *and* the
    mean difference agrees), +1: more, 0: no clear difference (not significant, or median and mean disagree)."""
    if bg["p_value"] >= ALPHA or bg["smaller"] == bg["larger"]:
        return 0
    sign = -1 if bg["smaller"] > bg["larger"] else 1
    return sign if (bg["mean_difference"] or 0.0) * sign > 0 else 0


def _adaptive_verdict(vs: dict) -> str:
    """Adaptive (second) against the fixed start (first): removal by the exact test on discordant
    scenes, background change by :func:`_background_direction`."""
    rem = vs["removed"]
    rem_dir = 0 if rem["p_value"] >= ALPHA else (1 if rem["only_second"] > rem["only_first"] else -1)
    bg_dir = _background_direction(vs["background"])
    if (rem_dir > 0 and bg_dir <= 0) or (bg_dir < 0 and rem_dir >= 0):
        return "advantage: " + ("removes more" if rem_dir > 0 else "less background change")
    if rem_dir < 0 or bg_dir > 0:
        return "no advantage: the fixed start does better (" + ("removes more" if rem_dir < 0 else "less background change") + ")"
    if vs["background"]["p_value"] < ALPHA:
        return "no advantage: mixed (background lower in more scenes, but higher on average)"
    return "no advantage: no significant difference"


def adaptive_rows(summary: dict) -> list[Row]:
    """The adaptive start against start 0 and against a fixed start at the same mean step."""
    ad = summary.get("adaptive")
    if not ad:
        return []
    rows = []
    head = (f"adaptive (mean step {ad['start']['mean']:.1f}, n = {ad['n']}, no settle step in {ad.get('never', 0)}): "
            f"removed {ad['removed']:.0%}, background Δ {ad['background']:.4f}")
    for name, claim in (("vs_start0", "removal at the adaptive (critical) start changes the background less than from step 0"),
                        ("vs_fixed", "the adaptive start beats a fixed start at the same mean step")):
        vs = ad.get(name)
        if not vs:
            rows.append(Row(claim, "yes", head + "; that start was not swept", "not measured"))
            continue
        rem, bg = vs["removed"], vs["background"]
        ours = (f"{head}; start {vs['start']}: removed {rem['first']:.0%}, background Δ {bg['first']:.4f}; removed only adaptive "
                f"{rem['only_second']} vs only start {vs['start']} {rem['only_first']} scenes ({_p(rem['p_value'])}); background lower "
                f"with adaptive in {bg['smaller']}, higher in {bg['larger']} ({_p(bg['p_value'])})")
        if _too_few(ad["n"]):
            verdict = _too_few(ad["n"])
        elif name == "vs_fixed":
            verdict = _adaptive_verdict(vs)
        else:
            bg_ok = _background_direction(bg) < 0
            rem_lost = rem["only_first"] > rem["only_second"] and rem["p_value"] < ALPHA
            verdict = ("agrees" if bg_ok and not rem_lost else "partly: less background change, but it removes less"
                       if bg_ok else "not reproduced")
        rows.append(Row(claim, "yes", ours, verdict))
    return rows


def neutralization_row(summary: dict) -> list[Row]:
    """Deletion by neutralization: cos(P, N) and the residual of the guided push inside vs outside B's mask."""
    ne = summary.get("neutralization")
    if not ne:
        return []
    cos, res = ne["cos_paired"], ne["residual_paired"]
    ours = (f"over {ne['steps']} steps, n = {ne['n']} scenes: cos(P, N) inside B's mask {cos['second']:.2f} vs outside "
            f"{cos['first']:.2f} (higher inside in {cos['larger']} scenes, {_p(cos['p_value'])}); residual ‖w·P − (w−1)·N‖/‖w·P‖ "
            f"inside {res['second']:.2f} vs outside {res['first']:.2f} (lower inside in {res['smaller']}, {_p(res['p_value'])})")
    if _too_few(ne["n"]):
        return [Row("deletion by neutralization: inside the object the negative prompt's push cancels the positive one",
                    "yes (maps)", ours, _too_few(ne["n"]))]
    aligned = cos["larger"] > cos["smaller"] and cos["p_value"] < ALPHA
    smaller = res["smaller"] > res["larger"] and res["p_value"] < ALPHA
    cancels = res["second"] < 1  # the guided push inside is smaller than without the negative prompt
    if aligned and smaller and cancels:
        verdict = "agrees: inside the object the pushes align and the negative prompt cancels part of the positive push"
    elif aligned or smaller:
        what = " and ".join(w for w, ok in (("the pushes align more", aligned), ("the residual is smaller", smaller)) if ok)
        verdict = (f"partly: inside the object {what} than outside, but nothing is cancelled (residual {res['second']:.2f} ≥ 1: "
                   "the negative prompt adds more push than it removes)" if not cancels
                   else f"partly: inside the object {what} than outside")
    else:
        verdict = "not reproduced"
    return [Row("deletion by neutralization: inside the object the negative prompt's push cancels the positive one",
                "yes (maps)", ours, verdict)]


def reverse_row(summary: dict) -> list[Row]:
    rev = summary.get("reverse")
    if not rev:
        return []
    best = max(range(len(rev["ends"])), key=lambda i: rev["appeared"][i])
    ends = ", ".join(str(k) for k in rev["ends"])
    vs = (rev.get("vs_baseline") or [None] * len(rev["ends"]))[best]
    m = len(rev["ends"])
    if vs is None:
        test, verdict = "", ("agrees" if rev["appeared"][best] > rev["baseline"] else "not reproduced")
    else:
        p = min(1.0, vs["p_value"] * m)  # Bonferroni over the windows: the best one was picked
        test = f"; appears only with it in {vs['only_second']} vs only without in {vs['only_first']} prompts ({_p(p)}, ×{m} windows)"
        verdict = "agrees" if vs["only_second"] > vs["only_first"] and p < ALPHA else "not reproduced"
    verdict = _too_few(rev["n"]) or verdict
    return [Row("reverse activation: a negative prompt only in early steps makes its object appear", "happens (examples)",
                f"at most {rev['appeared'][best]:.0%} (window [0, {rev['ends'][best]})) over the windows [0, k), k = {ends}, "
                f"vs {rev['baseline']:.0%} without it (n={rev['n']}){test}", verdict)]


def named_row(summary: dict) -> list[Row]:
    named, table = summary.get("curve_named"), summary.get("removal_by_start", {}).get("named")
    if not named:
        return []
    ci = f" [{table['removed_ci'][0][0]:.0%}, {table['removed_ci'][0][1]:.0%}]" if table else ""
    return [Row("a negative prompt deletes an object that the prompt itself asks for", "— (the paper's prompts do not ask for it)",
                f"removed in {named['removed'][0]:.0%}{ci} of scenes with the negative from step 0",
                "expected: ε̂ keeps the object with weight 1")]


def compare(results: dict) -> list[Row]:
    """The comparison table of the notebook, from the results (their ``summary``)."""
    summary = results["summary"]
    steps = summary.get("steps", PAPER["steps"])
    scale = steps / PAPER["steps"]
    return [*critical_rows(summary, steps, scale), *delay_rows(summary, scale), *outcome_rows(summary, steps, scale),
            *application_rows(summary), *adaptive_rows(summary), *neutralization_row(summary), *reverse_row(summary),
            *named_row(summary)]


#: the removal table lists every start up to this one, then every third (a dense sweep has 30 rows)
TABLE_EVERY_START_UNTIL = 9


def removal_table(summary: dict, kind: str = "object") -> tuple[list[str], list[list[str]]]:
    """Header and rows of the table "removal and background change by start step" (empty without data)."""
    t = summary.get("removal_by_start", {}).get(kind)
    if not t:
        return [], []
    head = ["start", "removed [95 % interval]", "other object kept", "background change (± s.e.)", "× start 0 [95 % interval]"]
    rows = []
    for j, k in enumerate(t["starts"]):
        if k > TABLE_EVERY_START_UNTIL and k % 3:
            continue
        lo, hi = t["removed_ci"][j]
        ratio, rlo, rhi = t["background_ratio"][j]
        se = t["background_se"][j]
        rows.append([str(k), f"{t['removed'][j]:.0%} [{lo:.0%}, {hi:.0%}]", f"{t['other_kept'][j]:.0%}",
                     f"{t['background'][j]:.4f}" + (f" ± {se:.4f}" if se is not None else ""), f"{ratio:.2f} [{rlo:.2f}, {rhi:.2f}]"])
    return head, rows


def definitions_table(summary: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the table "critical step under each definition": the noun in the prompt and in
    the negative prompt (mean ± s.e.), their paired comparison, and the paper's value."""
    crit = summary.get("critical_step_by_threshold", {})
    paired = summary.get("delayed_effect_paired", {}).get("by_definition", {})
    if "neg_noun" not in crit:
        return [], []
    head = ["definition", "noun in prompt", "noun in negative", "negative later / earlier / equal (sign test)",
            f"paper (negative, of {summary.get('steps', PAPER['steps'])})"]
    paper = paper_critical_steps(summary.get("steps", PAPER["steps"]))["noun"]
    rows = []
    for d in crit.get("definitions", []):
        pd = paired.get(d, {}).get("noun", {})
        pair = f"{pd['later']} / {pd['earlier']} / {pd['equal']} ({_p(pd['p_value'])})" if pd.get("n") else "—"
        rows.append([_definition_label(d), _ms(crit.get("pos_noun", {}).get(d)), _ms(crit["neg_noun"].get(d)), pair, f"≈ {paper:g}"])
    return head, rows


def verdict_class(verdict: str) -> str:
    """"reproduced", "partly", "not reproduced" or "not judged" for a verdict of :func:`compare`."""
    v = verdict.lower()
    if v.startswith(("agrees", "advantage")):
        return "reproduced"
    if v.startswith("partly"):
        return "partly"
    if v.startswith(("not reproduced", "no advantage")):
        return "not reproduced"
    return "not judged"


def plain_summary(results: dict) -> str:
    """The verdicts in a few lines of Markdown for the notebook: what was measured and how long it
    took, how many claims were reproduced, and each paper claim with its verdict."""
    s = results["summary"]
    judged = [(r, verdict_class(r.verdict)) for r in compare(results) if not r.verdict.startswith(("measured", "expected"))]
    counts = {c: sum(k == c for _, k in judged) for c in ("reproduced", "partly", "not reproduced", "not judged")}
    minutes = results.get("seconds", 0) / 60
    head = (f"Measured on **{s['scenes']} scenes** ({s['rendered']} usable) and {s.get('reverse_prompts', 0)} reverse-activation "
            f"prompts; measuring took {minutes:.0f} minutes (wall-clock, summed over scenes). Of the paper's claims: "
            f"**{counts['reproduced']} reproduced, {counts['partly']} partly, {counts['not reproduced']} not reproduced**, "
            f"{counts['not judged']} could not be judged here.")
    lines = [f"* {r.claim} — **{r.verdict}**" for r, _ in judged]
    return "\n".join([head, "", *lines])


def load_results(path: Path | None = None) -> dict | None:
    """The committed results of ``scripts/negprompt_experiment.py`` (None if not made yet)."""
    return _load("negprompt", path)
