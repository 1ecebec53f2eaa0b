"""Save a sliced model so that plain transformers reloads it, without Deletion Lab.

A sliced model cannot be written as a *standard* Llama/OPT/... checkpoint: every block reads and
writes a residual stream of its own width through shortcut matrices ``Q_prevᵀ Q_next[:, :d]``,
which no standard block has. The shortcuts cannot be folded away either: the residual path would
have to apply a projection, and standard blocks add their input back unchanged. (They vanish only
if every block shares one rotation, which gives up what per-block PCA buys.)

So the export writes the standard files (``config.json``, ``model.safetensors``, tokenizer) plus
``modeling_sliced.py``: our :mod:`.sliced_modules` file verbatim (torch + transformers only) and
a four-line subclass of the original transformers class that gives a freshly built model the
sliced shapes. ``config.json`` points transformers at it (``auto_map``) and carries the widths::

    from transformers import AutoModelForCausalLM, AutoTokenizer
    model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
    tok = AutoTokenizer.from_pretrained(folder)

``trust_remote_code`` runs that one file from the folder: read it first, as with any model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from torch import nn

from deletionlab.core import UserError
from deletionlab.slicegpt import sliced_modules

CLASS_NAME = "SlicedForCausalLM"
MODULE_FILE = "modeling_sliced.py"

_FOOTER = '''

# --- written by Deletion Lab's export: the original transformers class, given sliced shapes ---
from transformers import {base} as _Base  # noqa: E402


class {name}(_Base):
    """{base} after SliceGPT: sliced widths and shortcut matrices from ``config.slicing``."""

    def __init__(self, config):
        super().__init__(config)
        build_sliced_shape(self, config.slicing)
'''


def modeling_source(base_class: str) -> str:
    """The text of ``modeling_sliced.py`` for a model whose transformers class is ``base_class``."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", base_class):
        raise ValueError(f"not a class name: {base_class!r}")
    return Path(sliced_modules.__file__).read_text() + _FOOTER.format(base=base_class, name=CLASS_NAME)


def export(model: nn.Module, tokenizer, folder: Path | str) -> Path:
    """Write a sliced model (weights, config with its widths, tokenizer, ``modeling_sliced.py``)."""
    import transformers

    slicing = getattr(model.config, "slicing", None)
    if not slicing:
        raise UserError("This model has not been sliced yet: slice it before exporting.")
    base = type(model).__name__
    if not hasattr(transformers, base):
        raise UserError(f"The model class {base} is not part of transformers, so plain transformers could not rebuild it.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = model.config
    old = (getattr(cfg, "auto_map", None), getattr(cfg, "architectures", None))
    cfg.auto_map = {"AutoModelForCausalLM": f"{MODULE_FILE[:-3]}.{CLASS_NAME}"}
    cfg.architectures = [CLASS_NAME]
    try:
        model.save_pretrained(folder)
    finally:
        cfg.auto_map, cfg.architectures = old
    (folder / MODULE_FILE).write_text(modeling_source(base))
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    return folder


def load_exported(folder: Path | str) -> nn.Module:
    """Reload an export exactly as a user of plain transformers would (``trust_remote_code=True``)."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True).eval()


def describe_export(folder: Path | str) -> dict:
    """Size and widths of an export (what the explorer shows after writing one)."""
    folder = Path(folder)
    cfg = json.loads((folder / "config.json").read_text())
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return {"folder": str(folder), "bytes": size, "layout": cfg["slicing"]["layout"],
            "widths": sorted({d for b in cfg["slicing"]["dims"] for d in b})}
