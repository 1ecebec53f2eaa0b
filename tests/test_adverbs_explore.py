"""What the explorer computes: one text tagged and augmented, a data set's coverage; validation."""

import pytest
from badinput import BAD_NUMBERS, BAD_TEXTS, ODD_UNICODE, assert_clear_message

from deletionlab.adverbs.data import Dataset
from deletionlab.adverbs.explore import MAX_CHARS, Settings, check_coverage_texts, check_text, explore, summarize_dataset, validate
from deletionlab.adverbs.tagger import Tagger
from deletionlab.core import UserError


@pytest.fixture(scope="module")
def tagger():
    return Tagger()


@pytest.fixture(scope="module")
def emb():
    from deletionlab.adverbs.similarity import embedder

    return embedder()


def test_explore_flags_and_limits(tagger, emb):
    ex = explore(Settings("I do not really like it, and it never works.", guards=frozenset()), tagger=tagger, embed=emb)
    adv = ex.methods[0]
    assert adv.method == "adverb deletion" and "never" not in adv.text
    assert any("label-flip" in f for f in adv.flags) and 0 < adv.similarity <= 1
    assert {t.text for t in ex.tokens if t.status == "deleted"} >= {"really", "never"}
    none = explore(Settings("The cat sat on the mat."), tagger=tagger, embed=emb)
    assert "No adverbs" in none.notices[0] and none.methods[0].flags == ["unchanged"]
    odd = explore(Settings("🚗🚗 Très vite! 東京 really rocks"), tagger=tagger, embed=emb)
    assert odd.methods[0].changed
    odd = explore(Settings(ODD_UNICODE, guards=frozenset()), tagger=tagger, embed=emb)
    assert all(m.text == " ".join(m.text.split()) and m.text for m in odd.methods)
    only = explore(Settings("Really.", guards=frozenset()), tagger=tagger, embed=emb)
    assert only.methods[0].text == "Really." and any("Every word would be deleted" in n for n in only.notices)
    for bad, msg in [("", "empty"), ("   \n ", "empty"), ("x" * (MAX_CHARS + 1), "characters")]:
        with pytest.raises(UserError, match=msg):
            check_text(bad)


def test_validate_names_the_field():
    assert validate(Settings("Fine.", guards=("wh",), seed=3)) == Settings("Fine.", frozenset({"wh"}), 3)
    with pytest.raises(UserError, match="empty"):
        validate(Settings(""))
    with pytest.raises(UserError, match="guards must be chosen from negation, degree, wh"):
        validate(Settings("Fine.", guards=frozenset({"politeness"})))
    with pytest.raises(UserError, match="seed must be a whole number from 0 to 4,294,967,295"):
        validate(Settings("Fine.", seed=1.5))


def test_bad_numbers_and_texts_get_a_sentence_naming_the_field():
    for bad in BAD_NUMBERS:
        if bad == 0:
            assert validate(Settings("Fine.", seed=0)).seed == 0  # 0 is a valid seed
            continue
        with pytest.raises(UserError) as err:
            validate(Settings("Fine.", seed=bad))
        assert_clear_message(str(err.value), "seed")
        with pytest.raises(UserError) as err:
            check_coverage_texts(bad)
        assert_clear_message(str(err.value), "Texts")
    for bad in BAD_TEXTS[:3]:
        with pytest.raises(UserError) as err:
            validate(Settings(bad))
        assert_clear_message(str(err.value), "text")
    assert validate(Settings(ODD_UNICODE)).text == ODD_UNICODE  # odd but real text is accepted


def test_summarize_dataset(tagger):
    texts = [f"It {a} works on day {i}." for i, a in zip(range(40), ["really", "truly"] * 20)] + \
            [f"The car {i} is red." for i in range(40)]
    data = Dataset("mini", texts, ["a"] * 40 + ["b"] * 40, "a mini set")
    s = summarize_dataset(data, 40, frozenset(), tagger=tagger)
    assert s.description == "a mini set" and s.classes == ["a", "b"] and s.coverage.n_texts == 40
    assert s.coverage.share_with_adverb == pytest.approx(0.5)
    assert 1 <= len(s.examples) <= 5 and all("really" not in b and "truly" not in b for _, b in s.examples)
    for bad in (0, 10**6, 2.5):
        with pytest.raises(UserError, match="Texts must be a whole number"):
            summarize_dataset(data, bad, tagger=tagger)
