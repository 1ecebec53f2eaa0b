"""The six architectures: causal masking, SpaceByte's global positions and add-back, one training step each."""

import numpy as np
import pytest
import torch

from deletionlab.core.jobs import UserError
from deletionlab.spacebyte.models import ARCHS, ModelConfig, build, global_slots, loss_terms, window_attention
from deletionlab.spacebyte.patching import BOS, global_mask
from deletionlab.spacebyte.training import make_optimizer

TEXT = b"The cat sat on the mat, and the dog (a big one) barked: woof! Caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 ok. " * 4


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: one thread is as fast, and on a busy machine two spinning threads are 100x slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny(arch: str, **kw) -> ModelConfig:
    base = dict(arch=arch, d_model=32, n_layers=2, d_key=16, patch=4, vocab=300 if arch == "subword" else 256)
    return ModelConfig(**{**base, **kw})


def text_batch(T: int, B: int = 2) -> torch.Tensor:
    x = torch.tensor(list(TEXT[:T * B]), dtype=torch.long).view(B, T).clone()
    x[:, 0] = BOS
    return x


@pytest.fixture(scope="module", params=list(ARCHS))
def model(request):
    return build(tiny(request.param, context=128), seed=0).eval()


@pytest.mark.parametrize("t", [1, 17, 40, 63])
def test_changing_byte_t_changes_no_prediction_before_t(model, t):
    T = min(model.cfg.context, 128)
    x = text_batch(T)
    with torch.no_grad():
        a = model(x).logits
        for new in (ord(" "), ord("Q"), 0xE6):  # spacelike (moves SpaceByte's global positions), letter, lead byte
            y = x.clone()
            y[:, t] = new
            b = model(y).logits
            assert torch.equal(a[:, :t], b[:, :t]), f"{model.cfg.arch}: prediction before {t} changed"
            assert not torch.equal(a[:, t:], b[:, t:]) or int(x[0, t]) == new


def test_windowed_attention_forgets_what_is_older_than_the_window():
    W = 8
    m = build(tiny("byte_window", n_layers=1, window=W, context=64), seed=0).eval()
    x = text_batch(64)
    y = x.clone()
    y[:, 10] = ord("Z")
    with torch.no_grad():
        a, b = m(x).logits, m(y).logits
    assert not torch.equal(a[:, 10:10 + W], b[:, 10:10 + W])
    assert torch.equal(a[:, 10 + W:], b[:, 10 + W:])  # one layer sees itself and the W-1 bytes before it


def test_chunked_window_attention_equals_a_masked_full_attention():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 29, 8) for _ in range(3))
    i, j = torch.arange(29)[:, None], torch.arange(29)[None]
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=(j <= i) & (i - j < 6))
    assert torch.allclose(window_attention(q, k, v, 6), ref, atol=1e-5)


def test_global_slots_gather_the_first_t_global_positions_and_cut_the_targets():
    x = torch.tensor([list(b"\xffab cd ef gh"), list(b"\xffabcdefghijk")])
    mask = global_mask(x)
    assert mask[0].nonzero().flatten().tolist() == [0, 3, 6, 9]
    index, (b, t, slot), keep, take = global_slots(mask, 3)
    assert index.shape == (2, 3)
    assert index[0].tolist() == [0, 3, 6]
    assert index[1].tolist() == [0, 11, 11]  # one global position; the rest padded with the last position
    assert keep[0].tolist() == [True] * 9 + [False] * 3  # targets from the 4th global position (9) on are dropped
    assert keep[1].all()
    assert take[0].nonzero().flatten().tolist() == [0, 3, 6]
    assert list(zip(b.tolist(), t.tolist(), slot.tolist())) == [(0, 0, 0), (0, 3, 1), (0, 6, 2), (1, 0, 0)]


def test_spacebyte_widens_with_zeros_and_adds_back_only_at_global_positions():
    m = build(tiny("spacebyte", t_global=8, context=96), seed=0).eval()
    d, D = m.cfg.d_local, m.cfg.d_model
    seen = {}
    m.initial[-1].register_forward_hook(lambda mod, i, o: seen.__setitem__("local", o))
    m.global_blocks[0].register_forward_pre_hook(lambda mod, i: seen.__setitem__("global_in", i[0]))
    m.final[0].register_forward_pre_hook(lambda mod, i: seen.__setitem__("after", i[0]))
    x = text_batch(96)
    with torch.no_grad():
        out = m(x)
    G = seen["global_in"].shape[1]
    assert seen["local"].shape == (2, 96, d) and seen["global_in"].shape == (2, G, D) and G == 8
    widened = seen["global_in"] - m.pos_global[:G]
    assert torch.allclose(widened[..., :D - d], torch.zeros(2, G, D - d), atol=1e-6)  # zeros prepended
    changed = (seen["after"] - seen["local"]).abs().amax(-1) > 0
    expected = out.global_positions  # the first T_global global positions, nowhere else
    assert torch.equal(changed, expected)
    assert int(expected[0].sum()) == 8 and out.keep[0].sum() < 96


def test_fixed_p_runs_global_blocks_every_p_bytes_and_keeps_every_target():
    m = build(tiny("spacebyte_fixed", context=64), seed=0).eval()
    with torch.no_grad():
        out = m(text_batch(64))
    assert out.global_positions[0].nonzero().flatten().tolist() == list(range(0, 64, 4))
    assert out.keep is None


def test_megabyte_handles_lengths_that_are_not_a_multiple_of_p():
    m = build(tiny("megabyte", context=64), seed=0).eval()
    with torch.no_grad():
        assert m(text_batch(30)).logits.shape == (2, 30, 256)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_one_training_step_of_each_model_lowers_the_loss_on_its_batch(arch):
    torch.manual_seed(0)
    m = build(tiny(arch), seed=0)
    T = min(m.cfg.context, 96)
    x = text_batch(T + 1)
    if arch == "subword":
        x = x % 300
    inp, tgt = x[:, :-1], x[:, 1:]
    opt = make_optimizer(m, 0.01)
    before = [p.detach().clone() for p in m.parameters()]
    losses = []
    for _ in range(3):
        s, n = loss_terms(m, inp, tgt)
        loss = s / n
        opt.zero_grad()
        loss.backward()
        assert all(p.grad is not None for p in m.parameters()), "a parameter got no gradient"
        opt.step()
        losses.append(float(loss.detach()))
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert all(not torch.equal(a, p) for a, p in zip(before, m.parameters()))


def test_linear_weights_carry_the_reference_learning_rate_multiplier():
    m = build(tiny("byte"), seed=0)
    opt = make_optimizer(m, 0.1)
    mults = sorted({round(g["lr_mult"], 6) for g in opt.param_groups})
    assert mults == sorted({round(32 ** -0.5, 6), round(128 ** -0.5, 6), 1.0})


@pytest.mark.parametrize("kw,message", [
    ({"arch": "rnn"}, "architecture must be one of"),
    ({"d_model": 8}, "d_model must be a whole number from 16"),
    ({"d_model": 96, "d_key": 64}, "multiple of the key dimension"),
    ({"arch": "megabyte", "d_model": 64, "patch": 3, "context": 64}, "multiples of P"),
])
def test_bad_configs_are_named(kw, message):
    with pytest.raises(UserError, match=message):
        build(ModelConfig(**{**dict(arch="byte", d_model=64, n_layers=1, d_key=16), **kw}))


def test_inputs_longer_than_the_context_are_refused():
    m = build(tiny("byte", context=32))
    with pytest.raises(UserError, match="context is 32"):
        m(torch.zeros(1, 33, dtype=torch.long))
