"""SliceGPT (Ashkboos et al., ICLR 2024), written from the paper: fuse, rotate, slice.

1. **Computational invariance** (Theorem 1). For an orthogonal ``Q``, ``RMSNorm(X Q) Qᵀ = RMSNorm(X)``
   when the norm has no scale. So once every norm's scale (and a LayerNorm's shift) is folded into
   the linear layers that read its output, rotating what a block writes into the residual stream
   by ``Q`` and what it reads by ``Qᵀ`` changes nothing: ``W_in → Qᵀ W_in``, ``W_out → W_out Q``,
   ``W_embd → W_embd Q``, ``W_head → Qᵀ W_head`` (the paper's row-vector convention).
2. **LayerNorm → RMSNorm** (Sec. 3.2). ``LayerNorm(x) = RMSNorm(x M) diag(α) + β`` with ``M`` the
   mean-removing projection. We fold ``α``, ``β`` into the next linear layers
   (``W ← diag(α) W``, ``b ← b + β W``), remove the mean of the embeddings, and make every write
   into the stream mean-free (subtract the column mean of output projections), so that ``M`` is
   the identity on the stream. Llama-style models already use RMSNorm: only the scales fold.
3. **PCA per block** (Sec. 3.3). ``Q`` = eigenvectors of ``H = Σ XᵀX`` over calibration tokens
   (uncentred, in float64, damped by ``0.01 · mean(diag H)``), sorted by eigenvalue.
4. **Slicing** (Sec. 3.4). Keep the first ``d`` columns of ``Q``: embeddings and outputs lose
   columns, inputs lose rows. Every block gets its own ``Q``; the residual connection between a
   block's input frame and its output frame becomes the *shortcut matrix* ``Q_prevᵀ Q_next[:, :d]``.
   Signals for the next PCA are those of the already sliced model (Sec. 3.4, "sequential").

In code, ``nn.Linear`` stores ``weight`` as (out, in), so "reading rotated inputs" is
``weight @ Q`` and "writing rotated outputs" is ``Qᵀ @ weight``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from deletionlab.core import check_cancel, no_progress
from deletionlab.slicegpt.layouts import Structure, detect
from deletionlab.slicegpt.schedule import Dims
from deletionlab.slicegpt.sliced_modules import RMSN, SlicedBlock, get_path, set_linear, set_path

#: damping of the covariance, relative to the mean of its diagonal (the reference code's choice)
DAMPING = 0.01


# --------------------------------------------------------------------------------------------
# PCA
# --------------------------------------------------------------------------------------------
def pca(chunks: Sequence[torch.Tensor], damping: float = DAMPING) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigen-decomposition of ``H = Σ XᵀX`` over all tokens of all chunks (uncentred, float64).

    Returns ``(eigenvalues, Q)`` sorted by decreasing eigenvalue; the eigenvalues are those of the
    undamped ``H`` (damping ``damping · mean(diag H)`` is added for the decomposition only and
    shifts every eigenvalue equally, so ``Q`` is the same up to ties)."""
    H = None
    for x in chunks:
        x2 = x.reshape(-1, x.shape[-1]).to(torch.float64)
        h = x2.T @ x2
        H = h if H is None else H + h
    damp = damping * torch.mean(torch.diagonal(H))
    evals, evecs = torch.linalg.eigh(H + damp * torch.eye(H.shape[0], dtype=H.dtype))
    order = torch.argsort(evals, descending=True)
    return (evals[order] - damp).clamp_min(0.0), evecs[:, order]


def random_orthogonal(n: int, seed: int) -> torch.Tensor:
    """A Haar-random orthogonal matrix (QR of a Gaussian matrix with the signs fixed), float64."""
    g = torch.Generator().manual_seed(int(seed))
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    return q * torch.sign(torch.diagonal(r))


# --------------------------------------------------------------------------------------------
# fusion
# --------------------------------------------------------------------------------------------
def _eps(norm: nn.Module) -> float:
    return float(getattr(norm, "variance_epsilon", getattr(norm, "eps", 1e-5)))


def _fold_norm(norm: nn.Module, linears: Sequence[nn.Linear], added_bias: list[nn.Linear]) -> None:
    """``W ← W diag(α)``, ``b ← b + W β`` for every linear layer reading the norm's output."""
    alpha = norm.weight.detach().to(torch.float64)
    beta = getattr(norm, "bias", None)
    for lin in linears:
        w = lin.weight.detach().to(torch.float64)
        bias = None
        if beta is not None:
            b0 = lin.bias.detach().to(torch.float64) if lin.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
            if lin.bias is None:
                added_bias.append(lin)
            bias = (b0 + w @ beta.detach().to(torch.float64)).to(lin.weight.dtype)
        set_linear(lin, (w * alpha).to(lin.weight.dtype), bias)


def _bake_mean(lin: nn.Linear) -> None:
    """Make a layer's output mean-free over the hidden dimension (it writes into the stream)."""
    w = lin.weight.detach().to(torch.float64)
    b = lin.bias.detach().to(torch.float64) if lin.bias is not None else None
    set_linear(lin, (w - w.mean(0, keepdim=True)).to(lin.weight.dtype), None if b is None else (b - b.mean()).to(lin.weight.dtype))


@dataclass
class Fused:
    """A model after fusion: its structure and the linear layers that gained a bias."""

    model: nn.Module
    structure: Structure
    added_bias: list[nn.Linear] = field(default_factory=list)


@torch.no_grad()
def fuse(model: nn.Module, structure: Structure | None = None) -> Fused:
    """Fold every norm into the next linear layers and replace it by a scale-free RMSNorm (in place).

    The head is untied from the embeddings first (after folding they differ). LayerNorm models
    also get mean-free embeddings and outputs (Sec. 3.2). The function is unchanged (up to
    rounding); every block becomes a :class:`SlicedBlock` without shortcuts yet."""
    st = structure or detect(model)
    D = st.hidden_size
    head = get_path(model, st.head)
    head.weight = nn.Parameter(head.weight.detach().clone(), requires_grad=False)
    model.config.tie_word_embeddings = False
    layernorm = st.norm == "layernorm"
    if layernorm:
        for path in st.embeddings:
            emb = get_path(model, path)
            w = emb.weight.detach().to(torch.float64)
            emb.weight = nn.Parameter((w - w.mean(-1, keepdim=True)).to(emb.weight.dtype), requires_grad=False)
    added: list[nn.Linear] = []
    blocks = get_path(model, st.blocks)
    spec = st.spec
    for i, layer in enumerate(blocks):
        norms = [getattr(layer, spec["attn_norm"])] + ([getattr(layer, spec["mlp_norm"])] if spec["mlp_norm"] else [])
        block = SlicedBlock(layer, spec, D, (_eps(norms[0]), _eps(norms[-1])))
        if spec["parallel"]:
            _fold_norm(norms[0], block.attn_inputs() + block.mlp_inputs(), added)
        else:
            _fold_norm(norms[0], block.attn_inputs(), added)
            _fold_norm(norms[1], block.mlp_inputs(), added)
        if layernorm:
            _bake_mean(block.attn_output())
            _bake_mean(block.mlp_output())
        blocks[i] = block
    final = get_path(model, st.final_norm)
    _fold_norm(final, [head], added)
    set_path(model, st.final_norm, RMSN(D, _eps(final)))
    model.eval()
    return Fused(model, st, added)


# --------------------------------------------------------------------------------------------
# signals
# --------------------------------------------------------------------------------------------
class _Stop(Exception):
    pass


class _Catcher(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.caught: tuple | None = None

    def forward(self, hidden_states, *args, **kwargs):
        self.caught = (hidden_states, args, kwargs)
        raise _Stop


@torch.no_grad()
def block_inputs(model: nn.Module, structure: Structure, batches: Sequence[torch.Tensor], index: int = 0,
                 cancel=None) -> list[tuple[torch.Tensor, tuple, dict]]:
    """Run the model up to block ``index`` on each batch of token ids; return, per batch, the
    block's input and the other arguments the model passes to its blocks (masks, positions)."""
    blocks = get_path(model, structure.blocks)
    keep = blocks[index]
    catcher = _Catcher()
    blocks[index] = catcher
    out = []
    try:
        for ids in batches:
            check_cancel(cancel)
            try:
                model(input_ids=ids, use_cache=False)
            except _Stop:
                pass
            x, args, kwargs = catcher.caught
            out.append((x, args, kwargs))
    finally:
        blocks[index] = keep
    return out


# --------------------------------------------------------------------------------------------
# rotate and slice
# --------------------------------------------------------------------------------------------
@dataclass
class SliceInfo:
    """What slicing computed: the spectrum of every signal it rotated (eigenvalues of H, largest
    first), the share of each signal's energy thrown away, the widths, and the orientation."""

    names: list[str]
    spectra: list[np.ndarray]
    discarded: list[float]
    dims: Dims
    orientation: str

    def to_dict(self, digits: int = 4) -> dict:
        """JSON-able (spectra normalised to sum 1, rounded)."""
        return {"names": self.names, "discarded": [round(float(x), 6) for x in self.discarded],
                "spectra": [[float(f"{v:.{digits}g}") for v in (s / max(float(s.sum()), 1e-300))] for s in self.spectra],
                "dims": {"embedding": self.dims.embedding, "blocks": [list(b) for b in self.dims.blocks], "head": self.dims.head},
                "orientation": self.orientation}


#: rows of a large matrix (embeddings, head) rotated at a time, with a cancellation check between
ROWS_PER_STEP = 4096


def _rows_times(w: torch.Tensor, q: torch.Tensor, cancel=None) -> torch.Tensor:
    """``w @ q`` in float64, a block of rows at a time (a 49k-row embedding takes seconds)."""
    out = torch.empty(w.shape[0], q.shape[1], dtype=w.dtype)
    for i in range(0, w.shape[0], ROWS_PER_STEP):
        check_cancel(cancel)
        out[i:i + ROWS_PER_STEP] = (w[i:i + ROWS_PER_STEP].detach().to(torch.float64) @ q).to(w.dtype)
    return out


def _rot_in(lin: nn.Linear, q: torch.Tensor, cancel=None) -> None:
    set_linear(lin, _rows_times(lin.weight, q, cancel))


def _rot_out(lin: nn.Linear, q: torch.Tensor) -> None:
    b = lin.bias
    bias = None if b is None else (q.T @ b.detach().to(torch.float64)).to(b.dtype)
    set_linear(lin, (q.T @ lin.weight.detach().to(torch.float64)).to(lin.weight.dtype), bias)


class _Orienter:
    """PCA (the paper) or a Haar-random orthogonal basis (the ablation), with the spectra recorded."""

    def __init__(self, orientation: str, seed: int) -> None:
        self.orientation, self.seed, self.count = orientation, seed, 0
        self.names: list[str] = []
        self.spectra: list[np.ndarray] = []
        self.discarded: list[float] = []

    def __call__(self, name: str, chunks: Sequence[torch.Tensor], keep: int) -> torch.Tensor:
        evals, q = pca(chunks)
        if self.orientation == "random":
            q = random_orthogonal(q.shape[0], self.seed * 10_007 + self.count)
            energy = self._energy(chunks, q)  # what each random direction holds (the spectrum shown stays PCA's)
        else:
            energy = evals
        self.count += 1
        self.names.append(name)
        self.spectra.append(evals.numpy())
        self.discarded.append(float(energy[keep:].sum() / energy.sum()) if energy.sum() > 0 else 0.0)
        return q

    @staticmethod
    def _energy(chunks: Sequence[torch.Tensor], q: torch.Tensor) -> torch.Tensor:
        tot = torch.zeros(q.shape[1], dtype=torch.float64)
        for c in chunks:
            tot += (c.reshape(-1, c.shape[-1]).to(torch.float64) @ q).pow(2).sum(0)
        return tot


def _mid_signals(block: SlicedBlock, xs: list, q_in: torch.Tensor, cancel) -> list[torch.Tensor]:
    """Residual stream between attention and MLP, in the *unrotated* frame: x Q_inᵀ + attn(x)."""
    out = []
    for x, args, kwargs in xs:
        check_cancel(cancel)
        a = block.attn_part(x, block.attention_kwargs(args, kwargs))
        out.append(x @ q_in.T.to(x.dtype) + a)
    return out


def _rotate_block(block: SlicedBlock, xs: list, q_prev: torch.Tensor, dims: tuple[int, int, int], orient: _Orienter,
                  index: int, cancel) -> tuple[list, torch.Tensor]:
    """Rotate and slice one block given its (already rotated and sliced) inputs ``xs``.

    Returns the next block's inputs (rotated and sliced) and the ``Q`` of this block's output."""
    d_in, d_mid, d_out = dims
    q_in = q_prev[:, :d_in]
    for lin in block.attn_inputs() + (block.mlp_inputs() if block.spec["parallel"] else []):
        _rot_in(lin, q_in)
    dtype = xs[0][0].dtype
    if block.spec["parallel"]:
        outs = []
        for x, args, kwargs in xs:
            check_cancel(cancel)
            a = block.attn_part(x, block.attention_kwargs(args, kwargs))
            outs.append(x @ q_in.T.to(dtype) + a + block.mlp_part(x))
        q_out = orient(f"block {index} output", outs, d_out)
        block.attn_shortcut = nn.Parameter((q_in.T @ q_out[:, :d_out]).to(dtype), requires_grad=False)
        _rot_out(block.attn_output(), q_out[:, :d_out])
        _rot_out(block.mlp_output(), q_out[:, :d_out])
    else:
        mids = _mid_signals(block, xs, q_in, cancel)
        q_mid = orient(f"block {index} attention → MLP", mids, d_mid)
        qm = q_mid[:, :d_mid]
        block.attn_shortcut = nn.Parameter((q_in.T @ qm).to(dtype), requires_grad=False)
        _rot_out(block.attn_output(), qm)
        for lin in block.mlp_inputs():
            _rot_in(lin, qm)
        outs = []
        for m in mids:
            check_cancel(cancel)
            h = m @ qm.to(dtype)
            outs.append(h @ qm.T.to(dtype) + block.mlp_part(h))
        q_out = orient(f"block {index} output", outs, d_out)
        block.mlp_shortcut = nn.Parameter((qm.T @ q_out[:, :d_out]).to(dtype), requires_grad=False)
        _rot_out(block.mlp_output(), q_out[:, :d_out])
    nxt = [(o @ q_out[:, :d_out].to(dtype), args, kwargs) for o, (_, args, kwargs) in zip(outs, xs)]
    return nxt, q_out


@torch.no_grad()
def rotate_and_slice(fused: Fused, batches: Sequence[torch.Tensor], dims: Dims, *, orientation: str = "pca", seed: int = 0,
                     recompute: bool = False, progress=no_progress, cancel=None) -> SliceInfo:
    """Rotate and slice a fused model in place, block after block (the paper's Algorithm).

    ``batches``: token-id tensors (batch, seq) of calibration text. ``dims``: the widths (see
    :class:`Dims`; :meth:`Dims.full` rotates without slicing). ``orientation``: ``"pca"`` or
    ``"random"`` (a Haar-random Q per signal, the ablation). With ``recompute=True`` every block's
    inputs are recomputed by running the sliced model from the embeddings up to that block (the
    naive way, for the benchmark); by default they are carried from block to block."""
    model, st = fused.model, fused.structure
    blocks = get_path(model, st.blocks)
    if len(dims.blocks) != len(blocks):
        raise ValueError(f"dims has {len(dims.blocks)} blocks, the model {len(blocks)}")
    total = len(blocks) + 2
    orient = _Orienter(orientation, seed)
    progress(0, total, "embeddings: PCA")
    xs = block_inputs(model, st, batches, 0, cancel)
    q = orient("embeddings", [x for x, _, _ in xs], dims.embedding)
    d0 = dims.embedding
    for path in st.embeddings:
        emb = get_path(model, path)
        w = _rows_times(emb.weight, q[:, :d0] if st.slice_embeddings else q, cancel)
        emb.weight = nn.Parameter(w, requires_grad=False)
        emb.embedding_dim = w.shape[1]
    if not st.slice_embeddings:
        blocks[0].truncate = d0
    xs = [(x @ q[:, :d0].to(x.dtype), a, k) for x, a, k in xs]
    progress(1, total, "embeddings rotated")
    for i, block in enumerate(blocks):
        check_cancel(cancel)
        if recompute and i > 0:
            xs = block_inputs(model, st, batches, i, cancel)
        xs, q = _rotate_block(block, xs, q, dims.blocks[i], orient, i, cancel)
        progress(i + 2, total, f"block {i + 1}/{len(blocks)} sliced")
    head = get_path(model, st.head)
    _rot_in(head, q[:, : dims.head], cancel)
    model.config.slicing = describe(fused, dims)
    progress(total, total, "done")
    return SliceInfo(orient.names, orient.spectra, orient.discarded, dims, orientation)


def describe(fused: Fused, dims: Dims) -> dict:
    """The ``slicing`` entry of the sliced model's config (what ``sliced_modules.build_sliced_shape`` reads)."""
    model, st = fused.model, fused.structure
    blocks = get_path(model, st.blocks)
    names = {id(m): n for n, m in model.named_modules()}
    spec = {k: (list(v) if isinstance(v, tuple) else v) for k, v in st.spec.items() if k != "label"}
    return {
        "layout": st.layout, "spec": spec, "blocks": st.blocks, "embeddings": list(st.embeddings),
        "final_norm": st.final_norm, "head": st.head, "hidden_size": st.hidden_size,
        "final_eps": get_path(model, st.final_norm).eps,
        "eps": [[getattr(b, st.spec["attn_norm"]).eps, getattr(b, st.spec["mlp_norm"] or st.spec["attn_norm"]).eps] for b in blocks],
        "dims": [list(d) for d in dims.blocks],
        "embedding_dim": dims.embedding if st.slice_embeddings else None,
        "head_dim": dims.head,
        "added_biases": [names[id(lin)] for lin in fused.added_bias if id(lin) in names],
    }


def slice_model(model: nn.Module, batches: Sequence[torch.Tensor], fractions: Sequence[float], *, orientation: str = "pca",
                seed: int = 0, slice_head: bool = False, copy_model: bool = True, progress=no_progress,
                cancel=None) -> tuple[nn.Module, SliceInfo]:
    """Fuse, rotate and slice (a copy of) ``model`` with per-block slicing ``fractions``."""
    work = copy.deepcopy(model) if copy_model else model
    fused = fuse(work)
    dims = Dims.from_fractions(fused.structure.hidden_size, fractions, slice_head=slice_head)
    info = rotate_and_slice(fused, batches, dims, orientation=orientation, seed=seed, progress=progress, cancel=cancel)
    return work, info


@torch.no_grad()
def invariance_error(model: nn.Module, batches: Sequence[torch.Tensor], test_ids: torch.Tensor,
                     dtype: torch.dtype = torch.float64, progress=no_progress, cancel=None) -> dict:
    """Computational invariance, measured: max |Δ logits| between the original model and the
    fused + rotated (PCA) but unsliced model, both in ``dtype``; also the error of fusion alone."""
    ref = copy.deepcopy(model).to(dtype).eval()
    want = ref(input_ids=test_ids, use_cache=False).logits
    del ref
    work = copy.deepcopy(model).to(dtype).eval()
    fused = fuse(work)
    fused_logits = work(input_ids=test_ids, use_cache=False).logits
    n = len(get_path(work, fused.structure.blocks))
    rotate_and_slice(fused, batches, Dims.full(fused.structure.hidden_size, n), progress=progress, cancel=cancel)
    got = work(input_ids=test_ids, use_cache=False).logits
    scale = float(want.abs().max())
    return {"max_abs_logit_error": float((got - want).abs().max()), "fusion_only_error": float((fused_logits - want).abs().max()),
            "max_abs_logit": scale, "dtype": str(dtype).replace("torch.", ""), "tokens": int(test_ids.numel())}


def sliced_shape(model: nn.Module, fractions: Sequence[float], slice_head: bool = False) -> nn.Module:
    """The sliced model's *shape* without weights or data (works on a ``meta``-device model):
    what slicing ``model`` with ``fractions`` would give, for counting parameters and FLOPs."""
    from deletionlab.slicegpt.sliced_modules import build_sliced_shape

    st = detect(model)
    dims = Dims.from_fractions(st.hidden_size, fractions, slice_head=slice_head)
    head = get_path(model, st.head)
    added = [st.head] if st.norm == "layernorm" and head.bias is None else []
    blocks = get_path(model, st.blocks)
    spec = {k: v for k, v in st.spec.items() if k != "label"}
    eps = [[1e-5, 1e-5] for _ in blocks]
    slicing = {"spec": spec, "blocks": st.blocks, "embeddings": st.embeddings, "final_norm": st.final_norm, "head": st.head,
               "hidden_size": st.hidden_size, "final_eps": 1e-5, "eps": eps, "dims": [list(d) for d in dims.blocks],
               "embedding_dim": dims.embedding if st.slice_embeddings else None, "head_dim": dims.head, "added_biases": added}
    work = copy.deepcopy(model)
    if getattr(work.config, "tie_word_embeddings", False):
        h = get_path(work, st.head)
        h.weight = nn.Parameter(torch.empty_like(h.weight), requires_grad=False)
    return build_sliced_shape(work, slicing)
