"""The package imports, and the science layer never imports ipywidgets or IPython."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import deletionlab

UI_MODULES = ("ipywidgets", "IPython", "ipympl", "plotly.graph_objects.FigureWidget", "anywidget")


def science_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(deletionlab.__path__, "deletionlab.") if not m.name.startswith("deletionlab.widgets")]


def test_import_deletionlab_and_widgets():
    import deletionlab.widgets as w

    assert w.JobBar and w.Home and w.StudyRoot
    assert Path(w.__file__).parent.name == "widgets"  # the top-level widgets/ folder


def test_science_layer_imports_no_ui_at_runtime():
    mods = science_modules()
    assert "deletionlab.core.jobs" in mods and len(mods) >= 5
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ipywidgets', 'IPython', 'ipympl', 'anywidget')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_science_layer_source_has_no_ui_imports():
    root = Path(deletionlab.__file__).parent
    offenders = []
    for py in root.rglob("*.py"):
        for node in ast.walk(ast.parse(py.read_text(), str(py))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            ui = ("ipywidgets", "IPython", "ipympl", "anywidget")
            offenders += [f"{py.relative_to(root)}: {n}" for n in names if n.split(".")[0] in ui]
    assert offenders == []
