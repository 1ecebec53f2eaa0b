"""Which causal language models SliceGPT can slice, recognised by their *architecture*.

A model is supported when its blocks have one of the layouts below (which modules read the
residual stream, which write into it, and whether attention and MLP run one after the other or
side by side) and its norms are LayerNorm or plain RMSNorm. The model's name or ``model_type``
never matters: a Qwen2 or Mistral checkpoint has the Llama layout and is sliced like Llama.

:func:`detect` inspects a model (also one built on the ``meta`` device, so nothing is loaded) and
returns a :class:`Structure` (where the blocks, embeddings, final norm and head are, and the
block layout), or raises :class:`Unsupported` with a sentence naming what is supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from deletionlab.slicegpt.sliced_modules import get_path


class Unsupported(ValueError):
    """The model's architecture is not one SliceGPT can slice here (the message says which are)."""


#: block layouts, by the names of the modules that read and write the residual stream.
#: ``attn_in``/``mlp_in`` read the (normalised) stream, ``attn_out``/``mlp_out`` write into it.
LAYOUTS: dict[str, dict] = {
    "llama": dict(label="pre-norm, attention then gated MLP (Llama, Mistral, Qwen2, SmolLM)",
                  attn_norm="input_layernorm", mlp_norm="post_attention_layernorm", attn="self_attn",
                  attn_in=("q_proj", "k_proj", "v_proj"), attn_out="o_proj", mlp="mlp",
                  mlp_in=("gate_proj", "up_proj"), mlp_out="down_proj", mlp_act=None, parallel=False),
    "phi3": dict(label="pre-norm, fused QKV and gate/up projections (Phi-3)",
                 attn_norm="input_layernorm", mlp_norm="post_attention_layernorm", attn="self_attn",
                 attn_in=("qkv_proj",), attn_out="o_proj", mlp="mlp", mlp_in=("gate_up_proj",), mlp_out="down_proj",
                 mlp_act=None, parallel=False),
    "opt": dict(label="pre-norm, attention then a two-layer MLP held by the block (OPT)",
                attn_norm="self_attn_layer_norm", mlp_norm="final_layer_norm", attn="self_attn",
                attn_in=("q_proj", "k_proj", "v_proj"), attn_out="out_proj", mlp=None,
                mlp_in=("fc1",), mlp_out="fc2", mlp_act="activation_fn", parallel=False),
    "gpt2": dict(label="pre-norm with Conv1D projections (GPT-2)",
                 attn_norm="ln_1", mlp_norm="ln_2", attn="attn", attn_in=("c_attn",), attn_out="c_proj", mlp="mlp",
                 mlp_in=("c_fc",), mlp_out="c_proj", mlp_act=None, parallel=False),
    "phi": dict(label="parallel attention and MLP on one LayerNorm (Phi-1/1.5/2)",
                attn_norm="input_layernorm", mlp_norm=None, attn="self_attn", attn_in=("q_proj", "k_proj", "v_proj"),
                attn_out="dense", mlp="mlp", mlp_in=("fc1",), mlp_out="fc2", mlp_act=None, parallel=True),
}


def supported_text() -> str:
    """One phrase listing the supported block layouts (for error messages)."""
    return "; ".join(v["label"] for v in LAYOUTS.values())


@dataclass
class Structure:
    """Where things are in a model, and its block layout (``spec`` is a :data:`LAYOUTS` entry)."""

    layout: str
    spec: dict
    blocks: str                     # dotted path of the ModuleList of blocks
    embeddings: list[str]           # token (and learned position) embeddings, added into the stream
    final_norm: str
    head: str
    norm: str                       # "layernorm" or "rmsnorm"
    hidden_size: int
    slice_embeddings: bool = True   # False when the model reshapes by the embedding width (GPT-2)
    notes: list[str] = field(default_factory=list)


def _is_linear(m: nn.Module) -> bool:
    return isinstance(m, nn.Linear) or type(m).__name__ == "Conv1D"


def norm_kind(m: nn.Module, width: int) -> str | None:
    """"layernorm", "rmsnorm" (x / rms(x) · w, checked numerically) or None for anything else."""
    if isinstance(m, nn.LayerNorm):
        return "layernorm" if tuple(m.normalized_shape) == (width,) else None
    w = getattr(m, "weight", None)
    eps = getattr(m, "variance_epsilon", getattr(m, "eps", None))
    if w is None or eps is None or getattr(m, "bias", None) is not None or tuple(w.shape) != (width,):
        return None
    if w.is_meta:  # nothing to compute with: trust the class name
        return "rmsnorm" if type(m).__name__.endswith("RMSNorm") and "Gemma" not in type(m).__name__ else None
    x = torch.randn(3, width, dtype=w.dtype, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
        got = m(x)
    return "rmsnorm" if torch.allclose(got, want, rtol=1e-4, atol=1e-5) else None


def _find_blocks(model: nn.Module, n_layers: int) -> str | None:
    for name, mod in model.named_modules():
        if isinstance(mod, nn.ModuleList) and len(mod) == n_layers and n_layers > 0:
            return name
    return None


def _match_layout(block: nn.Module, width: int) -> tuple[str, str] | None:
    for key, spec in LAYOUTS.items():
        try:
            attn = getattr(block, spec["attn"])
            owner = getattr(block, spec["mlp"]) if spec["mlp"] else block
            mods = [getattr(attn, n) for n in (*spec["attn_in"], spec["attn_out"])]
            mods += [getattr(owner, n) for n in (*spec["mlp_in"], spec["mlp_out"])]
            norms = [getattr(block, n) for n in (spec["attn_norm"], spec["mlp_norm"]) if n]
            if spec["mlp_act"]:
                getattr(block, spec["mlp_act"])
        except AttributeError:
            continue
        kinds = {norm_kind(n, width) for n in norms}
        if all(_is_linear(m) for m in mods) and len(kinds) == 1 and None not in kinds:
            return key, kinds.pop()
    return None


def _outside(model: nn.Module, blocks: str, width: int) -> tuple[list[str], list[str], list[str]]:
    """Embeddings, norms and other parametrised leaf modules outside the blocks and the head."""
    head = model.get_output_embeddings()
    embs, norms, others = [], [], []
    for name, mod in model.named_modules():
        if name == blocks or name.startswith(blocks + ".") or mod is head or list(mod.children()):
            continue
        if not any(True for _ in mod.parameters(recurse=False)):
            continue
        if isinstance(mod, nn.Embedding):
            embs.append(name)
        elif norm_kind(mod, width):
            norms.append(name)
        else:
            others.append(name)
    return embs, norms, others


def detect(model: nn.Module) -> Structure:
    """Recognise a causal LM's architecture, or raise :class:`Unsupported` naming what is supported."""
    cfg = getattr(model, "config", None)
    width = int(getattr(cfg, "hidden_size", 0) or 0)
    n_layers = int(getattr(cfg, "num_hidden_layers", 0) or 0)
    blocks = _find_blocks(model, n_layers)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if not width or blocks is None or head is None:
        raise Unsupported("This model is not a causal language model with a list of transformer blocks and an output head; "
                          f"SliceGPT here supports: {supported_text()}.")
    if getattr(cfg, "do_layer_norm_before", True) is False or getattr(cfg, "is_encoder_decoder", False):
        raise Unsupported("This model normalises after each block (post-norm) or is an encoder-decoder; "
                          f"SliceGPT here supports pre-norm decoders: {supported_text()}.")
    first = get_path(model, blocks)[0]
    match = _match_layout(first, width)
    if match is None:
        raise Unsupported(f"The blocks of this model ({type(first).__name__}) have a layout SliceGPT does not know; "
                          f"supported: {supported_text()}.")
    layout, kind = match
    embs, norms, others = _outside(model, blocks, width)
    head_name = next(n for n, m in model.named_modules() if m is head)
    if len(norms) != 1 or not embs or others:
        extra = f" (extra modules: {', '.join(others)})" if others else ""
        raise Unsupported(f"This model has a {LAYOUTS[layout]['label'].split(' (')[0]} block layout but not the expected "
                          f"embeddings → blocks → final norm → head around it{extra}; supported: {supported_text()}.")
    token = model.get_input_embeddings()
    token_name = next(n for n, m in model.named_modules() if m is token)
    embs = [token_name] + [e for e in embs if e != token_name]
    return Structure(layout=layout, spec=LAYOUTS[layout], blocks=blocks, embeddings=embs, final_norm=norms[0],
                     head=head_name, norm=kind, hidden_size=width, slice_embeddings=layout != "gpt2")
