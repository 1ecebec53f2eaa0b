"""Loading Stable Diffusion checkpoints (diffusers format) from disk only, and listing them.

* the **shipped** tiny model: ``deletionlab/assets/negprompt/tiny-shapes-sd`` (trained by
  ``scripts/train_negprompt.py``; see its ``README.md`` model card);
* any Stable Diffusion 1.x/2.x checkpoint folder in diffusers format (``model_index.json`` +
  ``unet/ vae/ text_encoder/ tokenizer/ scheduler/``), e.g. under ``DELETIONLAB_MODELS``;
* snapshots in the Hugging Face cache (``~/.cache/huggingface/hub/models--*/snapshots/*``).

All are loaded unchanged with ``StableDiffusionPipeline.from_pretrained(folder,
local_files_only=True)``; nothing is downloaded.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from deletionlab.core.assets import asset_path, hf_cache_dir, models_dir
from deletionlab.core.jobs import UserError

SHIPPED = "shipped"
SD_PIPELINES = {"StableDiffusionPipeline"}
REQUIRED_PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
_cache: dict[str, object] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Checkpoint:
    """A loadable checkpoint: a label for menus and the folder it lives in."""

    label: str
    path: Path


def shipped_path() -> Path:
    """Folder of the shipped tiny model."""
    return asset_path("negprompt", "tiny-shapes-sd")


def check_checkpoint(folder: str | Path) -> Path:
    """Return the folder if it is a diffusers Stable Diffusion checkpoint, else raise a clear UserError."""
    p = Path(folder).expanduser()
    if not p.is_dir():
        raise UserError(f"There is no folder '{p}'.")
    index = p / "model_index.json"
    if not index.exists():
        raise UserError(f"'{p.name}' is not a diffusers checkpoint: it has no model_index.json.")
    try:
        info = json.loads(index.read_text())
    except (OSError, json.JSONDecodeError):
        raise UserError(f"'{p.name}' has an unreadable model_index.json.") from None
    cls = info.get("_class_name", "")
    if cls not in SD_PIPELINES:
        raise UserError(f"'{p.name}' is a {cls or 'unknown'} checkpoint, not a Stable Diffusion 1.x/2.x one (StableDiffusionPipeline).")
    missing = [part for part in REQUIRED_PARTS if not (p / part).is_dir()]
    if missing:
        raise UserError(f"'{p.name}' lacks the part(s) {', '.join(missing)} of a Stable Diffusion checkpoint.")
    return p


def _looks_like_sd(p: Path) -> bool:
    try:
        check_checkpoint(p)
        return True
    except UserError:
        return False


def list_checkpoints(extra_dirs: list[Path] | None = None) -> list[Checkpoint]:
    """The shipped model, SD checkpoints under the configured models folder(s), and HF-cache snapshots.

    Only these can be chosen in a dashboard (visitors never type a path).
    """
    found = [Checkpoint("tiny shapes model (shipped)", shipped_path())]
    roots = [d for d in [models_dir(), *(extra_dirs or [])] if d is not None]
    for root in roots:
        for index in sorted(Path(root).glob("*/model_index.json")) + sorted(Path(root).glob("model_index.json")):
            if _looks_like_sd(index.parent):
                found.append(Checkpoint(f"{index.parent.name} (local)", index.parent))
    hub = hf_cache_dir()
    if hub.is_dir():
        for snap in sorted(hub.glob("models--*/snapshots/*")):
            if _looks_like_sd(snap):
                repo = re.sub(r"^models--", "", snap.parent.parent.name).replace("--", "/")
                found.append(Checkpoint(f"{repo} (HF cache)", snap))
    seen, unique = set(), []
    for c in found:
        key = c.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique


def load_pipeline(source: str | Path = SHIPPED):
    """``StableDiffusionPipeline.from_pretrained`` on a local folder, offline, in float32; cached per folder."""
    from diffusers import StableDiffusionPipeline

    folder = shipped_path() if str(source) == SHIPPED else Path(source)
    folder = check_checkpoint(folder)
    key = str(folder.resolve())
    with _lock:
        if key in _cache:
            return _cache[key]
        try:
            pipe = StableDiffusionPipeline.from_pretrained(
                folder, local_files_only=True, safety_checker=None, feature_extractor=None,
                requires_safety_checker=False,
            )
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(f"Could not load '{folder.name}' as a Stable Diffusion checkpoint: {str(exc).splitlines()[0][:200]}") from exc
        pipe.set_progress_bar_config(disable=True)
        _cache[key] = pipe
        return pipe


def training_info(pipe_or_folder) -> dict | None:
    """``training.json`` of a model we trained (vocabulary, hold-out, losses), or None."""
    folder = getattr(getattr(pipe_or_folder, "config", None), "_name_or_path", None) or pipe_or_folder
    p = Path(str(folder)) / "training.json"
    if p.exists():
        return json.loads(p.read_text())
    return None


def unseen_words(pipe, text: str) -> list[str]:
    """Words of ``text`` that the model never saw in training (known only for models we trained)."""
    info = training_info(pipe)
    if not info or "vocabulary" not in info:
        return []
    vocab = set(info["vocabulary"])
    words = re.findall(r"[^\W\d_]+|\d+|[^\w\s]", text.lower())
    out = []
    for wd in words:
        if wd not in vocab and wd not in out:
            out.append(wd)
    return out
