"""Trained models on disk (fp16 safetensors + a JSON config) and completing a prompt byte by byte.

The shipped models live in ``deletionlab/assets/spacebyte/models/<arch>/`` (``model.safetensors``,
``config.json`` with the model config and its training record); ``scripts/spacebyte_experiment.py``
exports the best model of each architecture at the largest budget there.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from deletionlab.core.assets import MissingAsset, asset_path
from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress
from deletionlab.spacebyte.models import ARCHS, ModelConfig, build
from deletionlab.spacebyte.patching import BOS, global_mask, to_bytes

#: the longest completion the explorer writes
MAX_NEW_BYTES = 400


def save_model(model: torch.nn.Module, folder: Path, record: dict | None = None) -> Path:
    """Write ``model.safetensors`` (fp16) and ``config.json`` (config + training record) to ``folder``."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(folder / "model.safetensors"))
    info = {"config": asdict(model.cfg), "record": record or {}}
    (folder / "config.json").write_text(json.dumps(info, indent=1))
    return folder


def load_model(folder: Path) -> tuple[torch.nn.Module, dict]:
    """A model saved by :func:`save_model` (weights back in float32) and its training record."""
    from safetensors.torch import load_file

    info = json.loads((folder / "config.json").read_text())
    model = build(ModelConfig(**info["config"]))
    state = {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}
    model.load_state_dict(state)
    model.eval()
    return model, info.get("record", {})


def shipped_models() -> dict[str, Path]:
    """Architecture -> folder of the shipped model (those present), in the order of ``ARCHS``."""
    root = asset_path("spacebyte", "models", must_exist=False)
    return {a: root / a for a in ARCHS if (root / a / "config.json").exists()}


_LOADED: dict = {}


def load_cached(folder: Path) -> tuple[torch.nn.Module, dict]:
    """:func:`load_model`, once per folder and process."""
    key = str(Path(folder).resolve())
    if key not in _LOADED:
        _LOADED[key] = load_model(Path(folder))
    return _LOADED[key]


def shipped(arch: str) -> tuple[torch.nn.Module, dict]:
    """The shipped model of an architecture (loaded once per process)."""
    folders = shipped_models()
    if arch not in folders:
        raise MissingAsset(f"the shipped {ARCHS.get(arch, arch)} model",
                           "a fresh clone, or run: python scripts/spacebyte_experiment.py --export")
    return load_cached(folders[arch])


def context_window(data: np.ndarray, model: torch.nn.Module) -> np.ndarray:
    """The last bytes of ``data`` that fit the model (with BOS in front); for SpaceByte also at most
    T_global global positions, cut at a global position."""
    c = model.cfg
    x = np.concatenate([[BOS], data[-(c.context - 1):]]).astype(np.int64)
    if c.arch == "spacebyte":
        pos = np.flatnonzero(global_mask(x))
        if len(pos) > c.t_global:
            start = pos[len(pos) - c.t_global + 1]  # keep BOS + the last T_global-1 patches
            x = np.concatenate([[BOS], x[start:]])
    return x


def complete(model: torch.nn.Module, prompt: str, n_bytes: int = 120, temperature: float = 0.7, seed: int = 0, *,
             progress: Progress = no_progress, cancel: CancelToken | None = None) -> bytes:
    """Sample ``n_bytes`` bytes after ``prompt``, one byte at a time (temperature 0 = greedy)."""
    if model.cfg.arch == "subword":
        raise UserError("completion byte by byte needs a byte-level model; pick another architecture.")
    if not 1 <= n_bytes <= MAX_NEW_BYTES:
        raise UserError(f"bytes to write must be a whole number from 1 to {MAX_NEW_BYTES} (got {n_bytes}).")
    if not (0 <= temperature <= 2):
        raise UserError(f"temperature must be from 0 to 2 (got {temperature}).")
    data = to_bytes(prompt, limit=20_000, field="prompt")
    g = torch.Generator().manual_seed(seed)
    out = bytearray()
    with torch.no_grad():
        for i in range(n_bytes):
            check_cancel(cancel)
            x = context_window(np.concatenate([data, np.frombuffer(bytes(out), dtype=np.uint8)]), model)
            logits = model(torch.from_numpy(x)[None]).logits[0, -1].float()
            logits[BOS] = -float("inf")  # never end the document
            if temperature == 0:
                b = int(logits.argmax())
            else:
                b = int(torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=g))
            out.append(b)
            progress(i + 1, n_bytes, "writing byte by byte")
    return bytes(out)
