"""Training whole systems: S3T (m shards × B′ sequences × L slices), SISA at the same number of
optimiser updates, and the non-sharded references; saving and loading them.

* **S3T** (Chowdhury et al. 2024, Alg. 1): for shard h and sequence b with ordering π_b, step i
  trains on the slices π_b(1..i) together, starting from step i−1's checkpoint, with only the head
  and the adapters of the next k layers trainable (:func:`.sequences.layer_schedule`); its
  checkpoint holds those adapters and the head. The model of prefix i is the backbone plus the
  adapters of steps 1..i and head i.
* **SISA** (Bourtoule et al. 2021) as the paper's baseline: one ordering per shard, every adapter
  trainable at every step (per-slice checkpoints hold all adapters + head), each step trained
  B′ × the epochs of an S3T step, so that a SISA shard makes exactly as many optimiser updates as
  the B′ sequences of an S3T shard.
* **Full fine-tuning**: one model, all training records, every adapter trainable, E·(L+1)/2 epochs
  (each record is seen as often as in one S3T sequence). **Probe**: the head alone on the frozen
  encoder.

Every random choice of a step (adapter initialisation, batch order) comes from a generator seeded
by (seed, shard, sequence, step) only, and the frozen states are a function of the text alone, so
a prefix's checkpoint is a deterministic function of the records in that prefix: retraining it
without a deleted slice gives the stored checkpoint bit for bit (``tests/test_s3t_system.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from deletionlab.core.jobs import CancelToken, UserError, check_cancel, no_progress
from deletionlab.s3t.data import DATASETS
from deletionlab.s3t.model import N_LAYERS, Backbone, Cost, Features, TrainConfig, fit_step, logits, new_head
from deletionlab.s3t.sequences import PRIORS, STRATEGIES, check_budget, layer_schedule, orderings, prior, start_layer

#: the allowed ranges of the explorer's whole-number settings that do not depend on another setting
SHARDS_RANGE = (1, 8)
PER_SHARD_RANGE = (1, 2000)


@dataclass(frozen=True)
class SystemConfig:
    """Everything that defines a trained system (the explorer's controls and the experiment's)."""

    dataset: str = "tweets"
    shards: int = 3        # m
    slices: int = 3        # L
    sequences: int = 3     # B′
    per_step: int = 2      # k: layers whose adapters train at each step
    strategy: str = "cyclic"
    prior: str = "uniform"
    per_shard: int = 120   # training records per shard
    n_test: int = 300
    seed: int = 0
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> SystemConfig:
        """Raise :class:`UserError` naming the first field out of range."""
        if self.dataset not in DATASETS:
            raise UserError(f"Data set must be one of {', '.join(DATASETS)} (got {self.dataset!r}).")
        for name, v, lo, hi in (("Shards m", self.shards, *SHARDS_RANGE), ("Records per shard", self.per_shard, *PER_SHARD_RANGE),
                                ("Test texts", self.n_test, 10, 2000), ("Seed", self.seed, 0, 10**6)):
            if not (isinstance(v, (int, np.integer)) and lo <= v <= hi):
                raise UserError(f"{name} must be a whole number from {lo} to {hi} (got {v}).")
        if not (isinstance(self.slices, (int, np.integer)) and 1 <= self.slices <= self.per_shard):
            raise UserError(f"Slices L must be from 1 to the {self.per_shard} records of a shard (got {self.slices}).")
        layer_schedule(N_LAYERS, self.slices, self.per_step)
        check_budget(self.slices, self.sequences)
        if self.strategy not in STRATEGIES:
            raise UserError(f"Selection strategy must be one of {', '.join(STRATEGIES)} (got {self.strategy!r}).")
        if self.prior not in PRIORS:
            raise UserError(f"Deletion prior must be one of {', '.join(PRIORS)} (got {self.prior!r}).")
        if self.strategy == "matched" and self.sequences > self.slices:
            raise UserError(f"Matched selection needs sequences B′ ≤ slices L = {self.slices} (got {self.sequences}).")
        self.train.validate()
        return self

    @property
    def n_train(self) -> int:
        return self.shards * self.per_shard

    def key(self) -> str:
        """A short hash naming this configuration's cache folder."""
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]

    def orderings(self) -> np.ndarray:
        return orderings(self.strategy, self.slices, self.sequences, prior(self.prior, self.slices), seed=self.seed)

    @staticmethod
    def from_dict(d: dict) -> SystemConfig:
        d = dict(d)
        d["train"] = TrainConfig(**d.get("train", {}))
        return SystemConfig(**d)


def partition(n: int, shards: int, slices: int) -> tuple[np.ndarray, np.ndarray]:
    """Record r (already in random order) -> (shard, slice): consecutive blocks, sizes differing by ≤ 1."""
    shard_of, slice_of = np.empty(n, np.int64), np.empty(n, np.int64)
    for h, block in enumerate(np.array_split(np.arange(n), shards)):
        shard_of[block] = h
        for s, part in enumerate(np.array_split(block, slices)):
            slice_of[part] = s
    return shard_of, slice_of


def generator(*key: int):
    """A torch generator seeded from a tuple of integers (seed, shard, sequence, step, …)."""
    import torch

    state = np.random.SeedSequence([int(k) for k in key]).generate_state(2)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def subset(feats: Features, idx: np.ndarray, start: int) -> Features:
    """The records ``idx`` of ``feats`` with only the states entering layer ``start``."""
    return Features(feats.ids[idx], feats.mask[idx], {start: feats.states[start][idx]})


def starts_needed(cfg: SystemConfig) -> set[int]:
    """Every layer a step starts from: S3T's N − (i+1)·k, SISA/full's 0, the probe's N."""
    return {start_layer(N_LAYERS, i, cfg.per_step) for i in range(cfg.slices)} | {0, N_LAYERS}


@dataclass
class System:
    """A trained system: ``checkpoints[(h, b, i)]`` (S3T: the adapters step i trained + head i;
    SISA: every adapter + head), the orderings, who is in which shard and slice, the test logits of
    every prefix model (m, B′, L, n_test, C) and the training cost."""

    kind: str
    config: SystemConfig
    orderings: np.ndarray
    shard_of: np.ndarray
    slice_of: np.ndarray
    checkpoints: dict = field(default_factory=dict)
    test_logits: np.ndarray | None = None
    cost: Cost = field(default_factory=Cost)
    step_cost: np.ndarray | None = None  # (m, B′, L) seconds of each step
    classes: list = field(default_factory=list)

    @property
    def sequences(self) -> int:
        return int(self.orderings.shape[0])

    def start(self, step: int) -> int:
        return 0 if self.kind == "sisa" else start_layer(N_LAYERS, step, self.config.per_step)

    def model_state(self, shard: int, seq: int, step: int) -> dict:
        """The adapters and head of prefix model (shard, seq, step): for S3T the union of steps 0..step."""
        if self.kind == "sisa":
            return dict(self.checkpoints[(shard, seq, step)])
        out = {}
        for i in range(step + 1):
            out.update(self.checkpoints[(shard, seq, i)])
        return out

    def members(self, shard: int, alive: np.ndarray | None = None) -> list[np.ndarray]:
        """Records of each slice of ``shard`` (only those with ``alive[r]`` if given)."""
        keep = np.ones(len(self.shard_of), bool) if alive is None else alive
        return [np.nonzero((self.shard_of == shard) & (self.slice_of == s) & keep)[0] for s in range(self.config.slices)]


def _step_records(members: list[np.ndarray], ordering: np.ndarray) -> list[np.ndarray]:
    """The records of each step of one sequence: the union of its first i+1 slices, in order."""
    return [np.concatenate([members[s] for s in ordering[: i + 1]]) for i in range(len(ordering))]


def work(kind: str, cfg: SystemConfig, members_by_shard: list[list[np.ndarray]], orders: np.ndarray) -> int:
    """Record-passes a system's training takes (the unit of its progress bar)."""
    epochs = cfg.train.epochs * (cfg.sequences if kind == "sisa" else 1)  # SISA: B′ × the epochs
    seqs = orders[:1] if kind == "sisa" else orders
    return sum(epochs * len(r) for members in members_by_shard for o in seqs for r in _step_records(members, o))


def train_sequence(bb: Backbone, feats: Features, y: np.ndarray, members: list[np.ndarray], ordering: np.ndarray, kind: str,
                   cfg: SystemConfig, key: tuple, classes: int, cancel: CancelToken | None = None, on_batch=None,
                   cache: bool = True):
    """Train one sequence of one shard; returns its L checkpoints and their costs.

    ``key`` = (seed, shard, sequence) seeds every random choice; S3T re-initialises the adapters of
    the layers a step trains, SISA initialises all adapters once and keeps training them. With
    ``cache=False`` every step runs all layers from the embeddings (the same model, more work:
    what the frozen-state cache saves).
    """
    seed, h, b = key
    schedule = layer_schedule(N_LAYERS, cfg.slices, cfg.per_step) if kind == "s3t" else [list(range(N_LAYERS))] * cfg.slices
    train = cfg.train if kind == "s3t" else replace(cfg.train, epochs=cfg.train.epochs * cfg.sequences)
    head = new_head(classes, generator(seed, h, b, 10**6))
    done: dict = {}
    ckpts, costs = [], []
    for i, records in enumerate(_step_records(members, ordering)):
        check_cancel(cancel)
        layers = schedule[i]
        start = min(layers) if cache else 0
        gen = generator(seed, h, b, i)
        bb.load(done)
        if kind == "s3t" or i == 0:
            bb.init_adapters(layers, gen)
        costs.append(fit_step(bb, head, subset(feats, records, start), y[records], start, layers, train, gen, cancel, on_batch))
        trained = bb.adapters(layers)
        done.update(trained)
        ckpts.append({**(trained if kind == "s3t" else dict(done)), **{k: v.detach().clone() for k, v in head.items()}})
    bb.zero_adapters()
    return ckpts, costs


def prefix_logits(bb: Backbone, system: System, feats_test: Features, shards=None, cancel: CancelToken | None = None) -> None:
    """Fill ``system.test_logits`` for every prefix model of ``shards`` (default all)."""
    m, bs, L = system.config.shards, system.sequences, system.config.slices
    if system.test_logits is None:
        system.test_logits = np.zeros((m, bs, L, len(feats_test), len(system.classes)), np.float32)
    for h in range(m) if shards is None else shards:
        for b in range(bs):
            for i in range(L):
                start = system.start(i)
                system.test_logits[h, b, i] = logits(bb, system.model_state(h, b, i), subset(feats_test, np.arange(len(feats_test)), start),
                                                      start, cancel=cancel)
    bb.zero_adapters()


def train_system(bb: Backbone, kind: str, cfg: SystemConfig, feats: Features, y: np.ndarray, feats_test: Features, classes: list,
                 progress=no_progress, cancel: CancelToken | None = None, base: System | None = None, shards=None,
                 alive: np.ndarray | None = None) -> System:
    """Train an S3T (``kind="s3t"``) or SISA (``"sisa"``) system; with ``base`` and ``shards``,
    retrain only those shards of ``base`` on the records with ``alive[r]`` (after deletions)."""
    if kind not in ("s3t", "sisa"):
        raise ValueError(kind)
    orders = cfg.orderings() if kind == "s3t" else np.arange(cfg.slices)[None, :]
    if base is None:
        shard_of, slice_of = partition(cfg.n_train, cfg.shards, cfg.slices)
        system = System(kind, cfg, orders, shard_of, slice_of, classes=list(classes),
                        step_cost=np.zeros((cfg.shards, orders.shape[0], cfg.slices)))
    else:
        system = base
    shards = list(range(cfg.shards)) if shards is None else list(shards)
    members = [system.members(h, alive) for h in shards]
    total, done = work(kind, cfg, members, orders), [0]

    def tick(n: int) -> None:
        done[0] += n
        progress(done[0], total, f"training {kind.upper()}")

    for h, mem in zip(shards, members):
        for b, ordering in enumerate(system.orderings):
            ckpts, costs = train_sequence(bb, feats, y, mem, ordering, kind, cfg, (cfg.seed, h, b), len(classes), cancel, tick)
            for i, (ck, c) in enumerate(zip(ckpts, costs)):
                system.checkpoints[(h, b, i)] = ck
                system.step_cost[h, b, i] = c.seconds
                system.cost = system.cost.add(c)
    prefix_logits(bb, system, feats_test, shards, cancel)
    return system


def train_reference(bb: Backbone, kind: str, cfg: SystemConfig, feats: Features, y: np.ndarray, feats_test: Features, classes: int,
                    cancel: CancelToken | None = None) -> tuple[np.ndarray, Cost]:
    """Non-sharded references on all training records: ``full`` fine-tuning (every adapter) or the
    ``probe`` (head only, frozen encoder); E·(L+1)/2 epochs. Returns test logits and cost."""
    epochs = max(1, round(cfg.train.epochs * (cfg.slices + 1) / 2))
    train = replace(cfg.train, epochs=epochs)
    layers, start = (list(range(N_LAYERS)), 0) if kind == "full" else ([], N_LAYERS)
    gen = generator(cfg.seed, 99, 99, 0)
    head = new_head(classes, gen)
    bb.zero_adapters()
    bb.init_adapters(layers, gen)
    everything = np.arange(len(feats))
    cost = fit_step(bb, head, subset(feats, everything, start), y, start, layers, train, gen, cancel)
    state = {**bb.adapters(layers), **head}
    out = logits(bb, state, subset(feats_test, np.arange(len(feats_test)), start), start, cancel=cancel)
    bb.zero_adapters()
    return out, cost


def save_system(system: System, folder: Path) -> Path:
    """Write ``system.json`` (configuration, layout, cost), ``adapters.safetensors`` (the
    checkpoints: adapters and heads only) and ``test_logits.npy`` into ``folder``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"h{h}.b{b}.i{i}.{name}": t.contiguous() for (h, b, i), ck in system.checkpoints.items() for name, t in ck.items()}
    save_file(tensors, str(folder / "adapters.safetensors"))
    np.save(folder / "test_logits.npy", system.test_logits.astype(np.float32))
    meta = {"kind": system.kind, "config": asdict(system.config), "orderings": system.orderings.tolist(),
            "shard_of": system.shard_of.tolist(), "slice_of": system.slice_of.tolist(), "cost": asdict(system.cost),
            "step_cost": np.round(system.step_cost, 4).tolist(), "classes": list(system.classes)}
    (folder / "system.json").write_text(json.dumps(meta))
    return folder


class LazyCheckpoints(MutableMapping):
    """A system's checkpoints, read from ``adapters.safetensors`` on first use: opening a shipped
    system (its test logits are all the explorer needs to serve) then never imports torch."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._data: dict | None = None

    def _load(self) -> dict:
        if self._data is None:
            from safetensors.torch import load_file

            data: dict = {}
            for key, t in load_file(str(self.path)).items():
                h, b, i, name = key.split(".", 3)
                data.setdefault((int(h[1:]), int(b[1:]), int(i[1:])), {})[name] = t
            self._data = data
        return self._data

    def __getitem__(self, key):
        return self._load()[key]

    def __setitem__(self, key, value) -> None:
        self._load()[key] = value

    def __delitem__(self, key) -> None:
        del self._load()[key]

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def load_system(folder: Path) -> System:
    """A system saved by :func:`save_system` (its checkpoints are read on first use)."""
    folder = Path(folder)
    meta = json.loads((folder / "system.json").read_text())
    return System(meta["kind"], SystemConfig.from_dict(meta["config"]), np.array(meta["orderings"], dtype=np.int64),
                  np.array(meta["shard_of"], dtype=np.int64), np.array(meta["slice_of"], dtype=np.int64),
                  LazyCheckpoints(folder / "adapters.safetensors"), np.load(folder / "test_logits.npy"), Cost(**meta["cost"]),
                  np.array(meta["step_cost"]), meta["classes"])
