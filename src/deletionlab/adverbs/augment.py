"""Text augmenters with one interface: ``augmenter(doc_or_text, seed) -> Augmentation``.

* :class:`AdverbDeletion` -- Choi & Kim (2024), *Adverb Is the Key: Simple Text Data Augmentation
  with Adverb Deletion*: delete every token whose universal POS is ADV. Here on spaCy tokens (never
  by substring replacement: "also" keeps its "so"), with switchable guards that keep negation /
  polarity adverbs, degree adverbs or wh-adverbs; every kept adverb records its guard.
* :class:`EDA` -- Wei & Zou (2019), *EDA: Easy Data Augmentation Techniques*: synonym replacement,
  random insertion, random swap, random deletion, α = 0.1 each.
* :class:`AEDA` -- Karimi et al. (2021), *AEDA: An Easier Data Augmentation Technique*: insert
  between 1 and n/3 random punctuation marks.
* :class:`RandomDeletion` -- the fair control: delete as many random words as adverb deletion
  deletes from the same text.

All are deterministic under a seed (the random stream is seeded by the seed *and* the text).
Whitespace and punctuation are rebuilt from spaCy's tokens, so deleting a word never leaves a
double space or a space before a full stop.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from deletionlab.adverbs import DEFAULT_GUARDS
from deletionlab.core.jobs import UserError

#: guards a user can switch on; each keeps some adverbs from deletion
NEGATION = frozenset({
    "not", "n't", "never", "no", "nowhere", "neither", "nor", "nothing", "hardly", "barely", "scarcely",
    "seldom", "rarely", "ever", "any", "longer", "yet",
})
DEGREE = frozenset({
    "very", "too", "so", "quite", "rather", "extremely", "really", "fairly", "pretty", "somewhat", "slightly",
    "highly", "totally", "completely", "absolutely", "almost", "nearly", "just", "enough", "more", "most", "less",
    "least", "incredibly", "super", "terribly", "awfully", "entirely", "utterly", "particularly", "especially",
    "much", "far", "way", "only", "even",
})
GUARDS = ("negation", "degree", "wh")
AEDA_MARKS = (".", ";", "?", ":", "!", ",")
DASHES = frozenset({"-", "--", "—", "–"})


@dataclass(frozen=True)
class Edit:
    """One change: ``op`` is delete / insert / replace / swap / keep; ``position`` the token index in
    the original text (for an insertion: the token it goes before); ``reason`` says why."""

    op: str
    position: int
    token: str = ""
    new: str = ""
    reason: str = ""


@dataclass
class Augmentation:
    method: str
    original: str
    text: str
    edits: list[Edit] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.text != self.original

    @property
    def deleted(self) -> list[Edit]:
        return [e for e in self.edits if e.op == "delete"]

    @property
    def kept(self) -> list[Edit]:
        return [e for e in self.edits if e.op == "keep"]

    @property
    def touched_negation(self) -> bool:
        """A negation/polarity word was deleted, replaced or moved (a label-flip risk)."""
        return any(e.op in ("delete", "replace", "swap") and _is_negation_word(e.token) for e in self.edits)


#: words whose deletion, replacement or move flags a label-flip risk
NEGATION_WORDS = frozenset({
    "not", "n't", "never", "no", "nowhere", "neither", "nor", "nothing", "hardly", "barely", "scarcely", "seldom", "rarely",
    "none", "nobody", "cannot",
})


def _is_negation_word(word: str) -> bool:
    return word.lower() in NEGATION_WORDS


def check_guards(guards: Iterable[str]) -> frozenset[str]:
    """The guards as a frozenset; :class:`UserError` (a ``ValueError``) naming the choices if one is unknown."""
    guards = frozenset(guards)
    unknown = guards - set(GUARDS)
    if unknown:
        raise UserError(f"Unknown guard(s) {', '.join(sorted(unknown))}: guards must be chosen from {', '.join(GUARDS)}.")
    return guards


def _rng(seed: int, text: str, salt: str) -> random.Random:
    return random.Random(f"{salt}:{seed}:{text}")


def rebuild(doc, delete: Iterable[int] = (), replace: dict[int, str] | None = None,
            insert: dict[int, list[str]] | None = None) -> str:
    """Text of ``doc`` with tokens deleted / replaced / inserted, whitespace and punctuation right.

    Where a run of tokens was deleted, the gap between the kept neighbours is one space if there was
    any whitespace in it, none before closing punctuation ("ran quickly." → "ran.") or after an
    opening bracket or quote ("(really good)" → "(good)"). Inserted tokens are space-separated.
    """
    delete = set(delete)
    replace = replace or {}
    insert = insert or {}
    pieces: list[list] = []  # [text, gap after, is left punctuation]
    run_ws = None  # None: no deleted run pending; else whether the run contained whitespace

    def add(text: str, gap: str, left: bool, punct: bool) -> None:
        nonlocal run_ws
        if pieces and run_ws is not None:
            prev = pieces[-1]
            prev[1] = "" if (punct and not left) or prev[2] else (" " if run_ws else "")
        run_ws = None
        pieces.append([text, gap, left])

    for i, tok in enumerate(doc):
        for new in insert.get(i, []):
            if pieces and not pieces[-1][1] and run_ws is None:
                pieces[-1][1] = " "
            add(new, " ", False, False)
        if i in delete:
            if pieces:
                run_ws = bool(run_ws) or bool(pieces[-1][1]) or bool(tok.whitespace_)
            continue
        add(replace.get(i, tok.text), tok.whitespace_, tok.is_left_punct, tok.is_punct and tok.text not in DASHES)
    for new in insert.get(len(doc), []):
        if pieces and not pieces[-1][1]:
            pieces[-1][1] = " "
        add(new, "", False, False)
    if pieces and run_ws is not None:
        pieces[-1][1] = ""
    return "".join(t + g for t, g, _ in pieces).strip()


class Augmenter:
    """Base class: ``name``, ``__call__(doc_or_text, seed=0)``. Strings are tagged on the fly."""

    name = "augmenter"

    def __init__(self, tagger: Callable | None = None):
        self._tagger = tagger

    def tag(self, doc_or_text):
        if isinstance(doc_or_text, str):
            if self._tagger is None:
                from deletionlab.adverbs.tagger import Tagger

                self._tagger = Tagger()
            return self._tagger(doc_or_text)
        return doc_or_text

    def __call__(self, doc_or_text, seed: int = 0) -> Augmentation:  # pragma: no cover - abstract
        raise NotImplementedError


def guard_for(doc, i: int, guards: frozenset[str]) -> str | None:
    """Which switched-on guard keeps adverb ``doc[i]`` (None: it may be deleted)."""
    tok = doc[i]
    w = tok.lower_
    if "negation" in guards:
        prev = doc[i - 1].lower_ if i > 0 else ""
        nxt = doc[i + 1].lower_ if i + 1 < len(doc) else ""
        if w in {"longer", "more"} and prev in {"no", "any"}:
            return "negation"  # "no longer", "any longer", "no more"
        if w in {"no", "any"} and nxt in {"longer", "more"}:
            return "negation"
        if w in NEGATION - {"any", "longer", "ever", "yet"}:
            return "negation"
        if w in {"ever", "yet", "any"} and any(d.lower_ in {"not", "n't", "never", "no", "hardly"} for d in doc[max(0, i - 4): i]):
            return "negation"  # negative-polarity items under a negation
    if "degree" in guards and w in DEGREE:
        return "degree"
    if "wh" in guards and tok.tag_ == "WRB":
        return "wh"
    return None


class AdverbDeletion(Augmenter):
    """Delete every adverb (universal POS ``ADV``) not kept by a switched-on guard (Choi & Kim 2024).

    Guards: ``negation`` (not, never, hardly, barely, no longer ...: deleting them flips meaning),
    ``degree`` (very, too, quite ...), ``wh`` (how, when, where, why). ``guards=()`` is the paper's
    method. A comma left orphaned by a deleted sentence adverb is deleted too ("Honestly, it works"
    → "It works"), and a capital moves to the new first word.
    """

    name = "adverb deletion"

    def __init__(self, guards: Iterable[str] = DEFAULT_GUARDS, tagger: Callable | None = None):
        super().__init__(tagger)
        self.guards = check_guards(guards)

    def plan(self, doc) -> tuple[list[int], list[Edit]]:
        """Token indices to delete and the edit list (deletions and guard keeps)."""
        delete, edits = [], []
        for i, tok in enumerate(doc):
            if tok.pos_ != "ADV":
                continue
            g = guard_for(doc, i, self.guards)
            if g:
                edits.append(Edit("keep", i, tok.text, reason=f"guard: {g}"))
            else:
                delete.append(i)
                edits.append(Edit("delete", i, tok.text, reason="ADV"))
        # brackets or quotes left empty: "(really)" → ""
        for i in list(delete):
            if 0 < i < len(doc) - 1 and doc[i - 1].is_left_punct and doc[i + 1].is_right_punct:
                for j in (i - 1, i + 1):
                    delete.append(j)
                    edits.append(Edit("delete", j, doc[j].text, reason="emptied brackets"))
        # commas orphaned by deleted sentence adverbs: "Honestly, it works", "It, honestly, works"
        dset = set(delete)
        for i in list(delete):
            nxt = i + 1
            if nxt < len(doc) and doc[nxt].text == "," and nxt not in dset:
                kept_before = [j for j in range(i) if j not in dset]
                if not kept_before:
                    dset.add(nxt)
                    edits.append(Edit("delete", nxt, ",", reason="orphaned comma"))
                elif doc[kept_before[-1]].text == ",":
                    dset.update({nxt, kept_before[-1]})
                    edits.append(Edit("delete", kept_before[-1], ",", reason="orphaned comma"))
                    edits.append(Edit("delete", nxt, ",", reason="orphaned comma"))
            elif (nxt >= len(doc) or doc[nxt].text in {".", "!", "?", ";", ":"}) and i > 0:
                kept_before = [j for j in range(i) if j not in dset]
                if kept_before and doc[kept_before[-1]].text == ",":  # "it works, honestly." → "it works."
                    dset.add(kept_before[-1])
                    edits.append(Edit("delete", kept_before[-1], ",", reason="orphaned comma"))
        return sorted(dset), sorted(edits, key=lambda e: e.position)

    def __call__(self, doc_or_text, seed: int = 0) -> Augmentation:
        doc = self.tag(doc_or_text)
        delete, edits = self.plan(doc)
        text = rebuild(doc, delete)
        if delete and delete[0] == 0 and doc[0].text[:1].isupper():
            text = text[:1].upper() + text[1:]
        return Augmentation(self.name, doc.text, text, edits)


class RandomDeletion(Augmenter):
    """Delete ``n`` random words -- by default as many as :class:`AdverbDeletion` deletes (the control)."""

    name = "random deletion"

    def __init__(self, n: int | None = None, guards: Iterable[str] = DEFAULT_GUARDS, tagger: Callable | None = None):
        super().__init__(tagger)
        self.n = n
        self._adv = AdverbDeletion(guards, tagger)

    def __call__(self, doc_or_text, seed: int = 0) -> Augmentation:
        doc = self.tag(doc_or_text)
        n = self.n if self.n is not None else sum(1 for e in self._adv.plan(doc)[1] if e.op == "delete" and e.reason == "ADV")
        words = [i for i, t in enumerate(doc) if not (t.is_punct or t.is_space)]
        rng = _rng(seed, doc.text, "rd")
        chosen = sorted(rng.sample(words, min(n, max(0, len(words) - 1)))) if n else []
        edits = [Edit("delete", i, doc[i].text, reason="random") for i in chosen]
        return Augmentation(self.name, doc.text, rebuild(doc, chosen), edits)


class AEDA(Augmenter):
    """Insert between 1 and ⌈n/3⌉ punctuation marks (. ; ? : ! ,) at random word boundaries (Karimi et al. 2021)."""

    name = "AEDA"

    def __call__(self, doc_or_text, seed: int = 0) -> Augmentation:
        doc = self.tag(doc_or_text)
        rng = _rng(seed, doc.text, "aeda")
        n_words = sum(1 for t in doc if not t.is_space)
        if n_words == 0:
            return Augmentation(self.name, doc.text, doc.text, [])
        k = rng.randint(1, max(1, n_words // 3))
        # word boundaries only: the start, or after a token followed by whitespace
        slots = [0] + [i for i in range(1, len(doc)) if doc[i - 1].whitespace_]
        insert: dict[int, list[str]] = {}
        edits = []
        for _ in range(k):
            pos = rng.choice(slots)
            mark = rng.choice(AEDA_MARKS)
            insert.setdefault(pos, []).append(mark)
            edits.append(Edit("insert", pos, "", mark, reason="punctuation"))
        return Augmentation(self.name, doc.text, rebuild(doc, insert=insert), sorted(edits, key=lambda e: e.position))


class EDA(Augmenter):
    """Easy Data Augmentation (Wei & Zou 2019), one operation per call (chosen at random, as EDA's
    pool of augmented sentences mixes them) or a fixed one (``op``): ``sr`` synonym replacement,
    ``ri`` random insertion (of a synonym of a random word), ``rs`` random swap, ``rd`` random
    deletion (each word with probability α; at least one word stays). α = 0.1 for each; n = max(1, α·L)."""

    name = "EDA"
    OPS = ("sr", "ri", "rs", "rd")

    def __init__(self, alpha: float = 0.1, op: str | None = None, synonyms: Callable[[str, str], list[str]] | None = None,
                 tagger: Callable | None = None):
        super().__init__(tagger)
        if op is not None and op not in self.OPS:
            raise ValueError(f"op must be one of {self.OPS}")
        if not 0 < alpha < 1:
            raise ValueError("alpha must be in (0, 1)")
        self.alpha = alpha
        self.op = op
        if synonyms is None:
            from deletionlab.adverbs.synonyms import synonyms as default_synonyms

            synonyms = default_synonyms
        self.synonyms = synonyms

    def _candidates(self, doc) -> list[int]:
        return [i for i, t in enumerate(doc) if not (t.is_punct or t.is_space or t.is_stop) and t.is_alpha]

    def __call__(self, doc_or_text, seed: int = 0) -> Augmentation:
        doc = self.tag(doc_or_text)
        rng = _rng(seed, doc.text, "eda")
        op = self.op or rng.choice(self.OPS)
        words = [i for i, t in enumerate(doc) if not (t.is_punct or t.is_space)]
        n = max(1, int(self.alpha * len(words)))
        name = f"{self.name} ({op})"
        if not words:
            return Augmentation(name, doc.text, doc.text, [])
        if op == "sr":
            cands = self._candidates(doc)
            rng.shuffle(cands)
            replace, edits = {}, []
            for i in cands:
                syns = [s for s in self.synonyms(doc[i].lower_, doc[i].pos_) if s.lower() != doc[i].lower_]
                if syns:
                    new = rng.choice(syns)
                    replace[i] = new
                    edits.append(Edit("replace", i, doc[i].text, new, reason="synonym"))
                if len(replace) >= n:
                    break
            return Augmentation(name, doc.text, rebuild(doc, replace=replace), sorted(edits, key=lambda e: e.position))
        if op == "ri":
            insert, edits = {}, []
            cands = self._candidates(doc)
            for _ in range(n):
                for _try in range(10):
                    if not cands:
                        break
                    src = rng.choice(cands)
                    syns = self.synonyms(doc[src].lower_, doc[src].pos_)
                    if syns:
                        pos = rng.randint(0, len(doc))
                        new = rng.choice(syns)
                        insert.setdefault(pos, []).append(new)
                        edits.append(Edit("insert", pos, "", new, reason=f"synonym of '{doc[src].text}'"))
                        break
            return Augmentation(name, doc.text, rebuild(doc, insert=insert), sorted(edits, key=lambda e: e.position))
        if op == "rs":
            order = list(range(len(doc)))
            edits = []
            if len(words) >= 2:
                for _ in range(n):
                    a, b = rng.sample(words, 2)
                    pa, pb = order.index(a), order.index(b)
                    order[pa], order[pb] = order[pb], order[pa]
                    edits.append(Edit("swap", a, doc[a].text, doc[b].text, reason="swap"))
                    edits.append(Edit("swap", b, doc[b].text, doc[a].text, reason="swap"))
            return Augmentation(name, doc.text, _swap_text(doc, order), edits)
        # rd: each word deleted with probability alpha; never all of them
        delete = [i for i in words if rng.random() < self.alpha]
        if len(delete) == len(words):
            delete.remove(rng.choice(delete))
        edits = [Edit("delete", i, doc[i].text, reason="random (p=α)") for i in delete]
        return Augmentation(name, doc.text, rebuild(doc, delete), edits)


def _swap_text(doc, order: list[int]) -> str:
    """Text with tokens at swapped positions; each slot keeps the whitespace of its original token."""
    return "".join(doc[j].text + doc[i].whitespace_ for i, j in enumerate(order)).strip()


def all_augmenters(guards: Iterable[str] = DEFAULT_GUARDS, tagger: Callable | None = None) -> dict[str, Augmenter]:
    """The study's augmenters by short name (the experiment's conditions)."""
    return {
        "adverb": AdverbDeletion(guards, tagger),
        "eda": EDA(tagger=tagger),
        "aeda": AEDA(tagger),
        "random": RandomDeletion(guards=guards, tagger=tagger),
    }
