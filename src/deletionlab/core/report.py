"""Shared pieces of a study's "paper vs ours" report.

Every study compares what it measured with what its paper reports as rows of
(claim, paper, ours, verdict). The rows are *computed* from a results file that a script in
``scripts/`` wrote; nothing here holds a result.
"""

from __future__ import annotations

import json
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
