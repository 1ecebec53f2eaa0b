"""What slicing costs and what it saves: perplexity, a zero-shot probe, parameters, FLOPs, latency.

* **Perplexity** ``exp(mean NLL)`` over every predicted token of non-overlapping windows of
  held-out text (each window predicts its tokens 2..T from the ones before). The per-window mean
  NLL is kept, so that two models are compared *paired*, window by window.
* **Probe accuracy**: for each item, the candidate continuation with the highest mean
  log-probability per token given the prefix is the model's answer (length-normalised, as
  lm-evaluation-harness's ``acc_norm`` is for its tasks); per-item correctness is kept (paired).
* **Parameters**, counted from the modules (tied weights once): embeddings, blocks, shortcut
  matrices, head. Slicing *adds* the shortcut matrices (2·d² per block) and unties the head
  (the head reads the last block's frame, the embeddings the first one's), which is why a
  lightly sliced model with a large vocabulary can be larger than the dense one.
* **FLOPs per token** from the shapes of the linear layers actually run (2 per multiply-add),
  plus attention's scores and weighted sum over a context of ``n`` tokens.
* **Latency**: wall time per generated token with a KV cache (greedy decoding), at batch 1 and
  batch 16, measured as (time for 1 + k new tokens − time for 1 new token) / k.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from deletionlab.core import check_cancel, no_progress
from deletionlab.slicegpt.data import ProbeItem
from deletionlab.slicegpt.sliced_modules import SlicedBlock


@torch.no_grad()
def window_nll(model: nn.Module, windows: torch.Tensor, batch: int = 1, progress=no_progress, cancel=None,
               note: str = "perplexity") -> np.ndarray:
    """Mean negative log-likelihood (nats per token) of each window (row of token ids)."""
    out = []
    n = windows.shape[0]
    for i in range(0, n, batch):
        check_cancel(cancel)
        ids = windows[i:i + batch]
        logits = model(input_ids=ids, use_cache=False).logits[:, :-1].float()
        nll = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none")
        out.extend(nll.reshape(ids.shape[0], -1).mean(1).tolist())
        progress(min(i + batch, n), n, note)
    return np.asarray(out)


def perplexity(nll: Sequence[float]) -> float:
    """Perplexity from per-window mean NLLs of equal-length windows: ``exp(mean)``."""
    return float(math.exp(float(np.mean(nll))))


def paired_log_ratio(nll_a: Sequence[float], nll_b: Sequence[float]) -> dict:
    """Paired comparison of two models on the same windows: mean of ``nll_b − nll_a`` (the log of
    the perplexity ratio b/a), its standard error over windows, and the ratio with a 95 % interval."""
    d = np.asarray(nll_b) - np.asarray(nll_a)
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    m = float(d.mean())
    return {"log_ratio": m, "se": se, "ratio": math.exp(m), "ci95": [math.exp(m - 1.96 * se), math.exp(m + 1.96 * se)], "n": len(d)}


def _choice_batch(tokenizer, item: ProbeItem, pad: int) -> tuple[list[list[int]], list[tuple[int, list[int]]]]:
    """Token ids of prefix + each choice, and per choice (first continuation position, its ids)."""
    pre = tokenizer(item.prefix, add_special_tokens=False)["input_ids"]
    seqs, spans = [], []
    for c in item.choices:
        ids = tokenizer(" " + c, add_special_tokens=False)["input_ids"]
        seqs.append(pre + ids)
        spans.append((len(pre), ids))
    return seqs, spans


@torch.no_grad()
def probe(model: nn.Module, tokenizer, items: Sequence[ProbeItem], items_per_batch: int = 2, progress=no_progress,
          cancel=None) -> np.ndarray:
    """1/0 per item: did the model give the true continuation the highest mean log-probability?

    Several items go through the model at once (right-padded, with an attention mask); the head
    is applied only where continuation tokens are predicted."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    head = model.get_output_embeddings()
    correct: list[int] = []
    for start in range(0, len(items), items_per_batch):
        check_cancel(cancel)
        chunk = items[start:start + items_per_batch]
        seqs, spans = [], []
        for item in chunk:
            s, sp = _choice_batch(tokenizer, item, pad)
            seqs += s
            spans += sp
        length = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), length), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for j, seq in enumerate(seqs):
            ids[j, : len(seq)] = torch.tensor(seq)
            mask[j, : len(seq)] = 1
        hidden = model.base_model(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
        scores = []
        for j, (first, cont) in enumerate(spans):
            logits = head(hidden[j, first - 1: first - 1 + len(cont)]).float()
            scores.append(float(torch.log_softmax(logits, -1)[torch.arange(len(cont)), torch.tensor(cont)].mean()))
        k = len(chunk[0].choices)
        for i, item in enumerate(chunk):
            correct.append(int(int(np.argmax(scores[i * k:(i + 1) * k])) == item.answer))
        progress(min(start + items_per_batch, len(items)), len(items), "zero-shot probe")
    return np.asarray(correct)


def paired_accuracy(a: Sequence[int], b: Sequence[int]) -> dict:
    """Accuracies of two models on the same items, the difference b − a with its paired standard
    error, and b's accuracy as a share of a's (the paper's "accuracy kept")."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return {"acc_a": float(a.mean()), "acc_b": float(b.mean()), "diff": float(d.mean()), "se": se,
            "kept": float(b.mean() / a.mean()) if a.mean() > 0 else float("nan"), "n": len(d)}


def parameter_counts(model: nn.Module) -> dict:
    """Parameters by part (tied weights counted once): embeddings, blocks, shortcuts, head, norms, total."""
    seen: set[int] = set()
    parts = {"embeddings": 0, "blocks": 0, "shortcuts": 0, "head": 0, "other": 0}
    head = model.get_output_embeddings()
    head_ids = {id(p) for p in head.parameters()} if head is not None else set()
    emb_ids = {id(p) for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in seen:
            continue
        seen.add(id(p))
        if name.rsplit(".", 1)[-1] in ("attn_shortcut", "mlp_shortcut"):
            parts["shortcuts"] += p.numel()
        elif id(p) in emb_ids:
            parts["embeddings"] += p.numel()
        elif id(p) in head_ids:
            parts["head"] += p.numel()
        elif ".layers." in name or ".h." in name or ".blocks." in name:
            parts["blocks"] += p.numel()
        else:
            parts["other"] += p.numel()
    parts["total"] = sum(parts.values())
    parts["tied_head"] = bool(head is not None and id(head.weight) in emb_ids)
    return parts


def flops_per_token(model: nn.Module, context: int = 256) -> dict:
    """FLOPs (2 per multiply-add) to process one token with ``context`` tokens before it:
    linear layers of the blocks, shortcut matrices, attention scores + weighted sum, the head."""
    head = model.get_output_embeddings()
    linear = shortcut = attn = 0
    for m in model.modules():
        if isinstance(m, SlicedBlock):
            for p in (m.attn_shortcut, m.mlp_shortcut):
                if p is not None:
                    shortcut += 2 * p.numel()
    for name, m in model.named_modules():
        if m is head:
            continue
        if isinstance(m, nn.Linear):
            linear += 2 * m.in_features * m.out_features
        elif type(m).__name__ == "Conv1D":
            linear += 2 * m.weight.numel()
    cfg = model.config
    heads = getattr(cfg, "num_attention_heads", 0)
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // max(heads, 1)
    attn = cfg.num_hidden_layers * 2 * 2 * context * heads * head_dim
    h = 2 * head.in_features * head.out_features
    return {"linear": linear, "shortcuts": shortcut, "attention": attn, "head": h, "total": linear + shortcut + attn + h,
            "context": context}


def _cancel_criteria(cancel):
    """A ``generate`` stopping criterion that never stops but raises once ``cancel`` is set."""
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Check(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            check_cancel(cancel)
            return torch.zeros(input_ids.shape[0], dtype=torch.bool)

    return StoppingCriteriaList([_Check()])


@torch.no_grad()
def decode_latency(model: nn.Module, batch: int, prompt: int = 32, new: int = 16, repeats: int = 3, vocab: int | None = None,
                   cancel=None) -> float:
    """Seconds per generated token (per decoding step) with a KV cache at ``batch`` sequences:
    (time for 1 + ``new`` tokens − time for 1 token) / ``new``, best of ``repeats``."""
    v = vocab or model.config.vocab_size
    ids = torch.randint(3, v, (batch, prompt), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)

    def run(k: int) -> float:
        check_cancel(cancel)
        t = time.perf_counter()
        model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=k, min_new_tokens=k, do_sample=False,
                       pad_token_id=0, stopping_criteria=_cancel_criteria(cancel))
        return time.perf_counter() - t

    run(2)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        best = min(best, (run(1 + new) - run(1)) / new)
    return max(best, 1e-9)


def paired_latency(dense: nn.Module, sliced: nn.Module, batches: Sequence[int] = (1, 16), repeats: int = 3, cancel=None) -> dict:
    """Decoding time per token of two models measured alternately (dense, sliced, dense, ...), the
    best of ``repeats`` each, so that a busy machine slows both alike."""
    out = {}
    for b in batches:
        best = {"dense": float("inf"), "sliced": float("inf")}
        for _ in range(repeats):
            for name, m in (("dense", dense), ("sliced", sliced)):
                best[name] = min(best[name], decode_latency(m, b, repeats=1, cancel=cancel))
        out[f"batch {b}"] = best
    return out


@torch.no_grad()
def generate(model: nn.Module, tokenizer, prompt: str, new_tokens: int = 40, cancel=None) -> str:
    """Greedy continuation of ``prompt`` (the chat template is not applied: plain continuation)."""
    enc = tokenizer(prompt, return_tensors="pt")
    out = model.generate(**enc, max_new_tokens=new_tokens, do_sample=False, stopping_criteria=_cancel_criteria(cancel),
                         pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
                         repetition_penalty=1.1)
    return tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
