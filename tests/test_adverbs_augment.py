"""Augmenters and guards of the adverb study, including the reference code's three bugs."""

import re

import pytest

from deletionlab.adverbs import augment
from deletionlab.adverbs.augment import AEDA, EDA, AdverbDeletion, RandomDeletion, rebuild
from deletionlab.adverbs.tagger import Tagger
from deletionlab.core import UserError


@pytest.fixture(scope="module")
def tagger():
    return Tagger()


def test_adverbs_are_deleted_on_tokens_with_whitespace_right(tagger):
    a = AdverbDeletion((), tagger)("He ran quickly, but she really never stopped.")
    assert a.text == "He ran, but she stopped."
    assert [e.token for e in a.deleted] == ["quickly", "really", "never"]
    assert AdverbDeletion((), tagger)("Honestly, it works.").text == "It works."  # orphaned comma, capital moved
    assert AdverbDeletion((), tagger)("It will work, honestly.").text == "It will work."
    assert AdverbDeletion((), tagger)("It was (really) good.").text == "It was good."


def test_regression_also_keeps_its_so(tagger):
    # the reference code replaced the substring "so" everywhere, turning "also" into "al"
    a = AdverbDeletion((), tagger)("I also think so, and it is so good.")
    assert "also" not in a.text and "al " not in a.text and "al," not in a.text
    assert all(e.token.lower() in {"also", "so"} for e in a.deleted)
    kept = AdverbDeletion(("degree",), tagger)("I also liked it so much.")
    assert "so" in kept.text.split() and "also" not in kept.text


def test_guards_keep_and_record_why(tagger):
    text = "He is no longer here and he hardly ever sleeps, so I really do not know how it works."
    plain = AdverbDeletion((), tagger)(text)
    assert "hardly" not in plain.text and "longer" not in plain.text and plain.touched_negation
    guarded = AdverbDeletion(("negation", "degree", "wh"), tagger)(text)
    reasons = {e.token.lower(): e.reason for e in guarded.kept}
    assert reasons["hardly"] == "guard: negation" and reasons["longer"] == "guard: negation" and reasons["no"] == "guard: negation"
    assert reasons["ever"] == "guard: negation"  # a negative-polarity item under "hardly"
    assert reasons["really"] == "guard: degree" and reasons.get("how") in (None, "guard: wh")
    assert "hardly ever" in guarded.text and "no longer" in guarded.text and not guarded.touched_negation
    assert "here" not in guarded.text.split()  # not guarded: deleted
    with pytest.raises(ValueError):
        AdverbDeletion(("politeness",))
    for bad in (dict(alpha=1.5), dict(alpha=float("nan")), dict(op="xx")):
        with pytest.raises(UserError, match="EDA"):
            EDA(synonyms=lambda w, p: [], **bad)


def test_wh_guard(tagger):
    doc = tagger("Where exactly did you go?")
    assert "Where" in AdverbDeletion(("wh",), tagger)(doc).text
    assert AdverbDeletion((), tagger)(doc).text.startswith(("Did", "did", "Where"))


def test_regression_aeda_changes_the_text(tagger):
    for i, text in enumerate(["I like it", "The car is slow.", "self-driving cars just seem lazy and a waste of money"]):
        a = AEDA(tagger)(text, seed=i)
        assert a.changed and a.text != text
        assert set(a.text.split()) - set(text.split()) <= set(augment.AEDA_MARKS)
        n_words = len(text.split())
        assert 1 <= len(a.edits) <= max(1, n_words // 3)


def test_regression_eda_deletion_deletes_a_fraction(tagger):
    text = " ".join(f"word{i}" for i in range(200))
    a = EDA(op="rd", tagger=tagger)(text, seed=3)
    n_deleted = len(a.deleted)
    assert 0 < n_deleted < 60  # about alpha = 10 % of 200, not "all but one"
    assert len(a.text.split()) == 200 - n_deleted
    short = EDA(op="rd", alpha=0.9, tagger=tagger)("one two", seed=1)
    assert len(short.text.split()) >= 1  # never deletes everything


def test_eda_operations(tagger):
    text = "The quick brown fox jumps over the lazy dog near the river bank today."
    sr = EDA(op="sr", tagger=tagger)(text, seed=2)
    assert sr.changed and all(e.op == "replace" for e in sr.edits) and len(sr.edits) >= 1
    ri = EDA(op="ri", tagger=tagger)(text, seed=2)
    assert len(ri.text.split()) > len(text.split())
    rs = EDA(op="rs", tagger=tagger)(text, seed=2)
    assert sorted(rs.text.replace(".", " ").split()) == sorted(text.replace(".", " ").split())
    mix = {EDA(tagger=tagger)(text, seed=s).method for s in range(20)}
    assert len(mix) >= 3


def test_random_deletion_matches_the_adverb_count(tagger):
    text = "She really quickly ran home and then slowly walked back."
    adv = AdverbDeletion((), tagger)(text)
    rd = RandomDeletion(guards=(), tagger=tagger)(text, seed=5)
    assert len(rd.deleted) == len([e for e in adv.deleted if e.reason == "ADV"])
    assert RandomDeletion(tagger=tagger)("The cat sat on the mat.", seed=1).text == "The cat sat on the mat."


def test_every_augmenter_is_deterministic_under_a_seed(tagger):
    text = "Frankly, the very new car is probably not safe enough yet."
    assert set(augment.all_augmenters(tagger=tagger)) == {"adverb", "adverb_guarded", "eda", "aeda", "random"}
    for aug in augment.all_augmenters(tagger=tagger).values():
        assert aug(text, seed=7).text == aug(text, seed=7).text
    eda = EDA(tagger=tagger)
    assert len({eda(text, seed=s).text for s in range(8)}) > 1


def test_rebuild_normalises_whitespace_and_keeps_odd_text(tagger):
    doc = tagger("  Héllo   wörld —\n東京 is really 🚗 fast!\t")
    assert rebuild(doc) == "Héllo wörld — 東京 is really 🚗 fast!"
    a = AdverbDeletion((), tagger)(doc)
    assert a.text == "Héllo wörld — 東京 is 🚗!"  # "fast" is tagged ADV here
    assert not AdverbDeletion((), tagger)("The   cat sat.").changed  # whitespace alone is no change


def test_orphaned_punctuation_goes(tagger):
    doc = tagger("Honestly, it works fine, really.")
    assert rebuild(doc, [0]) == "it works fine, really."  # no leading comma
    assert rebuild(doc, [6]) == "Honestly, it works fine."  # no ", ."
    a_really_b = tagger("A, really, B")
    assert rebuild(a_really_b, [2]) == "A, B"
    rd = RandomDeletion(n=1, tagger=tagger)
    outs = {rd("Honestly, it works fine today.", seed=s).text for s in range(30)}
    assert "It works fine today." in outs  # the capital moves to the new first word
    assert not any(o.startswith((",", " ")) for o in outs)


def test_deleting_every_word_keeps_the_text_with_a_notice(tagger):
    for text in ("Really.", "Honestly, really!", "really"):
        a = AdverbDeletion((), tagger)(text)
        assert a.text == text and not a.changed and a.notice == augment.NOTHING_LEFT and a.edits == []


def test_random_swap_moves_whole_words_and_leaves_punctuation(tagger):
    swap = EDA(op="rs", tagger=tagger)
    text = "It's barely working, isn't it? ../../../../etc/passwd is here."
    units = {"It's", "barely", "working", "isn't", "it", "../../../../etc/passwd", "is", "here"}
    for seed in range(12):
        out = swap(text, seed=seed).text
        assert out.endswith(".") and out.count(",") == 1 and out.count("?") == 1
        assert {w.rstrip(",.?") for w in out.split()} == units  # no "'sIt", no "..passwd//etc"
    doc = tagger(text)
    assert [doc[a:b].text for a, b in augment.swap_units(doc)] == ["It's", "barely", "working", "isn't", "it",
                                                                   "../../../../etc/passwd", "is", "here"]


def test_random_insertion_never_lands_before_the_full_stop(tagger):
    ins = EDA(op="ri", tagger=tagger)
    doc = tagger("The quick brown fox jumps over the lazy dog.")
    assert augment.word_boundaries(doc) == list(range(9))  # before every word, never before "." or after it
    for seed in range(15):
        out = ins(doc, seed=seed).text
        assert out.endswith("dog.") and " ." not in out and out == " ".join(out.split())


def test_random_deletions_take_whole_words_never_half_a_hyphenated_one(tagger):
    doc = tagger("The self-driving cars honestly aren't ready, it's really too early.")
    for seed in range(30):
        for aug in (RandomDeletion(n=3), EDA(alpha=0.4)):
            out = aug(doc, seed=seed)
            words = out.text.replace(",", " ").replace(".", " ").split()
            assert not re.search(r"self-(?!driving)|(?<!self)-driving", out.text, re.IGNORECASE), out.text
            assert not any(w.startswith("'") or w.endswith("-") for w in words), out.text
            deleted = [e.token for e in out.edits if e.op == "delete"]
            assert all(any(ch.isalnum() for ch in tok) for tok in deleted)
    counts = {len([e for e in RandomDeletion(n=3)(doc, seed=s).edits if e.op == "delete"]) for s in range(10)}
    assert counts == {3}  # three whole words each time
