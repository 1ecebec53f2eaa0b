"""The user interface of Deletion Lab (installed as ``deletionlab.widgets``).

One module per study (``widgets/<study>.py`` with ``<Name>Explorer`` and ``<Name>ResultsView``)
plus the shared kit in :mod:`deletionlab.widgets.common`. Study widgets are imported lazily (they
pull in torch, diffusers ...), so ``import deletionlab.widgets`` stays fast.
"""

from importlib import import_module

from .common import HeatmapGrid, ImageStrip, JobBar, LinePlot, StudyRoot, claims_table, source_line
from .home import Home

#: study widget name -> module (one explorer and one results view per study)
_LAZY = {
    "InteractivePlot": ".plots",  # plotly is imported only when a chart is made
    "NegativePromptExplorer": ".negprompt", "NegativePromptResultsView": ".negprompt", "LiveStudy": ".negprompt",
    "AdverbExplorer": ".adverbs", "AdverbResultsView": ".adverbs",
    "UnlearningExplorer": ".unlearning", "UnlearningResultsView": ".unlearning",
    "S3TExplorer": ".s3t", "S3TResultsView": ".s3t",
    "SliceGPTExplorer": ".slicegpt", "SliceGPTResultsView": ".slicegpt",
    "SpaceByteExplorer": ".spacebyte", "SpaceByteResultsView": ".spacebyte",
    "S2OrbitExplorer": ".s2orbit", "S2OrbitResultsView": ".s2orbit",
}

__all__ = ["HeatmapGrid", "Home", "ImageStrip", "JobBar", "LinePlot", "StudyRoot", "claims_table", "source_line", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
