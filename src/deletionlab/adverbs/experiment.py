"""Does augmentation help a classifier? Frozen MiniLM embeddings + a small head, five conditions.

Conditions: ``none`` (originals only), ``adverb`` (adverb deletion), ``eda``, ``aeda``, ``random``
(random deletion of as many words as adverb deletion deletes). As in the paper, each training
text gets at most one augmented copy with the same label, and a text the augmenter leaves
unchanged (e.g. no adverb) gets none. The augmented copy of each text is fixed (seeded by the
text), so embeddings are computed once and cached on disk; the seeds vary which training
examples a low-data run sees. Head: logistic regression (default) or a small MLP, from
scikit-learn. Metrics: accuracy and macro-F1 on a fixed held-out test split. :func:`meaning_kept`
measures how close each augmenter's copies stay to their originals (MiniLM cosine).

The paper (Choi & Kim 2024) fine-tunes BERT on SST-2, TREC, RTE ...; it reports gains from adverb
deletion that are largest in low-data and NLI settings. This is a cheaper, CPU-friendly version of
that question on the data we can ship.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from deletionlab.adverbs import DEFAULT_GUARDS, augment
from deletionlab.adverbs.data import Dataset, load
from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress

CONDITIONS = ("none", "adverb", "eda", "aeda", "random")
HEADS = ("logreg", "mlp")
MAX_SEEDS = 50
MIN_TRAIN, MIN_TEST = 20, 10
#: seeds of the fixed parts: the sample of the data set and the test split are the same in every run
SAMPLE_SEED = 0
SPLIT_SEED = 0
#: a low-data run with seed s draws its training subset with ``default_rng(SUBSET_SEED_OFFSET + s)``
SUBSET_SEED_OFFSET = 1000
#: meaning kept: texts sampled (with this seed) from a data set, each augmenter run with seed 0
MEANING_TEXTS, MEANING_SEED = 500, 1


@dataclass
class ExperimentConfig:
    dataset: str = "tweets"
    n_train: int = 6000
    n_test: int = 2000
    fractions: tuple = (0.01, 0.05, 0.2, 1.0)
    seeds: int = 5
    conditions: tuple = CONDITIONS
    head: str = "logreg"  # or "mlp"
    guards: tuple = tuple(sorted(DEFAULT_GUARDS))

    @classmethod
    def small(cls, **kw) -> ExperimentConfig:
        """A CI-sized run (a few hundred texts, two seeds)."""
        return cls(**{**dict(n_train=200, n_test=100, seeds=2), **kw})

    def validate(self) -> ExperimentConfig:
        """This config, or :class:`UserError` naming the field and its allowed range."""
        if self.head not in HEADS:
            raise UserError(f"The classifier head must be 'logreg' or 'mlp' (got {self.head!r}).")
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions):
            raise UserError("Training fractions must be in (0, 1].")
        if not 1 <= self.seeds <= MAX_SEEDS:
            raise UserError(f"Seeds must be a whole number from 1 to {MAX_SEEDS} (got {self.seeds}).")
        if self.n_train < MIN_TRAIN:
            raise UserError(f"Train texts must be at least {MIN_TRAIN} (got {self.n_train}).")
        if self.n_test < MIN_TEST:
            raise UserError(f"Test texts must be at least {MIN_TEST} (got {self.n_test}).")
        unknown = set(self.conditions) - set(CONDITIONS)
        if unknown:
            raise UserError(f"Unknown condition(s): {', '.join(sorted(unknown))}; conditions are {', '.join(CONDITIONS)}.")
        augment.check_guards(self.guards)
        return self


@dataclass
class Coverage:
    """How much adverb deletion has to work with in a data set."""

    n_texts: int
    share_with_adverb: float  # texts with at least one adverb deleted (under the guards)
    adverbs_per_text: float  # ADV tokens per text
    deleted_per_text: float
    top_deleted: list  # [(adverb, count)]
    kept_by_guard: dict  # guard -> count


def coverage(docs: Sequence, guards=DEFAULT_GUARDS) -> Coverage:
    """Adverb coverage of tagged texts (spaCy docs)."""
    adv = augment.AdverbDeletion(guards)
    n_adv, n_del, with_adv = 0, 0, 0
    top: Counter = Counter()
    kept: Counter = Counter()
    for d in docs:
        n_adv += sum(t.pos_ == "ADV" for t in d)
        _, edits = adv.plan(d)
        dels = [e for e in edits if e.op == "delete" and e.reason == "ADV"]
        n_del += len(dels)
        with_adv += bool(dels)
        top.update(e.token.lower() for e in dels)
        kept.update(e.reason.replace("guard: ", "") for e in edits if e.op == "keep")
    n = max(1, len(docs))
    return Coverage(len(docs), with_adv / n, n_adv / n, n_del / n, top.most_common(15), dict(kept))


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    a = np.array(values)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


@dataclass
class ExperimentResult:
    config: ExperimentConfig
    rows: list = field(default_factory=list)  # one dict per (condition, fraction, seed)
    augmented_share: dict = field(default_factory=dict)  # condition -> share of training texts with a copy
    coverage: Coverage | None = None
    seconds: dict = field(default_factory=dict)
    classes: list = field(default_factory=list)

    def table(self) -> list[dict]:
        """Mean ± std of accuracy and macro-F1 per condition and fraction, with the gain over 'none'."""
        out = []
        base = {}
        for frac in self.config.fractions:
            for cond in self.config.conditions:
                rs = [r for r in self.rows if r["condition"] == cond and r["fraction"] == frac]
                if not rs:
                    continue
                acc, acc_std = _mean_std([r["accuracy"] for r in rs])
                f1, f1_std = _mean_std([r["macro_f1"] for r in rs])
                row = dict(condition=cond, fraction=frac, n=len(rs), accuracy=acc, accuracy_std=acc_std,
                           macro_f1=f1, macro_f1_std=f1_std, n_train=int(np.mean([r["n_train"] for r in rs])))
                if cond == "none":
                    base[frac] = row["accuracy"]
                out.append(row)
        for row in out:
            row["gain"] = row["accuracy"] - base.get(row["fraction"], np.nan)
        return out

    def to_json(self) -> dict:
        d = asdict(self)
        d["table"] = self.table()
        return d


def accuracy_curves(table: Sequence[dict], conditions: Sequence[str]) -> dict[str, tuple[list, list]]:
    """Per condition, (training fractions, mean test accuracies) from a :meth:`ExperimentResult.table`
    (or the ``table`` of a results file), in the table's order."""
    out = {}
    for cond in conditions:
        rs = [r for r in table if r["condition"] == cond]
        out[cond] = ([r["fraction"] for r in rs], [r["accuracy"] for r in rs])
    return out


def _head(kind: str, seed: int):
    if kind == "mlp":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(hidden_layer_sizes=(128,), max_iter=300, early_stopping=False, random_state=seed)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000, C=1.0)


def _stratified(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k indices stratified by class (at least 2 per class when k allows)."""
    classes = np.unique(y)
    picks = []
    for c in classes:
        idx = np.nonzero(y == c)[0]
        m = max(2 if k >= 2 * len(classes) else 1, int(round(k * len(idx) / len(y))))
        picks.extend(rng.choice(idx, size=min(m, len(idx)), replace=False))
    return np.array(sorted(picks))


@dataclass
class _Split:
    """The fixed train/test split of one run (the same for every seed and condition)."""

    train_texts: list[str]
    test_texts: list[str]
    y_train: np.ndarray
    y_test: np.ndarray
    classes: list[str]


def _split(data: Dataset, cfg: ExperimentConfig) -> _Split:
    sub = data.sample(cfg.n_train + cfg.n_test, seed=SAMPLE_SEED)
    y_all = sub.y
    test_idx = _stratified(y_all, cfg.n_test, np.random.default_rng(SPLIT_SEED))
    train_idx = np.setdiff1d(np.arange(len(sub)), test_idx)
    return _Split([sub.texts[i] for i in train_idx], [sub.texts[i] for i in test_idx], y_all[train_idx], y_all[test_idx],
                  list(sub.classes))


def _copies(docs: list, cfg: ExperimentConfig, res: ExperimentResult, cancel: CancelToken | None) -> dict[str, list[str | None]]:
    """Per augmenting condition, the one augmented copy of each training text (None: no copy)."""
    augs = augment.all_augmenters(frozenset(cfg.guards))
    copies: dict[str, list[str | None]] = {}
    for cond in cfg.conditions:
        if cond == "none":
            continue
        out = []
        for d in docs:
            a = augs[cond](d, seed=0)
            out.append(a.text if a.changed and a.text.strip() else None)
        copies[cond] = out
        res.augmented_share[cond] = float(np.mean([c is not None for c in out])) if out else 0.0
        check_cancel(cancel)
    return copies


def cached_embedder(dataset: str):
    """``embed(texts, progress, cancel)`` with the shared MiniLM, cached on disk per data set."""
    from deletionlab.adverbs.similarity import DiskCache, embedder

    cache, emb = DiskCache(f"{dataset}-minilm"), embedder()

    def embed(texts, progress=no_progress, cancel=None):
        return cache.get(texts, emb, progress=progress, cancel=cancel)

    return embed


def _fit(cfg: ExperimentConfig, split: _Split, X_train, X_test, vec: dict, copies: dict, frac: float, seed: int, cond: str) -> dict:
    """Train one head (condition, training fraction, seed) and score it on the test split."""
    from sklearn.metrics import accuracy_score, f1_score

    y_train = split.y_train
    if frac < 1:
        idx = _stratified(y_train, max(2, int(round(frac * len(y_train)))), np.random.default_rng(SUBSET_SEED_OFFSET + seed))
    else:
        idx = np.arange(len(y_train))
    X, y = X_train[idx], y_train[idx]
    n_aug = 0
    if cond != "none":
        extra = [(vec[copies[cond][i]], y_train[i]) for i in idx if copies[cond][i] is not None]
        n_aug = len(extra)
        if extra:
            X = np.concatenate([X, np.stack([e for e, _ in extra])])
            y = np.concatenate([y, np.array([label for _, label in extra])])
    pred = _head(cfg.head, seed).fit(X, y).predict(X_test)
    return dict(condition=cond, fraction=frac, seed=seed, n_train=int(len(idx)), n_augmented=n_aug,
                accuracy=float(accuracy_score(split.y_test, pred)), macro_f1=float(f1_score(split.y_test, pred, average="macro")))


def run_experiment(
    cfg: ExperimentConfig | None = None, *, data: Dataset | None = None, embed=None, tagger=None,
    progress: Progress = no_progress, cancel: CancelToken | None = None,
) -> ExperimentResult:
    """The augmentation experiment; ``data``/``embed``/``tagger`` can be injected (tests)."""
    cfg = (cfg or ExperimentConfig()).validate()
    t0 = time.time()
    res = ExperimentResult(cfg)
    data = data if data is not None else load(cfg.dataset)
    split = _split(data, cfg)
    res.classes = split.classes

    # 1. tag and augment (one fixed copy per text and condition)
    progress(0, 4, "tagging")
    if tagger is None:
        from deletionlab.adverbs.tagger import Tagger

        tagger = Tagger()
    docs = list(tagger.iter(split.train_texts)) if hasattr(tagger, "iter") else tagger(split.train_texts)
    check_cancel(cancel)
    res.coverage = coverage(docs, frozenset(cfg.guards))
    copies = _copies(docs, cfg, res, cancel)
    res.seconds["tag+augment"] = time.time() - t0

    # 2. embeddings (cached on disk per data set)
    t1 = time.time()
    embed = embed if embed is not None else cached_embedder(data.name)
    everything = split.train_texts + split.test_texts + [c for v in copies.values() for c in v if c is not None]
    vecs = embed(everything, progress=lambda d, t, n="": progress(1, 4, f"embedding {d}/{t}"), cancel=cancel)
    vec = dict(zip(everything, vecs))
    X_train = np.stack([vec[t] for t in split.train_texts])
    X_test = np.stack([vec[t] for t in split.test_texts])
    res.seconds["embed"] = time.time() - t1

    # 3. fit heads
    t2 = time.time()
    jobs = [(f, s, c) for f in cfg.fractions for s in range(cfg.seeds) for c in cfg.conditions]
    for k, (frac, seed, cond) in enumerate(jobs):
        check_cancel(cancel)
        res.rows.append(_fit(cfg, split, X_train, X_test, vec, copies, frac, seed, cond))
        progress(2 + (k + 1) / len(jobs), 4, f"fit {k + 1}/{len(jobs)}: {cond} at {frac:.0%}")
    res.seconds["fit"] = time.time() - t2
    res.seconds["total"] = time.time() - t0
    progress(4, 4, "done")
    return res


def meaning_kept(data: Dataset, guards=DEFAULT_GUARDS, *, tagger, embed, n: int = MEANING_TEXTS,
                 seed: int = MEANING_SEED) -> dict[str, float]:
    """Mean cosine between a text and its augmented copy, per augmenter, over a stratified sample of
    ``n`` texts (texts an augmenter leaves unchanged are left out of its mean)."""
    docs = list(tagger.iter(data.sample(n, seed=seed).texts))
    sims = {}
    for key, aug in augment.all_augmenters(guards).items():
        pairs = [(d.text, a.text) for d in docs if (a := aug(d, seed=0)).changed]
        if pairs:
            sims[key] = float(np.mean((embed([p[0] for p in pairs]) * embed([p[1] for p in pairs])).sum(1)))
    return sims
