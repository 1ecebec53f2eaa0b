"""Compute-matched training and bits-per-byte evaluation (Slagle 2024, section 4).

Optimiser as in the paper: AdamW with β = (0.9, 0.98), weight decay 0.01, gradient clipping at 1.0,
a linear warm-up over the first 1 % of steps, then the learning rate decays as cos(πx/2) to zero.
Learning rate: the reference code's rule, a base rate times d_in^-1/2 for every linear weight
(``Linear.lr_mult``); the paper's text states a single rate instead (``docs/spacebyte.md``).

A *budget* is training FLOPs: steps = budget / (3 × inference FLOPs per byte × bytes per step).
Bits per byte = summed cross-entropy (nats) / (bytes × ln 2), over the same validation bytes for
every model; SpaceByte's windows are cut at its T_global-th global position so that every byte is
scored once.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress
from deletionlab.spacebyte import data as D
from deletionlab.spacebyte.flops import flops_per_byte
from deletionlab.spacebyte.models import ARCHS, ModelConfig, build, loss_terms
from deletionlab.spacebyte.patching import BOS, global_mask

#: fewest optimiser steps a budget must buy (fewer is not training, and the warm-up needs one)
MIN_STEPS = 10
#: the paper's optimiser settings
BETAS = (0.9, 0.98)
WEIGHT_DECAY = 0.01
GRAD_CLIP = 1.0
WARMUP = 0.01


@contextmanager
def torch_threads(n: int = 1):
    """Run a block with ``n`` PyTorch threads. Our models are tiny: one thread is as fast as two,
    and on a busy machine oversubscribed threads that spin-wait for each other run 100x slower."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@dataclass(frozen=True)
class TrainConfig:
    """How one model is trained: budget (training FLOPs), bytes per optimiser step, base learning
    rate (times d_in^-1/2 for linear weights), seed, validation bytes scored."""

    budget: float = 1e12
    batch_bytes: int = 2048
    lr: float = 0.1
    seed: int = 0
    val_bytes: int = 65536
    eval_batch: int = 16


@dataclass
class Plan:
    """What a budget buys for one model."""

    steps: int
    batch: int              # sequences per step
    bytes_per_step: float
    train_flops_per_byte: float
    bytes_per_token: float

    @property
    def flops(self) -> float:
        return self.steps * self.bytes_per_step * self.train_flops_per_byte


def plan(cfg: ModelConfig, tc: TrainConfig, bytes_per_token: float = 1.0) -> Plan:
    """Steps and batch size of a run; a :class:`UserError` if the budget buys fewer than MIN_STEPS."""
    c = cfg.validate()
    if not (math.isfinite(tc.budget) and tc.budget > 0):
        raise UserError(f"budget must be a positive number of FLOPs (got {tc.budget}).")
    bpt = bytes_per_token if c.arch == "subword" else 1.0
    per_seq = c.context * bpt
    batch = max(1, round(tc.batch_bytes / per_seq))
    fpb = flops_per_byte(c, bytes_per_token=bpt, train=True)
    steps = int(tc.budget // (fpb * batch * per_seq))
    if steps < MIN_STEPS:
        need = MIN_STEPS * fpb * batch * per_seq
        raise UserError(f"budget must be at least {need:.2g} training FLOPs for the {ARCHS[c.arch]} (d_model {c.d_model}): "
                        f"{tc.budget:.2g} buys {steps} of the {MIN_STEPS} steps it needs.")
    return Plan(steps, batch, batch * per_seq, fpb, bpt)


def make_optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """AdamW with one parameter group per learning-rate multiplier."""
    groups: dict[float, list] = {}
    for p in model.parameters():
        groups.setdefault(getattr(p, "lr_mult", 1.0), []).append(p)
    return torch.optim.AdamW([{"params": ps, "lr_mult": m, "lr": lr * m} for m, ps in groups.items()],
                             lr=lr, betas=BETAS, weight_decay=WEIGHT_DECAY)


def lr_factor(step: int, steps: int) -> float:
    """Warm-up over the first 1 % of steps, then cos(πx/2) decay (x = fraction of training done)."""
    warm = max(1, round(WARMUP * steps))
    return min(1.0, (step + 1) / warm) * math.cos(0.5 * math.pi * step / steps)


# -- evaluation -------------------------------------------------------------------------------------
def _spacebyte_length(x: np.ndarray, t_global: int) -> int:
    """How many targets of a window with inputs ``x`` SpaceByte scores (up to its T_global-th global position)."""
    pos = np.flatnonzero(global_mask(x))
    return int(pos[t_global]) if len(pos) > t_global else len(x)


def eval_windows(model: torch.nn.Module, items: np.ndarray, bos: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(inputs, targets) windows that score every item of ``items[1:]`` exactly once."""
    c = model.cfg
    T = c.context
    out, p = [], 1
    while p < len(items):
        y = items[p:p + T]
        x = np.concatenate([[bos], y[:-1]]).astype(np.int64)
        n = len(y)
        if c.arch == "spacebyte":
            n = _spacebyte_length(x, c.t_global)
            x, y = x[:n], y[:n]
        out.append((x, y.astype(np.int64)))
        p += n
    return out


def evaluate(model: torch.nn.Module, corpus: str, val_bytes: int = 65536, batch: int = 16,
             cancel: CancelToken | None = None) -> dict:
    """Bits per byte of ``model`` on the first ``val_bytes`` of the validation split (whole documents)."""
    data, texts = D.validation_slice(corpus, val_bytes)
    if model.cfg.arch == "subword":
        items, bos = D.encode_docs(D.load_tokenizer(corpus), texts), 0
    else:
        items, bos = data, BOS
    windows = eval_windows(model, items, bos)
    nats, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(windows), batch):
            check_cancel(cancel)
            group = windows[i:i + batch]
            L = max(len(x) for x, _ in group)
            xs = torch.full((len(group), L), bos, dtype=torch.long)
            ys = torch.full((len(group), L), -1, dtype=torch.long)
            for j, (x, y) in enumerate(group):
                xs[j, :len(x)] = torch.from_numpy(x)
                ys[j, :len(y)] = torch.from_numpy(y)
            s, n = loss_terms(model, xs, ys)
            nats += float(s)
            count += int(n)
    model.train()
    n_bytes = len(data) - 1
    if count != len(items) - 1:
        raise RuntimeError(f"scored {count} of {len(items) - 1} items")
    return {"bpb": nats / (n_bytes * math.log(2)), "nats_per_item": nats / count, "bytes": n_bytes, "items": count}


def byte_bits(model: torch.nn.Module, data: np.ndarray, *, progress: Progress = no_progress,
              cancel: CancelToken | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bits of every byte of ``data[1:]`` (``data`` starts with BOS) under a byte-level model, each byte
    scored once (windows as in :func:`evaluate`), and where global blocks ran: ``glob[k]`` says a
    global block ran at ``data[k]``, the input whose prediction is ``data[k+1]``."""
    windows = eval_windows(model, np.asarray(data, dtype=np.int64), BOS)
    bits, glob = [], []
    with torch.no_grad():
        for i, (x, y) in enumerate(windows):
            check_cancel(cancel)
            out = model(torch.from_numpy(x)[None])
            logp = torch.log_softmax(out.logits[0].float(), -1)
            bits.append((-logp[torch.arange(len(y)), torch.from_numpy(y)] / math.log(2)).numpy())
            glob.append(out.global_positions[0].numpy() if out.global_positions is not None else np.zeros(len(x), bool))
            progress(i + 1, len(windows), "scoring bytes")
    return np.concatenate(bits), np.concatenate(glob)


# -- training ---------------------------------------------------------------------------------------
def _stream(corpus: str, arch: str) -> tuple[np.ndarray, int]:
    if arch == "subword":
        return D.token_stream(corpus, "train"), 0
    return D.byte_stream(corpus, "train"), BOS


def _save(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def train(cfg: ModelConfig, corpus: str, tc: TrainConfig = TrainConfig(), *, progress: Progress = no_progress,
          cancel: CancelToken | None = None, checkpoint: Path | None = None, checkpoint_every: float = 120.0,
          model: torch.nn.Module | None = None) -> tuple[torch.nn.Module, dict]:
    """Train one model on a corpus within a FLOPs budget and score it; resumes from ``checkpoint``.

    Returns the model and a JSON-able record (config, plan, curve of training loss, bits per byte,
    wall time). ``progress`` is called every step; ``cancel`` is checked every step.
    """
    bpt = D.bytes_per_token(corpus) if cfg.arch == "subword" else 1.0
    if cfg.arch == "subword":
        cfg = ModelConfig(**{**asdict(cfg), "vocab": D.load_tokenizer(corpus).get_vocab_size()})
    pl = plan(cfg, tc, bpt)
    model = model if model is not None else build(cfg, seed=tc.seed)
    opt = make_optimizer(model, tc.lr)
    stream, bos = _stream(corpus, cfg.arch)
    batcher = D.Batcher(stream, model.cfg.context, bos)
    rng = np.random.default_rng(tc.seed + 1000)
    state = {"step": 0, "curve": [], "seconds": 0.0}
    if checkpoint is not None and checkpoint.exists():
        ck = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        rng.bit_generator.state = ck["rng"]
        state = ck["state"]
    t0, last_save = time.time() - state["seconds"], time.time()
    model.train()
    while state["step"] < pl.steps:
        check_cancel(cancel)
        step = state["step"]
        for g in opt.param_groups:
            g["lr"] = tc.lr * g["lr_mult"] * lr_factor(step, pl.steps)
        x, y = batcher.batch(pl.batch, rng)
        s, n = loss_terms(model, x, y)
        loss = s / n
        check_cancel(cancel)  # a step of the largest models takes about a second: check halfway too
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        state["step"] = step + 1
        state["seconds"] = time.time() - t0
        bits = float(loss.detach()) / math.log(2) / bpt
        if step % max(1, pl.steps // 50) == 0 or step + 1 == pl.steps:
            state["curve"].append([step + 1, bits])
        progress(step + 1, pl.steps, f"loss {bits:.2f} bits/byte")
        if checkpoint is not None and time.time() - last_save > checkpoint_every:
            _save(checkpoint, {"model": model.state_dict(), "opt": opt.state_dict(), "rng": rng.bit_generator.state, "state": state})
            last_save = time.time()
    train_seconds = time.time() - t0
    ev = evaluate(model, corpus, tc.val_bytes, tc.eval_batch, cancel)
    record = {"model": asdict(model.cfg), "train": asdict(tc), "corpus": corpus, "steps": pl.steps, "batch": pl.batch,
              "bytes_trained": pl.steps * pl.bytes_per_step, "train_flops_per_byte": pl.train_flops_per_byte,
              "flops": pl.flops, "bytes_per_token": bpt, "curve": state["curve"], "train_seconds": train_seconds,
              "bytes_per_second": pl.steps * pl.bytes_per_step / max(train_seconds, 1e-9), **ev}
    return model, record
