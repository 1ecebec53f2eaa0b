"""What the explorer computes: slice a model with the user's settings and measure it.

``explore(Settings(...))`` loads the model (cached), draws calibration text, fuses, rotates and
slices it (PCA or random), and measures the dense and the sliced model side by side on the same
held-out windows and probe items (paired), plus parameters, FLOPs and decoding latency. The
returned :class:`Exploration` keeps both models for generation and export; ``to_dict()`` is what
the views draw (the shipped default run is such a dict, so the dashboard opens drawn).

Nothing heavy is imported at module import: the dashboard draws the shipped default first.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from deletionlab.core import UserError, asset_path, check_cancel, no_progress
from deletionlab.core.cache import cached, is_cached
from deletionlab.core.jobs import in_helper
from deletionlab.slicegpt import (
    DEFAULT_CAL_SEQS,
    DEFAULT_CALIBRATION,
    DEFAULT_EVAL_WINDOWS,
    DEFAULT_MODEL,
    DEFAULT_PROBE_ITEMS,
    DEFAULT_SEQ_LEN,
    DEFAULT_SLICING,
)

#: slicing must leave at least this many dimensions (one GEMM-friendly group)
MIN_WIDTH = 8
#: calibration sizes the explorer offers: (sequences, tokens each)
CALIBRATION_SIZES = ((4, 64), (8, 128), (16, 128), (32, 128), (32, 256), (64, 256))
#: the longest prompt the side-by-side generation accepts, in characters
MAX_PROMPT = 500
#: a ramp slices the last block 1.5 × the mean, which must stay below 100 %
RAMP_MAX = 100 / 1.5
#: the longest custom calibration text, in characters (about 250k tokens)
MAX_CUSTOM_TEXT = 1_000_000
#: how many new tokens the side-by-side generation may write
MAX_NEW_TOKENS = 200


@dataclass(frozen=True)
class Settings:
    """What the explorer's controls set. ``slicing`` is in percent; ``per_layer`` (percent per
    block, one entry per block) replaces it when given; ``ramp=True`` slices block i of n by
    ``slicing · (0.5 + i/(n−1))``: half as much as the mean early, 1.5 times late (same mean)."""

    model: str = DEFAULT_MODEL
    slicing: float = DEFAULT_SLICING
    per_layer: tuple[float, ...] = ()
    ramp: bool = False
    calibration: str = DEFAULT_CALIBRATION
    custom_text: str = ""
    n_calibration: int = DEFAULT_CAL_SEQS
    seq_len: int = DEFAULT_SEQ_LEN
    orientation: str = "pca"
    seed: int = 0
    eval_windows: int = DEFAULT_EVAL_WINDOWS
    probe_items: int = DEFAULT_PROBE_ITEMS
    latency: bool = False


def _finite(x: float) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def validate(s: Settings, n_blocks: int | None = None, hidden: int | None = None) -> Settings:
    """Check the settings; a :class:`UserError` names the field and its allowed range.

    ``n_blocks`` and ``hidden`` (known once the model's config is read) check the per-layer
    schedule's length and that every block keeps at least :data:`MIN_WIDTH` dimensions."""
    if not s.per_layer:
        if not _finite(s.slicing) or not 0 < s.slicing < 100:
            raise UserError(f"Slicing must be more than 0 % and less than 100 % (got {s.slicing:g} %).")
        if s.ramp and not s.slicing < RAMP_MAX:
            raise UserError(f"A ramp slices the last block 1.5 times the mean: keep the slicing below {RAMP_MAX:.1f} % "
                            f"(got {s.slicing:g} %).")
    else:
        bad = [x for x in s.per_layer if not _finite(x) or not 0 <= x < 100]
        if bad:
            raise UserError(f"Every per-block slicing value must be from 0 % to below 100 % (got {bad[0]:g} %).")
        if not any(x > 0 for x in s.per_layer):
            raise UserError("The per-block schedule slices nothing: give at least one block more than 0 %.")
        if n_blocks is not None and len(s.per_layer) != n_blocks:
            raise UserError(f"The per-block schedule needs one value per block: {n_blocks} values (got {len(s.per_layer)}).")
    if hidden is not None and s.n_calibration * s.seq_len < hidden:
        raise UserError(f"Calibration must hold at least as many tokens as the model is wide ({hidden}): {s.n_calibration} × {s.seq_len} = "
                        f"{s.n_calibration * s.seq_len} tokens leave the PCA undetermined; pick a larger calibration size.")
    if hidden is not None:
        worst = max(s.per_layer) if s.per_layer else s.slicing * (1.5 if s.ramp else 1.0)
        if int((1 - worst / 100) * hidden) < MIN_WIDTH:
            raise UserError(f"Slicing {worst:g} % leaves fewer than {MIN_WIDTH} of the {hidden} dimensions; "
                            f"slice at most {100 * (1 - MIN_WIDTH / hidden):.1f} %.")
    if s.calibration not in ("bbc", "docstrings", "wikitext2", "custom"):
        raise UserError(f"Calibration text must be BBC News, Python docstrings, WikiText-2 or your own text (got '{s.calibration}').")
    if s.calibration == "custom" and not s.custom_text.strip():
        raise UserError("The custom calibration text is empty: paste some text (a few thousand words) or pick a shipped corpus.")
    if len(s.custom_text) > MAX_CUSTOM_TEXT:
        raise UserError(f"The custom calibration text must be at most {MAX_CUSTOM_TEXT:,} characters (got {len(s.custom_text):,}).")
    if not 1 <= s.n_calibration <= 1024 or not 16 <= s.seq_len <= 2048:
        raise UserError("Calibration size must be 1 to 1024 sequences of 16 to 2048 tokens "
                        f"(got {s.n_calibration} × {s.seq_len}).")
    if s.orientation not in ("pca", "random"):
        raise UserError(f"Orientation must be 'pca' or 'random' (got '{s.orientation}').")
    if not 1 <= s.eval_windows <= 256 or not 0 <= s.probe_items <= 1000:
        raise UserError("Evaluation must use 1 to 256 windows and 0 to 1000 probe items.")
    return s


def fractions(s: Settings, n_blocks: int) -> list[float]:
    """Per-block slicing fractions (0–1) of the settings."""
    if s.per_layer:
        return [x / 100 for x in s.per_layer]
    if s.ramp and n_blocks > 1:
        return [s.slicing / 100 * (0.5 + i / (n_blocks - 1)) for i in range(n_blocks)]
    return [s.slicing / 100] * n_blocks


def _sub(progress, lo: float, hi: float):
    """A progress callback mapping a sub-task's (done, total) into [lo, hi] of the whole."""
    def cb(done: float, total: float, note: str = "") -> None:
        progress(lo + (hi - lo) * (done / total if total else 0.0), 1.0, note)
    return cb


@dataclass
class Exploration:
    """One run: the numbers (``to_dict()``), its settings and, for generation and export, both
    models (``None`` when the numbers came from the shared result cache or the shipped run:
    :func:`ensure_models` rebuilds them, the slicing is deterministic)."""

    data: dict
    dense: Any = field(default=None, repr=False)
    sliced: Any = field(default=None, repr=False)
    tokenizer: Any = field(default=None, repr=False)
    settings: Settings | None = None
    key: tuple | None = None
    source: str = "computed"  # "computed" here, read from the shared "cache", or the "shipped" run

    def to_dict(self) -> dict:
        return self.data


_DENSE_CACHE: dict[tuple, Any] = {}
_LOAD_LOCK = threading.Lock()




def load_model(choice, progress=no_progress, cancel=None):
    """(dense model, tokenizer), loaded once per kernel (``models.load`` keeps it), cancellable within
    a poll even while torch and transformers are imported."""
    from deletionlab.slicegpt import models as M

    def load():
        with _LOAD_LOCK:
            return M.load(choice, progress, cancel)

    return in_helper(load, cancel, name="dl-slicegpt-load")


def _calibration(s: Settings, tok):
    from deletionlab.slicegpt.data import corpus, token_windows

    if s.calibration == "custom":
        texts, what = [s.custom_text], "custom calibration text"
    else:
        texts, what = corpus(s.calibration, "calibration"), "calibration text"
    return token_windows(tok, texts, s.n_calibration, s.seq_len, seed=s.seed, what=what)


def _evaluate(model, tok, s: Settings, key: tuple, progress, cancel) -> dict:
    """Per-window NLL on held-out BBC and docstrings, and probe correctness (dense results cached)."""
    from deletionlab.slicegpt import measure
    from deletionlab.slicegpt.data import corpus, probe_items, token_windows

    if key in _DENSE_CACHE:
        return _DENSE_CACHE[key]
    out = {}
    for k, name in enumerate(("bbc", "docstrings")):
        windows = token_windows(tok, corpus(name, "heldout"), s.eval_windows, s.seq_len, what=f"held-out {name} text")
        out[name] = measure.window_nll(model, windows, progress=_sub(progress, k / 3, (k + 1) / 3), cancel=cancel,
                                       note=f"perplexity on held-out {name}").tolist()
    items = probe_items(s.probe_items) if s.probe_items else ()
    # one item (4 choices) per forward pass: a cancel is seen within one pass (two items took up to 0.95 s on a busy machine)
    out["probe"] = (measure.probe(model, tok, items, items_per_batch=1, progress=_sub(progress, 2 / 3, 1), cancel=cancel).tolist()
                    if items else [])
    if key[0] == "dense":
        _DENSE_CACHE[key] = out
    return out


def _size_speed(dense, sliced, s: Settings, cancel) -> dict:
    from deletionlab.slicegpt import measure

    out = {"params": {"dense": measure.parameter_counts(dense), "sliced": measure.parameter_counts(sliced)},
           "flops": {"dense": measure.flops_per_token(dense, s.seq_len), "sliced": measure.flops_per_token(sliced, s.seq_len)}}
    if s.latency:
        out["latency"] = measure.paired_latency(dense, sliced, cancel=cancel)
    return out


def summarize(ev_dense: dict, ev_sliced: dict) -> dict:
    """Perplexities and paired comparisons (sliced vs dense) from per-window NLLs and probe answers."""
    from deletionlab.slicegpt import measure

    out = {}
    for name in ("bbc", "docstrings"):
        out[name] = {"dense": measure.perplexity(ev_dense[name]), "sliced": measure.perplexity(ev_sliced[name]),
                     **measure.paired_log_ratio(ev_dense[name], ev_sliced[name])}
    if ev_dense["probe"]:
        out["probe"] = measure.paired_accuracy(ev_dense["probe"], ev_sliced["probe"])
    return out


def explore(s: Settings, *, progress=no_progress, cancel=None, models: list | None = None) -> Exploration:
    """Slice the chosen model with ``s`` and measure dense vs sliced (see the module docstring)."""
    from deletionlab.slicegpt import models as M

    validate(s)
    t0 = time.time()
    choice = M.choice_by_key(s.model, models)
    progress(0, 1, "loading the model")
    dense, tok = load_model(choice, _sub(progress, 0, 0.1), cancel)  # the memory check runs first
    import torch

    n_blocks, hidden = dense.config.num_hidden_layers, dense.config.hidden_size
    validate(s, n_blocks, hidden)
    with torch.no_grad():
        sliced, info = _slice(s, dense, tok, _sub(progress, 0.1, 0.5), cancel)
        key = ("dense", s.model, s.eval_windows, s.seq_len, s.probe_items)
        ev_d = _evaluate(dense, tok, s, key, _sub(progress, 0.5, 0.7), cancel)
        ev_s = _evaluate(sliced, tok, s, ("sliced",), _sub(progress, 0.7, 0.9), cancel)
        progress(0.9, 1, "parameters, FLOPs and latency")
        size = _size_speed(dense, sliced, s, cancel)
    data = {"settings": asdict(s) | {"custom_text": f"{len(s.custom_text)} characters" if s.custom_text else ""},
            "model": choice.label, "n_blocks": n_blocks, "hidden": hidden, "slice": info.to_dict(),
            "eval": summarize(ev_d, ev_s), "nll": {"dense": ev_d, "sliced": ev_s}, **size,
            "seconds": round(time.time() - t0, 1), "threads": torch.get_num_threads()}
    progress(1, 1, "done")
    return Exploration(data, dense, sliced, tok, settings=s)


def _slice(s: Settings, dense, tok, progress, cancel):
    """(sliced model, SliceInfo) of ``dense`` with the settings (deterministic: same settings, same model)."""
    from deletionlab.slicegpt.slicing import slice_model

    cal = _calibration(s, tok)
    check_cancel(cancel)
    return slice_model(dense, list(cal.split(4)), fractions(s, dense.config.num_hidden_layers), orientation=s.orientation,
                       seed=s.seed, progress=progress, cancel=cancel)


def run_key(s: Settings, models: list | None = None) -> tuple:
    """The shared result cache's key of a run: the settings and where the model's weights come from."""
    from deletionlab.slicegpt import models as M

    choice = M.choice_by_key(s.model, models)
    return ("explore", asdict(s), choice.key, choice.kind, choice.path)


def _is_shipped_run(s: Settings, key: tuple) -> dict | None:
    """The shipped default run when ``s`` are exactly its settings on the shipped model."""
    run = default_run()
    if run is None or key[2] != DEFAULT_MODEL or key[3] != "shipped":
        return None
    mine = json.loads(json.dumps(asdict(s) | {"custom_text": ""}))
    if not s.latency:  # the shipped run timed decoding too: it answers a run that does not ask for it
        mine["latency"] = run.get("settings", {}).get("latency")
    return run if run.get("settings") == mine else None


def is_ready(s: Settings, models: list | None = None) -> bool:
    """Whether the run of ``s`` is shipped or in the shared cache (its job only reads: no queue)."""
    try:
        key = run_key(validate(s), models)
    except UserError:
        return False
    return _is_shipped_run(s, key) is not None or is_cached("slicegpt", key)


def cached_explore(s: Settings, *, progress=no_progress, cancel=None, models: list | None = None) -> Exploration:
    """:func:`explore` through the shared result cache: a run with the same settings on the same
    model is computed once on this machine (every kernel reads it), and the shipped default run is
    never recomputed. The models are in memory only when this call computed the run."""
    validate(s)
    key = run_key(s, models)
    shipped = _is_shipped_run(s, key)
    if shipped is not None:
        progress(1, 1, "the shipped run of these settings")
        return Exploration(shipped, settings=s, key=key, source="shipped")
    live: dict = {}

    def compute() -> dict:
        live["ex"] = explore(s, progress=progress, cancel=cancel, models=models)
        return live["ex"].to_dict()

    data = cached("slicegpt", key, compute, cancel=cancel, progress=progress)
    ex = live.get("ex") or Exploration(data, source="cache")
    ex.settings, ex.key = s, key
    return ex


def ensure_models(ex: Exploration, models: list | None = None, progress=no_progress, cancel=None) -> Exploration:
    """``ex`` with its dense and sliced models in memory: a run read from the cache (or shipped) is
    sliced again with its own settings, without measuring anything."""
    from deletionlab.slicegpt import models as M

    if ex.sliced is not None:
        return ex
    if ex.settings is None:
        raise UserError("There is no sliced model in memory yet: press Slice first.")
    progress(0, 1, "slicing the model again (its numbers came from the shared cache)")
    dense, tok = load_model(M.choice_by_key(ex.settings.model, models), _sub(progress, 0, 0.2), cancel)
    import torch

    with torch.no_grad():
        sliced, _ = _slice(ex.settings, dense, tok, _sub(progress, 0.2, 1.0), cancel)
    return Exploration(ex.data, dense, sliced, tok, settings=ex.settings, key=ex.key, source=ex.source)


def invariance_check(model_key: str = DEFAULT_MODEL, *, calibration_tokens: tuple[int, int] = (2, 64),
                     test_tokens: tuple[int, int] = (2, 32),
                     dtype: str = "float64", progress=no_progress, cancel=None, models: list | None = None) -> dict:
    """Computational invariance on a real model: max |Δ logits| between the original and the
    fused + rotated (unsliced) model in ``dtype``, on held-out BBC text."""
    from deletionlab.slicegpt import models as M

    if dtype not in ("float64", "float32"):
        raise UserError(f"Precision must be float64 or float32 (got {dtype}).")
    choice = M.choice_by_key(model_key, models)

    def compute() -> dict:
        model, tok = load_model(choice, _sub(progress, 0, 0.2), cancel)
        import torch

        from deletionlab.slicegpt.data import corpus, token_windows
        from deletionlab.slicegpt.slicing import invariance_error

        cal = token_windows(tok, corpus("bbc", "calibration"), *calibration_tokens, seed=0)
        test = token_windows(tok, corpus("bbc", "heldout"), *test_tokens)
        t0 = time.time()
        out = invariance_error(model, [cal], test, dtype=getattr(torch, dtype), progress=_sub(progress, 0.2, 1.0), cancel=cancel)
        return out | {"model": choice.label, "seconds": round(time.time() - t0, 1)}

    key = ("invariance", choice.key, choice.kind, choice.path, tuple(calibration_tokens), tuple(test_tokens), dtype)
    return cached("slicegpt", key, compute, cancel=cancel, progress=progress)


def _short(x: Any) -> str:
    """A number for a message: huge or odd values stay short."""
    try:
        f = float(x)
    except (TypeError, ValueError, OverflowError):
        return repr(x)[:20]
    return f"{f:.3g}" if not math.isfinite(f) or abs(f) >= 1e6 else f"{f:g}"


def check_new_tokens(n: Any) -> int:
    """The generation length as an int from 1 to :data:`MAX_NEW_TOKENS`, or a sentence naming the field."""
    try:
        ok = isinstance(n, (int, float)) and not isinstance(n, bool) and _finite(float(n)) and float(n).is_integer()
    except OverflowError:
        ok = False
    if not ok or not 1 <= n <= MAX_NEW_TOKENS:
        raise UserError(f"Generation length must be a whole number of tokens from 1 to {MAX_NEW_TOKENS} (got {_short(n)}).")
    return int(n)


def check_prompt(prompt: Any) -> str:
    """The prompt, stripped; a sentence naming the field when it is empty or too long."""
    prompt = prompt.strip() if isinstance(prompt, str) else ""
    if not prompt:
        raise UserError("The prompt is empty: type a few words for both models to continue.")
    if len(prompt) > MAX_PROMPT:
        raise UserError(f"The prompt must be at most {MAX_PROMPT} characters (got {len(prompt):,}).")
    return prompt


def generate_pair(exploration: Exploration, prompt: str, new_tokens: int = 40, *, progress=no_progress, cancel=None,
                  models: list | None = None) -> dict:
    """The dense and the sliced model's greedy continuations of ``prompt``, side by side (through the
    shared result cache: greedy decoding is deterministic). ``"exploration"`` in the result is the
    run with its models in memory when they had to be rebuilt (``None`` otherwise)."""
    from deletionlab.slicegpt.measure import generate

    prompt, new_tokens = check_prompt(prompt), check_new_tokens(new_tokens)
    if exploration is None or (exploration.sliced is None and exploration.settings is None):
        raise UserError("There is no sliced model in memory yet: press Slice first (generation compares the last run's models).")
    rebuilt: dict = {}

    def compute() -> dict:
        ex = ensure_models(exploration, models, _sub(progress, 0, 0.5), cancel)
        if ex is not exploration:
            rebuilt["ex"] = ex
        progress(0.5, 1, "dense model writing")
        dense = generate(ex.dense, ex.tokenizer, prompt, new_tokens, cancel)
        progress(0.75, 1, "sliced model writing")
        sliced = generate(ex.sliced, ex.tokenizer, prompt, new_tokens, cancel)
        progress(1, 1, "done")
        return {"prompt": prompt, "dense": dense, "sliced": sliced}

    key = exploration.key
    out = cached("slicegpt", ("generate", key, prompt, new_tokens), compute, cancel=cancel, progress=progress) if key else compute()
    return out | {"exploration": rebuilt.get("ex")}


def export_last(exploration: Exploration, *, progress=no_progress, cancel=None, root: Path | None = None,
                models: list | None = None) -> dict:
    """Export the last run's sliced model under ``$DELETIONLAB_CACHE/slicegpt/exports/`` (its models
    rebuilt first when the run came from the cache: ``"exploration"`` in the result, else ``None``)."""
    from deletionlab.core import data_dir
    from deletionlab.slicegpt.export import describe_export, export

    if exploration is None or (exploration.sliced is None and exploration.settings is None):
        raise UserError("There is no sliced model in memory yet: press Slice first, then export.")
    ex = ensure_models(exploration, models, _sub(progress, 0, 0.6), cancel)
    s = ex.data["settings"]
    name = f"sliced-{s['model'].replace(':', '-').replace('/', '-')}-{s['slicing']:g}pct-{s['orientation']}"
    folder = (root or data_dir() / "slicegpt" / "exports") / name
    progress(0.6, 1, "writing")
    check_cancel(cancel)
    export(ex.sliced, ex.tokenizer, folder)
    progress(1, 1, "done")
    return describe_export(folder) | {"exploration": ex if ex is not exploration else None}


def default_run() -> dict | None:
    """The shipped run of the default settings (written by ``scripts/slicegpt_experiment.py``)."""
    p = asset_path("slicegpt", "default_run.json", must_exist=False)
    return json.loads(p.read_text()) if p.exists() else None


def fast() -> bool:
    """Whether small CI settings are asked for (``DELETIONLAB_FAST``)."""
    return bool(os.environ.get("DELETIONLAB_FAST"))


def preview(run: dict, slicing: float, per_block: list[float] | None = None) -> dict:
    """What slicing would delete of every signal whose spectrum ``run`` holds (a run dict: the
    shipped default or ``Exploration.to_dict()``): per signal, the width kept and the share of its
    energy (sum of eigenvalues of H) beyond that width. ``per_block`` (fractions, one per block)
    overrides the constant ``slicing`` (percent). Instant: no model needed."""
    from deletionlab.slicegpt.schedule import sliced_width

    hidden = int(run["hidden"])
    names, spectra = list(run["slice"]["names"]), run["slice"]["spectra"]
    default = max(0.0, min(slicing, 99.9)) / 100
    last = f"block {int(run['n_blocks']) - 1} output"
    widths = []
    for name in names:
        parts = name.split()
        b = int(parts[1]) if parts[0] == "block" else 0
        s = per_block[b] if per_block and b < len(per_block) else default
        widths.append(hidden if name == last else sliced_width(hidden, s))  # the head reads all D dimensions
    return {"width": sliced_width(hidden, default), "widths": widths, "hidden": hidden,
            "names": names, "discarded": [float(sum(sp[w:])) / max(float(sum(sp)), 1e-300) for sp, w in zip(spectra, widths)]}
