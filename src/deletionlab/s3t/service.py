"""Serving a trained system while deletion requests arrive (pure NumPy; no model is run).

Deletion (Chowdhury et al. 2024, Sec. 3.2): a request for record r in slice s of shard h cuts
every sequence of shard h back to its prefix before s -- the adapters trained on s or after it are
switched off -- and nothing is retrained. Serving: each shard uses its longest surviving prefix
(the first such sequence on a tie); the logits of the serving shards are averaged; a shard with no
surviving prefix drops out; when none is left the system must retrain.

The prefix models' test logits were computed at training time (``System.test_logits``), so the
accuracy after any sequence of requests is exact and costs a few array operations. SISA is the
same bookkeeping with one ordering per shard; what SISA would pay to *retrain* instead is
:meth:`Service.sisa_retrain_cost`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deletionlab.core.jobs import UserError

#: a typed whole number longer than this is out of every range here (and Python refuses to parse
#: integers of more than 4,300 digits at all)
MAX_DIGITS = 12
#: grid cell states (``Service.grid``)
OFF, ON, SERVED = 0, 1, 2


class Exhausted(UserError):
    """Every shard has lost all its prefixes: the system serves nothing until it is retrained."""


@dataclass
class Outcome:
    """What one request did: where the record was, how many adapters went off, and whether the
    system can still serve."""

    record: int
    shard: int
    slice: int
    switched_off: int
    exhausted: bool


class Service:
    """Deletion bookkeeping of a system with ``orderings`` (B′, L) in every shard."""

    def __init__(self, orderings: np.ndarray, shard_of: np.ndarray, slice_of: np.ndarray, shards: int):
        self.orderings = np.asarray(orderings)
        self.shard_of, self.slice_of = np.asarray(shard_of), np.asarray(slice_of)
        self.shards = shards
        self.seqs, self.slices = self.orderings.shape
        # position[b, s] = where slice s sits in sequence b
        self.position = np.argsort(self.orderings, axis=1)
        self.reset()

    @classmethod
    def of(cls, system) -> Service:
        return cls(system.orderings, system.shard_of, system.slice_of, system.config.shards)

    def reset(self, shards=None) -> None:
        """All prefixes alive again (after retraining ``shards``; default: everything, no deletions)."""
        if shards is None:
            self.alive = np.full((self.shards, self.seqs), self.slices, dtype=np.int64)
            self.deleted = np.zeros(len(self.shard_of), bool)
            self.log: list[Outcome] = []
        else:
            self.alive[list(shards)] = self.slices

    @property
    def n_records(self) -> int:
        return len(self.shard_of)

    @property
    def exhausted(self) -> bool:
        return not bool(self.alive.max(initial=0) > 0)

    def parse_record(self, record) -> int:
        """The record id as an int, or a :class:`UserError` naming the allowed range."""
        text = str(record).strip()
        if not (text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS) or not 0 <= int(text) < self.n_records:
            raise UserError(f"Record must be a whole number from 0 to {self.n_records - 1} (got {text[:30]!r}).")
        return int(text)

    def check_record(self, record) -> int:
        """:meth:`parse_record`, and the record must not be deleted yet."""
        r = self.parse_record(record)
        if self.deleted[r]:
            raise UserError(f"Record {r} is already deleted; pick another record from 0 to {self.n_records - 1}.")
        return r

    def delete(self, record) -> Outcome:
        """Delete one record: truncate every sequence of its shard before its slice.

        Raises :class:`Exhausted` (a :class:`UserError`) if the system was already unable to serve:
        the request is recorded (the retraining will leave the record out) but nothing can change.
        """
        r = self.check_record(record)
        was_exhausted = self.exhausted
        h, s = int(self.shard_of[r]), int(self.slice_of[r])
        before = self.alive[h].copy()
        self.alive[h] = np.minimum(self.alive[h], self.position[:, s])
        self.deleted[r] = True
        out = Outcome(r, h, s, int((before - self.alive[h]).sum()), self.exhausted)
        self.log.append(out)
        if was_exhausted:
            raise Exhausted(f"Every shard has lost all its adapters, so the system must be retrained before it can serve; "
                            f"record {r} is recorded as deleted and the retraining will leave it out.")
        return out

    def served(self) -> list[tuple[int, int] | None]:
        """Per shard: (sequence, last step) of its longest surviving prefix, or None (dropped out)."""
        out = []
        for h in range(self.shards):
            b = int(np.argmax(self.alive[h]))
            out.append((b, int(self.alive[h, b]) - 1) if self.alive[h, b] > 0 else None)
        return out

    def grid(self) -> np.ndarray:
        """(m, B′, L) cell states by step: :data:`OFF` (switched off), :data:`ON` (alive), :data:`SERVED`."""
        steps = np.arange(self.slices)[None, None, :]
        g = np.where(steps < self.alive[:, :, None], ON, OFF)
        for h, sv in enumerate(self.served()):
            if sv is not None:
                g[h, sv[0], : sv[1] + 1] = SERVED
        return g

    def pick(self, rng: np.random.Generator, prior=None) -> int:
        """A random record still present (see :func:`request_stream`)."""
        if self.deleted.all():
            raise UserError("Every record is already deleted.")
        return int(request_stream(self.shard_of, self.slice_of, 1, rng, prior, self.deleted)[0])

    def sisa_retrain_cost(self, step_seconds: np.ndarray, outcome: Outcome) -> float:
        """Seconds SISA (one ordering = this service's first) spends retraining shard h from the
        deleted slice's position to the end, at the measured seconds per step ``step_seconds`` (m, L)."""
        p = int(self.position[0, outcome.slice])
        return float(np.sum(step_seconds[outcome.shard, p:]))


def accuracy(test_logits: np.ndarray, served: list, y: np.ndarray) -> float | None:
    """Accuracy of the average of the serving shards' logits; None when no shard serves."""
    parts = [test_logits[h, b, i] for h, sv in enumerate(served) if sv is not None for b, i in [sv]]
    if not parts:
        return None
    return float(np.mean(np.mean(parts, axis=0).argmax(-1) == y))


def request_stream(shard_of: np.ndarray, slice_of: np.ndarray, n: int, rng: np.random.Generator, prior=None,
                   deleted: np.ndarray | None = None) -> np.ndarray:
    """``n`` distinct records to delete, in order: each request picks a remaining record with
    probability ∝ p(slice) / (shards · records in its slice) -- a uniform shard, a slice from the
    per-slice ``prior`` (uniform by default), a uniform record -- without replacement (the
    Gumbel top-k draw of that sequential sampling)."""
    shard_of, slice_of = np.asarray(shard_of), np.asarray(slice_of)
    slices = int(slice_of.max()) + 1
    p = np.full(slices, 1.0 / slices) if prior is None else np.asarray(prior, float) / np.sum(prior)
    size = np.zeros((int(shard_of.max()) + 1, slices))
    np.add.at(size, (shard_of, slice_of), 1)
    w = p[slice_of] / size[shard_of, slice_of]
    key = np.log(w) + rng.gumbel(size=len(w))
    if deleted is not None:
        key[np.asarray(deleted)] = -np.inf
    n = min(n, int(np.isfinite(key).sum()))
    return np.argsort(-key, kind="stable")[:n]


def deletion_curves(test_logits: np.ndarray, service: Service, y: np.ndarray, streams: np.ndarray, cancel=None) -> dict:
    """Replay each stream of requests (R, N) from a fresh state; after 0..N requests record the
    served accuracy (a system that cannot serve answers nothing: 0), whether it serves, and how
    many shards serve. Returns arrays of shape (R, N + 1)."""
    streams = np.asarray(streams)
    R, N = streams.shape
    acc, serving, shards = np.zeros((R, N + 1)), np.zeros((R, N + 1), bool), np.zeros((R, N + 1), np.int64)
    memo: dict = {}
    for r in range(R):
        if cancel is not None:
            cancel.check()
        service.reset()
        for t in range(N + 1):
            if t:
                h, s = service.shard_of[streams[r, t - 1]], service.slice_of[streams[r, t - 1]]
                service.alive[h] = np.minimum(service.alive[h], service.position[:, s])
            served = tuple(service.served())
            if served not in memo:
                memo[served] = accuracy(test_logits, list(served), y)
            a = memo[served]
            acc[r, t], serving[r, t] = (a or 0.0), a is not None
            shards[r, t] = sum(sv is not None for sv in served)
    service.reset()
    return {"accuracy": acc, "serving": serving, "shards": shards}
