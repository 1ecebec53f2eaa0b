"""Property tests of every augmenter over random texts (issue 18): outputs are whitespace-normalised,
never empty for a non-empty input, and the same under the same seed."""

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deletionlab.adverbs import augment
from deletionlab.adverbs.augment import AEDA, EDA, AdverbDeletion, RandomDeletion
from deletionlab.adverbs.tagger import Tagger

PIECES = ["really", "not", "quickly", "It's", "the", "car", "works", "honestly", "never", "very", "so", "also", "(", ")", ",",
          ".", "!", "?", "...", "—", '"', "'s", "n't", "東京", "🚗", "../etc/passwd", "#tag", "@user", "http://x.y/z?a=1",
          "Z\u0351\u036b", "\u202e", "\x00", "\u200d", "-", "'"]
GAPS = ["", " ", "  ", "\n", "\t ", "\u00a0"]
#: texts made of words, punctuation and odd pieces with odd gaps, or arbitrary Unicode
TEXTS = st.one_of(
    st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(GAPS)), min_size=1, max_size=18).map(
        lambda xs: "".join(w + g for w, g in xs)),
    st.text(min_size=1, max_size=40),
).filter(lambda t: t.strip() != "")


@pytest.fixture(scope="module")
def augmenters():
    tagger = Tagger()
    return tagger, [AdverbDeletion((), tagger), AdverbDeletion(augment.GUARDS, tagger), RandomDeletion(guards=(), tagger=tagger),
                    AEDA(tagger)] + [EDA(op=op, tagger=tagger) for op in EDA.OPS]


# derandomize: CI runs the same 70 examples every time (a new counterexample found by a local run with
# derandomize off becomes an @example below)
@settings(max_examples=70, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=TEXTS, seed=st.integers(0, 2**32 - 1))
@example(text="really  ,really", seed=0)  # random deletion of the first word left ",really" (a whitespace token came first)
def test_outputs_are_normalised_non_empty_and_deterministic(augmenters, text, seed):
    tagger, augs = augmenters
    doc = tagger(text)
    for aug in augs:
        out = aug(doc, seed=seed)
        assert out.text == " ".join(out.text.split()), (aug.name, text, out.text)
        assert out.text.strip(), (aug.name, text)
        if any(ch.isalnum() for ch in text):
            assert any(ch.isalnum() for ch in out.text), (aug.name, text, out.text)
        assert aug(tagger.nlp(text), seed=seed).text == out.text  # a fresh tagging, the same output
        if not out.changed:
            assert out.text == augment.normalize_ws(text)
        starts = out.text[:1]
        if starts in augment.SEPARATORS and out.edits and out.edits[0].op == "delete":
            assert augment.normalize_ws(text).startswith(starts), (aug.name, text, out.text)  # no orphaned leading comma
