"""The windowed sampler against diffusers' own StableDiffusionPipeline, sweeps and recordings."""

import numpy as np
import pytest
import torch

from deletionlab.core import UserError
from deletionlab.negprompt.sampler import NegativeWindowCallback, Settings, pipeline_image, run, validate

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one torch thread (conftest)

PROMPT, NEG = "a red circle above a blue square", "a blue square"


def S(**kw):
    base = dict(prompt=PROMPT, negative_prompt=NEG, steps=12, guidance=5.0, seed=11)
    base.update(kw)
    return Settings(**base)


@pytest.mark.parametrize("window", [(0, 12), (4, 12), (0, 5), (3, 9)])
def test_window_reproduces_the_pipeline(tiny_pipe, window):
    s = S(start=window[0], end=window[1])
    ours = run(tiny_pipe, s).main.image
    theirs = pipeline_image(tiny_pipe, s)  # the pipeline itself (+ our callback for a delayed window)
    assert ours.shape == theirs.shape == (32, 32, 3)
    assert np.abs(ours - theirs).max() <= 1e-3


def test_full_window_is_plain_negative_prompt_call(tiny_pipe):
    s = S()
    out = tiny_pipe(PROMPT, negative_prompt=NEG, num_inference_steps=12, guidance_scale=5.0,
                    generator=torch.Generator().manual_seed(11), output_type="np").images[0]
    assert np.abs(run(tiny_pipe, s).main.image - out).max() <= 1e-3


def test_negative_prompt_changes_the_image_and_window_matters(tiny_pipe):
    full = run(tiny_pipe, S(guidance=7.0)).main.image
    none = run(tiny_pipe, S(guidance=7.0, negative_prompt="")).main.image
    late = run(tiny_pipe, S(guidance=7.0, start=9)).main.image
    assert np.abs(full - none).max() > 1e-3
    assert np.abs(late - none).mean() < np.abs(full - none).mean()


def test_sweep_equals_independent_runs_and_shares_the_prefix(tiny_pipe):
    starts = [0, 2, 5, 8, 11]
    s = S()
    sweep = run(tiny_pipe, s, windows=[(k, 12) for k in starts], record=False, previews=False)
    assert sweep.unet_calls == 12  # one batched UNet call per step for all branches
    assert sweep.unet_batch_total == 2 * 12 + 2 * sum(12 - k for k in starts)
    for k, branch in zip(starts, sweep.branches):
        single = pipeline_image(tiny_pipe, S(start=k))
        assert np.abs(branch.image - single).max() <= 1e-3
    # the trunk is the run without negative prompt
    assert np.abs(sweep.trunk.image - run(tiny_pipe, S(negative_prompt="")).trunk.image).max() <= 1e-5


def test_rerender_from_cached_trunk_computes_only_the_suffix(tiny_pipe):
    first = run(tiny_pipe, S(start=0))
    again = run(tiny_pipe, S(start=7), trunk=first.trunk, prompts=first.prompts)
    assert again.unet_calls == 12 - 7
    fresh = run(tiny_pipe, S(start=7))
    assert np.abs(again.main.image - fresh.main.image).max() <= 1e-5
    assert len(again.main.records) == 12 and again.main.records[3] is first.trunk.records[3]
    with pytest.raises(ValueError, match="cached trunk"):
        run(tiny_pipe, S(seed=12, start=3), trunk=first.trunk)


def test_recordings_have_the_promised_shapes(tiny_pipe):
    r = run(tiny_pipe, S(start=4))
    main, trunk = r.main, r.trunk
    assert len(main.records) == len(trunk.records) == 12
    assert main.previews.shape == (12, 32, 32, 3) and main.previews.dtype == np.uint8
    n_tok = max(len(r.prompts.pos_tokens), len(r.prompts.neg_tokens))
    for rec in main.records:
        assert set(rec.eps) == {"empty", "pos", "neg"}
        assert all(v.shape == (1, 4, 16, 16) for v in rec.eps.values())
        assert rec.x0.shape == rec.latent.shape == (1, 4, 16, 16)
        assert set(rec.attention) == {"pos", "neg"}
        assert set(rec.attention["pos"]) == {8, 4}  # cross-attention at 8x8 and 4x4
        for side, m in rec.attention["neg"].items():
            assert m.shape == (n_tok, side, side)
            # softmax over 77 text positions: the kept tokens carry at most all of it
            assert float(m.sum(0).max()) <= 1.0 + 1e-5 and float(m.min()) >= 0
        assert rec.negative_active == (rec.index >= 4)
    assert [rec.index for rec in main.records] == list(range(12))
    assert r.prompts.pos_tokens[2:4] == ["red", "circle"]


def test_validation_messages():
    assert validate(S()) == []
    for bad, msg in [(S(prompt=" "), "empty"), (S(steps=0), "between 1"), (S(steps=10_000), "between 1"),
                     (S(start=9, end=3), "after the end"), (S(guidance=float("nan")), "Guidance"),
                     (S(prompt="x" * 5000), "2000 characters"), (S(start=40), "start step")]:
        with pytest.raises(UserError, match=msg):
            validate(bad)
    assert any("equals the prompt" in n for n in validate(S(negative_prompt=PROMPT)))
    assert any("never acts" in n for n in validate(S(start=5, end=5)))
    with pytest.raises(UserError, match="after the end"):  # extra windows (a sweep's) are checked in the same place
        validate(S(), windows=[(2, 12), (7, 4)])
    with pytest.raises(UserError, match="end step"):
        run(None, S(), windows=[(0, 13)])  # run validates before touching the pipeline


BAD_NUMBERS = [-1, 0, 1e308, 2**64, 10**308, float("nan"), float("inf"), None, "7", True]


@pytest.mark.parametrize("field,words", [("seed", "seed"), ("steps", "steps"), ("guidance", "Guidance"),
                                         ("start", "start step"), ("end", "end step")])
def test_every_number_is_checked_with_one_short_sentence(field, words):
    """Issue 18, item 1: seeds and steps (and the rest) are validated in the science; the message
    names the field and its range and never quotes a 309-digit number."""
    ok = {"seed": [0, 2**32 - 1], "steps": [1, 150], "guidance": [1, 1.0, 30.0], "start": [0, 12], "end": [0, 12]}[field]
    for value in ok:
        validate(S(**{field: value}, **({"start": 0} if field == "end" else {})))
    for value in BAD_NUMBERS:
        if value in ok or (field in ("start", "end") and value == 0) or (field == "end" and value is None):
            continue  # valid (end None = to the last step)
        with pytest.raises(UserError) as e:
            validate(S(**{field: value}))
        msg = str(e.value)
        assert words in msg and "between" in msg and len(msg) < 160 and msg.count(". ") == 0, msg
        assert "0000000000000" not in msg  # a huge number is described, not printed
    if field == "seed":
        with pytest.raises(UserError, match="a 309-digit number"):
            validate(S(seed=10**308))


def test_prompts_must_be_text_of_bounded_length():
    for bad, msg in [(S(prompt=None), "prompt must be text"), (S(negative_prompt=None), "negative prompt must be text"),
                     (S(prompt="a " * 1500), "prompt is limited"), (S(negative_prompt="x" * 2001), "negative prompt is limited"),
                     (S(prompt="\n \t"), "empty")]:
        with pytest.raises(UserError, match=msg):
            validate(bad)
    with pytest.raises(UserError, match="seed"):
        run(None, S(seed=float("nan")))  # run validates before converting anything


def test_a_prompt_longer_than_77_tokens_gets_a_notice_with_the_dropped_part(tiny_pipe):
    from deletionlab.negprompt.sampler import dropped_text, encode

    long = "a red circle above a blue square, " * 12 + "and finally a yellow triangle"
    lost = dropped_text(tiny_pipe.tokenizer, long)
    assert lost.endswith("yellow triangle") and dropped_text(tiny_pipe.tokenizer, PROMPT) == ""
    prompts = encode(tiny_pipe, long, NEG)
    assert len(prompts.notices) == 1 and "prompt is longer than the 77 tokens" in prompts.notices[0]
    assert "yellow triangle" in prompts.notices[0] and len(prompts.notices[0]) < 300
    assert any("ignores the end" in n for n in run(tiny_pipe, S(prompt=long, steps=2), record=False, previews=False).notices)


class _FakePipe:
    """Just enough of a pipeline for the callback: encode_prompt returns labelled embeddings."""

    unet = type("U", (), {"device": torch.device("cpu")})()

    def __init__(self):
        self.calls = 0

    def encode_prompt(self, prompt, device, n, cfg, negative):
        self.calls += 1
        return torch.full((1, 2), 1.0), torch.full((1, 2), 2.0 if negative else 0.0)


def test_window_callback_switches_the_negative_prompt_in_and_out():
    from diffusers.callbacks import PipelineCallback

    cb = NegativeWindowCallback(PROMPT, NEG, start=3, end=7)
    assert isinstance(cb, PipelineCallback) and cb.tensor_inputs == ["prompt_embeds"]
    assert (cb.config.start, cb.config.end, cb.config.negative_prompt) == (3, 7, NEG)
    pipe, seen = _FakePipe(), []
    kwargs = {"prompt_embeds": torch.zeros(2, 2)}
    for i in range(10):  # the pipeline calls it after every step; step i + 1 uses what it returns
        kwargs = cb(pipe, i, 999 - i, kwargs)
        seen.append(float(kwargs["prompt_embeds"][0, 0]))  # the unconditional half comes first
    assert seen == [0, 0, 2, 2, 2, 2, 0, 0, 0, 0] and pipe.calls == 2  # negative acts in steps 3..6
