"""The user interface of Deletion Lab (installed as ``deletionlab.widgets``).

One root widget per study plus the shared parts in :mod:`deletionlab.widgets.common`.
Study widgets are imported lazily (they pull in torch, diffusers ...), so
``import deletionlab.widgets`` stays fast.
"""

from importlib import import_module

from .common import HeatmapGrid, ImageStrip, JobBar, LinePlot, StudyRoot
from .home import Home

_LAZY = {"NegativePromptExplorer": ".negprompt", "StudyResultsView": ".negprompt", "LiveStudy": ".negprompt", "AdverbExplorer": ".adverbs", "AdverbResultsView": ".adverbs",
         "UnlearningExplorer": ".unlearning", "UnlearningResultsView": ".unlearning"}

__all__ = ["HeatmapGrid", "Home", "ImageStrip", "JobBar", "LinePlot", "StudyRoot", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
