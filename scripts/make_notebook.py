"""Write a thin notebook from a list of (kind, source) cells: ``python scripts/make_notebook.py``.

Notebooks are kept as .ipynb in the repository (users open them in JupyterLab); this helper only
exists so that their source of truth can be edited as plain text below and re-generated.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def write(name: str, cells: list[tuple[str, str]], title: str) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["title"] = title
    for kind, src in cells:
        src = src.strip("\n")
        nb.cells.append(new_markdown_cell(src) if kind == "md" else new_code_cell(src))
    path = ROOT / "notebooks" / name
    nbformat.write(nb, path)
    return path


INDEX = [
    ("md", """
# Deletion Lab

Seven small studies of what **deleting** does in machine learning — a negative prompt, an adverb, a
user's record, an adapter, rows and columns of a weight matrix, tokens, stars. Each study is a
notebook you can read in JupyterLab and a dashboard you can open in Voilà.
"""),
    ("code", """
from deletionlab.widgets import Home

Home()
"""),
    ("md", """
*Run it yourself:* `make dashboard` serves these dashboards at http://127.0.0.1:8866,
`make lab` opens the notebooks in JupyterLab at http://127.0.0.1:8888. See the README.
"""),
]

if __name__ == "__main__":
    targets = {"index.ipynb": (INDEX, "Deletion Lab")}
    for name in sys.argv[1:] or targets:
        cells, title = targets[name]
        print(write(name, cells, title))
