"""Git "clean" filter for notebooks: outputs, execution counts and run-time metadata are dropped, so
opening and saving a notebook in JupyterLab leaves the repository clean.

``make setup`` registers it for this clone (see ``.gitattributes``)::

    git config filter.strip-notebook.clean "python scripts/strip_notebook.py"

It reads a notebook on standard input and writes the stripped notebook to standard output; with file
arguments it strips those files in place. Standard library only (it runs before any install).
"""

from __future__ import annotations

import json
import sys

#: notebook metadata we keep (what scripts/make_notebook.py writes); the rest is run-time noise
KEEP_METADATA = ("kernelspec", "title")


def strip(nb: dict) -> dict:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k in ("tags",)}
    meta = nb.get("metadata", {})
    nb["metadata"] = {k: meta[k] for k in KEEP_METADATA if k in meta}
    nb["metadata"]["language_info"] = {"name": "python"}
    return nb


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    if not argv:
        sys.stdout.write(dumps(strip(json.load(sys.stdin))))
        return 0
    for path in argv:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
        with open(path, "w", encoding="utf-8") as f:
            f.write(dumps(strip(nb)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
