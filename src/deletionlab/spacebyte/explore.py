"""What the explorer widget shows, computed here (no widgets): patches of a text, the FLOPs
calculator, per-byte loss maps of the shipped models, completions, and a small retraining run.

* :func:`explore` -- a text cut into patches by a rule (:class:`Settings`), with statistics and the
  per-character view the widget colours (which patch, where global blocks run, what falls past T_global).
* :func:`flops_table` -- FLOPs per byte of every architecture for the calculator's sliders.
* :func:`loss_map` -- bits of every byte of a text under a shipped model, with its global positions,
  and the mean loss on the first byte of a patch vs the others (the paper's Figure 3 observation).
* :func:`retrain` -- a small compute-matched tournament in the background, resumable.
* :func:`write` -- a shipped model completes a prompt byte by byte.
* :func:`flops_curves` -- FLOPs per byte of every architecture against the context T (the calculator's curve).
* :func:`shared_loss_map`, :func:`shared_write`, :func:`shared_retrain` -- the same runs through the
  machine-wide result cache (``core.cache.cached``), keyed by the settings and the model file's hash, so
  every kernel on the machine computes a given run once; they take a model *folder* (not a model), so
  a job sent to a Dask worker loads the model there.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from deletionlab.core.assets import data_dir
from deletionlab.core.cache import cached
from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, in_helper, no_progress
from deletionlab.spacebyte import DEFAULT_PATCH, DEFAULT_RULE, DEFAULT_T_GLOBAL, DEFAULT_TEXT
from deletionlab.spacebyte.checkpoints import MAX_NEW_BYTES, complete, load_cached, shipped
from deletionlab.spacebyte.flops import calculator
from deletionlab.spacebyte.models import ARCHS
from deletionlab.spacebyte.patching import BOS, MAX_TEXT_BYTES, Patches, patch, stats, to_bytes, word_starts
from deletionlab.spacebyte.training import byte_bits, torch_threads

#: characters the patch view draws (statistics always cover the whole text)
MAX_DRAWN_BYTES = 4000
#: the longest text a loss map scores (a few forward passes of a tiny model)
MAX_LOSS_BYTES = 6000


@dataclass(frozen=True)
class Settings:
    """The patch view's controls: the text, the rule, P for the fixed rule, T_global."""

    text: str = DEFAULT_TEXT
    rule: str = DEFAULT_RULE
    patch: int = DEFAULT_PATCH
    t_global: int = DEFAULT_T_GLOBAL


def validate(s: Settings) -> Settings:
    """A :class:`UserError` naming the field and its range for bad settings (text checked in :func:`explore`)."""
    if s.rule not in ("spacelike", "fixed"):
        raise UserError(f"rule must be 'spacelike' or 'fixed' (got {s.rule!r}).")
    if not (isinstance(s.patch, int) and 1 <= s.patch <= 64):
        raise UserError(f"patch size P must be a whole number from 1 to 64 (got {s.patch}).")
    if not (isinstance(s.t_global, int) and 1 <= s.t_global <= 100_000):
        raise UserError(f"T_global must be a whole number from 1 to 100,000 (got {s.t_global}).")
    return s


@dataclass
class Char:
    """One character of the drawn text: its text, first byte, patch number, whether a global block
    runs at its first byte, whether a patch boundary splits it, whether it lies past T_global."""

    text: str
    start: int
    patch: int
    is_global: bool
    split: bool
    past: bool


@dataclass
class Exploration:
    settings: Settings
    patches: Patches
    stats: dict
    chars: list[Char]
    truncated: bool
    notices: list[str] = field(default_factory=list)


def characters(p: Patches, max_bytes: int = MAX_DRAWN_BYTES) -> tuple[list[Char], bool]:
    """The text as characters with their patch membership (first ``max_bytes`` bytes)."""
    raw = bytes(p.data[1:1 + max_bytes])
    text = raw.decode("utf-8", errors="ignore")  # a cut at max_bytes may split the last character
    patch_of = np.cumsum(np.isin(np.arange(len(p.data)), p.starts)) - 1
    is_start = np.zeros(len(p.data), dtype=bool)
    is_start[p.starts] = True
    cutoff = p.cutoff if p.cutoff is not None else len(p.data)
    chars, pos = [], 1
    for ch in text:
        n = len(ch.encode("utf-8"))
        chars.append(Char(ch, pos, int(patch_of[pos]), bool(is_start[pos]), bool(is_start[pos + 1:pos + n].any()), pos > cutoff))
        pos += n
    return chars, len(p.data) - 1 > max_bytes


def explore(s: Settings, *, progress: Progress = no_progress, cancel: CancelToken | None = None) -> Exploration:
    """Cut the text into patches and describe them (bounded: at most 200 kB, the first 4 kB drawn)."""
    validate(s)
    p = patch(s.text, s.rule, s.patch, s.t_global, limit=MAX_TEXT_BYTES)
    check_cancel(cancel)
    st = stats(p)
    chars, truncated = characters(p)
    notes = []
    if truncated:
        notes.append(f"Drawing the first {MAX_DRAWN_BYTES:,} bytes; the statistics cover all {p.n_bytes:,}.")
    if p.bytes_past:
        notes.append(f"{p.bytes_past:,} bytes lie past the {s.t_global}-th global position: SpaceByte would not train on them.")
    progress(1, 1, "patched")
    return Exploration(s, p, st, chars, truncated, notes)


# -- FLOPs calculator -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlopsSettings:
    """The calculator's sliders: global width D, layers L, context T (bytes), patch size P, and the
    subword model's vocabulary and bytes per token."""

    d_model: int = 1536
    n_layers: int = 28
    context: int = 8192
    patch: int = 6
    vocab: int = 50257
    bytes_per_token: float = 4.0


def validate_flops(s: FlopsSettings) -> FlopsSettings:
    for name, lo, hi in (("D", 64, 8192), ("L", 1, 128), ("T", 64, 65536), ("P", 1, 32), ("vocabulary", 256, 300_000)):
        v = {"D": s.d_model, "L": s.n_layers, "T": s.context, "P": s.patch, "vocabulary": s.vocab}[name]
        if not lo <= v <= hi:
            raise UserError(f"{name} must be a whole number from {lo:,} to {hi:,} (got {v}).")
    if not (math.isfinite(s.bytes_per_token) and 1 <= s.bytes_per_token <= 16):
        raise UserError(f"bytes per token must be from 1 to 16 (got {s.bytes_per_token}).")
    if s.d_model % 64:
        raise UserError(f"D must be a multiple of 64 (the key dimension; got {s.d_model}).")
    return s


def flops_table(s: FlopsSettings) -> dict[str, dict]:
    """arch -> inference FLOPs per byte (total and parts) and training FLOPs per byte (3×)."""
    validate_flops(s)
    out = {}
    for arch, cost in calculator(s.d_model, s.n_layers, s.context, s.patch, s.vocab, s.bytes_per_token).items():
        out[arch] = {"name": ARCHS[arch], "weights": 2 * cost.weights, "attention": 2 * cost.attention,
                     "other": 2 * cost.other, "inference": 2 * cost.total, "training": 6 * cost.total}
    return out


#: context sizes (bytes) the calculator's curve is drawn at: the T slider's range, doubling
CURVE_CONTEXTS = (256, 512, 1024, 2048, 4096, 8192, 16384)


def flops_curves(s: FlopsSettings, contexts: tuple[int, ...] = CURVE_CONTEXTS) -> dict[str, dict]:
    """arch -> {"name", "context": [T...], "inference": [FLOPs per byte...]} at the settings' D, L, P,
    V and bytes per token, T running over ``contexts`` and the settings' own T (sorted)."""
    validate_flops(s)
    ts = sorted({*contexts, s.context})
    tables = [flops_table(FlopsSettings(s.d_model, s.n_layers, t, s.patch, s.vocab, s.bytes_per_token)) for t in ts]
    return {a: {"name": ARCHS[a], "context": ts, "inference": [tab[a]["inference"] for tab in tables]} for a in tables[0]}


# -- loss maps --------------------------------------------------------------------------------------
@dataclass
class LossMap:
    arch: str
    data: np.ndarray            # BOS + text bytes (scored: data[1:])
    bits: np.ndarray            # bits of each text byte
    is_global: np.ndarray       # [k]: a global block ran at data[k], the input that predicts data[k+1] (= bits[k])
    first_of_word: np.ndarray   # [k]: data[k+1] follows a global position and is not spacelike (a word's first byte)
    summary: dict


def loss_map(text: str, model: torch.nn.Module | str = "spacebyte", *, progress: Progress = no_progress,
             cancel: CancelToken | None = None) -> LossMap:
    """Bits of every byte of ``text`` under a byte-level model (or the shipped model of an architecture)."""
    model = shipped(model)[0] if isinstance(model, str) else model
    arch = model.cfg.arch
    if arch == "subword":
        raise UserError("the loss map needs a byte-level model; pick another architecture.")
    raw = to_bytes(text, limit=MAX_LOSS_BYTES, field="text for the loss map")
    data = np.concatenate([[BOS], raw]).astype(np.int64)
    with torch_threads(1):
        bits_a, glob_a = byte_bits(model, data, progress=progress, cancel=cancel)
    first_word = word_starts(data)
    rest = ~first_word
    summary = {"mean_bits": float(bits_a.mean()), "n_bytes": int(len(bits_a)), "n_first": int(first_word.sum()),
               "first_byte_bits": float(bits_a[first_word].mean()) if first_word.any() else None,
               "other_bits": float(bits_a[rest].mean()) if rest.any() else None}
    return LossMap(arch, data, bits_a, glob_a, first_word, summary)


# -- retraining ---------------------------------------------------------------------------------------


def _warm_up(config) -> None:
    """What a retraining loads before its first step, each once per process: PyTorch's compiler package
    (AdamW imports it on first use: about 2 s on a busy machine), the corpora's byte streams (and tokens
    for the subword model), and the validation text the final patch statistics read."""
    import torch._dynamo  # noqa: F401

    from deletionlab.spacebyte import data as D
    for st in config.stages:
        D.byte_stream(st.corpus, "train")
        if "subword" in config.archs:
            D.token_stream(st.corpus, "train")
    for corpus in D.CORPORA:
        D.byte_stream(corpus, "validation")


def retrain(config, *, progress: Progress = no_progress, cancel: CancelToken | None = None) -> dict:
    """Run a (small) tournament in the background; finished runs are kept in the cache folder,
    so a cancelled retraining resumes where it stopped. Cancel ends it within a second at any point
    (the slow first steps that cannot check the token run in :func:`cancellable`)."""
    from deletionlab.spacebyte.experiment import run_experiment

    key = hashlib.sha1(repr(config).encode()).hexdigest()[:12]
    work = data_dir() / "spacebyte" / f"retrain-{key}"
    work.mkdir(parents=True, exist_ok=True)
    progress(0, 1, "loading PyTorch's optimiser and the text")
    in_helper(lambda: _warm_up(config), cancel, poll=0.05, name="dl-spacebyte-warmup")
    with torch_threads(1):
        return run_experiment(config, progress=progress, cancel=cancel, workdir=work, keep_models=False)


def write(model: torch.nn.Module | str, prompt: str, n_bytes: int = 120, temperature: float = 0.7, seed: int = 0, *,
          progress: Progress = no_progress, cancel: CancelToken | None = None) -> bytes:
    """A model (or the shipped model of an architecture) completes ``prompt`` byte by byte
    (see :func:`checkpoints.complete`)."""
    model = shipped(model)[0] if isinstance(model, str) else model
    with torch_threads(1):
        return complete(model, prompt, n_bytes, temperature, seed, progress=progress, cancel=cancel)


# -- the same runs, computed once per machine ---------------------------------------------------------
#: the longest prompt a completion reads (bytes)
MAX_PROMPT_BYTES = 20_000
_MODEL_IDS: dict = {}


def model_id(folder: Path) -> str:
    """A hash of a saved model's files (config and weights): part of every cached run's key, so a
    retrained or replaced model never gets another model's results (computed once per file state)."""
    folder = Path(folder)
    files = [folder / "config.json", folder / "model.safetensors"]
    state = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files if f.exists())
    if state not in _MODEL_IDS:
        h = hashlib.sha256()
        for f in files:
            if f.exists():
                h.update(f.read_bytes())
        _MODEL_IDS[state] = h.hexdigest()[:16]
    return _MODEL_IDS[state]


def model_record(folder: Path) -> dict:
    """The training record saved next to a model (``config.json``: run id, corpus, budget, size, seed, bits
    per byte), read without loading the weights."""
    try:
        return json.loads((Path(folder) / "config.json").read_text()).get("record", {})
    except (OSError, ValueError):
        return {}


def check_loss_text(text: str) -> np.ndarray:
    """The loss map's text as bytes, or a :class:`UserError` naming the field and its range."""
    return to_bytes(text, limit=MAX_LOSS_BYTES, field="text for the loss map")


def validate_write(prompt: str, n_bytes: int, temperature: float, seed: int) -> None:
    """A :class:`UserError` naming the field and its range for a completion's settings."""
    to_bytes(prompt, limit=MAX_PROMPT_BYTES, field="prompt")
    if not (isinstance(n_bytes, int) and 1 <= n_bytes <= MAX_NEW_BYTES):
        raise UserError(f"bytes to write must be a whole number from 1 to {MAX_NEW_BYTES} (got {n_bytes}).")
    if not (math.isfinite(temperature) and 0 <= temperature <= 2):
        raise UserError(f"temperature must be a number from 0 to 2 (got {temperature}).")
    if not (isinstance(seed, int) and 0 <= seed < 2**32):
        raise UserError(f"seed must be a whole number from 0 to {2**32 - 1:,} (got {seed}).")


def loss_key(text: str, folder: Path) -> tuple:
    """The result-cache key of a loss map (``core.cache.is_cached("spacebyte", key)`` says whether it is on disk)."""
    return ("lossmap", text, model_id(folder))


def write_key(folder: Path, prompt: str, n_bytes: int, temperature: float, seed: int) -> tuple:
    return ("write", prompt, n_bytes, float(temperature), seed, model_id(folder))


def retrain_key(config) -> tuple:
    return ("retrain", config)


def shared_loss_map(text: str, folder: Path, *, progress: Progress = no_progress, cancel: CancelToken | None = None) -> LossMap:
    """:func:`loss_map` of the model saved in ``folder``, computed once per machine (``core.cache``)."""
    check_loss_text(text)
    return cached("spacebyte", loss_key(text, folder),
                  lambda: loss_map(text, load_cached(folder)[0], progress=progress, cancel=cancel), cancel=cancel, progress=progress)


def shared_write(folder: Path, prompt: str, n_bytes: int = 120, temperature: float = 0.7, seed: int = 0, *,
                 progress: Progress = no_progress, cancel: CancelToken | None = None) -> bytes:
    """:func:`write` with the model saved in ``folder`` (deterministic under its seed), computed once per machine."""
    validate_write(prompt, n_bytes, temperature, seed)
    return cached("spacebyte", write_key(folder, prompt, n_bytes, temperature, seed),
                  lambda: write(load_cached(folder)[0], prompt, n_bytes, temperature, seed, progress=progress, cancel=cancel),
                  cancel=cancel, progress=progress)


def shared_retrain(config, *, progress: Progress = no_progress, cancel: CancelToken | None = None) -> dict:
    """:func:`retrain` computed once per machine: a second kernel asking for the same tournament waits for
    the first (cancellable) and reads its result; a cancelled run stores nothing (its finished runs stay
    in the work folder, so the next request resumes)."""
    config.validate()
    return cached("spacebyte", retrain_key(config), lambda: retrain(config, progress=progress, cancel=cancel),
                  cancel=cancel, progress=progress)


def retrain_estimate(config, results: dict | None) -> float | None:
    """Seconds of training a retraining should take on one thread, from the committed tournament's measured
    speed of the same architectures at size XS (training FLOPs per second of wall time); None without results."""
    if not results:
        return None
    speed = {}
    for r in results.get("runs", []):
        if r.get("size") == "XS" and r.get("train_seconds"):
            speed.setdefault(r["arch"], []).append(r["flops"] / r["train_seconds"])
    if not all(a in speed for a in config.archs):
        return None
    return float(sum(st.budget * st.seeds / np.median(speed[a]) for st in config.stages for a in config.archs))
