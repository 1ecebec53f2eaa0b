"""What the adverb explorer shows, computed: one text tagged and run through every augmenter with the
meaning each keeps and its flags (:func:`explore`), and a data set's adverb coverage with examples
(:func:`summarize_dataset`). The widget only draws these results.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from deletionlab.adverbs import DEFAULT_EXAMPLE, DEFAULT_GUARDS, augment
from deletionlab.adverbs.data import Dataset
from deletionlab.adverbs.experiment import Coverage, coverage
from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress

MAX_CHARS = 20_000  # longer pastes are refused with this limit in the message (tagging one takes ~0.5 s)
MAX_SEED = 2**32 - 1  # the augmenters' seed: any whole number in 0..MAX_SEED
#: the data-set panel's range of texts to tag (a few seconds per thousand on 2 cores)
MIN_COVERAGE_TEXTS, MAX_COVERAGE_TEXTS = 1, 50_000
N_EXAMPLES = 5  # examples the data-set panel shows ...
MAX_EXAMPLE_CHARS = 240  # ... each shorter than this


@dataclass(frozen=True)
class Settings:
    """What the explorer's text tab sets: the text, the switched-on guards and the augmenters' seed."""

    text: str = DEFAULT_EXAMPLE
    guards: frozenset = DEFAULT_GUARDS
    seed: int = 0


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
class Exploration:
    """One text as the explorer shows it: its tokens (adverb deletion's decisions marked) and every
    augmenter's output."""

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


def validate(s: Settings) -> Settings:
    """The settings with the text checked and the guards a frozenset; :class:`UserError` naming the field."""
    check_text(s.text)
    guards = augment.check_guards(s.guards)
    if isinstance(s.seed, bool) or not isinstance(s.seed, (int, np.integer)) or not 0 <= s.seed <= MAX_SEED:
        raise UserError(f"The seed must be a whole number from 0 to {MAX_SEED:,} (got {s.seed!r}).")
    return Settings(str(s.text), guards, int(s.seed))


def _tokens(doc, adverb_deletion: augment.Augmentation) -> list[TokenView]:
    tokens = [TokenView(t.text, t.whitespace_, t.pos_, t.tag_) for t in doc]
    for e in adverb_deletion.edits:
        tokens[e.position].status = "deleted" if e.op == "delete" else "kept"
        tokens[e.position].reason = e.reason
    return tokens


def _similarities(text: str, results: list[augment.Augmentation], embed) -> list[float]:
    """Cosine of each augmented text with the original (1.0 for an unchanged text)."""
    changed = [r.text for r in results if r.changed]
    if not changed:
        return [1.0] * len(results)
    vecs = embed([text] + changed)
    base, others = vecs[0], iter(vecs[1:])
    return [float(np.dot(base, next(others))) if r.changed else 1.0 for r in results]


def _method(r: augment.Augmentation, similarity: float) -> MethodView:
    flags = []
    if r.touched_negation:
        flags.append("label-flip risk: a negation was changed")
    if not r.changed:
        flags.append("unchanged")
    return MethodView(r.method, r.text, r.changed, similarity, flags, len([e for e in r.edits if e.op != "keep"]))


def explore(s: Settings, *, tagger=None, embed=None, progress: Progress = no_progress,
            cancel: CancelToken | None = None) -> Exploration:
    """Tag the text, run every augmenter on it, and measure how much meaning each keeps.

    ``tagger`` (text → spaCy doc) and ``embed`` (texts → unit vectors) default to the shipped ones.
    """
    s = validate(s)
    if tagger is None:
        from deletionlab.adverbs.tagger import Tagger

        tagger = Tagger()
    progress(0, 3, "tagging")
    check_cancel(cancel)
    doc = tagger(s.text)
    check_cancel(cancel)
    augs = [augment.AdverbDeletion(s.guards, tagger), augment.RandomDeletion(guards=s.guards, tagger=tagger),
            augment.EDA(tagger=tagger), augment.AEDA(tagger)]
    results = [a(doc, seed=s.seed) for a in augs]
    progress(1, 3, "augmenting")
    check_cancel(cancel)
    tokens = _tokens(doc, results[0])
    if embed is None:
        from deletionlab.adverbs.similarity import embedder

        embed = embedder()
    sims = _similarities(s.text, results, embed)
    progress(2, 3, "similarity")
    methods = [_method(r, sim) for r, sim in zip(results, sims)]
    notices = list(dict.fromkeys(f"{r.method}: {r.notice}" for r in results if r.notice))
    if not any(t.pos == "ADV" for t in tokens):
        notices.append("No adverbs in this text: adverb deletion leaves it unchanged (the paper adds no copy for such texts).")
    elif not results[0].changed:
        notices.append("Every adverb here is kept by a guard; switch a guard off to delete it.")
    progress(3, 3, "done")
    return Exploration(s.text, tokens, methods, notices)


@dataclass
class DatasetSummary:
    """The data-set panel: what a sample of a data set gives adverb deletion to work with."""

    description: str
    classes: list[str]
    coverage: Coverage
    examples: list[tuple[str, str]]  # (original, after adverb deletion)


def check_coverage_texts(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not MIN_COVERAGE_TEXTS <= n <= MAX_COVERAGE_TEXTS:
        raise UserError(f"Texts must be a whole number from {MIN_COVERAGE_TEXTS} to {MAX_COVERAGE_TEXTS:,} (got {n!r}).")
    return int(n)


def summarize_dataset(data: Dataset, n: int, guards: Iterable[str] = DEFAULT_GUARDS, *, tagger=None,
                      progress: Progress = no_progress, cancel: CancelToken | None = None) -> DatasetSummary:
    """Adverb coverage of a stratified sample of ``n`` texts (seed 0) and a few short examples."""
    n, guards = check_coverage_texts(n), augment.check_guards(guards)
    if tagger is None:
        from deletionlab.adverbs.tagger import Tagger

        tagger = Tagger()
    ds = data.sample(n, seed=0)

    def tagged(done, total, note=""):
        progress(done / max(len(ds), 1), 2, f"tagging {done:,}/{len(ds):,}")

    docs = list(tagger.iter(ds.texts, cancel=cancel, progress=tagged, total=len(ds)))
    progress(1, 2, "counting")
    cov = coverage(docs, guards, cancel)
    adv = augment.AdverbDeletion(guards)
    examples = []
    for d in docs:
        check_cancel(cancel)
        a = adv(d)
        if a.changed and len(d.text) < MAX_EXAMPLE_CHARS:
            examples.append((d.text, a.text))
        if len(examples) >= N_EXAMPLES:
            break
    progress(2, 2, "done")
    return DatasetSummary(ds.description, list(ds.classes), cov, examples)
