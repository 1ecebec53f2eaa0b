"""Shared pieces of a study's "paper vs ours" report.

Every study compares what it measured with what its paper reports as rows of
(claim, paper, ours, verdict). The rows are *computed* from a results file that a script in
``scripts/`` wrote with :func:`save_results`; nothing here holds a result.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Row:
    """One line of a comparison table."""

    claim: str
    paper: str
    ours: str
    verdict: str


def load_results(study: str, path: Path | str | None = None, name: str = "results.json") -> dict | None:
    """A study's committed results JSON (``assets/<study>/<name>``), or None if not made yet."""
    from deletionlab.core.assets import asset_path

    p = Path(path) if path is not None else asset_path(study, name, must_exist=False)
    return json.loads(p.read_text()) if p.exists() else None


def _json_default(o):
    """NumPy scalars and arrays (and anything else with ``item``/``tolist``) as plain JSON."""
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    return str(o)


def made_by(script: str, argv: Sequence[str] | None = None) -> dict:
    """Provenance of a results file: the command that made it, when, and at which commit."""
    root = Path(__file__).resolve().parents[3]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    args = list(sys.argv[1:] if argv is None else argv)
    return {"command": " ".join(["python", script, *args]).strip(), "date": time.strftime("%Y-%m-%d %H:%M"),
            "commit": commit}


def save_results(study: str, data: dict, *, script: str, argv: Sequence[str] | None = None,
                 path: Path | str | None = None, name: str = "results.json") -> Path:
    """Write a study's results (``assets/<study>/<name>`` unless ``path``) with a ``made_by`` block.

    ``script`` is the repository-relative script that made them (``scripts/<study>_experiment.py``)
    and ``argv`` its arguments; :func:`load_results` reads the file back.
    """
    from deletionlab.core.assets import asset_path

    p = Path(path) if path is not None else asset_path(study, name, must_exist=False)
    out = dict(data)
    out["made_by"] = made_by(script, argv)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(out, indent=1, default=_json_default))
    return p
