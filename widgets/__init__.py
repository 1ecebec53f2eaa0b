"""The user interface of Deletion Lab (installed as ``deletionlab.widgets``).

One root widget per study plus the shared parts in :mod:`deletionlab.widgets.common`.
Heavy studies are imported lazily, so ``import deletionlab.widgets`` stays fast.
"""

from .common import HeatmapGrid, ImageStrip, JobBar, StudyRoot
from .home import Home

__all__ = ["HeatmapGrid", "Home", "ImageStrip", "JobBar", "StudyRoot"]
