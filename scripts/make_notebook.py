"""Write the thin notebooks from their plain-text cells: ``python scripts/make_notebook.py [NAME.ipynb ...]``.

The source of truth of every notebook is a module in ``scripts/notebooks/`` (``NOTEBOOK``, ``TITLE``,
``CELLS`` = a list of ("md" | "code", source)); this script writes ``notebooks/<NOTEBOOK>``
output-free. Edit the module, then re-run this script (with no argument it writes all of them).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
SOURCES = Path(__file__).resolve().parent / "notebooks"


def write(name: str, cells: list[tuple[str, str]], title: str) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["title"] = title
    for i, (kind, src) in enumerate(cells):
        src = src.strip("\n")
        cell = new_markdown_cell(src) if kind == "md" else new_code_cell(src)
        cell.id = f"{Path(name).stem[:40]}-{i}"  # stable ids: regenerating changes nothing that did not change
        nb.cells.append(cell)
    path = ROOT / "notebooks" / name
    nbformat.write(nb, path)
    return path


def sources() -> dict[str, object]:
    """notebook file name -> its cells module (every ``scripts/notebooks/*.py``)."""
    out = {}
    for py in sorted(SOURCES.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"_nb_{py.stem}", py)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        out[mod.NOTEBOOK] = mod
    return out


if __name__ == "__main__":
    targets = sources()
    for name in sys.argv[1:] or targets:
        mod = targets[name]
        print(write(name, mod.CELLS, mod.TITLE))
