"""One place that finds the files we ship and the optional packages a study may use.

Every study asks here for its embedded defaults (a trained tiny model, a vocabulary, data files)
and for optional packages (a tagger model, an extra data set). A missing piece raises
:class:`MissingAsset`, whose message names what to install, instead of a bare ``ImportError`` or
``FileNotFoundError`` deep inside a library.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from types import ModuleType

#: root of the files shipped inside the package (``src/deletionlab/assets``)
ASSETS_ROOT = Path(__file__).resolve().parent.parent / "assets"


class MissingAsset(LookupError):
    """A shipped file or an optional package is not there.

    ``what`` names the missing thing, ``install`` says how to get it; ``str(err)`` is a sentence
    a widget can show as it is.
    """

    def __init__(self, what: str, install: str | None = None):
        self.what = what
        self.install = install
        msg = f"{what} is not available"
        if install:
            msg += f"; install it with: {install}"
        super().__init__(msg + ".")


def asset_path(*parts: str, must_exist: bool = True) -> Path:
    """Path of a shipped file or folder under ``deletionlab/assets``.

    ``asset_path("negprompt", "tiny-shapes-sd")`` → the shipped tiny diffusion model. With
    ``must_exist`` a missing path raises :class:`MissingAsset` that says how it is made.
    """
    p = ASSETS_ROOT.joinpath(*parts)
    if must_exist and not p.exists():
        rel = "/".join(parts)
        raise MissingAsset(
            f"the shipped file 'deletionlab/assets/{rel}'",
            "a fresh clone of the repository (or see docs/assets.md for the script that makes it)",
        )
    return p


def has_package(name: str) -> bool:
    """Whether an optional package can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def require_package(name: str, pip_name: str | None = None) -> ModuleType:
    """Import an optional package or raise :class:`MissingAsset` naming the pip package."""
    if not has_package(name):
        raise MissingAsset(f"the Python package '{name}'", f"pip install {pip_name or name}")
    return importlib.import_module(name)


def first_available(*names: str) -> str | None:
    """The first of several optional package names that is installed (e.g. two tagger models)."""
    for n in names:
        if has_package(n):
            return n
    return None


def data_dir() -> Path:
    """Writable folder for caches (embeddings, latents); ``DELETIONLAB_CACHE`` overrides it."""
    root = os.environ.get("DELETIONLAB_CACHE")
    p = Path(root) if root else Path.home() / ".cache" / "deletionlab"
    p.mkdir(parents=True, exist_ok=True)
    return p


def models_dir() -> Path | None:
    """Folder of user checkpoints the dashboards may list (``DELETIONLAB_MODELS``), if configured."""
    root = os.environ.get("DELETIONLAB_MODELS")
    if root and Path(root).is_dir():
        return Path(root)
    return None


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache folder (respects ``HF_HUB_CACHE`` and ``HF_HOME``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    return Path(home) / "hub"
