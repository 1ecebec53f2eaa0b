"""FLOPs per byte: the paper's formula against a count of the operations our modules perform."""

import pytest
import torch

from deletionlab.spacebyte.flops import FF_MULT, calculator, count_flops, flops_per_byte, mult_adds, param_counts
from deletionlab.spacebyte.models import ARCHS, ModelConfig, build, n_params


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def small(arch: str) -> ModelConfig:
    return ModelConfig(arch=arch, d_model=64, n_layers=2, d_key=32, patch=4, vocab=500 if arch == "subword" else 256, context=128)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_counted_operations_equal_the_formula_with_the_keys_we_multiply(arch):
    m = build(small(arch), seed=0)
    counted = count_flops(m)
    assert counted == pytest.approx(2 * mult_adds(m.cfg, as_implemented=True).total, rel=1e-9)


@pytest.mark.parametrize("arch", ["spacebyte", "spacebyte_fixed", "byte_window"])
def test_the_paper_counts_w_keys_where_our_chunked_window_multiplies_2w(arch):
    c = build(small(arch)).cfg
    layers, width = (c.n_local, c.d_local) if arch.startswith("spacebyte") else (c.n_layers, c.d_model)
    extra = mult_adds(c, as_implemented=True).total - mult_adds(c).total
    assert extra == layers * 2 * width * c.window  # W more keys per query, per windowed layer
    assert mult_adds(c).weights == mult_adds(c, as_implemented=True).weights


def test_byte_transformer_formula_by_hand():
    # L = 2 blocks of width 64 over T = 128 keys, output 64 x 256: per byte 2 * (2*(4*64² + 8*64² + 2*64*128) + 64*256)
    c = ModelConfig("byte", 64, 2, context=128, d_key=32)
    assert flops_per_byte(c) == 2 * (2 * (4 * 64**2 + 2 * FF_MULT * 64**2 + 2 * 64 * 128) + 64 * 256) == 294912
    assert flops_per_byte(c, train=True) == 3 * 294912


def test_spacebyte_formula_is_the_papers_per_token_expression():
    # (2 m_g + 2 L_g 2 T_g D) T_g/T + 2 m_l + 2 L_l 2 W d, with m_g = L_g(4D² + 2eD²), m_l = L_l(4d² + 2ed²) + dV
    D, Lg, d, Ll, T, Tg, W, V, e = 512, 4, 256, 6, 3072, 512, 256, 256, FF_MULT
    c = ModelConfig("spacebyte", D, Lg, d_local=d, n_local=Ll, context=T, t_global=Tg, window=W, d_key=64)
    m_g = Lg * (4 * D**2 + 2 * e * D**2)
    m_l = Ll * (4 * d**2 + 2 * e * d**2) + d * V
    paper = (2 * m_g + 2 * Lg * 2 * Tg * D) * Tg / T + 2 * m_l + 2 * Ll * 2 * W * d
    assert flops_per_byte(c) == pytest.approx(paper, rel=1e-12)


def test_parameter_counts_of_the_papers_spacebyte_793m_184m():
    # SpaceByte-793M+184M (paper, section 5): D = 1536, 28 global layers; d = 768, 26 local layers
    cfg = ModelConfig("spacebyte", 1536, 28, d_local=768, n_local=26, context=8192, t_global=1344, d_key=64)
    counts = param_counts(cfg)
    assert round(counts["global"] / 1e6) == 793 and round(counts["local"] / 1e6) == 184
    with torch.device("meta"):
        m = build(cfg)
    blocks_g = sum(p.numel() for b in m.global_blocks for p in b.parameters() if p.dim() == 2)
    blocks_l = sum(p.numel() for b in list(m.initial) + list(m.final) for p in b.parameters() if p.dim() == 2)
    assert (blocks_g, blocks_l) == (counts["global"], counts["local"])  # our modules hold exactly those weights
    assert n_params(m, embeddings=False) > blocks_g + blocks_l  # plus norms and the output layer


def test_training_is_three_times_inference_and_subword_divides_by_bytes_per_token():
    c = ModelConfig("subword", 128, 2, vocab=4096, d_key=32)
    assert flops_per_byte(c, bytes_per_token=4.0, train=True) == pytest.approx(3 * flops_per_byte(c, 4.0))
    assert flops_per_byte(c, bytes_per_token=4.0) == pytest.approx(flops_per_byte(c, 1.0) / 4)


def test_calculator_spacebyte_is_cheaper_than_the_byte_transformer_at_the_same_width():
    table = calculator(1536, 28, 8192, 6)
    assert set(table) == set(ARCHS)
    sb, bt = table["spacebyte"].total, table["byte"].total
    assert sb < bt / 3  # global blocks on one byte in six, local blocks at half width
    # same cost up to rounding T/P (1365 vs 1366 global positions): only the positions differ
    assert table["spacebyte"].total == pytest.approx(table["spacebyte_fixed"].total, rel=1e-3)
