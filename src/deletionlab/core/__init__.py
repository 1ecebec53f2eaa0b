"""Shared runtime of every study: background jobs, shipped assets, parameter sweeps.

Nothing here imports ipywidgets or IPython; widgets build on it in ``deletionlab.widgets``.
"""

from deletionlab.core.assets import (
    MissingAsset,
    asset_path,
    data_dir,
    has_package,
    hf_cache_dir,
    models_dir,
    require_package,
)
from deletionlab.core.jobs import (
    Cancelled,
    CancelToken,
    Job,
    JobRunner,
    JobStatus,
    Progress,
    UserError,
    check_cancel,
    no_progress,
    user_message,
)
from deletionlab.core.sweeps import client_from_env, grid_points, sweep

__all__ = [
    "CancelToken", "Cancelled", "Job", "JobRunner", "JobStatus", "MissingAsset", "Progress", "UserError",
    "asset_path", "check_cancel", "client_from_env", "data_dir", "grid_points", "has_package",
    "hf_cache_dir", "models_dir", "no_progress", "require_package", "sweep", "user_message",
]
