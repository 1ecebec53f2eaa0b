"""Does augmentation help a classifier? Frozen MiniLM embeddings + a small head, paired by seed.

Conditions (each training text gets at most one augmented copy with the same label, and a text the
augmenter leaves unchanged gets none, as in the paper):

* ``none`` -- originals only.
* ``adverb`` -- the paper's method: every adverb deleted, no guards (the headline condition).
* ``adverb_guarded`` -- adverb deletion that keeps negations and wh-adverbs (or the chosen guards).
* ``random`` -- as many random words deleted as the paper's adverb deletion deletes (same texts).
* ``duplicate`` -- an exact copy of each text the paper's adverb deletion copies: "more copies"
  without "better copies".
* ``eda_matched`` / ``aeda_matched`` -- EDA / AEDA applied only to the texts that have an adverb
  (the same number of copies as adverb deletion).
* ``eda`` / ``aeda`` -- EDA / AEDA on every text, as in the paper (they change 93-100 % of texts).
* ``duplicate_all`` -- an exact copy of every text (the copy count of full EDA/AEDA).

Design: a fixed stratified sample of ``n_train + n_test`` texts (``SAMPLE_SEED``); each seed ``s``
draws its own stratified test split from it (``default_rng(SPLIT_SEED_OFFSET + s)``), trains on
the rest or on a stratified share of it (``default_rng(SUBSET_SEED_OFFSET + s)``), and every
condition of seed ``s`` sees the same originals and the same test texts. Differences between
conditions are therefore paired by seed (:func:`paired_difference`: mean, s.e., z, a paired
t-test p-value), and even at 100 % of the training data seeds differ (their splits do), so no
standard error is zero by construction. The augmented copy of each text is fixed (seeded by the
text), so embeddings are computed once and cached on disk. Head: logistic regression (default) or
a small MLP from scikit-learn, fitted in short chunks that check the cancel token.

The paper (Choi & Kim 2024) fine-tunes BERT on SST-2, SST-5, CoLA, TREC and NLI sets and reports
adverb deletion as effective for single-text classification and for NLI. This is a cheaper,
CPU-friendly version of the single-text question on the data we can ship.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from deletionlab.adverbs import DEFAULT_GUARDS, augment
from deletionlab.adverbs.data import Dataset, load
from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress

#: the paper's method first, its guarded variant next, then the controls and the paper's baselines
CONDITIONS = ("none", "adverb", "adverb_guarded", "random", "duplicate", "eda_matched", "aeda_matched", "eda", "aeda",
              "duplicate_all")
CONDITION_LABELS = {
    "none": "no augmentation",
    "adverb": "adverb deletion (the paper's: every adverb)",
    "adverb_guarded": "adverb deletion with guards",
    "random": "random deletion of as many words",
    "duplicate": "exact copies of the same texts",
    "eda_matched": "EDA on the texts with an adverb",
    "aeda_matched": "AEDA on the texts with an adverb",
    "eda": "EDA on every text",
    "aeda": "AEDA on every text",
    "duplicate_all": "exact copies of every text",
}
#: where each condition's copies come from: (augmenter, only the texts the paper's adverb deletion copies?)
COPY_SOURCE = {
    "adverb": ("adverb", False), "adverb_guarded": ("adverb_guarded", False), "random": ("random", False),
    "duplicate": ("self", True), "eda_matched": ("eda", True), "aeda_matched": ("aeda", True),
    "eda": ("eda", False), "aeda": ("aeda", False), "duplicate_all": ("self", False),
}
HEADS = ("logreg", "mlp")
#: paired differences closer than this are the same number up to rounding (no spread, no s.e.)
SAME_DIFFERENCE = 1e-9
MIN_SEEDS, MAX_SEEDS = 2, 50  # two seeds at least: a paired difference needs a spread
MIN_TRAIN, MAX_TRAIN = 20, 50_000
MIN_TEST, MAX_TEST = 10, 10_000
#: the pool of texts is the same in every run; seed s draws its test split with ``default_rng(SPLIT_SEED_OFFSET + s)``
SAMPLE_SEED = 0
SPLIT_SEED_OFFSET = 2000
#: a low-data run with seed s draws its training subset with ``default_rng(SUBSET_SEED_OFFSET + s)``
SUBSET_SEED_OFFSET = 1000
#: meaning kept: texts sampled (with this seed) from a data set, each augmenter run with seed 0
MEANING_TEXTS, MEANING_SEED = 500, 1
#: logistic regression runs lbfgs this many iterations at a time (well under 0.1 s on 50,000 texts
#: with one BLAS thread), resuming from where it stopped, until converged or LOGREG_MAX_ITER
LOGREG_CHUNK, LOGREG_MAX_ITER = 25, 2000
#: the MLP trains one epoch at a time; it stops when the loss has not improved by MLP_TOL for
#: MLP_PATIENCE epochs (scikit-learn's own rule) or after MLP_MAX_EPOCHS
MLP_MAX_EPOCHS, MLP_TOL, MLP_PATIENCE = 300, 1e-4, 10
#: rows per MLP training step between two cancel checks (~0.1 s with one thread)
MLP_PIECE = 4096


def _whole(value, lo: int, hi: int, what: str) -> int:
    """``value`` as an int, or :class:`UserError` naming ``what`` and the range lo..hi."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and lo <= value <= hi
    if not ok:
        raise UserError(f"{what} must be a whole number from {lo:,} to {hi:,} (got {value!r}).")
    return int(value)


@dataclass
class ExperimentConfig:
    dataset: str = "tweets"
    n_train: int = 6000
    n_test: int = 2000
    fractions: tuple = (0.01, 0.05, 0.2, 1.0)
    seeds: int = 10
    conditions: tuple = CONDITIONS
    head: str = "logreg"  # or "mlp"
    guards: tuple = tuple(sorted(DEFAULT_GUARDS))  # of the adverb_guarded condition

    @classmethod
    def small(cls, **kw) -> ExperimentConfig:
        """A CI-sized run (a few hundred texts, two seeds)."""
        return cls(**{**dict(n_train=200, n_test=100, seeds=2), **kw})

    def validate(self) -> ExperimentConfig:
        """This config, or :class:`UserError` naming the field and its allowed range."""
        if self.head not in HEADS:
            raise UserError(f"The classifier head must be 'logreg' or 'mlp' (got {self.head!r}).")
        fr = tuple(self.fractions) if isinstance(self.fractions, (tuple, list)) else ()
        if not fr or any(isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1 for f in fr):
            raise UserError(f"Training fractions must be numbers in (0, 1] (got {self.fractions!r}).")
        _whole(self.seeds, MIN_SEEDS, MAX_SEEDS, "Seeds")
        _whole(self.n_train, MIN_TRAIN, MAX_TRAIN, "Train texts")
        _whole(self.n_test, MIN_TEST, MAX_TEST, "Test texts")
        unknown = set(self.conditions) - set(CONDITIONS)
        if unknown:
            raise UserError(f"Unknown condition(s): {', '.join(sorted(unknown))}; conditions are {', '.join(CONDITIONS)}.")
        if "none" not in self.conditions:
            raise UserError("The conditions must include 'none' (the baseline every gain is paired with).")
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


def coverage(docs: Sequence, guards=DEFAULT_GUARDS, cancel: CancelToken | None = None) -> Coverage:
    """Adverb coverage of tagged texts (spaCy docs)."""
    adv = augment.AdverbDeletion(guards)
    n_adv, n_del, with_adv = 0, 0, 0
    top: Counter = Counter()
    kept: Counter = Counter()
    for d in docs:
        check_cancel(cancel)
        n_adv += sum(t.pos_ == "ADV" for t in d)
        _, edits = adv.plan(d)
        dels = [e for e in edits if e.op == "delete" and e.reason == "ADV"]
        n_del += len(dels)
        with_adv += bool(dels)
        top.update(e.token.lower() for e in dels)
        kept.update(e.reason.replace("guard: ", "") for e in edits if e.op == "keep")
    n = max(1, len(docs))
    return Coverage(len(docs), with_adv / n, n_adv / n, n_del / n, top.most_common(15), dict(kept))


def paired_difference(values_a: dict, values_b: dict) -> dict:
    """Mean of ``a[k] - b[k]`` over the keys both have (seeds or texts), its standard error, z = mean/s.e.,
    and the two-sided p-value of a paired t-test. ``se``, ``z`` and ``p`` are None when fewer than two
    pairs exist or every difference is the same (no spread: no uncertainty can be claimed)."""
    keys = sorted(set(values_a) & set(values_b))
    d = np.array([values_a[k] - values_b[k] for k in keys], dtype=float)
    out = dict(n=len(keys), diff=float(d.mean()) if len(d) else math.nan, se=None, z=None, p=None)
    if len(d) >= 2 and float(np.ptp(d)) > SAME_DIFFERENCE:
        from scipy import stats

        se = float(d.std(ddof=1) / math.sqrt(len(d)))
        z = out["diff"] / se
        out.update(se=se, z=z, p=float(2 * stats.t.sf(abs(z), len(d) - 1)))
    return out


def by_seed(rows: Sequence[dict], condition: str, fraction: float, metric: str = "accuracy") -> dict[int, float]:
    """{seed: metric} of one condition at one training fraction (rows of :class:`ExperimentResult` or results.json)."""
    return {r["seed"]: r[metric] for r in rows if r["condition"] == condition and r["fraction"] == fraction}


def gain_by_seed(rows: Sequence[dict], condition: str, fraction: float, baseline: str = "none") -> dict[int, float]:
    """{seed: accuracy(condition) - accuracy(baseline)} at one fraction, paired by seed."""
    a, b = by_seed(rows, condition, fraction), by_seed(rows, baseline, fraction)
    return {s: a[s] - b[s] for s in a if s in b}


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (nan for a single value: no spread can be measured)."""
    a = np.array(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else math.nan


@dataclass
class ExperimentResult:
    config: ExperimentConfig
    rows: list = field(default_factory=list)  # one dict per (condition, fraction, seed)
    augmented_share: dict = field(default_factory=dict)  # condition -> share of pool texts with a copy
    coverage: Coverage | None = None  # of the paper's adverb deletion (no guards)
    coverage_guarded: Coverage | None = None
    seconds: dict = field(default_factory=dict)
    classes: list = field(default_factory=list)
    notices: list = field(default_factory=list)

    def table(self) -> list[dict]:
        """Per condition and fraction: mean ± std of accuracy and macro-F1 over seeds, the s.e. of the
        mean, and the gain over 'none' paired by seed (``gain``, ``gain_se``, ``gain_p``)."""
        out = []
        for frac in self.config.fractions:
            for cond in self.config.conditions:
                rs = [r for r in self.rows if r["condition"] == cond and r["fraction"] == frac]
                if not rs:
                    continue
                acc, acc_std = _mean_std([r["accuracy"] for r in rs])
                f1, f1_std = _mean_std([r["macro_f1"] for r in rs])
                g = paired_difference(by_seed(self.rows, cond, frac), by_seed(self.rows, "none", frac))
                out.append(dict(condition=cond, fraction=frac, n=len(rs), accuracy=acc, accuracy_std=acc_std,
                                se=acc_std / math.sqrt(len(rs)), macro_f1=f1, macro_f1_std=f1_std,
                                n_train=int(np.mean([r["n_train"] for r in rs])),
                                n_augmented=float(np.mean([r["n_augmented"] for r in rs])),
                                gain=0.0 if cond == "none" else g["diff"], gain_se=None if cond == "none" else g["se"],
                                gain_p=None if cond == "none" else g["p"]))
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


def _fit_logreg(X, y, cancel: CancelToken | None):
    """Logistic regression (C = 1), lbfgs in chunks of LOGREG_CHUNK iterations, warm-started."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=LOGREG_CHUNK, C=1.0, warm_start=True)
    done = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        while True:
            check_cancel(cancel)
            clf.fit(X, y)
            its = int(np.max(clf.n_iter_))
            done += its
            if its < LOGREG_CHUNK or done >= LOGREG_MAX_ITER:
                return clf


def _fit_mlp(X, y, seed: int, cancel: CancelToken | None):
    """A 128-unit MLP (adam), trained an epoch at a time in pieces of MLP_PIECE rows (the cancel
    token is checked between pieces), stopped like scikit-learn's own ``fit``."""
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(128,), random_state=seed)
    classes, best, stale = np.unique(y), math.inf, 0
    rng = np.random.default_rng(seed)
    for _ in range(MLP_MAX_EPOCHS):
        order, loss = rng.permutation(len(y)), 0.0
        for start in range(0, len(y), MLP_PIECE):
            check_cancel(cancel)
            piece = order[start:start + MLP_PIECE]
            clf.partial_fit(X[piece], y[piece], classes=classes)
            loss += clf.loss_ * len(piece)
        loss /= len(y)
        stale = stale + 1 if loss > best - MLP_TOL else 0
        best = min(best, loss)
        if stale >= MLP_PATIENCE:
            break
    return clf


def fit_head(kind: str, X, y, seed: int = 0, cancel: CancelToken | None = None):
    """A fitted classifier head (``logreg`` or ``mlp``) that checks ``cancel`` between short chunks of
    work. BLAS runs one thread: these problems are small, and two threads on a busy 2-core machine
    were measured 40x slower than one."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _fit_mlp(X, y, seed, cancel) if kind == "mlp" else _fit_logreg(X, y, cancel)


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
class _Pool:
    """The fixed sample every seed splits its own way, with each text's augmented copies."""

    texts: list[str]
    y: np.ndarray
    classes: list[str]
    n_test: int
    copies: dict = field(default_factory=dict)  # condition -> [copy or None] per pool text


def _pool(data: Dataset, cfg: ExperimentConfig, res: ExperimentResult) -> _Pool:
    sub = data.sample(cfg.n_train + cfg.n_test, seed=SAMPLE_SEED)
    if len(sub) - cfg.n_test < MIN_TRAIN:
        raise UserError(f"Test texts must leave at least {MIN_TRAIN} training texts: '{data.name}' has {len(sub):,} texts "
                        f"(got {cfg.n_test:,} test texts).")
    if len(sub) < cfg.n_train + cfg.n_test:
        res.notices.append(f"'{data.name}' has {len(sub):,} texts: training on {len(sub) - cfg.n_test:,} "
                           f"(asked for {cfg.n_train:,}) and testing on {cfg.n_test:,}.")
    return _Pool(list(sub.texts), sub.y, list(sub.classes), cfg.n_test)


def _seed_split(pool: _Pool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seed ``seed``'s (train indices, test indices) of the pool."""
    test = _stratified(pool.y, pool.n_test, np.random.default_rng(SPLIT_SEED_OFFSET + seed))
    return np.setdiff1d(np.arange(len(pool.texts)), test), test


def _copies(docs: list, cfg: ExperimentConfig, pool: _Pool, res: ExperimentResult, cancel: CancelToken | None) -> None:
    """Per condition, the one augmented copy of each pool text (None: no copy), and the share copied."""
    augs = augment.all_augmenters(frozenset(cfg.guards))
    needed = {COPY_SOURCE[c][0] for c in cfg.conditions if c != "none"} - {"self"}
    if any(COPY_SOURCE[c][1] for c in cfg.conditions if c != "none"):
        needed.add("adverb")
    made: dict[str, list] = {}
    for name in sorted(needed):
        out = []
        for d in docs:
            check_cancel(cancel)
            a = augs[name](d, seed=0)
            out.append(a.text if a.changed and a.text.strip() else None)
        made[name] = out
    for cond in cfg.conditions:
        if cond == "none":
            continue
        source, matched = COPY_SOURCE[cond]
        base = pool.texts if source == "self" else made[source]
        pool.copies[cond] = [c if not matched or made["adverb"][i] is not None else None for i, c in enumerate(base)]
        res.augmented_share[cond] = float(np.mean([c is not None for c in pool.copies[cond]])) if base else 0.0


def cached_embedder(dataset: str):
    """``embed(texts, progress, cancel)`` with the shared MiniLM, cached on disk per data set."""
    from deletionlab.adverbs.similarity import DiskCache, embedder

    cache, emb = DiskCache(f"{dataset}-minilm"), embedder()

    def embed(texts, progress=no_progress, cancel=None):
        return cache.get(texts, emb, progress=progress, cancel=cancel)

    return embed


def _fit(cfg: ExperimentConfig, pool: _Pool, X, vec: dict, split, frac: float, seed: int, cond: str,
         cancel: CancelToken | None) -> dict:
    """Train one head (condition, training fraction, seed) and score it on the seed's test split."""
    from sklearn.metrics import accuracy_score, f1_score

    train, test = split
    if frac < 1:
        sub = _stratified(pool.y[train], max(2, int(round(frac * len(train)))), np.random.default_rng(SUBSET_SEED_OFFSET + seed))
        idx = train[sub]
    else:
        idx = train
    Xt, yt = X[idx], pool.y[idx]
    extra = [] if cond == "none" else [i for i in idx if pool.copies[cond][i] is not None]
    if extra:
        Xt = np.concatenate([Xt, np.stack([vec[pool.copies[cond][i]] for i in extra])])
        yt = np.concatenate([yt, pool.y[extra]])
    pred = fit_head(cfg.head, Xt, yt, seed, cancel).predict(X[test])
    return dict(condition=cond, fraction=frac, seed=seed, n_train=int(len(idx)), n_augmented=len(extra),
                accuracy=float(accuracy_score(pool.y[test], pred)), macro_f1=float(f1_score(pool.y[test], pred, average="macro")))


def _embed_all(pool: _Pool, embed, progress: Progress, cancel: CancelToken | None) -> tuple[np.ndarray, dict]:
    everything = list(dict.fromkeys(pool.texts + [c for v in pool.copies.values() for c in v if c is not None]))
    vecs = embed(everything, progress=lambda d, t, n="": progress(1 + d / max(t, 1), 3, f"embedding {d:,}/{t:,}"), cancel=cancel)
    vec = dict(zip(everything, vecs))
    return np.stack([vec[t] for t in pool.texts]), vec


def run_experiment(
    cfg: ExperimentConfig | None = None, *, data: Dataset | None = None, embed=None, tagger=None,
    progress: Progress = no_progress, cancel: CancelToken | None = None,
) -> ExperimentResult:
    """The augmentation experiment; ``data``/``embed``/``tagger`` can be injected (tests)."""
    cfg = (cfg or ExperimentConfig()).validate()
    t0 = time.time()
    res = ExperimentResult(cfg)
    data = data if data is not None else load(cfg.dataset)
    pool = _pool(data, cfg, res)
    res.classes = pool.classes

    # 1. tag and augment (one fixed copy per text and condition)
    if tagger is None:
        from deletionlab.adverbs.tagger import Tagger

        tagger = Tagger()
    n = len(pool.texts)

    def tagged(done, total, note=""):
        progress(done / max(n, 1), 3, f"tagging {done:,}/{n:,}")

    docs = list(tagger.iter(pool.texts, cancel=cancel, progress=tagged, total=n))
    res.coverage = coverage(docs, frozenset(), cancel)
    res.coverage_guarded = coverage(docs, frozenset(cfg.guards), cancel)
    _copies(docs, cfg, pool, res, cancel)
    res.seconds["tag+augment"] = time.time() - t0

    # 2. embeddings (cached on disk per data set)
    t1 = time.time()
    X, vec = _embed_all(pool, embed if embed is not None else cached_embedder(data.source or data.name), progress, cancel)
    res.seconds["embed"] = time.time() - t1

    # 3. fit heads: every condition of a seed on the same originals and the same test split
    t2 = time.time()
    fit_head(cfg.head, X[:2], np.array([0, 1]), cancel=cancel)  # imports scikit-learn before the cancellable loop
    jobs = [(s, f, c) for s in range(cfg.seeds) for f in cfg.fractions for c in cfg.conditions]
    splits = {s: _seed_split(pool, s) for s in range(cfg.seeds)}
    for k, (seed, frac, cond) in enumerate(jobs):
        res.rows.append(_fit(cfg, pool, X, vec, splits[seed], frac, seed, cond, cancel))
        progress(2 + (k + 1) / len(jobs), 3, f"fit {k + 1}/{len(jobs)}: {cond} at {frac:.0%}, seed {seed}")
    res.seconds["fit"] = time.time() - t2
    res.seconds["total"] = time.time() - t0
    return res


def _cosines(pairs: list[tuple[str, str]], embed) -> np.ndarray:
    a, b = embed([p[0] for p in pairs]), embed([p[1] for p in pairs])
    return (np.asarray(a) * np.asarray(b)).sum(1)


def meaning_kept(data: Dataset, guards=DEFAULT_GUARDS, *, tagger, embed, n: int = MEANING_TEXTS,
                 seed: int = MEANING_SEED, cancel: CancelToken | None = None) -> dict:
    """How close each augmenter's copy stays to its text (MiniLM cosine), over a stratified sample of
    ``n`` texts, each augmenter run with seed 0 (texts an augmenter leaves unchanged are left out).

    Returns ``{"augmenters": {name: {n, mean, se}}, "adverb_vs": {name: paired difference}}``: the
    second compares, text by text, the paper's adverb deletion with every other augmenter on the
    texts both changed (:func:`paired_difference`, positive = adverb deletion keeps more)."""
    docs = list(tagger.iter(data.sample(n, seed=seed).texts, cancel=cancel))
    per_text: dict[str, dict[int, float]] = {}
    for key, aug in augment.all_augmenters(guards).items():
        pairs, ids = [], []
        for i, d in enumerate(docs):
            check_cancel(cancel)
            if (a := aug(d, seed=0)).changed:
                pairs.append((d.text, a.text))
                ids.append(i)
        if pairs:
            per_text[key] = dict(zip(ids, (float(c) for c in _cosines(pairs, embed))))
    out: dict = {"augmenters": {}, "adverb_vs": {}}
    for key, vals in per_text.items():
        v = np.array(list(vals.values()))
        se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else None
        out["augmenters"][key] = dict(n=len(v), mean=float(v.mean()), se=se)
        if key != "adverb" and "adverb" in per_text:
            out["adverb_vs"][key] = paired_difference(per_text["adverb"], vals)
    return out
