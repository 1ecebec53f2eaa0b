"""Analyses: critical steps, overlaps, cancellation maps, removal scores (hand-made cases + tiny pipeline)."""

import numpy as np
import pytest
import torch

from deletionlab.negprompt import analysis, world
from deletionlab.negprompt.experiment import NEGATIVE_KINDS, SceneResult, StudyResults, draw_scenes, negative_for, scene_study
from deletionlab.negprompt.sampler import Settings, run

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one torch thread (conftest)


def test_settle_step_is_the_first_step_from_which_the_curve_stays_up():
    assert analysis.settle_step([0.1, 0.6, 0.2, 0.7, 0.8], 0.5) == 3
    assert analysis.settle_step([0.9, 0.9], 0.5) == 0
    assert analysis.settle_step([0.9, 0.1], 0.5) is None
    # relative level: 80 % of the way from chance (0.1) to the final overlap (0.3) = 0.26
    assert analysis.settle_level([0.1, 0.2, 0.3], 0.8, 0.1) == pytest.approx(0.26)
    assert analysis.settle_level([0.1, 0.12, 0.13], 0.8, 0.1) is None  # never 1.5x chance: no focus
    maps = np.zeros((4, 4, 4))
    maps[:, :, :] = 1 / 16
    maps[2:, :2, :2] = 0.25  # from step 2 on all attention sits on the top-left quarter
    maps[2:, 2:, :] = 0
    maps[2:, :2, 2:] = 0
    mask = np.zeros((32, 32), bool)
    mask[:16, :16] = True
    ac = analysis.critical_from_maps("w", "pos", maps, mask)
    assert ac.chance == pytest.approx(0.25) and ac.step == 2 and ac.level == pytest.approx(0.25 + 0.8 * 0.75)


def test_mask_overlap_counts_attention_mass_on_the_object():
    mask = np.zeros((32, 32), bool)
    mask[:16, :16] = True  # top-left quarter
    maps = np.zeros((3, 8, 8))
    maps[0, :4, :4] = 1  # all inside
    maps[1] = 1  # uniform -> area fraction
    maps[2, 4:, 4:] = 1  # all outside
    ov = analysis.mask_overlap(maps, mask)
    assert ov == pytest.approx([1.0, 0.25, 0.0])
    assert analysis.resize_mask(mask, 4).sum() == pytest.approx(4.0)


def test_token_index_follows_the_right_adjective():
    toks = ["<|startoftext|>", "a", "red", "square", "above", "a", "blue", "square", "<|endoftext|>"]
    assert analysis.token_index(toks, "square") == 3
    assert analysis.token_index(toks, "square", after="blue") == 7
    assert analysis.token_index(toks, "circle") is None


def test_b_token_when_a_has_the_same_shape_or_the_same_colour():
    """Issue 10, item 1: "a red square above a square" -- B's noun is the *second* "square"; "a red
    circle left of a red shape" -- B's adjective is the second "red"."""
    same_shape = ["<|startoftext|>", "a", "red", "square", "above", "a", "square", "<|endoftext|>"]
    assert analysis.object_token_index(same_shape, "square", ("yellow", "square")) == 6  # B, drawn yellow
    assert analysis.object_token_index(same_shape, "square", ("red", "square")) == 3  # A names it exactly
    same_colour = ["<|startoftext|>", "a", "red", "circle", "left", "of", "a", "red", "shape", "<|endoftext|>"]
    assert analysis.object_token_index(same_colour, "red", ("red", "square")) == 7
    assert analysis.object_token_index(same_colour, "red", ("red", "circle")) == 2
    assert analysis.object_token_index(same_colour, "blue", ("blue", "square")) is None
    negative = ["<|startoftext|>", "a", "yellow", "square", "<|endoftext|>"]
    assert analysis.object_token_index(negative, "square", ("yellow", "square")) == 3
    spans = analysis.object_spans(same_shape)
    assert [(sp["colour"], sp["shape"]) for sp in spans] == [("red", "square"), (None, "square")]


def test_b_token_on_the_real_tokenizer(tiny_pipe):
    from deletionlab.negprompt.sampler import _tokens

    toks = _tokens(tiny_pipe.tokenizer, "a red square above a square")
    i = analysis.object_token_index(toks, "square", ("blue", "square"))
    assert toks[i] == "square" and i == len(toks) - 2 and analysis.token_index(toks, "square") < i


def test_critical_step_definitions_move_with_the_threshold():
    chance = 0.1
    curve = [0.10, 0.11, 0.20, 0.22, 0.26, 0.28, 0.30]  # final 0.3: level(f) = 0.1 + f * 0.2
    steps = analysis.critical_steps(curve, chance)
    assert set(steps) == {"0.5", "0.6", "0.7", "0.8", "0.9", "rise"}
    assert steps["0.5"] == 2 and steps["0.6"] == 3 and steps["0.7"] == 4 and steps["0.8"] == 4 and steps["0.9"] == 5
    assert steps["rise"] == 2  # 0.11 -> 0.20 is the largest per-step rise
    assert analysis.rise_step([0.1, 0.12, 0.13], 0.1) is None  # never 1.5x chance: no critical step at all
    assert all(v is None for v in analysis.critical_steps([0.1, 0.12, 0.13], 0.1).values())


def _record(i, p, n):
    from deletionlab.negprompt.sampler import StepRecord

    z = torch.zeros_like(p)
    return StepRecord(index=i, timestep=999 - i, latent=z, eps={"empty": z.clone(), "pos": p, "neg": n})


def test_neutralization_by_hand():
    """Inside the mask N = w/(w−1)·P (the guided push w·P − (w−1)·N vanishes); outside N = 0 (untouched)."""
    from deletionlab.negprompt.sampler import Trajectory

    w = 5.0
    g = torch.Generator().manual_seed(0)
    p = torch.randn(1, 4, 16, 16, generator=g)
    inside = torch.zeros(16, 16, dtype=torch.bool)
    inside[:8, :8] = True
    n = torch.where(inside, p * w / (w - 1), torch.zeros_like(p))
    traj = Trajectory(window=None, records=[_record(0, p, n), _record(1, p, -n)])
    mask = np.zeros((32, 32), bool)
    mask[:16, :16] = True
    ne = analysis.neutralization(traj, mask, w)
    assert ne.cos_in[0] == pytest.approx(1.0, abs=1e-5) and ne.residual_in[0] == pytest.approx(0.0, abs=1e-5)
    assert ne.cos_out[0] == pytest.approx(0.0, abs=1e-6) and ne.residual_out[0] == pytest.approx(1.0, abs=1e-5)
    # N opposite to P: no cancellation but amplification, residual 1 + (w−1)·(w/(w−1)) / w = 2
    assert ne.cos_in[1] == pytest.approx(-1.0, abs=1e-5) and ne.residual_in[1] == pytest.approx(2.0, abs=1e-4)
    assert set(ne.as_lists()) == {"cos_in", "cos_out", "residual_in", "residual_out"}
    with pytest.raises(ValueError, match="mask"):
        analysis.neutralization(traj, np.zeros((32, 32), bool), w)


def test_outcome_critical_step_is_the_last_start_of_the_removing_prefix():
    assert analysis.outcome_critical_step([0, 5, 10, 15], [True, True, False, True]) == 5
    assert analysis.outcome_critical_step([10, 0, 5], [False, True, True]) == 5
    assert analysis.outcome_critical_step([0, 5], [False, True]) is None


def test_removal_score_on_a_ground_truth_scene():
    s = world.scene_for_caption("a green triangle below a yellow circle", seed=2)
    target_mask = s.masks[1]
    erased = s.image.copy()
    erased[target_mask] = 255
    sc = analysis.removal_score(erased, s.image, target_mask, ("yellow", "circle"), [("green", "triangle")])
    assert sc.removed and sc.other_kept and sc.background_change == 0.0 and sc.target_change > 0.3
    same = analysis.removal_score(s.image, s.image, target_mask, ("yellow", "circle"), [("green", "triangle")])
    assert not same.removed and same.background_change == 0.0
    noisy = s.image.astype(int) + 20
    sc2 = analysis.removal_score(np.clip(noisy, 0, 255).astype(np.uint8), s.image, target_mask, ("yellow", "circle"))
    assert sc2.background_change > 0.0


def test_cancellation_maps_on_a_run(tiny_pipe):
    r = run(tiny_pipe, Settings("a red circle above a blue square", "a blue square", steps=10, guidance=5.0, seed=1, start=4))
    cm = analysis.cancellation_maps(r)
    assert cm.cosine.shape == (10, 16, 16) and np.all(np.abs(cm.cosine) <= 1 + 1e-5)
    assert np.all(cm.latent_diff[:5] == 0)  # identical to the run without negative until it starts acting
    assert cm.latent_diff[-1].mean() > 0
    assert list(cm.negative_active) == [i >= 4 for i in range(10)]
    # ε(pos) − ε(neg) recomputed by hand at one step
    rec = r.main.records[6]
    np.testing.assert_allclose(cm.pos_minus_neg[6], (rec.eps["pos"] - rec.eps["neg"])[0].norm(dim=0).numpy(), rtol=1e-6)
    regions = cm.region_means(np.pad(np.ones((8, 8), bool), ((0, 24), (0, 24))))
    assert regions["cosine_in"].shape == (10,) and regions["residual_out"].shape == (10,)
    # cos(P, N) and the residual of the guided push, by hand at one pixel
    p = (rec.eps["pos"] - rec.eps["empty"])[0, :, 3, 5]
    n = (rec.eps["neg"] - rec.eps["empty"])[0, :, 3, 5]
    assert cm.pn_cosine[6, 3, 5] == pytest.approx(float(p @ n / (p.norm() * n.norm())), abs=1e-5)
    assert cm.residual[6, 3, 5] == pytest.approx(float((5 * p - 4 * n).norm() / (5 * p).norm()), rel=1e-4)


def test_attention_critical_step_on_a_run(tiny_pipe):
    r = run(tiny_pipe, Settings("a red circle above a blue square", "a blue square", steps=8, guidance=3.0, seed=1))
    mask = np.zeros((32, 32), bool)
    mask[16:, 8:24] = True
    ac = analysis.attention_critical_step(r.trunk, r.prompts.neg_tokens, "square", mask, branch="neg")
    assert ac.overlap.shape == (8,) and np.all((0 <= ac.overlap) & (ac.overlap <= 1))
    assert ac.chance == pytest.approx(mask.mean())
    maps = analysis.word_maps(r.trunk, "pos", 3)
    assert maps.shape == (8, 8, 8) and np.allclose(maps.sum(axis=(1, 2)), 1, atol=1e-5)
    with pytest.raises(ValueError):
        analysis.attention_critical_step(r.trunk, r.prompts.pos_tokens, "dog", mask)


def test_scene_study_and_summary_structure(tiny_pipe):
    caption, b, a, seed = draw_scenes(1, seed=3)[0]
    assert caption.startswith(world.describe(*a)) and caption.endswith(world.describe(*b))
    assert negative_for("noun", *b) == (world.describe(None, b[1]), b)
    assert negative_for("adjective", *b) == (world.describe(b[0], None), b)
    res = scene_study(tiny_pipe, caption, b, a, seed, steps=6, starts=(0, 3))
    assert isinstance(res, SceneResult) and res.starts == [0, 3]
    if res.rendered:  # a random tiny model almost never draws both objects
        assert set(res.removed) <= set(NEGATIVE_KINDS)
    out = StudyResults(6, 3.0, 0.5, [0, 3], scenes=[res])
    summ = out.summary()
    assert summ["scenes"] == 1 and summ["rendered"] == int(res.rendered)
