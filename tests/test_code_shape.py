"""The house stays in shape: every built study has the skeleton's files (docs/new_study.md), no
function is longer than 80 lines, and the repository never points at folders outside itself."""

import ast
import subprocess
from pathlib import Path

import pytest

from deletionlab.catalog import NOTEBOOKS, STUDIES

ROOT = Path(__file__).resolve().parents[1]
BUILT = [s for s in STUDIES if (ROOT / "src" / "deletionlab" / s.key).is_dir()]
MAX_FUNCTION_LINES = 80
#: benchmark file prefixes that differ from the study key (the S2 issue named its benchmark s2_precession.py)
BENCHMARK_PREFIX = {"s2orbit": "s2_"}


def test_at_least_the_first_three_studies_are_built():
    assert {"negprompt", "adverbs", "unlearning"} <= {s.key for s in BUILT}


@pytest.mark.parametrize("study", BUILT, ids=[s.key for s in BUILT])
def test_every_built_study_has_the_skeleton(study):
    pkg = ROOT / "src" / "deletionlab" / study.key
    for name in ("__init__.py", "explore.py", "experiment.py", "report.py"):
        assert (pkg / name).exists(), f"{study.key}: missing {name}"
    assert not (pkg / "inspect.py").exists(), "inspect.py shadows the standard library's module"
    assert (ROOT / "widgets" / f"{study.key}.py").exists()
    assert (NOTEBOOKS / study.notebook).exists()
    assert (ROOT / "scripts" / f"{study.key}_experiment.py").exists()
    prefix = BENCHMARK_PREFIX.get(study.key, study.key + "_")
    assert list((ROOT / "benchmarks").glob(f"{prefix}*.py")), f"{study.key}: no benchmarks/{prefix}*.py"
    assert (ROOT / "docs" / f"{study.key}.md").exists()
    assert (ROOT / "src" / "deletionlab" / "assets" / study.key / "results.json").exists()
    assert (NOTEBOOKS / "thumbnails" / f"{study.key}.png").exists()
    assert (ROOT / "tests" / f"test_{study.key}_widget.py").exists()
    assert (ROOT / "tests" / f"test_browser_{study.key}.py").exists()
    widgets = (ROOT / "widgets" / f"{study.key}.py").read_text()
    classes = [n.name for n in ast.walk(ast.parse(widgets)) if isinstance(n, ast.ClassDef)]
    assert any(c.endswith("Explorer") for c in classes) and any(c.endswith("ResultsView") for c in classes), classes


def long_functions(roots=("src", "widgets")) -> list[str]:
    out = []
    for root in roots:
        for py in (ROOT / root).rglob("*.py"):
            for node in ast.walk(ast.parse(py.read_text(), str(py))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    n = node.end_lineno - node.lineno + 1
                    if n > MAX_FUNCTION_LINES:
                        out.append(f"{py.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    return out


def test_no_function_is_longer_than_80_lines():
    assert long_functions() == []


def test_no_tracked_file_points_outside_the_repository():
    marker = "../" + "shared"  # spelled in two parts so that this file does not match itself
    out = subprocess.run(["git", "grep", "-l", "-F", marker], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "", out.stdout
