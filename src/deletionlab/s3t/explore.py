"""What the S3T explorer shows, computed: load or train a system, send deletion requests, replay
request streams for the accuracy and capacity curves, retrain what deletions cost.

The default system of each data set ships in ``deletionlab/assets/s3t/systems/<data set>/`` (made
by ``scripts/s3t_experiment.py``: adapters and heads only, plus every prefix model's test logits),
so the explorer opens without running the encoder. Other settings train in a background job
(progress, cancel) and are cached in ``$DELETIONLAB_CACHE/s3t/<hash of the settings>/``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from deletionlab.core.assets import asset_path, data_dir
from deletionlab.core.jobs import CancelToken, UserError, check_cancel, no_progress
from deletionlab.s3t import DEFAULT_CURVE_STREAMS
from deletionlab.s3t.capacity import alive_probability, deletion_rate, first_slices
from deletionlab.s3t.data import sample
from deletionlab.s3t.model import Backbone, TrainConfig, torch_threads
from deletionlab.s3t.sequences import prior as slice_prior
from deletionlab.s3t.service import Service, deletion_curves, request_stream
from deletionlab.s3t.system import System, SystemConfig, load_system, save_system, starts_needed, train_system


@dataclass(frozen=True)
class Settings:
    """The explorer's controls (defaults: the shipped system of each data set)."""

    dataset: str = "tweets"
    shards: int = SystemConfig.shards
    slices: int = SystemConfig.slices
    sequences: int = SystemConfig.sequences
    per_step: int = SystemConfig.per_step
    strategy: str = SystemConfig.strategy
    prior: str = SystemConfig.prior
    per_shard: int = SystemConfig.per_shard
    seed: int = 0
    n_test: int = SystemConfig.n_test
    train: TrainConfig = field(default_factory=TrainConfig)  # not a control: tests pass tiny ones

    def config(self) -> SystemConfig:
        return SystemConfig(dataset=self.dataset, shards=self.shards, slices=self.slices, sequences=self.sequences,
                            per_step=self.per_step, strategy=self.strategy, prior=self.prior, per_shard=self.per_shard,
                            n_test=self.n_test, seed=self.seed, train=self.train)


def validate(s: Settings) -> Settings:
    """Raise :class:`UserError` naming the first control out of range (see ``SystemConfig.validate``)."""
    s.config().validate()
    return s


def shipped_folder(dataset: str) -> Path:
    return asset_path("s3t", "systems", dataset, must_exist=False)


def cache_folder(cfg: SystemConfig) -> Path:
    return data_dir() / "s3t" / cfg.key()


def stored(cfg: SystemConfig) -> tuple[System, System, str] | None:
    """The S3T and SISA systems of ``cfg`` if shipped or cached: (s3t, sisa, where)."""
    for folder, where in ((shipped_folder(cfg.dataset), "shipped"), (cache_folder(cfg), "cached")):
        if (folder / "s3t" / "system.json").exists() and (folder / "sisa" / "system.json").exists():
            s3t = load_system(folder / "s3t")
            if s3t.config == cfg:
                return s3t, load_system(folder / "sisa"), where
    return None


_models: dict = {}
_models_lock = threading.Lock()


def encoded(cfg: SystemConfig, cancel: CancelToken | None = None):
    """(backbone, training features, test features, training corpus, test corpus) for ``cfg``,
    kept for the process's last configuration (retraining reuses the frozen states)."""
    key = (cfg.dataset, cfg.n_train, cfg.n_test, cfg.seed, cfg.train.rank, cfg.train.max_len, cfg.per_step, cfg.slices)
    with _models_lock:
        if key in _models:
            return _models[key]
    train, test = sample(cfg.dataset, cfg.n_train, cfg.n_test, cfg.seed)
    with torch_threads(1):
        bb = Backbone(cfg.train.rank, cfg.train.max_len)
        check_cancel(cancel)
        starts = starts_needed(cfg)
        out = (bb, bb.encode(train.texts, starts, cancel=cancel), bb.encode(test.texts, starts, cancel=cancel), train, test)
    with _models_lock:
        _models.clear()
        _models[key] = out
    return out


#: the sentence the explorer shows when no shard can serve
MUST_RETRAIN = "Every shard has lost all its adapters: the system must be retrained before it can serve (press Retrain)."


def build(cfg: SystemConfig, progress=no_progress, cancel: CancelToken | None = None) -> tuple[System, System]:
    """Train the S3T system of ``cfg`` and SISA at the same number of updates (cached on disk)."""
    progress(0, 1, "encoding the texts once (frozen lower layers)")
    bb, feats, feats_test, train, _ = encoded(cfg, cancel)
    with torch_threads(1):
        s3t = train_system(bb, "s3t", cfg, feats, train.y, feats_test, train.classes,
                           lambda d, t, n="": progress(d, 2 * t, "training S3T"), cancel)
        sisa = train_system(bb, "sisa", cfg, feats, train.y, feats_test, train.classes,
                            lambda d, t, n="": progress(t + d, 2 * t, "training SISA at equal updates"), cancel)
    folder = cache_folder(cfg)
    save_system(s3t, folder / "s3t")
    save_system(sisa, folder / "sisa")
    return s3t, sisa


@dataclass
class Exploration:
    """A system being served: S3T and SISA with their deletion bookkeeping, the texts, the curves."""

    settings: Settings
    s3t: System
    sisa: System
    source: str
    texts: list
    labels: list
    y_test: np.ndarray
    s3t_service: Service = None
    sisa_service: Service = None
    curves: dict = field(default_factory=dict)
    sisa_seconds: float = 0.0   # what SISA would have spent retraining for the requests so far
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self):
        self.s3t_service = Service.of(self.s3t)
        self.sisa_service = Service.of(self.sisa)


def explore(s: Settings, *, progress=no_progress, cancel: CancelToken | None = None) -> Exploration:
    """Load (shipped or cached) or train the system of ``s``; compute the curves for its prior."""
    validate(s)
    cfg = s.config()
    found = stored(cfg)
    if found is None:
        s3t, sisa = build(cfg, progress, cancel)
        where = "trained just now"
    else:
        s3t, sisa, where = found
    train, test = sample(cfg.dataset, cfg.n_train, cfg.n_test, cfg.seed)
    exp = Exploration(s, s3t, sisa, where, train.texts, [train.classes[i] for i in train.y], test.y)
    check_cancel(cancel)
    exp.curves = curves(exp, s.prior, cancel=cancel)
    return exp


def horizon(system: System) -> int:
    """How many requests the curves follow: 1.5 × S3T's expected deletion rate (at most all records)."""
    cfg = system.config
    return int(min(len(system.shard_of), np.ceil(1.5 * deletion_rate(cfg.shards, cfg.slices, first_slices(system.orderings))) + 2))


def _mean_se(a: np.ndarray) -> tuple[list, list]:
    n = a.shape[0]
    return a.mean(0).tolist(), (a.std(0, ddof=1) / np.sqrt(n) if n > 1 else np.full(a.shape[1], np.nan)).tolist()


def curves(exp: Exploration, prior_name: str = "uniform", streams: int = DEFAULT_CURVE_STREAMS, seed: int = 0,
           cancel: CancelToken | None = None) -> dict:
    """Accuracy, serving probability and serving shards after 0…N requests for S3T and SISA,
    over ``streams`` random request streams drawn from the prior (the same streams for both, so the
    difference is paired by stream), next to the analytic survival curve for uniform requests."""
    s3t, sisa = exp.s3t, exp.sisa
    cfg = s3t.config
    n = horizon(s3t)
    p = slice_prior(prior_name, cfg.slices)
    rng = np.random.default_rng(seed)
    reqs = np.stack([request_stream(s3t.shard_of, s3t.slice_of, n, rng, p) for _ in range(streams)])
    check_cancel(cancel)
    a = deletion_curves(s3t.test_logits, Service.of(s3t), exp.y_test, reqs, cancel)
    b = deletion_curves(sisa.test_logits, Service.of(sisa), exp.y_test, reqs, cancel)
    out = {"x": list(range(n + 1)), "prior": prior_name, "streams": streams}
    for name, c in (("s3t", a), ("sisa", b)):
        out[f"{name}_accuracy"], out[f"{name}_accuracy_se"] = _mean_se(c["accuracy"])
        out[f"{name}_serving"] = c["serving"].mean(0).tolist()
        out[f"{name}_shards"] = c["shards"].mean(0).tolist()
    out["difference"], out["difference_se"] = _mean_se(a["accuracy"] - b["accuracy"])
    d = first_slices(s3t.orderings)
    out["s3t_analytic"] = alive_probability(cfg.shards, cfg.slices, d, n).tolist()
    out["sisa_analytic"] = alive_probability(cfg.shards, cfg.slices, 1, n).tolist()
    out["s3t_rate"], out["sisa_rate"] = deletion_rate(cfg.shards, cfg.slices, d), deletion_rate(cfg.shards, cfg.slices, 1)
    return out


def _sisa_follow(exp: Exploration, r: int) -> None:
    """SISA gets the same request: its bookkeeping, and what retraining from the last clean
    checkpoint would cost it at the measured seconds per step."""
    try:
        out = exp.sisa_service.delete(r)
    except UserError:
        return
    exp.sisa_seconds += exp.sisa_service.sisa_retrain_cost(exp.sisa.step_cost[:, 0, :], out)


def send(exp: Exploration, record) -> object:
    """One deletion request for ``record`` to S3T (and the same to SISA); returns S3T's outcome.

    Bad ids raise :class:`UserError`; if S3T was already exhausted the request is recorded and
    :class:`~deletionlab.s3t.service.Exhausted` says the system must retrain."""
    with exp.lock:
        r = exp.s3t_service.check_record(record)
        try:
            out = exp.s3t_service.delete(r)
        finally:
            _sisa_follow(exp, r)
    return out


def check_count(exp: Exploration, count, field_name: str = "Burst size") -> int:
    """A request count from 1 to the records still present."""
    left = int((~exp.s3t_service.deleted).sum())
    text = str(count).strip()
    if left == 0:
        raise UserError("Every record is already deleted; retrain or pick other settings.")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= left:
        raise UserError(f"{field_name} must be a whole number from 1 to {left} (got {text[:30]!r}).")
    return int(text)


def burst(exp: Exploration, count, prior_name: str = "uniform", seed: int | None = None) -> list:
    """``count`` requests at once, drawn from the prior; returns S3T's outcomes."""
    n = check_count(exp, count)
    rng = np.random.default_rng(seed)
    with exp.lock:
        picks = request_stream(exp.s3t.shard_of, exp.s3t.slice_of, n, rng, slice_prior(prior_name, exp.s3t.config.slices),
                               exp.s3t_service.deleted)
    outs = []
    for r in picks:
        try:
            outs.append(send(exp, int(r)))
        except UserError:  # exhausted: recorded; the caller reads exp.s3t_service.exhausted
            pass
    return outs


def stream(exp: Exploration, count, prior_name: str = "uniform", *, progress=no_progress, cancel: CancelToken | None = None,
           on_request=None, delay: float = 0.25, seed: int | None = None) -> int:
    """Requests arriving one by one (every ``delay`` seconds), drawn from the prior; calls
    ``on_request(outcome or None)`` after each (None once S3T is exhausted). Stops at a cancel
    within ``delay``; returns how many requests were sent."""
    n = check_count(exp, count, "Stream length")
    rng = np.random.default_rng(seed)
    for i in range(n):
        check_cancel(cancel)
        if exp.s3t_service.deleted.all():
            return i
        out = burst(exp, 1, prior_name, seed=int(rng.integers(2**31)))
        if on_request is not None:
            on_request(out[0] if out else None)
        progress(i + 1, n, f"request {i + 1} of {n}")
        if delay and i + 1 < n and cancel is not None:
            cancel.sleep(delay)
    return n


@dataclass
class Retrained:
    """New systems for the shards that had lost adapters, and the deletions they already honour."""

    s3t: System
    sisa: System
    s3t_shards: list
    sisa_shards: list
    honoured: np.ndarray  # the deleted-records mask the retraining left out
    seconds: float


def _copy(system: System) -> System:
    return replace(system, checkpoints=dict(system.checkpoints), test_logits=system.test_logits.copy(),
                   step_cost=system.step_cost.copy())


def retrain(exp: Exploration, *, progress=no_progress, cancel: CancelToken | None = None, sisa: bool = False) -> Retrained:
    """Retrain, on the records left, every S3T shard whose adapters were switched off (all its B′
    sequences, from scratch), and with ``sisa`` SISA's too. The service keeps serving meanwhile;
    apply the result with :func:`apply_retrained`."""
    import time

    t0 = time.perf_counter()
    with exp.lock:
        honoured = exp.s3t_service.deleted.copy()
        todo = {k: [h for h in range(svc.shards) if svc.alive[h].min() < svc.slices]
                for k, svc in (("s3t", exp.s3t_service), ("sisa", exp.sisa_service))}
    if not sisa:
        todo["sisa"] = []
    if not todo["s3t"] and not todo["sisa"]:
        raise UserError("Nothing to retrain: no shard has lost an adapter yet.")
    cfg = exp.s3t.config
    progress(0, 1, "encoding the texts once (frozen lower layers)")
    bb, feats, feats_test, train, _ = encoded(cfg, cancel)
    alive = ~honoured
    systems = {}
    for kind, base in (("s3t", exp.s3t), ("sisa", exp.sisa)):
        systems[kind] = _copy(base)
        if todo[kind]:
            with torch_threads(1):
                train_system(bb, kind, cfg, feats, train.y, feats_test, train.classes,
                             lambda d, t, n="", k=kind: progress(d, t, f"retraining {k.upper()}"), cancel,
                             base=systems[kind], shards=todo[kind], alive=alive)
    return Retrained(systems["s3t"], systems["sisa"], todo["s3t"], todo["sisa"], honoured, time.perf_counter() - t0)


def apply_retrained(exp: Exploration, new: Retrained) -> None:
    """Serve the retrained shards; deletions that arrived during the retraining are applied again."""
    with exp.lock:
        for kind, shards in (("s3t", new.s3t_shards), ("sisa", new.sisa_shards)):
            svc = getattr(exp, f"{kind}_service")
            setattr(exp, kind, getattr(new, kind))
            svc.reset(shards)
            for r in np.nonzero(svc.deleted & ~new.honoured)[0]:
                h, s = svc.shard_of[r], svc.slice_of[r]
                if h in shards:
                    svc.alive[h] = np.minimum(svc.alive[h], svc.position[:, s])
        if new.sisa_shards:
            exp.sisa_seconds = 0.0


def status(exp: Exploration) -> dict:
    """What is served now: per-shard prefixes, accuracy of S3T and SISA, counts."""
    from deletionlab.s3t.service import accuracy

    with exp.lock:
        s3t_served, sisa_served = exp.s3t_service.served(), exp.sisa_service.served()
        return {
            "deleted": int(exp.s3t_service.deleted.sum()),
            "s3t_served": s3t_served, "sisa_served": sisa_served,
            "s3t_accuracy": accuracy(exp.s3t.test_logits, s3t_served, exp.y_test),
            "sisa_accuracy": accuracy(exp.sisa.test_logits, sisa_served, exp.y_test),
            "s3t_exhausted": exp.s3t_service.exhausted, "sisa_exhausted": exp.sisa_service.exhausted,
            "sisa_seconds": exp.sisa_seconds,
            "last": exp.s3t_service.log[-1] if exp.s3t_service.log else None,
        }


def record_info(exp: Exploration, record) -> str:
    """One line about a record: where it sits and what it says (for the request box)."""
    r = exp.s3t_service.parse_record(record)
    text = " ".join(exp.texts[r].split())
    text = text if len(text) <= 140 else text[:137] + "…"
    gone = " (deleted)" if exp.s3t_service.deleted[r] else ""
    return f"record {r}{gone}: shard {exp.s3t.shard_of[r] + 1}, slice {exp.s3t.slice_of[r] + 1}, {exp.labels[r]}: “{text}”"
