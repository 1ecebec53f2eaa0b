"""Who asks to be deleted: requesters choose k of the records still present from the current release.

A requester is ``fn(task, release, k, rng) -> ids``. The random one is *non-adaptive*; the other
two are *adaptive* in the paper's sense: which users delete depends on the published model, so
the deletions carry information about the remaining records. Each leaves at least one record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from deletionlab.unlearning.learners import Release
    from deletionlab.unlearning.models import Task


def _confidence(task: Task, rel: Release) -> np.ndarray:
    return task.confidence(rel.params, rel.sharded)


def request_random(task: Task, rel: Release, k: int, rng: np.random.Generator) -> np.ndarray:
    """k members chosen uniformly at random (non-adaptive)."""
    return rng.choice(rel.present, size=min(k, len(rel.present) - 1), replace=False)


def request_confident(task: Task, rel: Release, k: int, rng: np.random.Generator) -> np.ndarray:
    """Adaptive: the k members the current release predicts most confidently delete ("the model
    knows me too well")."""
    c = _confidence(task, rel)[rel.present]
    return rel.present[np.argsort(-c, kind="stable")[: min(k, len(rel.present) - 1)]]


def request_misclassified(task: Task, rel: Release, k: int, rng: np.random.Generator) -> np.ndarray:
    """Adaptive: the k members the current release gets most wrong delete ("the model is wrong
    about me")."""
    c = _confidence(task, rel)[rel.present]
    return rel.present[np.argsort(c, kind="stable")[: min(k, len(rel.present) - 1)]]


REQUESTERS = {"random": request_random, "confident": request_confident, "misclassified": request_misclassified}
