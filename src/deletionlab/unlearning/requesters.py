"""Who asks to be deleted: requesters choose k of the records still present from the current release.

A requester is ``fn(task, release, k, rng, pairs) -> ids``. The random one is *non-adaptive*; the
others are *adaptive* in the paper's sense: which users delete depends on the published model.

* ``confident`` / ``misclassified``: the members the release predicts best / worst delete;
* ``linked`` -- the construction behind the paper's first claim (its abstract: "when users delete
  their data as a function of published models, records in a database become interdependent"). Records come in
  :class:`Pairs` (messenger, target): the messenger is a member; the target is a member (it
  stays) or a never-member, half and half. A messenger deletes when the current release makes
  its target look like a member (the k pairs whose target looks most like one delete first),
  so *which* record was deleted encodes *another* record's membership: an attacker who sees a
  messenger leave (:func:`.attack.linked_target_attack`, by differencing consecutive releases)
  learns about a target that stayed, even when every release is retrained from scratch.

Each requester leaves at least one record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from deletionlab.unlearning.attack import ShadowStats
    from deletionlab.unlearning.learners import Release
    from deletionlab.unlearning.models import Task


@dataclass(frozen=True)
class Pairs:
    """Messenger/target pairs of the linked requester (drawn once per run, the same for every learner)."""

    messengers: np.ndarray  # member ids
    targets: np.ndarray  # ids: members (they stay: the messenger never deletes them) or never-members
    target_member: np.ndarray  # bool per pair
    stats: ShadowStats  # the requester's membership test (LiRA online with reference shadows)

    def __len__(self) -> int:
        return len(self.messengers)


def max_pairs(n_members: int, n_outsiders: int) -> int:
    """The most pairs a split can hold: P messengers and P/2 target members among the members,
    P/2 targets among the never-members."""
    return int(min(2 * n_members // 3, 2 * n_outsiders))


def link_pairs(members: np.ndarray, outsiders: np.ndarray, n_deletions: int, stats: ShadowStats) -> Pairs:
    """Twice as many pairs as deletions (at most :func:`max_pairs`). The requester and the attacker
    work together and pick the records whose membership shows most: by the *vulnerability*
    (μ_in − μ_out)/σ_out of reference shadow models trained on random halves of the population
    (which uses no one's membership). Messengers are the most vulnerable members (their leaving
    shows); targets the most vulnerable of the other members (half the pairs) and of the
    never-members (the other half), interleaved."""
    p = min(2 * int(n_deletions), max_pairs(len(members), len(outsiders)))
    p -= p % 2
    vul = (stats.mu_in - stats.mu_out) / stats.sd_out
    members = np.asarray(members, int)[np.argsort(-vul[members], kind="stable")]
    outsiders = np.asarray(outsiders, int)[np.argsort(-vul[outsiders], kind="stable")]
    inside, outside = members[p: p + p // 2], outsiders[: p // 2]
    targets = np.ravel(np.column_stack([inside, outside]))
    member = np.ravel(np.column_stack([np.ones(p // 2, bool), np.zeros(p // 2, bool)]))
    return Pairs(members[:p], targets, member, stats)


def _confidence(task: Task, rel: Release) -> np.ndarray:
    return task.confidence(rel.params, rel.sharded)


def request_random(task: Task, rel: Release, k: int, rng: np.random.Generator, pairs: Pairs | None = None) -> np.ndarray:
    """k members chosen uniformly at random (non-adaptive)."""
    return rng.choice(rel.present, size=min(k, len(rel.present) - 1), replace=False)


def request_confident(task: Task, rel: Release, k: int, rng: np.random.Generator, pairs: Pairs | None = None) -> np.ndarray:
    """Adaptive: the k members the current release predicts most confidently delete ("the model
    knows me too well")."""
    c = _confidence(task, rel)[rel.present]
    return rel.present[np.argsort(-c, kind="stable")[: min(k, len(rel.present) - 1)]]


def request_misclassified(task: Task, rel: Release, k: int, rng: np.random.Generator,
                          pairs: Pairs | None = None) -> np.ndarray:
    """Adaptive: the k members the current release gets most wrong delete ("the model is wrong
    about me")."""
    c = _confidence(task, rel)[rel.present]
    return rel.present[np.argsort(c, kind="stable")[: min(k, len(rel.present) - 1)]]


def request_linked(task: Task, rel: Release, k: int, rng: np.random.Generator, pairs: Pairs | None = None) -> np.ndarray:
    """Adaptive, the paper's construction: among the pairs whose messenger is still present, the k
    whose *target* looks most like a member under the current release (LiRA online score with the
    pairs' reference shadows) send their messenger's deletion request."""
    if pairs is None or len(pairs) == 0:
        raise ValueError("the linked requester needs messenger/target pairs")
    idx = np.flatnonzero(np.isin(pairs.messengers, rel.present))
    tg = pairs.targets[idx]
    score = pairs.stats.score(_confidence(task, rel)[tg], tg)
    pick = idx[np.argsort(-score, kind="stable")[: min(k, len(idx), len(rel.present) - 1)]]
    return pairs.messengers[pick]


REQUESTERS = {"random": request_random, "confident": request_confident, "misclassified": request_misclassified,
              "linked": request_linked}
#: in words, for menus and tables
REQUESTER_LABELS = {"random": "random users", "confident": "adaptive: confidently predicted delete",
                    "misclassified": "adaptive: misclassified delete",
                    "linked": "adaptive, linked: a deletion encodes another record's membership"}
