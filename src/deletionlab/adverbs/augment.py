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
double space, a space before a full stop or a comma at the start; every output is
whitespace-normalised (single spaces, no newlines or tabs, nothing at either end). An edit that
would leave no word at all (deleting every word of "Really.") is not made: the augmenter returns
the text as it was, with a ``notice`` that says so.
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
#: punctuation that cannot start a text or follow another separator once the word between them is gone
SEPARATORS = frozenset({",", ";", ":"})
LEADING_DROPPED = SEPARATORS | {".", "!", "?", "...", "…"}
#: characters of the punctuation that closes a word and stays in place when words are swapped
CLOSING_CHARS = frozenset(".,!?;:…")
NOTHING_LEFT = "Every word would be deleted, so the text is kept as it is (no augmented copy)."


def normalize_ws(text: str) -> str:
    """Single spaces between non-space runs, nothing at either end (newlines and tabs become spaces)."""
    return " ".join(text.split())


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
    notice: str = ""  # why the text was left as it was, when an edit was refused

    @property
    def changed(self) -> bool:
        """The augmented text differs from the original beyond whitespace."""
        return self.text != normalize_ws(self.original)

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
    opening bracket or quote ("(really good)" → "(good)"); a separator (, ; :) that would follow
    another one or start the text is dropped ("A, really, B" → "A, B"; "Really, it works" → "it
    works"). Inserted tokens are space-separated. The result is whitespace-normalised.
    """
    delete = set(delete)
    replace = replace or {}
    insert = insert or {}
    pieces: list[list] = []  # [text, gap after, is left punctuation]
    run_ws = None  # None: no deleted run pending; else whether the run contained whitespace
    lead_deleted = False  # a deletion before the first kept token

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
            lead_deleted = lead_deleted or not _words(pieces)
            continue
        text = replace.get(i, tok.text)
        if i not in replace and _orphan(text, pieces, run_ws, lead_deleted):
            continue
        if run_ws is not None and i not in replace and text in LEADING_DROPPED - SEPARATORS and pieces[-1][0] in SEPARATORS:
            pieces.pop()  # "A, really." → "A."
        add(text, tok.whitespace_, tok.is_left_punct, tok.is_punct and tok.text not in DASHES)
    for new in insert.get(len(doc), []):
        if pieces and not pieces[-1][1]:
            pieces[-1][1] = " "
        add(new, "", False, False)
    if pieces and run_ws is not None:
        if len(pieces) > 1 and pieces[-1][0] in SEPARATORS:
            pieces.pop()  # "I like it, really" → "I like it"
        pieces[-1][1] = ""
    return normalize_ws("".join(t + g for t, g, _ in pieces))


def _words(pieces: list) -> bool:
    """Whether anything but whitespace has been kept so far."""
    return any(p[0].strip() for p in pieces)


def _orphan(text: str, pieces: list, run_ws, lead_deleted: bool) -> bool:
    """A kept punctuation token left without its word: first in the text after a deletion, or a
    separator right after another separator across a deleted run."""
    if not _words(pieces):  # whitespace-only tokens (spaCy keeps runs of spaces as tokens) do not count
        return lead_deleted and text in LEADING_DROPPED
    return run_ws is not None and text in SEPARATORS and pieces[-1][0] in SEPARATORS


def _capitalised(doc, delete, text: str) -> str:
    """``text`` with its first letter upper-cased if the capitalised first word was deleted."""
    if delete and min(delete) == 0 and doc[0].text[:1].isupper():
        return text[:1].upper() + text[1:]
    return text


def _finish(method: str, doc, text: str, edits: list[Edit]) -> Augmentation:
    """The augmentation, or the original with :data:`NOTHING_LEFT` if no word would be left."""
    original = doc.text
    if any(ch.isalnum() for ch in original) and not any(ch.isalnum() for ch in text):
        return Augmentation(method, original, normalize_ws(original), [], NOTHING_LEFT)
    if not text.strip() and original.strip():
        return Augmentation(method, original, normalize_ws(original), [], NOTHING_LEFT)
    return Augmentation(method, original, text, edits)


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
        return _finish(self.name, doc, _capitalised(doc, delete, rebuild(doc, delete)), edits)


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
        units = word_units(doc)
        rng = _rng(seed, doc.text, "rd")
        picked = sorted(rng.sample(range(len(units)), min(n, max(0, len(units) - 1)))) if n else []
        chosen = [i for k in picked for i in range(*units[k])]
        edits = [Edit("delete", units[k][0], doc[units[k][0]:units[k][1]].text, reason="random") for k in picked]
        return _finish(self.name, doc, _capitalised(doc, chosen, rebuild(doc, chosen)), edits)


class AEDA(Augmenter):
    """Insert between 1 and ⌈n/3⌉ punctuation marks (. ; ? : ! ,) at random word boundaries (Karimi et al. 2021)."""

    name = "AEDA"

    def __call__(self, doc_or_text, seed: int = 0) -> Augmentation:
        doc = self.tag(doc_or_text)
        rng = _rng(seed, doc.text, "aeda")
        n_words = sum(1 for t in doc if not t.is_space)
        if n_words == 0:
            return _finish(self.name, doc, normalize_ws(doc.text), [])
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
        return _finish(self.name, doc, rebuild(doc, insert=insert), sorted(edits, key=lambda e: e.position))


class EDA(Augmenter):
    """Easy Data Augmentation (Wei & Zou 2019), one operation per call (chosen at random, as EDA's
    pool of augmented sentences mixes them) or a fixed one (``op``): ``sr`` synonym replacement,
    ``ri`` random insertion (of a synonym of a random word, at a word boundary), ``rs`` random swap
    (of whitespace-separated words, so "It's" moves as one word and a full stop stays put), ``rd``
    random deletion (each word with probability α; at least one word stays). α = 0.1 for each;
    n = max(1, α·L)."""

    name = "EDA"
    OPS = ("sr", "ri", "rs", "rd")

    def __init__(self, alpha: float = 0.1, op: str | None = None, synonyms: Callable[[str, str], list[str]] | None = None,
                 tagger: Callable | None = None):
        super().__init__(tagger)
        if op is not None and op not in self.OPS:
            raise UserError(f"The EDA operation must be one of {', '.join(self.OPS)} (got {op!r}).")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
            raise UserError(f"EDA's alpha must be a number between 0 and 1, both excluded (got {alpha!r}).")
        self.alpha = alpha
        self.op = op
        if synonyms is None:
            from deletionlab.adverbs.synonyms import synonyms as default_synonyms

            synonyms = default_synonyms
        self.synonyms = synonyms

    def _candidates(self, doc) -> list[int]:
        """Words a synonym may replace: whole one-token words ("self" in "self-driving" is not one)."""
        whole = {a for a, b in word_units(doc) if b - a == 1}
        return [i for i, t in enumerate(doc) if i in whole and not (t.is_punct or t.is_space or t.is_stop) and t.is_alpha]

    def __call__(self, doc_or_text, seed: int = 0) -> Augmentation:
        doc = self.tag(doc_or_text)
        rng = _rng(seed, doc.text, "eda")
        op = self.op or rng.choice(self.OPS)
        words = [i for i, t in enumerate(doc) if not (t.is_punct or t.is_space)]
        name = f"{self.name} ({op})"
        if not words:
            return _finish(name, doc, normalize_ws(doc.text), [])
        n = max(1, int(self.alpha * len(words)))
        text, edits = getattr(self, f"_{op}")(doc, words, n, rng)
        return _finish(name, doc, text, sorted(edits, key=lambda e: e.position))

    def _sr(self, doc, words, n, rng) -> tuple[str, list[Edit]]:
        cands = self._candidates(doc)
        rng.shuffle(cands)
        replace, edits = {}, []
        for i in cands:
            syns = [w for w in self.synonyms(doc[i].lower_, doc[i].pos_) if w.lower() != doc[i].lower_]
            if syns:
                replace[i] = rng.choice(syns)
                edits.append(Edit("replace", i, doc[i].text, replace[i], reason="synonym"))
            if len(replace) >= n:
                break
        return rebuild(doc, replace=replace), edits

    def _ri(self, doc, words, n, rng) -> tuple[str, list[Edit]]:
        insert, edits = {}, []
        cands = self._candidates(doc)
        slots = word_boundaries(doc)
        for _ in range(n):
            for _try in range(10):
                if not cands:
                    break
                src = rng.choice(cands)
                syns = self.synonyms(doc[src].lower_, doc[src].pos_)
                if syns:
                    pos, new = rng.choice(slots), rng.choice(syns)
                    insert.setdefault(pos, []).append(new)
                    edits.append(Edit("insert", pos, "", new, reason=f"synonym of '{doc[src].text}'"))
                    break
        return rebuild(doc, insert=insert), edits

    def _rs(self, doc, words, n, rng) -> tuple[str, list[Edit]]:
        units = swap_units(doc)
        order = list(range(len(units)))
        edits = []
        if len(units) >= 2:
            for _ in range(n):
                a, b = rng.sample(range(len(units)), 2)
                order[a], order[b] = order[b], order[a]
                ta, tb = (doc[units[k][0]:units[k][1]].text for k in (a, b))
                edits += [Edit("swap", units[a][0], ta, tb, reason="swap"), Edit("swap", units[b][0], tb, ta, reason="swap")]
        return _swap_text(doc, units, order), edits

    def _rd(self, doc, words, n, rng) -> tuple[str, list[Edit]]:
        units = word_units(doc)  # whole words: "self-driving" goes or stays as one, as in EDA's split on spaces
        picked = [k for k in range(len(units)) if rng.random() < self.alpha]
        if picked and len(picked) == len(units):
            picked.remove(rng.choice(picked))
        delete = [i for k in picked for i in range(*units[k])]
        edits = [Edit("delete", units[k][0], doc[units[k][0]:units[k][1]].text, reason="random (p=α)") for k in picked]
        return _capitalised(doc, delete, rebuild(doc, delete)), edits


def word_boundaries(doc) -> list[int]:
    """Token positions where a new word may go without touching punctuation: the start, after any
    whitespace, and the end unless the text ends in punctuation ("ran." never becomes "ran new .")."""
    slots = [0] + [i for i in range(1, len(doc)) if doc[i - 1].whitespace_]
    if len(doc) and not doc[-1].is_punct:
        slots.append(len(doc))
    return sorted(set(slots))


def swap_units(doc) -> list[tuple[int, int]]:
    """The swappable words of a text as token ranges [start, end): each whitespace-separated chunk
    without the brackets, quotes and sentence punctuation at its edges ("It's" is one unit; in
    "working." only "working" is; "../etc/passwd" is one unit)."""
    units, start = [], 0
    for i, tok in enumerate(doc):
        if tok.whitespace_ or i == len(doc) - 1:
            a, b = start, i + 1
            while a < b and (doc[a].is_space or doc[a].is_left_punct or doc[a].is_quote):
                a += 1
            while b > a and (doc[b - 1].is_space or doc[b - 1].is_right_punct or doc[b - 1].is_quote
                             or set(doc[b - 1].text) <= CLOSING_CHARS):
                b -= 1
            if a < b:
                units.append((a, b))
            start = i + 1
    return units


def word_units(doc) -> list[tuple[int, int]]:
    """The deletable words of a text as token ranges: :func:`swap_units` that hold a letter or a digit
    (a hyphenated or clitic word such as "self-driving" or "It's" is one unit; punctuation is none)."""
    return [(a, b) for a, b in swap_units(doc) if any(ch.isalnum() for ch in doc[a:b].text)]


def _swap_text(doc, units: list[tuple[int, int]], order: list[int]) -> str:
    """Text with unit k's slot holding unit ``order[k]``; every slot keeps the whitespace around it."""
    starts = {u[0]: k for k, u in enumerate(units)}
    out, i = [], 0
    while i < len(doc):
        if i in starts:
            k = starts[i]
            a, b = units[order[k]]
            out.append(doc[a:b].text + doc[units[k][1] - 1].whitespace_)
            i = units[k][1]
        else:
            out.append(doc[i].text_with_ws)
            i += 1
    return normalize_ws("".join(out))


def all_augmenters(guards: Iterable[str] = DEFAULT_GUARDS, tagger: Callable | None = None) -> dict[str, Augmenter]:
    """The study's augmenters by short name: ``adverb`` is the paper's method (every adverb, no
    guards), ``adverb_guarded`` keeps what ``guards`` protect, ``random`` deletes as many random
    words as the paper's method deletes from the same text."""
    return {
        "adverb": AdverbDeletion((), tagger),
        "adverb_guarded": AdverbDeletion(guards, tagger),
        "eda": EDA(tagger=tagger),
        "aeda": AEDA(tagger),
        "random": RandomDeletion(guards=(), tagger=tagger),
    }
