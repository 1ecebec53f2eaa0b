"""The report: verdicts computed from per-scene records (synthetic ones, so we know the answer),
paired by scene, with uncertainty; the committed results carry the new keys."""

import json

import numpy as np
import pytest

from deletionlab.negprompt.aggregate import DEFINITIONS, summarize
from deletionlab.negprompt.report import compare, load_results, mean_overlap_curves, paper_critical_steps

STEPS = 30
STARTS = list(range(STEPS))


def scene(pos: int | None, neg: int | None, *, adaptive: int = 12, removed_until: int = 9, bg0: float = 0.06,
          adaptive_removed: bool | None = None, adaptive_bg: float | None = None, inside: float = 0.6, outside: float = 0.1) -> dict:
    """One scene's record as ``experiment.SceneResult`` writes it (only the fields the summary reads)."""
    removed = [k <= removed_until for k in STARTS]
    bg = [bg0 * (1 - k / STEPS) for k in STARTS]
    att = {"pos_noun": pos, "neg_noun": neg}
    return {
        "rendered": True, "attention": att,
        "attention_steps": {key: {d: v for d in DEFINITIONS} for key, v in att.items()},
        "starts": STARTS[::3], "object_starts": STARTS,
        "removed": {"object": removed}, "other_kept": {"object": [True] * STEPS}, "background": {"object": bg},
        "outcome_critical": {"object": removed_until}, "adaptive_start": adaptive,
        "adaptive": {"removed": removed[adaptive] if adaptive_removed is None else adaptive_removed, "other_kept": True,
                     "background": bg[adaptive] if adaptive_bg is None else adaptive_bg},
        "neutralization": {"cos_in": [inside] * STEPS, "cos_out": [outside] * STEPS,
                           "residual_in": [1 - inside] * STEPS, "residual_out": [1 - outside] * STEPS},
    }


def rows_of(scenes: list[dict]) -> dict:
    summary = summarize(scenes, [], steps=STEPS, guidance=5.0, threshold=0.8)
    json.dumps(summary, allow_nan=False)  # results.json stays valid JSON: no NaN anywhere
    return {r.claim: r for r in compare({"summary": summary})}


def row(rows: dict, start: str):
    return next(r for c, r in rows.items() if c.startswith(start))


def test_the_delayed_effect_is_judged_scene_by_scene():
    later = [scene(4, 7) for _ in range(20)] + [scene(6, 5) for _ in range(3)] + [scene(5, 5)]
    r = row(rows_of(later), "delayed effect: the noun")
    assert r.verdict.startswith("agrees: later in the negative") and "later 20, earlier 3, equal 1" in r.ours
    assert "median Δ +3.0" in r.ours
    earlier = [scene(7, 4) for _ in range(20)] + [scene(4, 7) for _ in range(3)]
    assert row(rows_of(earlier), "delayed effect: the noun").verdict.startswith("not reproduced: earlier in the negative")
    balanced = [scene(4, 7) for _ in range(6)] + [scene(7, 4) for _ in range(6)]
    assert row(rows_of(balanced), "delayed effect: the noun").verdict.startswith("not shown")
    # an unpaired mean difference would say "later" here; paired, most scenes are earlier
    skewed = [scene(2, 1) for _ in range(15)] + [scene(1, 25) for _ in range(3)]
    assert row(rows_of(skewed), "delayed effect: the noun").verdict.startswith("not reproduced: earlier")
    assert row(rows_of(later[:3]), "delayed effect: the noun").verdict == "too few scenes to judge (n = 3)"


def test_a_delay_that_flips_with_the_definition_is_only_partly_reproduced():
    scenes = []
    for _ in range(20):
        sc = scene(6, 8)  # later at the run's threshold (0.8) ...
        sc["attention_steps"]["neg_noun"].update({"0.5": 2, "0.6": 3})  # ... but earlier at 0.5 and 0.6
        scenes.append(sc)
    r = row(rows_of(scenes), "delayed effect: the noun")
    assert r.verdict.startswith("partly: later in the negative under settled 70%, settled 80%, settled 90%, largest rise")
    assert "earlier under settled 50%, settled 60%" in r.verdict


def test_the_critical_step_verdict_uses_the_interval_and_names_the_closest_definition():
    near = [scene(3, 5 + (i % 3) - 1) for i in range(30)]
    rows = rows_of(near)
    assert row(rows, "critical step of nouns").verdict == "agrees (within 2 steps)"
    assert row(rows, "the noun's critical step under each definition").verdict.startswith("closest: ")
    far = [scene(3, 15 + (i % 5)) for i in range(30)]
    assert row(rows_of(far), "critical step of nouns").verdict == "not reproduced: later than reported"


def test_application_and_adaptive_verdicts_follow_the_data():
    # removal holds up to start 9 in every scene with less background change: the paper's claim
    base = [scene(4, 6, removed_until=9) for _ in range(30)]
    rows = rows_of(base)
    app = row(rows, "a later start still removes")
    assert app.verdict.startswith("agrees: start 9 removes") and "≥ 90% until start 9" in app.ours
    # adaptive = the fixed start at its mean step, scene for scene: no advantage
    assert row(rows, "the adaptive start beats a fixed start").verdict == "no advantage: no significant difference"
    # the fixed start at the same mean step removes more
    worse = [scene(4, 6, adaptive=12, removed_until=20, adaptive_removed=i % 3 == 0) for i in range(30)]
    assert row(rows_of(worse), "the adaptive start beats").verdict.startswith("no advantage: the fixed start does better")
    # the adaptive start changes the background less in every scene, removing as often
    better = [scene(4, 6, adaptive=12, removed_until=20, adaptive_bg=0.001) for _ in range(30)]
    assert row(rows_of(better), "the adaptive start beats").verdict == "advantage: less background change"
    # removal breaks down at start 1: no later start keeps 90 %
    early = [scene(4, 6, removed_until=0 if i % 2 else 9) for i in range(30)]
    assert row(rows_of(early), "a later start still removes").verdict.startswith("not reproduced")


def test_neutralization_verdict():
    yes = [scene(4, 6, inside=0.6 + 0.01 * i, outside=0.1) for i in range(20)]
    assert row(rows_of(yes), "deletion by neutralization").verdict.startswith("agrees")
    # aligned more inside, residual smaller inside, but above 1: the negative prompt cancels nothing
    no_cancel = [scene(4, 6, inside=0.6 + 0.01 * i, outside=0.1) for i in range(20)]
    for sc in no_cancel:
        sc["neutralization"]["residual_in"] = [1.5] * STEPS
        sc["neutralization"]["residual_out"] = [2.5] * STEPS
    assert row(rows_of(no_cancel), "deletion by neutralization").verdict.startswith("partly: inside the object the pushes align more")
    assert "nothing is cancelled" in row(rows_of(no_cancel), "deletion by neutralization").verdict
    no = [scene(4, 6, inside=0.1 + 0.01 * (i % 3 - 1), outside=0.1) for i in range(20)]
    assert row(rows_of(no), "deletion by neutralization").verdict == "not reproduced"


def test_summary_keys_of_issue_10():
    summary = summarize([scene(4, 7, bg0=0.05 + 0.01 * i) for i in range(8)], [], steps=STEPS, guidance=5.0, threshold=0.8)
    d = summary["delayed_effect_paired"]
    assert {"n", "later", "earlier", "equal", "median_difference", "p_value"} <= set(d) and d["n"] == 8
    assert set(summary["critical_step_by_threshold"]["neg_noun"]) == set(DEFINITIONS)
    by_start = summary["removal_by_start"]["object"]
    assert by_start["starts"] == STARTS and len(by_start["removed_ci"]) == STEPS
    assert all(se > 0 for se in by_start["background_se"])  # the scenes differ: a real spread, never an s.e. of 0
    assert {"cos_in", "cos_out", "residual_in", "residual_out", "cos_paired", "residual_paired"} <= set(summary["neutralization"])


def test_paper_steps_scale_with_the_step_count():
    assert paper_critical_steps(30) == {"noun": 5.0, "adjective": 10.0}
    assert paper_critical_steps(60) == {"noun": 10.0, "adjective": 20.0}


def test_mean_overlap_curves_average_the_usable_scenes_only():
    scenes = [
        {"rendered": True, "attention_curves": {"pos_noun": [0.1, 0.3], "neg_noun": [0.2, 0.2]}},
        {"rendered": True, "attention_curves": {"pos_noun": [0.3, 0.5]}},
        {"rendered": False, "attention_curves": {"pos_noun": [9.0, 9.0]}},  # skipped scene
    ]
    out = mean_overlap_curves({"scenes": scenes})
    assert set(out) == {"pos_noun", "neg_noun"}
    np.testing.assert_allclose(out["pos_noun"], [0.2, 0.4])
    np.testing.assert_allclose(out["neg_noun"], [0.2, 0.2])


def test_committed_results_have_the_new_keys_and_a_full_table():
    results = load_results()
    if results is None:
        pytest.fail("src/deletionlab/assets/negprompt/results.json is missing (scripts/negprompt_experiment.py)")
    assert results["made_by"]["command"].startswith("python scripts/negprompt_experiment.py")
    summary = results["summary"]
    for key in ("delayed_effect_paired", "critical_step_by_threshold", "removal_by_start", "neutralization"):
        assert key in summary, key
    assert results["config"]["scenes"] == summary["scenes"] >= 60
    rows = compare(results)
    assert len(rows) >= 12 and all(r.verdict for r in rows)
    assert any(r.claim.startswith("reverse activation") for r in rows)
