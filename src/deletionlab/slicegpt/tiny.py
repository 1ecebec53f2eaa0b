"""Tiny randomly initialised language models of every supported layout, for tests and demos.

Built from transformers' own configuration classes (real Llama / OPT / GPT-2 / Phi code, a few
thousand parameters), with norm scales and shifts drawn at random so that fusing them is
actually tested. :func:`save_tiny` writes one as a model folder with a small byte-level BPE
tokenizer trained on a few BBC articles, like a checkpoint a user would have.
"""

from __future__ import annotations

from pathlib import Path

import torch

#: small but not degenerate: 4 heads of 8, two blocks, a vocabulary of 384 tokens
TINY = dict(hidden=32, ffn=64, layers=2, heads=4, vocab=384, positions=256)


def tiny_config(layout: str, **over):
    """A transformers config of the given layout ("llama", "opt", "gpt2", "phi", "phi3")."""
    from transformers import GPT2Config, LlamaConfig, OPTConfig, Phi3Config, PhiConfig

    t = {**TINY, **over}
    common = dict(vocab_size=t["vocab"], bos_token_id=1, eos_token_id=2, pad_token_id=0)
    if layout == "llama":
        return LlamaConfig(hidden_size=t["hidden"], intermediate_size=t["ffn"], num_hidden_layers=t["layers"],
                           num_attention_heads=t["heads"], num_key_value_heads=t["heads"] // 2,
                           max_position_embeddings=t["positions"], tie_word_embeddings=True, **common)
    if layout == "opt":
        return OPTConfig(hidden_size=t["hidden"], ffn_dim=t["ffn"], num_hidden_layers=t["layers"], num_attention_heads=t["heads"],
                         max_position_embeddings=t["positions"], word_embed_proj_dim=t["hidden"], **common)
    if layout == "gpt2":
        return GPT2Config(n_embd=t["hidden"], n_inner=t["ffn"], n_layer=t["layers"], n_head=t["heads"], n_positions=t["positions"],
                          **common)
    if layout == "phi":
        return PhiConfig(hidden_size=t["hidden"], intermediate_size=t["ffn"], num_hidden_layers=t["layers"],
                         num_attention_heads=t["heads"], max_position_embeddings=t["positions"], partial_rotary_factor=0.5,
                         tie_word_embeddings=False, **common)
    if layout == "phi3":
        return Phi3Config(hidden_size=t["hidden"], intermediate_size=t["ffn"], num_hidden_layers=t["layers"],
                          num_attention_heads=t["heads"], num_key_value_heads=t["heads"], max_position_embeddings=t["positions"],
                          tie_word_embeddings=False, **common)
    raise ValueError(f"unknown tiny layout {layout!r}")


@torch.no_grad()
def tiny_model(layout: str = "llama", seed: int = 0, dtype: torch.dtype = torch.float32, **over):
    """A tiny causal LM with random weights, random norm scales/shifts, eager attention, in eval mode."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    cfg = tiny_config(layout, **over)
    cfg._attn_implementation = "eager"
    model = AutoModelForCausalLM.from_config(cfg).to(dtype).eval()
    g = torch.Generator().manual_seed(seed + 1)
    for name, p in model.named_parameters():
        if p.dim() == 1 and ("norm" in name or "ln" in name):
            if name.endswith("weight"):
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype))
        elif p.dim() == 1 and name.endswith("bias"):
            p.copy_(0.05 * torch.randn(p.shape, generator=g, dtype=p.dtype))
        elif p.dim() == 2:
            p.copy_(0.08 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return model


def train_tokenizer(texts: list[str], vocab: int = TINY["vocab"]):
    """A byte-level BPE tokenizer (as a transformers fast tokenizer) trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<pad>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>")


def save_tiny(folder: Path | str, layout: str = "llama", seed: int = 0, **over) -> Path:
    """Write a tiny model of ``layout`` and its tokenizer to ``folder`` (a Hugging Face model folder)."""
    from deletionlab.slicegpt.data import bbc_articles

    folder = Path(folder)
    model = tiny_model(layout, seed, **over)
    tok = train_tokenizer([a for a in bbc_articles()[:200]], vocab=model.config.vocab_size)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
