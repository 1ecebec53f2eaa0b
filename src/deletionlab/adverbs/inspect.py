"""What the adverb explorer shows for one text: tags, each augmenter's output, meaning kept, flags."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from deletionlab.adverbs import augment
from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress

MAX_CHARS = 20_000  # longer pastes are refused with this limit in the message


@dataclass
class TokenView:
    text: str
    whitespace: str
    pos: str
    tag: str
    status: str = ""  # "deleted", "kept" (by a guard) or ""
    reason: str = ""


@dataclass
class MethodView:
    method: str
    text: str
    changed: bool
    similarity: float | None
    flags: list = field(default_factory=list)
    n_edits: int = 0


@dataclass
class Inspection:
    text: str
    tokens: list[TokenView]
    methods: list[MethodView]
    notices: list[str] = field(default_factory=list)

    @property
    def adverbs(self) -> list[TokenView]:
        return [t for t in self.tokens if t.pos == "ADV"]


def check_text(text: str) -> str:
    """Raise a clear :class:`UserError` for text the explorer cannot take."""
    if text is None or not str(text).strip():
        raise UserError("The text is empty: type or paste a sentence, or pick a random example.")
    if len(text) > MAX_CHARS:
        raise UserError(f"The text has {len(text):,} characters; the explorer takes up to {MAX_CHARS:,}. "
                        "Paste a shorter passage (the experiment panel handles whole data sets).")
    return str(text)


def inspect(text: str, guards: Iterable[str] = augment.DEFAULT_GUARDS, seed: int = 0, tagger=None, embed=None,
            progress: Progress = no_progress, cancel: CancelToken | None = None) -> Inspection:
    """Tag ``text``, run every augmenter on it, and measure how much meaning each keeps."""
    text = check_text(text)
    if tagger is None:
        from deletionlab.adverbs.tagger import Tagger

        tagger = Tagger()
    progress(0, 3, "tagging")
    doc = tagger(text)
    check_cancel(cancel)
    guards = frozenset(guards)
    adv = augment.AdverbDeletion(guards, tagger)
    augs = [adv, augment.RandomDeletion(guards=guards, tagger=tagger), augment.EDA(tagger=tagger), augment.AEDA(tagger)]
    results = [a(doc, seed=seed) for a in augs]
    progress(1, 3, "augmenting")
    check_cancel(cancel)
    tokens = [TokenView(t.text, t.whitespace_, t.pos_, t.tag_) for t in doc]
    for e in results[0].edits:
        tokens[e.position].status = "deleted" if e.op == "delete" else "kept"
        tokens[e.position].reason = e.reason
    sims: list[float | None] = [None] * len(results)
    if embed is None:
        from deletionlab.adverbs.similarity import embedder

        embed = embedder()
    changed = [r.text for r in results if r.changed]
    if changed:
        vecs = embed([text] + changed)
        base, others = vecs[0], vecs[1:]
        it = iter(others)
        sims = [float(np.dot(base, next(it))) if r.changed else 1.0 for r in results]
    else:
        sims = [1.0] * len(results)
    progress(2, 3, "similarity")
    methods = []
    for r, s in zip(results, sims):
        flags = []
        if r.touched_negation:
            flags.append("label-flip risk: a negation was changed")
        if not r.changed:
            flags.append("unchanged")
        methods.append(MethodView(r.method, r.text, r.changed, s, flags, len([e for e in r.edits if e.op != "keep"])))
    notices = []
    n_adv = sum(t.pos == "ADV" for t in tokens)
    if n_adv == 0:
        notices.append("No adverbs in this text: adverb deletion leaves it unchanged (the paper adds no copy for such texts).")
    elif not results[0].changed:
        notices.append("Every adverb here is kept by a guard; switch a guard off to delete it.")
    progress(3, 3, "done")
    return Inspection(text, tokens, methods, notices)
