"""FLOPs per byte of every architecture: the paper's formulas, and a count of our own modules.

The paper (section 3 and appendix A) counts multiply-adds of the matrix products: a Transformer block
of width d at one position costs ``4d²`` (query, key, value, output maps) + ``2·e·d²`` (the feed-forward,
e = 4) + ``2·d·W`` (scores and weighted values over W keys), and the output layer ``d·V``. One
multiply-add is 2 FLOPs; training costs 3× inference (forward + backward). Per token::

    FLOPs = (2·m_global + 2·L_g·2·T_g·D)·T_g/T + 2·m_local + 2·L_l·2·W·d,   m = L·4D² + L·2·e·D² (+ D·V on the output side)

for SpaceByte (global blocks at T_g of the T positions), and the obvious special cases for the others.
FLOPs per byte = FLOPs per token / bytes per token (1 for byte-level models).

``as_implemented=True`` counts the keys our code actually multiplies: the chunked sliding window
(``models.window_attention``) scores 2W keys per query (half of them masked) where the paper counts W.
:func:`count_flops` runs a model under PyTorch's ``FlopCounterMode`` and is compared with this in tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from deletionlab.spacebyte.models import ARCHS, FF_MULT, ModelConfig

#: training FLOPs = TRAIN_FACTOR × inference FLOPs (forward + backward, paper section 3)
TRAIN_FACTOR = 3


def block_mult_adds(d: int, keys: float) -> float:
    """Multiply-adds of one Transformer block at one position attending to ``keys`` keys."""
    return 4 * d * d + 2 * FF_MULT * d * d + 2 * d * keys


def _keys(T: int, window: int, as_implemented: bool) -> int:
    """Keys per query of a (possibly windowed) attention over T positions."""
    if not window or window >= T:
        return T
    return 2 * window if as_implemented else window


@dataclass
class Cost:
    """Inference multiply-adds per *position* (byte, or token for ``subword``), by part."""

    weights: float     # matrix products with weights inside blocks (4d² + 2ed² per block)
    attention: float   # scores and weighted values (2·d·W per block)
    other: float       # output layer d·V and MegaByte's global-to-local map

    @property
    def total(self) -> float:
        return self.weights + self.attention + self.other


def mult_adds(cfg: ModelConfig, as_implemented: bool = False) -> Cost:
    """Inference multiply-adds per position of a model, following the paper's accounting."""
    c = cfg.resolved()
    D, L, T, V = c.d_model, c.n_layers, c.context, c.vocab
    dense = 4 * D * D + 2 * FF_MULT * D * D
    if c.arch in ("byte", "byte_window", "subword"):
        return Cost(L * dense, L * 2 * D * _keys(T, c.window, as_implemented), D * V)
    d, Ll, P = c.d_local, c.n_local, c.patch
    local_dense = 4 * d * d + 2 * FF_MULT * d * d
    if c.arch == "megabyte":
        K = T // P
        return Cost(L * dense / P + Ll * local_dense, L * 2 * D * K / P + Ll * 2 * d * P, (D // P) * d + d * V)
    G = min(c.t_global, T)
    share = G / T  # fraction of positions where the global blocks run
    return Cost(L * dense * share + Ll * local_dense,
                L * 2 * D * G * share + Ll * 2 * d * _keys(T, c.window, as_implemented), d * V)


def flops_per_byte(cfg: ModelConfig, bytes_per_token: float = 1.0, train: bool = False, as_implemented: bool = False) -> float:
    """Inference (or training, ×3) FLOPs per byte; ``bytes_per_token`` only matters for ``subword``."""
    per_pos = 2 * mult_adds(cfg, as_implemented).total
    if cfg.arch == "subword":
        per_pos /= bytes_per_token
    return per_pos * (TRAIN_FACTOR if train else 1)


def param_counts(cfg: ModelConfig) -> dict:
    """Non-embedding parameters of the global and local parts by the paper's formula (L·12·d²)."""
    c = cfg.resolved()
    per = 4 + 2 * FF_MULT
    out = {"global": c.n_layers * per * c.d_model ** 2}
    if c.d_local:
        out["local"] = c.n_local * per * c.d_local ** 2
    return out


def _flash_cpu_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """FLOPs of PyTorch's CPU flash attention kernel: the same as any SDPA, 4·B·h·Tq·Tk·d (full
    score matrix; the causal mask is not subtracted, as in the paper's accounting)."""
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(query_shape, key_shape, value_shape)


def count_flops(model: torch.nn.Module, length: int | None = None, seed: int = 0) -> float:
    """Forward FLOPs per position of ``model`` counted by ``torch.utils.flop_counter`` on one random
    sequence of ``length`` positions (default: the model's context); BOS first, bytes after."""
    from torch.utils.flop_counter import FlopCounterMode

    c = model.cfg
    T = length or c.context
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(32, 127, (1, T), generator=g)
    if c.arch != "subword":
        x[0, 0] = 255
    flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    with torch.no_grad(), FlopCounterMode(display=False, custom_mapping={flash: _flash_cpu_flops}) as counter:
        model(x)
    return counter.get_total_flops() / T


def calculator(d_model: int, n_layers: int, context: int, patch: int, vocab: int = 50257,
               bytes_per_token: float = 4.0) -> dict[str, Cost]:
    """Inference multiply-adds per *byte* of every architecture at one setting (the FLOPs calculator):
    D and L of the global model, a context of T bytes, patch size P; SpaceByte and MegaByte use
    d = D/2 and L local layers; the subword model has the same width over T/bytes_per_token tokens."""
    out = {}
    for arch in ARCHS:
        if arch == "subword":
            cfg = ModelConfig(arch, d_model, n_layers, context=max(2, int(context / bytes_per_token)), vocab=vocab)
        elif arch == "byte_window":
            cfg = ModelConfig(arch, d_model, n_layers, context=context, window=d_model)
        elif arch == "byte":
            cfg = ModelConfig(arch, d_model, n_layers, context=context)
        else:
            cfg = ModelConfig(arch, d_model, n_layers, context=context, patch=patch, t_global=max(1, context // patch))
        cost = mult_adds(cfg)
        if arch == "subword":
            cost = Cost(cost.weights / bytes_per_token, cost.attention / bytes_per_token, cost.other / bytes_per_token)
        out[arch] = cost
    return out
