"""The six architectures of the study, written from the paper (Slagle 2024, sections 2-3 and appendix).

All share one Transformer block: pre-LayerNorm (scale only, no biases anywhere), multi-head
attention with key dimension 64, LayerNorm on queries and keys, rotary position embedding (RoPE)
on top of a learned position embedding, and a ReLU feed-forward of width 4·d. Linear weights start
as N(0, 1/d_in) and train with a learning rate scaled by d_in^-1/2 (``lr_mult``), as in the
reference code's "simple" initialisation.

* ``byte`` -- byte-level Transformer, context T = D bytes (the paper's grid).
* ``byte_window`` -- the same with a sliding attention window W = D over a context T = P·D.
* ``subword`` -- the same over BPE tokens (context D tokens), tied input/output embedding.
* ``megabyte`` -- MegaByte: a global model of width D over patches of P bytes (each patch embedded
  as P byte embeddings of width D/P concatenated), projected to P local positions of width d, and a
  local model inside each patch.
* ``spacebyte`` -- SpaceByte: local blocks (width d, window W = d) on every byte, global blocks
  (width D) only at the positions of the spacelike rule (at most T_global of them): gather, widen
  d → D by prepending zeros, run the global blocks, add the last d dimensions back (add, not replace).
* ``spacebyte_fixed`` -- SpaceByte with the global blocks at every P-th position.

Every model maps (B, T) integer inputs to :class:`Output` (logits (B, T, V) and, for SpaceByte, which
targets count). Position t only sees inputs 0..t (tests check this for every architecture).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from deletionlab.core.jobs import UserError
from deletionlab.spacebyte.patching import BOS, global_mask

#: architecture key -> name in the paper's tables
ARCHS = {
    "spacebyte": "SpaceByte",
    "spacebyte_fixed": "SpaceByte (fixed P)",
    "megabyte": "MegaByte",
    "byte": "byte Transformer",
    "byte_window": "windowed byte Transformer",
    "subword": "subword Transformer (BPE)",
}
BYTE_VOCAB = 256
#: feed-forward width multiplier e (paper: 4)
FF_MULT = 4


@dataclass(frozen=True)
class ModelConfig:
    """One model. Zeros mean "the paper's default for this architecture" (see :meth:`resolved`).

    ``d_model`` (D) and ``n_layers`` (L) describe the global model (the only one for the
    Transformers); ``d_local`` (d) and ``n_local`` the local blocks of SpaceByte and MegaByte;
    ``context`` (T, in bytes; tokens for ``subword``); ``t_global`` SpaceByte's global context;
    ``patch`` (P) the patch size of the fixed-patch models and the window factor of ``byte_window``.
    """

    arch: str = "spacebyte"
    d_model: int = 128
    n_layers: int = 2
    d_local: int = 0
    n_local: int = 0
    context: int = 0
    t_global: int = 0
    patch: int = 6
    window: int = 0
    vocab: int = BYTE_VOCAB
    d_key: int = 64

    def resolved(self) -> ModelConfig:
        """Fill the defaults of the reference grid: SpaceByte T_global = D, T = P·T_global, d = D/2,
        window = d, local layers = L; byte Transformer T = D; windowed T = P·D, window D; MegaByte
        T = P·D, d = D/2; subword T = D tokens."""
        c = self
        if c.arch not in ARCHS:
            raise UserError(f"architecture must be one of {', '.join(ARCHS)} (got {c.arch!r}).")
        D = c.d_model
        d = c.d_local or D // 2
        if c.arch in ("byte", "subword"):
            return replace(c, context=c.context or D, d_local=0, n_local=0, window=0, t_global=0)
        if c.arch == "byte_window":
            return replace(c, context=c.context or c.patch * D, window=c.window or D, d_local=0, n_local=0, t_global=0)
        if c.arch == "megabyte":
            return replace(c, context=c.context or c.patch * D, d_local=d, n_local=c.n_local or c.n_layers, window=0, t_global=0)
        tg = c.t_global or (c.context // c.patch if c.context else D)
        T = c.context or c.patch * tg
        if c.arch == "spacebyte_fixed":
            tg = -(-T // c.patch)
        return replace(c, context=T, t_global=tg, d_local=d, n_local=c.n_local or c.n_layers, window=c.window or d)

    def validate(self) -> ModelConfig:
        """The resolved config, or a :class:`UserError` naming the field and its range."""
        c = self.resolved()
        for name, lo, hi in (("d_model", 16, 4096), ("n_layers", 1, 64), ("context", 2, 65536), ("patch", 1, 64), ("d_key", 8, 256)):
            v = getattr(c, name)
            if not lo <= v <= hi:
                raise UserError(f"{name} must be a whole number from {lo} to {hi} (got {v}).")
        widths = [("d_model", c.d_model)] + ([("d_local", c.d_local)] if c.d_local else [])
        for name, w in widths:
            if w % min(c.d_key, w):
                raise UserError(f"{name} ({w}) must be a multiple of the key dimension {c.d_key}.")
        if c.d_local and c.d_local > c.d_model:
            raise UserError(f"d_local must be at most d_model = {c.d_model} (got {c.d_local}).")
        if c.arch == "megabyte" and (c.context % c.patch or c.d_model % c.patch):
            raise UserError(f"MegaByte needs the context ({c.context}) and d_model ({c.d_model}) to be multiples of P = {c.patch}.")
        if c.arch in ("spacebyte", "spacebyte_fixed", "megabyte") and not 1 <= c.n_local <= 64:
            raise UserError(f"n_local must be a whole number from 1 to 64 (got {c.n_local}).")
        return c

    def to_dict(self) -> dict:
        return asdict(self)


# -- building blocks ---------------------------------------------------------------------------------
class Norm(nn.Module):
    """LayerNorm with a scale and no bias."""

    def __init__(self, d: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.scale)


class Linear(nn.Module):
    """Linear map without bias; weights N(0, 1/d_in), learning-rate multiplier d_in^-1/2."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in) * d_in ** -0.5)
        self.weight.lr_mult = d_in ** -0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight)


_ROPE: dict = {}


def rope_tables(T: int, dk: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the rotary embedding, (T, dk/2), cached."""
    key = (T, dk, str(device))
    if key not in _ROPE:
        inv = 1.0 / (10000 ** (torch.arange(0, dk, 2, dtype=torch.float32, device=device) / dk))
        ang = torch.outer(torch.arange(T, dtype=torch.float32, device=device), inv)
        _ROPE[key] = (ang.cos(), ang.sin())
    return _ROPE[key]


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the two halves of the last dimension of (B, h, T, dk) by the position angle."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def window_mask(W: int, n: int, device) -> torch.Tensor:
    """(n, W, 2W) boolean mask of chunked sliding-window attention: query i of chunk c sees keys
    (c-1)·W + j for j in [i+1, i+W], i.e. itself and the W-1 bytes before it (none before position 0)."""
    i = torch.arange(W, device=device)[:, None]
    j = torch.arange(2 * W, device=device)[None, :]
    m = (j > i) & (j <= i + W)
    m = m[None].repeat(n, 1, 1)
    m[0, :, :W] = False
    return m


def window_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, W: int) -> torch.Tensor:
    """Causal attention over the last W positions (self included), in chunks of W: each chunk of
    queries attends to its own and the previous chunk of keys (2W keys, half of them masked)."""
    B, h, T, dk = q.shape
    if T <= W:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    n = -(-T // W)
    pad = n * W - T
    if pad:
        q, k, v = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v))

    def keys(t):
        c = t.reshape(B * h, n, W, dk)
        prev = torch.cat([torch.zeros_like(c[:, :1]), c[:, :-1]], dim=1)
        return torch.cat([prev, c], dim=2)

    out = F.scaled_dot_product_attention(q.reshape(B * h, n, W, dk), keys(k), keys(v), attn_mask=window_mask(W, n, q.device))
    return out.reshape(B, h, n * W, dk)[:, :, :T]


class Attention(nn.Module):
    """Pre-LN multi-head causal self-attention, QK LayerNorm, RoPE; ``window`` limits it to the last W positions."""

    def __init__(self, d: int, d_key: int = 64, window: int | None = None):
        super().__init__()
        self.dk = min(d_key, d)
        self.h = d // self.dk
        self.window = window
        self.norm = Norm(d)
        self.qkv = Linear(d, 3 * d)
        self.out = Linear(d, d)
        self.q_norm, self.k_norm = Norm(self.dk), Norm(self.dk)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        q, k, v = self.qkv(self.norm(x)).view(B, T, 3, self.h, self.dk).permute(2, 0, 3, 1, 4)
        cos, sin = rope_tables(T, self.dk, x.device)
        q, k = apply_rope(self.q_norm(q), cos, sin), apply_rope(self.k_norm(k), cos, sin)
        if self.window and T > self.window:
            y = window_attention(q, k, v, self.window)
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(B, T, d))


class FeedForward(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.norm = Norm(d)
        self.up = Linear(d, FF_MULT * d)
        self.down = Linear(FF_MULT * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.relu(self.up(self.norm(x))))


class Block(nn.Module):
    """x + attention(x), then x + feed-forward(x)."""

    def __init__(self, d: int, d_key: int = 64, window: int | None = None):
        super().__init__()
        self.attention = Attention(d, d_key, window)
        self.feedforward = FeedForward(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(x)
        return x + self.feedforward(x)


@dataclass
class Output:
    """What a model returns: logits (B, T, V); ``keep`` (B, T) marks the targets that count (SpaceByte
    drops those past its T_global-th global position); ``global_positions`` where global blocks ran."""

    logits: torch.Tensor
    keep: torch.Tensor | None = None
    global_positions: torch.Tensor | None = None


class Head(nn.Module):
    """Final LayerNorm and the linear map to the vocabulary (tied to an embedding if given)."""

    def __init__(self, d: int, vocab: int, tied: nn.Embedding | None = None):
        super().__init__()
        self.norm = Norm(d)
        self.tied = tied
        self.linear = None if tied is not None else Linear(d, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        if self.tied is not None:
            return F.linear(x * x.shape[-1] ** -0.5, self.tied.weight)
        return self.linear(x)


def _positions(T: int, d: int) -> nn.Parameter:
    return nn.Parameter(torch.randn(T, d))


def _check_length(tokens: torch.Tensor, T: int) -> int:
    n = tokens.shape[1]
    if n > T:
        raise UserError(f"the input is {n} positions long; this model's context is {T}.")
    return n


# -- the architectures -----------------------------------------------------------------------------
class TransformerLM(nn.Module):
    """Byte-level (``byte``, ``byte_window``) or subword (``subword``, tied embedding) Transformer."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = c = cfg.resolved()
        self.embed = nn.Embedding(c.vocab, c.d_model)
        self.pos = _positions(c.context, c.d_model)
        self.blocks = nn.ModuleList([Block(c.d_model, c.d_key, c.window or None) for _ in range(c.n_layers)])
        self.head = Head(c.d_model, c.vocab, tied=self.embed if c.arch == "subword" else None)

    def forward(self, tokens: torch.Tensor) -> Output:
        n = _check_length(tokens, self.cfg.context)
        x = self.embed(tokens) + self.pos[:n]
        for b in self.blocks:
            x = b(x)
        return Output(self.head(x))


def global_slots(mask: torch.Tensor, t_global: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """For a (B, T) mask of global positions: ``index`` (B, G) of the first G = min(T_global, T) of
    them (padded with T-1), the (batch, position, slot) triples that are used, and ``keep`` (B, T):
    False from the (T_global+1)-th global position on, whose targets the model cannot see globally."""
    B, T = mask.shape
    G = min(t_global, T)
    rank = mask.long().cumsum(1) - 1
    take = mask & (rank < t_global)
    b, t = take.nonzero(as_tuple=True)
    slot = rank[b, t]
    index = torch.full((B, G), T - 1, dtype=torch.long, device=mask.device)
    index[b, slot] = t
    over = mask & (rank == t_global)
    cutoff = torch.where(over.any(1), over.float().argmax(1), torch.full((B,), T, device=mask.device))
    keep = torch.arange(T, device=mask.device)[None, :] < cutoff[:, None]
    return index, torch.stack([b, t, slot]), keep, take


class SpaceByte(nn.Module):
    """SpaceByte (``spacebyte``: spacelike rule) or SpaceByte fixed-P (``spacebyte_fixed``)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = c = cfg.resolved()
        d, D = c.d_local, c.d_model
        self.embed = nn.Embedding(BYTE_VOCAB, d)
        self.pos_local = _positions(c.context, d)
        self.pos_global = _positions(c.t_global, D)
        n_first = c.n_local // 2
        self.initial = nn.ModuleList([Block(d, c.d_key, c.window) for _ in range(n_first)])
        self.global_blocks = nn.ModuleList([Block(D, c.d_key) for _ in range(c.n_layers)])
        self.final = nn.ModuleList([Block(d, c.d_key, c.window) for _ in range(c.n_local - n_first)])
        self.head = Head(d, BYTE_VOCAB)

    def global_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        """Where the global blocks run for these inputs (B, T) bool."""
        if self.cfg.arch == "spacebyte":
            return global_mask(tokens)
        return (torch.arange(tokens.shape[1], device=tokens.device) % self.cfg.patch == 0).expand_as(tokens)

    def forward(self, tokens: torch.Tensor) -> Output:
        c = self.cfg
        n = _check_length(tokens, c.context)
        x = self.embed(tokens) + self.pos_local[:n]
        for blk in self.initial:
            x = blk(x)
        B, T, d = x.shape
        mask = self.global_mask(tokens)
        index, (b, t, slot), keep, take = global_slots(mask, c.t_global)
        G = index.shape[1]
        y = x.gather(1, index[:, :, None].expand(B, G, d))
        y = torch.cat([y.new_zeros(B, G, c.d_model - d), y], dim=-1) + self.pos_global[:G]
        for blk in self.global_blocks:
            y = blk(y)
        x = x.index_put((b, t), y[b, slot, c.d_model - d:], accumulate=True)
        for blk in self.final:
            x = blk(x)
        return Output(self.head(x), keep=keep if c.arch == "spacebyte" else None, global_positions=take)


class MegaByte(nn.Module):
    """MegaByte with patches of P bytes (Yu et al. 2023, as set up in the SpaceByte paper).

    Global patch k holds bytes kP-P+1 .. kP (P-1 BOS bytes pad the front), so its output may inform
    the predictions at positions kP .. kP+P-1; the local model runs inside each patch.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = c = cfg.resolved()
        P, D, d = c.patch, c.d_model, c.d_local
        self.global_embed = nn.Embedding(BYTE_VOCAB, D // P)
        self.global_pos = _positions(c.context, D // P)
        self.global_blocks = nn.ModuleList([Block(D, c.d_key) for _ in range(c.n_layers)])
        self.to_local = Linear(D // P, d)
        self.local_embed = nn.Embedding(BYTE_VOCAB, d)
        self.local_pos = _positions(P, d)
        self.local_blocks = nn.ModuleList([Block(d, c.d_key) for _ in range(c.n_local)])
        self.head = Head(d, BYTE_VOCAB)

    def forward(self, tokens: torch.Tensor) -> Output:
        c = self.cfg
        P, D = c.patch, c.d_model
        n = _check_length(tokens, c.context)
        pad = (-n) % P
        if pad:
            tokens = F.pad(tokens, (0, pad), value=0)
        B, T = tokens.shape
        K = T // P
        g = torch.cat([torch.full((B, P - 1), BOS, dtype=tokens.dtype, device=tokens.device), tokens[:, : T - P + 1]], 1)
        y = (self.global_embed(g) + self.global_pos[:T]).view(B, K, D)
        for blk in self.global_blocks:
            y = blk(y)
        x = self.to_local(y.view(B, T, D // P)) + self.local_embed(tokens) + self.local_pos.repeat(K, 1)
        x = x.view(B * K, P, c.d_local)
        for blk in self.local_blocks:
            x = blk(x)
        return Output(self.head(x.view(B, T, c.d_local))[:, :n])


def build(cfg: ModelConfig, seed: int | None = None) -> nn.Module:
    """A freshly initialised model for a (validated) config; ``seed`` fixes its initialisation."""
    c = cfg.validate()
    if seed is not None:
        torch.manual_seed(seed)
    if c.arch in ("byte", "byte_window", "subword"):
        return TransformerLM(c)
    if c.arch == "megabyte":
        return MegaByte(c)
    return SpaceByte(c)


def n_params(model: nn.Module, embeddings: bool = True) -> int:
    """Parameters of a model; without embeddings (token and position tables) if ``embeddings=False``."""
    total = sum(p.numel() for p in model.parameters())
    if embeddings:
        return total
    emb = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Embedding))
    pos = sum(p.numel() for name, p in model.named_parameters() if "pos" in name.split(".")[-1])
    return total - emb - pos


def loss_terms(model: nn.Module, tokens: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy (nats) over the counted targets, and how many were counted."""
    out = model(tokens)
    V = out.logits.shape[-1]
    ce = F.cross_entropy(out.logits.reshape(-1, V).float(), targets.reshape(-1), ignore_index=-1,
                         reduction="none").view_as(targets)
    keep = torch.ones_like(targets, dtype=torch.bool) if out.keep is None else out.keep
    keep = keep & (targets >= 0)
    return (ce * keep).sum(), keep.sum()


def per_byte_loss(model: nn.Module, data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Loss in bits of each byte of ``data`` (1-D, starting with BOS) given the bytes before it, and
    where global blocks ran (SpaceByte) and which predictions count."""
    with torch.no_grad():
        out = model(data[None, :-1])
        bits = F.cross_entropy(out.logits[0].float(), data[1:].long(), reduction="none") / math.log(2)
    keep = None if out.keep is None else out.keep[0]
    gp = None if out.global_positions is None else out.global_positions[0]
    return bits, gp, keep
