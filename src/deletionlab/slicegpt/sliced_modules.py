"""The modules a sliced model is made of: scale-free RMSNorm, a block with shortcut matrices, and the
function that gives a freshly built Hugging Face model the sliced shapes.

This file imports only torch and transformers, nothing of this project: the export copies it
verbatim as ``modeling_sliced.py`` next to the weights, so that plain transformers reloads a
sliced model with ``AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)``.

A sliced block (Ashkboos et al. 2024, Sec. 3.3–3.4) reads a residual stream of width ``d_in``
(the first ``d_in`` principal directions of its input signal) and writes one of width ``d_out``.
Because every block has its own rotation, the residual connection becomes a matrix product:
``x -> x @ S + f(RMSN(x))`` with the shortcut ``S = Q_prevᵀ Q_next[:, :d]`` (Eq. 9 of the paper).

The ``slicing`` dictionary stored in the model's config describes everything this file needs:

* ``spec``: attribute names of the block layout (``attn_norm``, ``mlp_norm``, ``attn``,
  ``attn_in``, ``attn_out``, ``mlp``, ``mlp_in``, ``mlp_out``, ``mlp_act``, ``parallel``);
* ``blocks``: dotted path of the block list; ``final_norm``: path of the last norm;
  ``embeddings``: paths of the embeddings added into the residual stream; ``head``: path;
* ``hidden_size`` (D, the width RMSN divides by), ``eps`` (one per norm, by path),
* ``dims``: per block ``[d_in, d_mid, d_out]``; ``embedding_dim`` (width of the sliced
  embeddings, or null when they keep width D and block 0 truncates instead); ``head_dim``.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

SHORTCUT_NAMES = ("attn_shortcut", "mlp_shortcut")


class RMSN(nn.Module):
    """Scale-free RMS normalisation over the *original* width D: ``x / sqrt(‖x‖² / D + eps)``.

    Dividing by D (not by the sliced width) keeps the norm of a sliced signal, which holds most
    of the original energy, on the same scale as before slicing (the paper's ``RMSNorm``).
    """

    def __init__(self, mean_dim: int, eps: float) -> None:
        super().__init__()
        self.mean_dim = int(mean_dim)
        self.eps = float(eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var = x.pow(2).sum(-1, keepdim=True) / self.mean_dim
        return x * torch.rsqrt(var + self.eps)

    def extra_repr(self) -> str:
        return f"mean_dim={self.mean_dim}, eps={self.eps:g}"


def get_path(root: nn.Module, path: str) -> nn.Module:
    """``get_path(model, "model.layers")`` → the submodule at that dotted path."""
    for part in path.split("."):
        root = getattr(root, part)
    return root


def set_path(root: nn.Module, path: str, module: nn.Module) -> None:
    """Replace the submodule at a dotted path."""
    *parents, last = path.split(".")
    for part in parents:
        root = getattr(root, part)
    setattr(root, last, module)


def to_linear(module: nn.Module) -> nn.Module:
    """A GPT-2 ``Conv1D`` (weight stored as in × out) as the equivalent ``nn.Linear``; others unchanged."""
    if type(module).__name__ != "Conv1D":
        return module
    w = module.weight
    lin = nn.Linear(w.shape[0], w.shape[1], bias=module.bias is not None, dtype=w.dtype, device=w.device)
    with torch.no_grad():
        lin.weight.copy_(w.t())
        if module.bias is not None:
            lin.bias.copy_(module.bias)
    return lin


def set_linear(lin: nn.Linear, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
    """Give a linear layer new weights (and shape): ``weight`` is (out, in); a ``bias`` replaces
    (or adds) the bias, otherwise the old one stays."""
    lin.weight = nn.Parameter(weight.contiguous(), requires_grad=False)
    lin.out_features, lin.in_features = weight.shape
    if bias is not None:
        lin.bias = nn.Parameter(bias.contiguous(), requires_grad=False)


class SlicedBlock(nn.Module):
    """A transformer block after LayerNorm fusion, rotation and slicing.

    It keeps the original block's submodules under their original names (so the state dict reads
    like the original model's, without norm weights and with two shortcut matrices) and computes

    * sequential blocks: ``h = x S_attn + attn(RMSN(x))``; ``y = h S_mlp + mlp(RMSN(h))``
    * parallel blocks:   ``y = x S_attn + attn(RMSN(x)) + mlp(RMSN(x))``

    A shortcut that is ``None`` is the identity (the block is not rotated yet). ``truncate``
    keeps the first ``truncate`` coordinates of the input (block 0 of models whose embeddings
    must keep their width). Arguments the model passes to its blocks are passed on to the
    attention module as the original block did (bound to the original ``forward`` signature).
    """

    def __init__(self, layer: nn.Module, spec: dict, mean_dim: int, eps: tuple[float, float]) -> None:
        super().__init__()
        self.spec = dict(spec)
        self._signature = inspect.signature(type(layer).forward)
        for name, child in layer.named_children():
            setattr(self, name, child)
        setattr(self, spec["attn_norm"], RMSN(mean_dim, eps[0]))
        if spec.get("mlp_norm"):
            setattr(self, spec["mlp_norm"], RMSN(mean_dim, eps[1]))
        attn = getattr(self, spec["attn"])
        for name in (*spec["attn_in"], spec["attn_out"]):
            setattr(attn, name, to_linear(getattr(attn, name)))
        mlp_owner = getattr(self, spec["mlp"]) if spec.get("mlp") else self
        for name in (*spec["mlp_in"], spec["mlp_out"]):
            setattr(mlp_owner, name, to_linear(getattr(mlp_owner, name)))
        self.attn_shortcut: nn.Parameter | None = None
        self.mlp_shortcut: nn.Parameter | None = None
        self.truncate: int | None = None

    # -- the parts, also used one by one while slicing ------------------------------------------
    @property
    def attention(self) -> nn.Module:
        return getattr(self, self.spec["attn"])

    @property
    def mlp_owner(self) -> nn.Module:
        return getattr(self, self.spec["mlp"]) if self.spec.get("mlp") else self

    def attn_inputs(self) -> list[nn.Linear]:
        return [getattr(self.attention, n) for n in self.spec["attn_in"]]

    def attn_output(self) -> nn.Linear:
        return getattr(self.attention, self.spec["attn_out"])

    def mlp_inputs(self) -> list[nn.Linear]:
        return [getattr(self.mlp_owner, n) for n in self.spec["mlp_in"]]

    def mlp_output(self) -> nn.Linear:
        return getattr(self.mlp_owner, self.spec["mlp_out"])

    def attention_kwargs(self, args: tuple, kwargs: dict) -> dict:
        """What the original block would pass to its attention module, from the block's arguments."""
        bound = self._signature.bind_partial(self, None, *args, **kwargs).arguments
        names = list(self._signature.parameters)
        out = {}
        for name, value in bound.items():
            if name in names[:2]:
                continue
            kind = self._signature.parameters[name].kind
            if kind == inspect.Parameter.VAR_KEYWORD:
                out.update(value)
            elif name.startswith("encoder_"):
                if value is not None and name == "encoder_hidden_states":
                    raise ValueError("sliced blocks do not support cross-attention")
            else:
                out[name] = value
        return out

    def attn_part(self, x: torch.Tensor, attn_kwargs: dict) -> torch.Tensor:
        """The attention branch on the (already truncated) input: attn(RMSN(x))."""
        normed = getattr(self, self.spec["attn_norm"])(x)
        return self.attention(hidden_states=normed, **attn_kwargs)[0]

    def mlp_part(self, h: torch.Tensor) -> torch.Tensor:
        """The MLP branch: mlp(RMSN(h)) (for parallel blocks, RMSN is the attention's norm)."""
        norm = self.spec.get("mlp_norm") or self.spec["attn_norm"]
        normed = getattr(self, norm)(h)
        if self.spec.get("mlp"):
            return self.mlp_owner(normed)
        inner = getattr(self, self.spec["mlp_act"])(getattr(self, self.spec["mlp_in"][0])(normed))
        return getattr(self, self.spec["mlp_out"])(inner)

    @staticmethod
    def shortcut(x: torch.Tensor, matrix: torch.Tensor | None) -> torch.Tensor:
        return x if matrix is None else x @ matrix

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        x = hidden_states if self.truncate is None else hidden_states[..., : self.truncate]
        a = self.attn_part(x, self.attention_kwargs(args, kwargs))
        if self.spec.get("parallel"):
            return self.shortcut(x, self.attn_shortcut) + a + self.mlp_part(x)
        h = self.shortcut(x, self.attn_shortcut) + a
        return self.shortcut(h, self.mlp_shortcut) + self.mlp_part(h)


def _empty_linear(lin: nn.Linear, in_features: int | None = None, out_features: int | None = None) -> None:
    out_f = lin.out_features if out_features is None else out_features
    in_f = lin.in_features if in_features is None else in_features
    kw = {"dtype": lin.weight.dtype, "device": lin.weight.device}
    lin.weight = nn.Parameter(torch.zeros(out_f, in_f, **kw), requires_grad=False)
    if lin.bias is not None:
        lin.bias = nn.Parameter(torch.zeros(out_f, **kw), requires_grad=False)
    lin.in_features, lin.out_features = in_f, out_f


def build_sliced_shape(model: nn.Module, slicing: dict) -> nn.Module:
    """Turn a freshly built dense model into the sliced model's *shape* (weights to be loaded).

    Used when a saved sliced model is loaded: norms become :class:`RMSN`, blocks become
    :class:`SlicedBlock` with shortcut matrices, linear layers and embeddings get the sliced widths.
    """
    spec, D = slicing["spec"], int(slicing["hidden_size"])
    blocks = get_path(model, slicing["blocks"])
    kw = {"dtype": next(model.parameters()).dtype}
    for i, (d_in, d_mid, d_out) in enumerate(slicing["dims"]):
        eps = slicing["eps"][i]
        block = SlicedBlock(blocks[i], spec, D, (eps[0], eps[1]))
        for lin in block.attn_inputs():
            _empty_linear(lin, in_features=d_in)
        _empty_linear(block.attn_output(), out_features=d_out if spec.get("parallel") else d_mid)
        for lin in block.mlp_inputs():
            _empty_linear(lin, in_features=d_in if spec.get("parallel") else d_mid)
        _empty_linear(block.mlp_output(), out_features=d_out)
        block.attn_shortcut = nn.Parameter(torch.zeros(d_in, d_out if spec.get("parallel") else d_mid, **kw), requires_grad=False)
        if not spec.get("parallel"):
            block.mlp_shortcut = nn.Parameter(torch.zeros(d_mid, d_out, **kw), requires_grad=False)
        if i == 0 and slicing.get("embedding_dim") is None:
            block.truncate = d_in
        blocks[i] = block
    if slicing.get("embedding_dim") is not None:
        for path in slicing["embeddings"]:
            emb = get_path(model, path)
            emb.weight = nn.Parameter(torch.zeros(emb.weight.shape[0], int(slicing["embedding_dim"]), **kw), requires_grad=False)
            emb.embedding_dim = int(slicing["embedding_dim"])
    set_path(model, slicing["final_norm"], RMSN(D, slicing["final_eps"]))
    _empty_linear(get_path(model, slicing["head"]), in_features=int(slicing["head_dim"]))
    for path in slicing.get("added_biases", []):  # folding a LayerNorm's shift gave these layers a bias
        lin = get_path(model, path)
        lin.bias = nn.Parameter(torch.zeros(lin.out_features, **kw), requires_grad=False)
    return model
