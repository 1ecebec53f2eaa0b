"""The tagger: docs without their tensor, a cache bounded by bytes (issue 18), batches that let a
cancel through."""

import pytest

from deletionlab.adverbs.tagger import BYTES_PER_TOKEN, Tagger, batches, doc_bytes
from deletionlab.core import CancelToken
from deletionlab.core.jobs import Cancelled


@pytest.fixture(scope="module")
def tagger():
    return Tagger()


def test_batches_respect_text_and_character_limits():
    texts = ["a" * 10] * 7 + ["b" * 50] + ["c" * 5] * 3
    groups = list(batches(texts, max_texts=3, max_chars=40))
    assert [t for g in groups for t in g] == texts  # order kept, nothing lost
    assert all(len(g) <= 3 for g in groups)
    assert all(sum(map(len, g)) <= 40 or len(g) == 1 for g in groups)  # a long text goes alone
    assert ["b" * 50] in groups


def test_docs_drop_their_tensor_but_keep_tags(tagger):
    doc = tagger("She really quickly ran home.")
    assert doc.tensor.size == 0
    assert [t.pos_ for t in doc][:3] == ["PRON", "ADV", "ADV"]
    assert doc_bytes(doc) == pytest.approx(len(doc) * BYTES_PER_TOKEN, rel=0.5)


def test_the_cache_is_bounded_by_bytes_not_by_count(tagger):
    long_texts = [f"Text {i}: " + " ".join(f"word{j} really" for j in range(1500)) for i in range(6)]  # ~20,000 characters each
    one = doc_bytes(tagger.nlp(long_texts[0]))  # with its tensor: what the old cache kept
    small = Tagger(nlp=tagger.nlp, cache_bytes=int(2.5 * doc_bytes(tagger(long_texts[0]))))
    docs = small(long_texts)
    assert [d.text for d in docs] == long_texts  # every text tagged, in order
    assert small.cached_bytes <= small.cache_bytes and len(small._cache) == 2  # only the last two fit
    assert list(small._cache) == long_texts[-2:]
    assert small.cached_bytes < one  # two slim docs take less than one with its tensor
    small("short text")  # a new entry evicts the oldest when over budget
    assert small.cached_bytes <= small.cache_bytes and "short text" in small._cache


def test_iter_stops_at_a_cancel_between_batches(tagger):
    token = CancelToken()
    seen = []

    def progress(done, total, note=""):
        seen.append(done)
        if done >= 64:
            token.cancel()

    with pytest.raises(Cancelled):
        for _ in tagger.iter([f"It really works {i}." for i in range(1000)], cancel=token, progress=progress, total=1000):
            pass
    assert seen[-1] < 200  # stopped a batch after the cancel, not after 1,000 texts
