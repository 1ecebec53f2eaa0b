"""The study's ``summary``: per-scene records (``experiment.SceneResult`` as dicts) aggregated,
every comparison paired by scene (:mod:`.stats`).

Keys of :func:`summarize` (issue 10):

* ``attention_<pos|neg>_<noun|adjective>`` -- critical step at the run's settle threshold;
* ``critical_step_by_threshold`` -- the same for every settle fraction of
  :data:`~.analysis.SETTLE_FRACTIONS` and for the largest-rise definition (``"rise"``);
* ``delayed_effect_paired`` -- negative minus positive critical step of the noun *within each scene*
  (n, later, earlier, equal, median difference, sign-test p-value); the adjective's next to it
  (``"adjective"``) and both under every definition (``"by_definition"``);
* ``adjective_vs_noun_paired`` -- adjective minus noun (negative prompt), paired likewise;
* ``outcome_<kind>``, ``curve_<kind>`` -- latest start that still removes B, and mean curves;
* ``removal_by_start`` -- per kind and start: removal share with its 95 % interval, other object
  kept, background change with its s.e., its ratio to start 0 (paired bootstrap interval), and
  removal at start k against start 0 (paired, exact test);
* ``adaptive`` -- the adaptive start against start 0 and against a *fixed* start at the same mean step;
* ``neutralization`` -- cos(P, N) and the residual of the guided push inside and outside B's mask,
  per step, and inside minus outside per scene (paired);
* ``reverse`` -- reverse activation per window, each paired with the run without negative prompt.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deletionlab.negprompt import stats
from deletionlab.negprompt.analysis import RISE, SETTLE_FRACTIONS

ATTENTION_KEYS = ("pos_noun", "pos_adjective", "neg_noun", "neg_adjective")
#: every definition of the attention critical step: settle fractions, then the largest rise
DEFINITIONS = tuple(f"{f:g}" for f in SETTLE_FRACTIONS) + (RISE,)
KINDS = ("noun", "adjective", "object", "named")
NEUTRALIZATION_KEYS = ("cos_in", "cos_out", "residual_in", "residual_out")


def summarize(scenes: Sequence[dict], reverse: Sequence[dict], *, steps: int, guidance: float, threshold: float) -> dict:
    """The whole summary (see the module docstring) of per-scene and reverse-activation records."""
    ok = [s for s in scenes if s.get("rendered")]
    out: dict = {"scenes": len(scenes), "rendered": len(ok), "reverse_prompts": len(reverse), "steps": steps,
                 "guidance": guidance, "threshold": threshold}
    for key in ATTENTION_KEYS:
        out[f"attention_{key}"] = stats.mean_se([s["attention"].get(key) for s in ok if key in s.get("attention", {})])
    out["critical_step_by_threshold"] = critical_by_definition(ok)
    out["delayed_effect_paired"] = delayed_effect(ok, threshold)
    out["adjective_vs_noun_paired"] = _paired_keys(ok, "neg_noun", "neg_adjective", threshold)
    for kind in KINDS:
        out.update(outcome_curves(ok, kind))
    out["removal_by_start"] = {kind: table for kind in KINDS if (table := removal_by_start(ok, kind))}
    adaptive = adaptive_summary(ok)
    if adaptive:
        out["adaptive"] = adaptive
    neutral = neutralization_summary(ok)
    if neutral:
        out["neutralization"] = neutral
    if reverse:
        out["reverse"] = reverse_summary(reverse)
    return out


def _steps_of(scenes: Sequence[dict], key: str, definition: str | None) -> list:
    """Per scene the critical step of ``key`` under ``definition`` (None: the run's threshold);
    scenes without that measurement are left out (not counted as "never")."""
    if definition is None:
        return [s["attention"].get(key) for s in scenes if key in s.get("attention", {})]
    return [s["attention_steps"][key].get(definition) for s in scenes if key in s.get("attention_steps", {})]


def critical_by_definition(scenes: Sequence[dict]) -> dict:
    """{key: {definition: mean/se/n/never}} for every attention key and definition."""
    out: dict = {"definitions": list(DEFINITIONS)}
    for key in ATTENTION_KEYS:
        if any(key in s.get("attention_steps", {}) for s in scenes):
            out[key] = {d: stats.mean_se(_steps_of(scenes, key, d)) for d in DEFINITIONS}
    return out


def _pairs(scenes: Sequence[dict], first: str, second: str, definition: str | None) -> tuple[list, list]:
    have = [s for s in scenes if first in s.get("attention", {}) and second in s.get("attention", {})]
    if definition is None:
        return [s["attention"][first] for s in have], [s["attention"][second] for s in have]
    have = [s for s in have if first in s.get("attention_steps", {}) and second in s.get("attention_steps", {})]
    return ([s["attention_steps"][first].get(definition) for s in have],
            [s["attention_steps"][second].get(definition) for s in have])


def _paired_keys(scenes: Sequence[dict], first: str, second: str, threshold: float) -> dict:
    """``second − first`` paired by scene at the run's threshold, and under every definition."""
    out = {**stats.paired_steps(*_pairs(scenes, first, second, None)), "definition": f"{threshold:g}"}
    out["by_definition"] = {d: stats.paired_steps(*_pairs(scenes, first, second, d)) for d in DEFINITIONS}
    return out


def delayed_effect(scenes: Sequence[dict], threshold: float) -> dict:
    """The noun's negative-minus-positive critical step paired by scene (top-level fields), the
    adjective's (``"adjective"``), both under every definition (``"by_definition"``)."""
    noun = _paired_keys(scenes, "pos_noun", "neg_noun", threshold)
    adjective = _paired_keys(scenes, "pos_adjective", "neg_adjective", threshold)
    by_def = {d: {"noun": noun["by_definition"][d], "adjective": adjective["by_definition"][d]} for d in DEFINITIONS}
    adjective.pop("by_definition")
    noun.pop("by_definition")
    return {**noun, "word": "noun", "adjective": adjective, "by_definition": by_def}


def _starts(scene: dict, kind: str) -> list:
    return list(scene.get("object_starts") or scene["starts"]) if kind == "object" else list(scene["starts"])


def outcome_curves(scenes: Sequence[dict], kind: str) -> dict:
    """``outcome_<kind>`` (latest start that still removes B) and ``curve_<kind>`` (mean curves)."""
    have = [s for s in scenes if kind in s.get("removed", {})]
    vals = [s["outcome_critical"].get(kind) for s in have]
    out = {f"outcome_{kind}": {**stats.mean_se(vals), "scenes": len(have)}}
    if have:
        out[f"curve_{kind}"] = {"starts": _starts(have[0], kind),
                                "removed": np.mean([s["removed"][kind] for s in have], 0).tolist(),
                                "other_kept": np.mean([s["other_kept"][kind] for s in have], 0).tolist(),
                                "background": np.mean([s["background"][kind] for s in have], 0).tolist()}
    return out


def removal_by_start(scenes: Sequence[dict], kind: str) -> dict | None:
    """Per start step: removal share and its 95 % interval, other object kept, background change
    (mean, s.e.), its ratio to the first start with a paired bootstrap interval, and removal at
    each start against the first (paired exact test)."""
    have = [s for s in scenes if kind in s.get("removed", {})]
    if not have:
        return None
    starts = _starts(have[0], kind)
    rem = np.array([s["removed"][kind] for s in have], dtype=bool)
    kept = np.array([s["other_kept"][kind] for s in have], dtype=bool)
    bg = np.array([s["background"][kind] for s in have], dtype=float)
    n = len(have)
    return {
        "starts": starts, "n": n,
        "removed": rem.mean(0).tolist(),
        "removed_ci": [list(stats.wilson(int(c), n)) for c in rem.sum(0)],
        "other_kept": kept.mean(0).tolist(),
        "background": bg.mean(0).tolist(),
        "background_se": (bg.std(0, ddof=1) / np.sqrt(n)).tolist() if n > 1 else [None] * len(starts),
        "background_ratio": [list(stats.bootstrap_ratio(bg[:, j], bg[:, 0])) for j in range(len(starts))],
        "removed_vs_first": [stats.paired_outcomes(rem[:, 0], rem[:, j]) for j in range(len(starts))],
    }


def adaptive_summary(scenes: Sequence[dict]) -> dict | None:
    """The adaptive start (the negative's noun settles on B) against start 0 and against the fixed
    start nearest the adaptive starts' mean, scene by scene (removal: exact test on the discordant
    scenes; background change: sign test)."""
    swept = [s for s in scenes if "object" in s.get("removed", {})]
    ad = [s for s in swept if s.get("adaptive")]
    if not ad:
        return None
    ms = stats.mean_se([s["adaptive_start"] for s in ad])
    removed = [bool(s["adaptive"]["removed"]) for s in ad]
    bg = [float(s["adaptive"]["background"]) for s in ad]
    out = {"kind": "object", "start": ms, "n": len(ad), "never": len(swept) - len(ad),
           "removed": float(np.mean(removed)), "removed_ci": list(stats.wilson(sum(removed), len(ad))),
           "other_kept": float(np.mean([s["adaptive"]["other_kept"] for s in ad])),
           "background": float(np.mean(bg)), "background_se": float(np.std(bg, ddof=1) / np.sqrt(len(bg))) if len(bg) > 1 else None}
    starts = _starts(ad[0], "object")
    for name, k in (("vs_start0", min(starts)), ("vs_fixed", int(round(ms["mean"])))):
        if k not in starts:
            out[name] = None  # the sweep did not include that start (the live mini-study sweeps every third step)
            continue
        j = starts.index(k)
        out[name] = {"start": k,
                     "removed": stats.paired_outcomes([s["removed"]["object"][j] for s in ad], removed),
                     "background": stats.paired_values([s["background"]["object"][j] for s in ad], bg)}
    out["fixed_start"] = out["vs_fixed"]["start"] if out.get("vs_fixed") else None
    return out


def neutralization_summary(scenes: Sequence[dict]) -> dict | None:
    """Per step the mean and s.e. over scenes of cos(P, N) and of the residual, inside and outside
    B's mask; per scene the step-averaged inside and outside values, compared in pairs."""
    have = [s for s in scenes if s.get("neutralization")]
    if not have:
        return None
    arr = {k: np.array([s["neutralization"][k] for s in have], dtype=float) for k in NEUTRALIZATION_KEYS}
    n = len(have)
    out: dict = {"n": n, "steps": int(arr["cos_in"].shape[1])}
    for k, a in arr.items():
        out[k] = a.mean(0).round(5).tolist()
        out[f"{k}_se"] = (a.std(0, ddof=1) / np.sqrt(n)).round(5).tolist() if n > 1 else None
    # paired per scene: "second" = inside, "first" = outside
    out["cos_paired"] = stats.paired_values(arr["cos_out"].mean(1), arr["cos_in"].mean(1))
    out["residual_paired"] = stats.paired_values(arr["residual_out"].mean(1), arr["residual_in"].mean(1))
    return out


def reverse_summary(reverse: Sequence[dict]) -> dict:
    """Reverse activation per window [0, k): shares, and each window paired with the baseline run."""
    ends = list(reverse[0]["ends"])
    appeared = np.array([r["appeared"] for r in reverse], dtype=bool)
    base = np.array([r["baseline"] for r in reverse], dtype=bool)
    return {"ends": ends,
            "appeared": appeared.mean(0).tolist(),
            "appeared_colour": np.mean([r["appeared_colour"] for r in reverse], axis=0).tolist(),
            "baseline": float(base.mean()), "n": len(reverse),
            "vs_baseline": [stats.paired_outcomes(base, appeared[:, j]) for j in range(len(ends))]}
