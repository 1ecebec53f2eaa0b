"""The report: verdicts computed from a results dict, means over scenes, the paper's numbers scaled."""

import numpy as np
import pytest

from deletionlab.negprompt.report import compare, load_results, mean_overlap_curves, paper_critical_steps


def _ms(mean: float) -> dict:
    return {"mean": mean, "std": 1.0, "n": 10, "never": 0}


def _summary(pos_noun: float, neg_noun: float, steps: int = 30) -> dict:
    return {"summary": {"scenes": 10, "rendered": 10, "steps": steps, "guidance": 5.0, "threshold": 0.8,
                        "attention_pos_noun": _ms(pos_noun), "attention_neg_noun": _ms(neg_noun)}}


def test_verdicts_follow_the_measured_numbers():
    rows = {r.claim: r for r in compare(_summary(pos_noun=4.0, neg_noun=6.0))}
    delay = rows["delayed effect: the noun settles later in the negative than in the positive prompt"]
    assert delay.verdict == "agrees: later in the negative" and "Δ = +2.0" in delay.ours
    crit = next(r for c, r in rows.items() if c.startswith("critical step of nouns"))
    assert crit.paper == "≈ 5" and crit.verdict == "agrees (within 2 steps)"  # |6 − 5| ≤ 2
    rows = {r.claim: r for r in compare(_summary(pos_noun=6.0, neg_noun=6.2))}
    assert rows["delayed effect: the noun settles later in the negative than in the positive prompt"].verdict == "no delay measured"
    late = next(r for r in compare(_summary(pos_noun=9.0, neg_noun=9.0)) if r.claim.startswith("critical step of nouns"))
    assert late.verdict == "later than reported"  # 9 > 5 + 2
    # at 60 steps the paper's 5/30 becomes 10/60
    assert next(r for r in compare(_summary(4, 6, steps=60)) if r.claim.startswith("critical step of nouns")).paper == "≈ 10"


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


def test_committed_results_give_a_full_table():
    results = load_results()
    if results is None:
        pytest.fail("src/deletionlab/assets/negprompt/results.json is missing (scripts/negprompt_experiment.py)")
    rows = compare(results)
    assert len(rows) >= 8 and all(r.verdict for r in rows)
    assert any(r.claim.startswith("reverse activation") for r in rows)
