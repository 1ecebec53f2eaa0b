"""SliceGPT's algebra on tiny random models of every layout: invariance, shapes, parameter counts."""

import math

import pytest
import torch

from deletionlab.slicegpt.layouts import Unsupported, detect
from deletionlab.slicegpt.measure import flops_per_token, parameter_counts
from deletionlab.slicegpt.schedule import Dims, sliced_width
from deletionlab.slicegpt.sliced_modules import RMSN
from deletionlab.slicegpt.slicing import fuse, invariance_error, pca, random_orthogonal, rotate_and_slice, slice_model, sliced_shape
from deletionlab.slicegpt.tiny import TINY, tiny_model

V, D, F = TINY["vocab"], TINY["hidden"], TINY["ffn"]


def calib(seed=0, n=2, batch=4, length=32):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(3, V, (batch, length), generator=g) for _ in range(n)]


TEST_IDS = torch.randint(3, V, (2, 24), generator=torch.Generator().manual_seed(99))


@pytest.mark.parametrize("layout", ["llama", "opt", "gpt2", "phi"])
def test_fused_and_rotated_model_computes_the_same_function_in_float64(layout):
    model = tiny_model(layout, dtype=torch.float64)
    r = invariance_error(model, calib(), TEST_IDS)
    assert r["max_abs_logit_error"] <= 1e-4, r
    assert r["max_abs_logit"] > 0.5  # the logits are not trivially zero
    if layout != "llama":  # LayerNorm models: exact to rounding (Llama's own RMSNorm rounds through float32)
        assert r["max_abs_logit_error"] < 1e-10


def test_rmsnorm_commutes_with_rotation():
    """Theorem 1: RMSNorm(X Q) Qᵀ = RMSNorm(X) for orthogonal Q (scale-free norm)."""
    x = torch.randn(5, 16, dtype=torch.float64)
    q = random_orthogonal(16, 3)
    norm = RMSN(16, 1e-6)
    assert torch.allclose(norm(x @ q) @ q.T, norm(x), atol=1e-12)
    assert torch.allclose(q.T @ q, torch.eye(16, dtype=torch.float64), atol=1e-12)
    assert torch.equal(random_orthogonal(16, 3), q)


def test_pca_sorts_eigenvectors_of_the_uncentred_second_moment():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 6, generator=g, dtype=torch.float64) * torch.tensor([5.0, 1, 3, 0.5, 2, 0.1], dtype=torch.float64) + 2.0
    evals, q = pca([x[:150], x[150:]])
    want = torch.linalg.eigvalsh(x.T @ x).flip(0)
    assert torch.allclose(evals, want, rtol=1e-9)  # undamped eigenvalues, largest first
    h = x.T @ x
    assert torch.allclose(h @ q[:, 0], evals[0] * q[:, 0], rtol=1e-6)


def test_recomputing_upstream_signals_gives_the_same_sliced_model():
    """The benchmark's naive way (rerun the sliced model up to each block) = carrying signals."""
    model = tiny_model("opt", layers=3)
    a = fuse(tiny_model("opt", layers=3))
    b = fuse(tiny_model("opt", layers=3))
    dims = Dims.from_fractions(D, [0.25, 0.5, 0.25])
    rotate_and_slice(a, calib(), dims)
    rotate_and_slice(b, calib(), dims, recompute=True)
    with torch.no_grad():
        la, lb = a.model(input_ids=TEST_IDS).logits, b.model(input_ids=TEST_IDS).logits
        assert (la - lb).abs().max() < 1e-4
        assert (la - model(input_ids=TEST_IDS).logits).abs().max() > 1e-3  # slicing did change the model


def test_sliced_widths_follow_the_paper_rounding():
    assert [sliced_width(576, s) for s in (0.1, 0.2, 0.25, 0.3)] == [512, 456, 432, 400]  # int((1-s)·576) down to a multiple of 8
    assert sliced_width(768, 0.25) == 576 and sliced_width(576, 0.0) == 576
    dims = Dims.from_fractions(32, [0.25, 0.5, 0.25])
    assert dims.embedding == 24 and dims.blocks == ((24, 24, 24), (24, 16, 16), (16, 24, 32)) and dims.head == 32
    assert Dims.from_fractions(32, [0.25, 0.25], slice_head=True).head == 24


def test_slicing_shapes_and_parameter_counts_of_a_tiny_llama():
    model = tiny_model("llama")
    sliced, info = slice_model(model, calib(), [0.25, 0.25])
    d = 24
    kv = D // 2  # 2 of 4 heads for keys and values
    blocks = sliced.model.layers
    assert tuple(blocks[0].self_attn.q_proj.weight.shape) == (D, d) and tuple(blocks[0].self_attn.k_proj.weight.shape) == (kv, d)
    assert tuple(blocks[0].self_attn.o_proj.weight.shape) == (d, D)
    assert tuple(blocks[0].mlp.gate_proj.weight.shape) == (F, d) and tuple(blocks[0].mlp.down_proj.weight.shape) == (d, F)
    assert tuple(blocks[1].mlp.down_proj.weight.shape) == (D, F)  # the last block writes the full width (head not sliced)
    assert tuple(blocks[0].attn_shortcut.shape) == (d, d) and tuple(blocks[1].mlp_shortcut.shape) == (d, D)
    assert tuple(sliced.model.embed_tokens.weight.shape) == (V, d) and tuple(sliced.lm_head.weight.shape) == (V, D)
    dense = parameter_counts(model)
    block = D * D + 2 * kv * D + D * D + 3 * D * F + 2 * D  # q, k, v, o, gate/up/down, two norm scales
    assert dense["total"] == V * D + 2 * block + D and dense["tied_head"]
    got = parameter_counts(sliced)
    b0 = D * d + 2 * kv * d + d * D + 2 * F * d + F * d          # block 0: reads d, writes d
    b1 = D * d + 2 * kv * d + d * D + 2 * F * d + F * D          # block 1: writes D
    assert got["embeddings"] == V * d and got["head"] == V * D and not got["tied_head"]
    assert got["shortcuts"] == 2 * d * d + d * d + d * D
    assert got["blocks"] == b0 + b1 and got["total"] == V * d + V * D + b0 + b1 + got["shortcuts"]
    assert info.dims.embedding == d and len(info.spectra) == 1 + 2 * 2 and all(0 <= x < 1 for x in info.discarded)


def test_opt_125m_sliced_20_percent_has_more_parameters_than_dense():
    """The study note's example, from the architecture alone (meta device, no weights)."""
    from transformers import AutoModelForCausalLM, OPTConfig

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(OPTConfig())  # OPTConfig() is OPT-125M's shape
    dense = parameter_counts(model)
    assert dense["total"] == 125_239_296
    sliced = parameter_counts(sliced_shape(model, [0.2] * 12))
    assert sliced["head"] == 50272 * 768 + 50272  # untied, with the bias that folding the final LayerNorm's shift gives
    assert sliced["total"] > dense["total"]
    fl = flops_per_token(sliced_shape(model, [0.3] * 12), 2048)["total"] / flops_per_token(model, 2048)["total"]
    assert 0.85 < fl < 0.95


def test_random_orientation_is_worse_than_pca_on_structured_signals():
    model = tiny_model("llama", layers=2)
    with torch.no_grad():
        base = model(input_ids=TEST_IDS).logits
    errs = {}
    for o in ("pca", "random"):
        s, _ = slice_model(model, calib(n=4), [0.5, 0.5], orientation=o)
        with torch.no_grad():
            errs[o] = float((s(input_ids=TEST_IDS).logits - base).pow(2).mean())
    assert errs["pca"] < errs["random"]


def test_detect_finds_the_layout_by_structure_and_refuses_others():
    st = detect(tiny_model("gpt2"))
    assert st.layout == "gpt2" and st.norm == "layernorm" and not st.slice_embeddings
    assert st.embeddings == ["transformer.wte", "transformer.wpe"]
    assert detect(tiny_model("llama")).norm == "rmsnorm"
    from transformers import BertConfig, BertLMHeadModel

    bert = BertLMHeadModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                      is_decoder=True))
    with pytest.raises(Unsupported, match="Llama") as err:
        detect(bert)
    assert "supported" in str(err.value) and "OPT" in str(err.value)
    from transformers import AutoModelForCausalLM, OPTConfig

    post = AutoModelForCausalLM.from_config(OPTConfig(vocab_size=50, hidden_size=16, ffn_dim=32, num_hidden_layers=1, num_attention_heads=2,
                                                      word_embed_proj_dim=16, do_layer_norm_before=False))
    with pytest.raises(Unsupported, match="post-norm"):
        detect(post)


def test_perplexity_grows_when_more_is_sliced():
    model = tiny_model("llama", dtype=torch.float64)
    errs = []
    with torch.no_grad():
        base = model(input_ids=TEST_IDS).logits
        for s in (0.125, 0.5, 0.75):
            sl, _ = slice_model(model, calib(n=4), [s, s])
            errs.append(float((sl(input_ids=TEST_IDS).logits - base).abs().mean()))
    assert errs == sorted(errs) and not math.isclose(errs[0], errs[-1])
