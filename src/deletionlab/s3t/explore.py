"""What the S3T explorer shows, computed: load or train a system, send deletion requests, replay
request streams for the accuracy and capacity curves, retrain what deletions cost.

The default system of each data set ships in ``deletionlab/assets/s3t/systems/<data set>/`` (made
by ``scripts/s3t_experiment.py``: adapters and heads only, plus every prefix model's test logits),
so the explorer opens without running the encoder. Other settings train in a background job
(progress, cancel) and are cached in ``$DELETIONLAB_CACHE/s3t/<hash of the settings>/``.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from deletionlab.core.assets import asset_path, data_dir
from deletionlab.core.cache import cached, is_cached
from deletionlab.core.jobs import CancelToken, UserError, check_cancel, in_helper, no_progress
from deletionlab.s3t import DEFAULT_CURVE_STREAMS
from deletionlab.s3t.capacity import alive_probability, deletion_rate, first_slices, simulate
from deletionlab.s3t.data import sample
from deletionlab.s3t.model import N_LAYERS, Backbone, TrainConfig, torch_threads
from deletionlab.s3t.sequences import cyclic_orderings
from deletionlab.s3t.sequences import prior as slice_prior
from deletionlab.s3t.service import MAX_DIGITS, Service, deletion_curves, request_stream
from deletionlab.s3t.system import (
    PER_SHARD_RANGE,
    SHARDS_RANGE,
    System,
    SystemConfig,
    load_system,
    save_system,
    starts_needed,
    train_system,
)


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
    """Raise :class:`UserError` naming the first control out of range (see ``SystemConfig.validate``;
    slices L and layers per step k are checked first, against the range the other one leaves)."""
    for name in ("slices", "per_step"):
        v = getattr(s, name)
        if isinstance(v, (int, np.integer)) and not 1 <= v <= _most(name, s):
            raise UserError(f"{FIELDS[name]} must be a whole number {allowed(name, s)} (got {v}).")
    lo, hi = PER_SHARD_RANGE
    if isinstance(s.per_shard, (int, np.integer)) and lo <= s.per_shard <= hi and s.slices > s.per_shard:
        raise UserError(f"Slices L must be at most the records per shard, {s.per_shard} (got {s.slices}).")
    s.config().validate()
    return s


def _most(name: str, s: Settings) -> int:
    """The largest slices L (or layers per step k) that the other one allows: L × k ≤ the model's layers."""
    other = s.per_step if name == "slices" else s.slices
    other = other if isinstance(other, (int, np.integer)) and other >= 1 else 1
    return max(1, N_LAYERS // other)


#: the explorer's whole-number boxes: setting -> the name its messages use
FIELDS = {"shards": "Shards m", "slices": "Slices L", "sequences": "Sequences B′", "per_step": "Layers per step k",
          "per_shard": "Records per shard"}


def allowed(name: str, s: Settings) -> str:
    """The range of one whole-number setting, given the others (those that hold whole numbers)."""
    if name == "shards":
        return f"from {SHARDS_RANGE[0]} to {SHARDS_RANGE[1]}"
    if name == "per_shard":
        return f"from {PER_SHARD_RANGE[0]} to {PER_SHARD_RANGE[1]}"
    if name in ("slices", "per_step"):
        return f"from 1 to {_most(name, s)} (L × k at most the model's {N_LAYERS} layers)"
    slices = s.slices if isinstance(s.slices, (int, np.integer)) and s.slices >= 1 else 1
    return f"from 1 to L! = {math.factorial(min(slices, 12)):,}"


def whole_number(text) -> int | None:
    """A typed whole number (ASCII digits, an optional minus, at most ``MAX_DIGITS`` digits) or None."""
    t = str(text).strip()
    digits = t[1:] if t.startswith("-") else t
    if t.isascii() and digits.isdigit() and len(digits) <= MAX_DIGITS:
        return int(t)
    return None


def parse(base: Settings, **fields) -> Settings:
    """Settings from the explorer's controls: the menus' values as they are, each whole-number box's
    text (:data:`FIELDS`) as an int. A box that holds no whole number gets a :class:`UserError`
    naming the field and its range; the ranges themselves are checked by :func:`validate`."""
    values = {k: (whole_number(v) if k in FIELDS else v) for k, v in fields.items()}
    s = replace(base, **{k: v for k, v in values.items() if v is not None})
    for k, v in values.items():
        if v is None:
            shown = str(fields[k]).strip()
            shown = shown if len(shown) <= 20 else shown[:20] + "…"
            raise UserError(f"{FIELDS[k]} must be a whole number {allowed(k, s)} (got {shown!r}).")
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


def is_stored(cfg: SystemConfig) -> bool:
    """Whether the systems of ``cfg`` ship or are cached (reads only the S3T system's settings):
    opening them then needs no training, so the job need not queue for the heavy-job gate."""
    for folder in (shipped_folder(cfg.dataset), cache_folder(cfg)):
        meta, other = folder / "s3t" / "system.json", folder / "sisa" / "system.json"
        if meta.exists() and other.exists():
            try:
                if SystemConfig.from_dict(json.loads(meta.read_text())["config"]) == cfg:
                    return True
            except (OSError, ValueError, KeyError, TypeError):
                continue
    return False


_models: dict = {}
_models_lock = threading.Lock()
_backbones: dict = {}
_backbones_lock = threading.Lock()




def backbone(rank: int, max_len: int, cancel: CancelToken | None = None) -> Backbone:
    """The MiniLM backbone with LoRA slots, loaded once per process (torch, transformers and peft
    take seconds to import: a cancel during the load still returns within ``in_helper``'s poll)."""
    key = (rank, max_len)

    def load() -> Backbone:
        with _backbones_lock:
            if key not in _backbones:
                _backbones[key] = Backbone(rank, max_len)
            return _backbones[key]

    return in_helper(load, cancel, name="dl-s3t-helper")


def encoded(cfg: SystemConfig, cancel: CancelToken | None = None):
    """(backbone, training features, test features, training corpus, test corpus) for ``cfg``,
    kept for the process's last configuration (retraining reuses the frozen states)."""
    key = (cfg.dataset, cfg.n_train, cfg.n_test, cfg.seed, cfg.train.rank, cfg.train.max_len, cfg.per_step, cfg.slices)
    with _models_lock:
        if key in _models:
            return _models[key]
    train, test = sample(cfg.dataset, cfg.n_train, cfg.n_test, cfg.seed)
    bb = backbone(cfg.train.rank, cfg.train.max_len, cancel)
    with torch_threads(1):
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


def _train_into_cache(cfg: SystemConfig, progress, cancel: CancelToken | None) -> str:
    build(cfg, progress, cancel)
    return str(cache_folder(cfg))


def load_or_train(cfg: SystemConfig, progress=no_progress, cancel: CancelToken | None = None) -> tuple[System, System, str]:
    """The S3T and SISA systems of ``cfg``: shipped, cached, or trained now. Training goes through
    the shared result cache's lock, so kernels that ask for the same settings at once train them once
    (the others wait, cancellable, and then load what the first saved)."""
    found = stored(cfg)
    if found is not None:
        return found
    key = ("systems", cfg)
    before = is_cached("s3t", key)
    cached("s3t", key, lambda: _train_into_cache(cfg, progress, cancel), cancel=cancel, progress=progress)
    found = stored(cfg)
    if found is None:  # the cache said "done" but the folder is gone (cleaned by hand): train again
        s3t, sisa = build(cfg, progress, cancel)
        return s3t, sisa, "trained just now"
    return found[0], found[1], "cached" if before else "trained just now"


@dataclass
class Opened:
    """What the explorer shows on opening a system: both systems, where they came from, the curves
    (a plain, picklable result: a heavy job may compute it on a Dask worker)."""

    settings: Settings
    s3t: System
    sisa: System
    source: str
    curves: dict


def open_systems(s: Settings, *, progress=no_progress, cancel: CancelToken | None = None) -> Opened:
    """Load (shipped or cached) or train the system of ``s`` and its curves for ``s.prior``, both
    through the shared result cache (the dashboard's default run is computed once per machine)."""
    validate(s)
    cfg = s.config()
    s3t, sisa, where = load_or_train(cfg, progress, cancel)
    check_cancel(cancel)
    _, test = sample(cfg.dataset, cfg.n_train, cfg.n_test, cfg.seed)
    c = shared_curves(s3t, sisa, test.y, s.prior, cancel=cancel)
    return Opened(s, s3t, sisa, where, c)


def opens_at_once(s: Settings) -> bool:
    """Whether opening ``s`` only reads files (shipped or cached systems and curves): no gate needed."""
    cfg = s.config()
    return is_stored(cfg) and is_cached("s3t", curves_key(cfg, s.prior))


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
    retrained: int = 0          # how many retrainings were applied (the curves are then the kernel's own)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self):
        self.s3t_service = Service.of(self.s3t)
        self.sisa_service = Service.of(self.sisa)


def exploration_of(opened: Opened) -> Exploration:
    """The served state of freshly opened systems (no request yet)."""
    cfg = opened.s3t.config
    train, test = sample(cfg.dataset, cfg.n_train, cfg.n_test, cfg.seed)
    exp = Exploration(opened.settings, opened.s3t, opened.sisa, opened.source, train.texts, [train.classes[i] for i in train.y],
                      test.y)
    exp.curves = opened.curves
    return exp


def explore(s: Settings, *, progress=no_progress, cancel: CancelToken | None = None) -> Exploration:
    """Load (shipped or cached) or train the system of ``s``; compute the curves for its prior."""
    return exploration_of(open_systems(s, progress=progress, cancel=cancel))


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
    return replay_curves(exp.s3t, exp.sisa, exp.y_test, prior_name, streams, seed, cancel)


def curves_key(cfg: SystemConfig, prior_name: str, streams: int = DEFAULT_CURVE_STREAMS, seed: int = 0) -> tuple:
    """The shared cache's key of the curves of the *trained* systems of ``cfg`` (not after a retraining)."""
    return ("curves", cfg, prior_name, streams, seed)


def shared_curves(s3t: System, sisa: System, y_test: np.ndarray, prior_name: str = "uniform", fresh: bool = True, *,
                  progress=no_progress, cancel: CancelToken | None = None) -> dict:
    """:func:`replay_curves` of the systems as trained (``fresh``) through the shared result cache,
    so every kernel on the machine replays a setting's streams once; retrained systems are this
    kernel's own and are replayed here."""
    if not fresh:
        return replay_curves(s3t, sisa, y_test, prior_name, cancel=cancel)
    return cached("s3t", curves_key(s3t.config, prior_name), lambda: replay_curves(s3t, sisa, y_test, prior_name, cancel=cancel),
                  cancel=cancel, progress=progress)


def replay_curves(s3t: System, sisa: System, y_test: np.ndarray, prior_name: str = "uniform", streams: int = DEFAULT_CURVE_STREAMS,
                  seed: int = 0, cancel: CancelToken | None = None) -> dict:
    """:func:`curves` from the two systems and the test labels (picklable arguments: a heavy job)."""
    cfg = s3t.config
    n = horizon(s3t)
    p = slice_prior(prior_name, cfg.slices)
    rng = np.random.default_rng(seed)
    reqs = np.stack([request_stream(s3t.shard_of, s3t.slice_of, n, rng, p) for _ in range(streams)])
    check_cancel(cancel)
    a = deletion_curves(s3t.test_logits, Service.of(s3t), y_test, reqs, cancel)
    b = deletion_curves(sisa.test_logits, Service.of(sisa), y_test, reqs, cancel)
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
        raise UserError(f"{field_name}: every record is already deleted, so there is nothing left to request; retrain or "
                        "pick other settings.")
    n = whole_number(text)
    if n is None or not 1 <= n <= left:
        raise UserError(f"{field_name} must be a whole number from 1 to {left} (got {text[:30]!r}).")
    return n


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


def retrain_plan(exp: Exploration, sisa: bool = False) -> tuple[np.ndarray, dict]:
    """(the deleted-records mask, {"s3t": shards, "sisa": shards}) of a retraining now: every shard
    that lost an adapter (SISA's only with ``sisa``); a :class:`UserError` when there is none."""
    with exp.lock:
        honoured = exp.s3t_service.deleted.copy()
        todo = {k: [h for h in range(svc.shards) if svc.alive[h].min() < svc.slices]
                for k, svc in (("s3t", exp.s3t_service), ("sisa", exp.sisa_service))}
    if not sisa:
        todo["sisa"] = []
    if not todo["s3t"] and not todo["sisa"]:
        raise UserError("Nothing to retrain: no shard has lost an adapter yet.")
    return honoured, todo


def retrain(exp: Exploration, *, progress=no_progress, cancel: CancelToken | None = None, sisa: bool = False) -> Retrained:
    """Retrain, on the records left, every S3T shard whose adapters were switched off (all its B′
    sequences, from scratch), and with ``sisa`` SISA's too. The service keeps serving meanwhile;
    apply the result with :func:`apply_retrained`."""
    honoured, todo = retrain_plan(exp, sisa)
    return retrain_systems(exp.s3t, exp.sisa, honoured, todo, progress=progress, cancel=cancel)


def retrain_systems(s3t: System, sisa: System, honoured: np.ndarray, todo: dict, *, progress=no_progress,
                    cancel: CancelToken | None = None) -> Retrained:
    """The work of :func:`retrain` on plain arguments (a heavy job may run it on a Dask worker)."""
    t0 = time.perf_counter()
    base = {"s3t": s3t, "sisa": sisa}
    cfg = s3t.config
    progress(0, 1, "encoding the texts once (frozen lower layers)")
    bb, feats, feats_test, train, _ = encoded(cfg, cancel)
    alive = ~honoured
    systems = {}
    for kind in ("s3t", "sisa"):
        systems[kind] = _copy(base[kind])
        if todo[kind]:
            with torch_threads(1):
                train_system(bb, kind, cfg, feats, train.y, feats_test, train.classes,
                             lambda d, t, n="", k=kind: progress(d, t, f"retraining {k.upper()}"), cancel,
                             base=systems[kind], shards=todo[kind], alive=alive)
    return Retrained(systems["s3t"], systems["sisa"], todo["s3t"], todo["sisa"], honoured, time.perf_counter() - t0)


def retrain_and_replay(s3t: System, sisa: System, honoured: np.ndarray, todo: dict, y_test: np.ndarray, prior_name: str = "uniform",
                       *, progress=no_progress, cancel: CancelToken | None = None) -> tuple[Retrained, dict]:
    """:func:`retrain_systems`, then the curves of the retrained systems for ``prior_name`` (one heavy job)."""
    new = retrain_systems(s3t, sisa, honoured, todo, progress=progress, cancel=cancel)
    return new, replay_curves(new.s3t, new.sisa, y_test, prior_name, cancel=cancel)


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
        exp.retrained += 1


def reset(exp: Exploration) -> None:
    """Back to the system as loaded (or last retrained), without any request (for exploring)."""
    with exp.lock:
        exp.s3t_service.reset()
        exp.sisa_service.reset()
        exp.sisa_seconds = 0.0


def _count(n) -> int | None:
    """A whole number of requests from an int, an integral finite float (a chart's x) or typed text; else None."""
    if isinstance(n, (bool, np.bool_)):
        return None
    if isinstance(n, (int, np.integer)):
        return int(n)
    if isinstance(n, (float, np.floating)):
        return int(n) if np.isfinite(n) and float(n).is_integer() and abs(n) < 1e12 else None
    return whole_number(n)


def replay(exp: Exploration, n, prior_name: str | None = None, seed: int = 0) -> int:
    """Back to the loaded system, then the first ``n`` requests of the first stream that the curves
    average over (the same stream for S3T and SISA): the grid as it stood at that point of a curve.
    Returns how many requests were sent."""
    prior_name = prior_name or exp.curves.get("prior", "uniform")
    cfg = exp.s3t.config
    first = request_stream(exp.s3t.shard_of, exp.s3t.slice_of, horizon(exp.s3t), np.random.default_rng(seed),
                           slice_prior(prior_name, cfg.slices))
    k = _count(n)
    if k is None or not 0 <= k <= len(first):
        raise UserError(f"Requests to replay must be a whole number from 0 to {len(first)} (got {str(n)[:20]!r}).")
    reset(exp)
    for r in first[:k]:
        try:
            send(exp, int(r))
        except UserError:  # exhausted: recorded, as for any request
            pass
    return k


def rate_table(shards: int = 5, slices: int = 6, trials: int = 20_000, *, cancel: CancelToken | None = None) -> list[dict]:
    """The deletion rate m·L·H(m·B′) next to its Monte Carlo mean ± s.e. for B′ = 1 … L (cyclic
    orderings), through the shared result cache (the notebook's table, computed once per machine)."""
    def compute() -> list[dict]:
        rows = []
        for b in range(1, slices + 1):
            sim = simulate(shards, cyclic_orderings(slices, b), trials=trials, seed=b, cancel=cancel)
            rows.append({"sequences": b, "analytic": deletion_rate(shards, slices, b), "mean": float(sim.mean()),
                         "se": float(sim.std() / np.sqrt(trials))})
        return rows

    return cached("s3t", ("rate-table", shards, slices, trials), compute, cancel=cancel)


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
