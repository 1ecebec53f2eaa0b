"""A module that is imported the first time one of its attributes is used.

Importing PyTorch costs about a second of CPU and 150 MB per process. A dashboard kernel that only
shows a stored result (the default run from the shared cache) never computes with it, so modules
whose functions use torch, but whose import should stay cheap, write::

    from deletionlab.core.lazy import torch

and use ``torch.…`` in their functions as usual. Anything evaluated at import time (a decorator
``@torch.no_grad()``, a constant ``torch.float64`` at module level) imports torch at once, so such
modules keep them inside functions.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["LazyModule", "torch"]


class LazyModule:
    """Stands in for the module ``name`` and imports it on first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def _load(self) -> ModuleType:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return self._module

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):  # copy/pickle/inspection probes: not a use
            raise AttributeError(attr)
        return getattr(self._load(), attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"


torch = LazyModule("torch")
