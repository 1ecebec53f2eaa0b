"""The classification experiment (paired by seed, no zero-variance rows, equal-copies controls),
adverb coverage and meaning kept (paired by text)."""

import math

import numpy as np
import pytest
from badinput import BAD_NUMBERS, assert_clear_message

from deletionlab.adverbs.data import Dataset
from deletionlab.adverbs.experiment import (
    CONDITIONS,
    ExperimentConfig,
    accuracy_curves,
    by_seed,
    coverage,
    gain_by_seed,
    meaning_kept,
    paired_difference,
    run_experiment,
)
from deletionlab.adverbs.tagger import Tagger
from deletionlab.core import UserError


@pytest.fixture(scope="module")
def tagger():
    return Tagger()


@pytest.fixture(scope="module")
def emb():
    from deletionlab.adverbs.similarity import embedder

    return embedder()


def test_coverage_counts_adverbs(tagger):
    docs = list(tagger.iter(["He ran quickly.", "The cat sat on the mat.", "It is not very good, honestly."]))
    cov = coverage(docs, frozenset({"negation"}))
    assert cov.n_texts == 3 and cov.share_with_adverb == pytest.approx(2 / 3)
    words = dict(cov.top_deleted)
    assert words["quickly"] == 1 and "not" not in words
    assert cov.adverbs_per_text >= cov.deleted_per_text


def test_paired_difference_by_hand():
    a = {0: 0.70, 1: 0.74, 2: 0.69, 3: 0.75}
    b = {0: 0.68, 1: 0.70, 2: 0.68, 3: 0.71, 9: 0.10}  # seed 9 has no partner: left out
    p = paired_difference(a, b)
    # differences 0.02, 0.04, 0.01, 0.04: mean 0.0275, sample sd 0.015, s.e. 0.0075, z 3.667
    assert p["n"] == 4 and p["diff"] == pytest.approx(0.0275) and p["se"] == pytest.approx(0.0075)
    assert p["z"] == pytest.approx(3.6667, abs=1e-3)
    assert p["p"] == pytest.approx(0.0350, abs=1e-3)  # paired t-test, 3 degrees of freedom (scipy.stats.ttest_rel)
    same = paired_difference({0: 0.8, 1: 0.9}, {0: 0.7, 1: 0.8})  # identical differences: no spread, no s.e.
    assert same["se"] is None and same["z"] is None and same["diff"] == pytest.approx(0.1)
    assert paired_difference({0: 1.0}, {0: 0.5})["se"] is None  # one pair: no uncertainty


def _mini() -> Dataset:
    pos = [f"I {a} like car number {i}." for i, a in zip(range(60), ["really", "truly", "very much"] * 20)]
    neg = [f"I hate the traffic jam {i}." if i % 2 else f"I {'honestly'} hate the traffic jam {i}." for i in range(60)]
    return Dataset("mini", pos + neg, ["pos"] * 60 + ["neg"] * 60)


def test_experiment_pairs_by_seed_with_real_spread_and_equal_copies(tagger, emb):
    cfg = ExperimentConfig(dataset="mini", n_train=80, n_test=40, fractions=(0.2, 1.0), seeds=3)
    res = run_experiment(cfg, data=_mini(), tagger=tagger, embed=lambda t, progress=None, cancel=None: emb(t))
    assert len(res.rows) == 3 * 2 * len(CONDITIONS)
    table = res.table()
    assert {r["condition"] for r in table} == set(CONDITIONS) and CONDITIONS[:3] == ("none", "adverb", "adverb_guarded")
    full = {r["condition"]: r for r in table if r["fraction"] == 1.0}
    assert full["none"]["accuracy"] > 0.9  # an easy task: the head must learn it
    assert all(r["se"] is not None and r["n"] == 3 for r in table)
    # the copies: adverb deletion copies the 90 texts with an adverb of the pool of 120 ...
    share = res.augmented_share
    assert share["adverb"] == pytest.approx(90 / 120) and share["duplicate_all"] == 1.0
    # ... and the equal-copies controls copy exactly those texts, one copy each
    for cond in ("duplicate", "random", "aeda_matched"):
        assert share[cond] == share["adverb"]
    rows = {(r["condition"], r["fraction"], r["seed"]): r for r in res.rows}
    for seed in range(3):
        n_adv = rows[("adverb", 1.0, seed)]["n_augmented"]
        assert rows[("duplicate", 1.0, seed)]["n_augmented"] == n_adv == rows[("aeda_matched", 1.0, seed)]["n_augmented"]
        assert rows[("duplicate_all", 1.0, seed)]["n_augmented"] == rows[("none", 1.0, seed)]["n_train"]
    g = gain_by_seed(res.rows, "adverb", 1.0)
    assert sorted(g) == [0, 1, 2] and all(g[s] == pytest.approx(by_seed(res.rows, "adverb", 1.0)[s] - by_seed(res.rows, "none", 1.0)[s])
                                          for s in g)
    curves = accuracy_curves(table, cfg.conditions)
    assert list(curves) == list(CONDITIONS) and curves["none"][0] == [0.2, 1.0]


def test_each_seed_has_its_own_test_split():
    from deletionlab.adverbs.experiment import _Pool, _seed_split

    pool = _Pool([f"t{i}" for i in range(100)], np.array([0, 1] * 50), ["a", "b"], n_test=20)
    splits = [_seed_split(pool, s) for s in range(3)]
    for train, test in splits:
        assert len(test) == 20 and len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 100
        assert np.bincount(pool.y[test]).tolist() == [10, 10]  # stratified
    assert not np.array_equal(splits[0][1], splits[1][1])  # resampled per seed
    assert np.array_equal(_seed_split(pool, 1)[1], splits[1][1])  # and reproducible


def test_config_validation_names_the_field():
    assert ExperimentConfig.small().validate().n_train == 200
    for kw, msg in [(dict(head="svm"), "head"), (dict(seeds=1), "Seeds must be a whole number from 2 to 50"),
                    (dict(n_train=5), "Train texts must be a whole number from 20 to 50,000"),
                    (dict(n_test=2), "Test texts must be a whole number from 10 to 10,000"),
                    (dict(n_train=2.5), "Train texts"), (dict(fractions=(0.5, 1.5)), "fractions"),
                    (dict(fractions=(math.nan,)), "fractions"), (dict(conditions=("none", "magic")), "magic"),
                    (dict(conditions=("adverb",)), "'none'"), (dict(guards=("politeness",)), "guards must be chosen")]:
        with pytest.raises(UserError, match=msg):
            ExperimentConfig(**kw).validate()
    for field, words in (("seeds", "Seeds"), ("n_train", "Train texts"), ("n_test", "Test texts")):
        for bad in BAD_NUMBERS:
            with pytest.raises(UserError) as err:
                ExperimentConfig(**{field: bad}).validate()
            assert_clear_message(str(err.value), words)


def test_a_data_set_too_small_for_the_test_split_is_a_sentence(tagger):
    data = Dataset("tiny", [f"It really works {i}." for i in range(40)], ["a", "b"] * 20)
    with pytest.raises(UserError, match="Test texts must leave at least 20 training texts"):
        run_experiment(ExperimentConfig(n_train=100, n_test=30, seeds=2), data=data, tagger=tagger, embed=lambda t, **kw: None)


def test_meaning_kept_is_paired_by_text(tagger, emb):
    data = Dataset("m", ["She really quickly ran home.", "It honestly works well.", "The cat sat."], ["a", "b", "a"])
    sims = meaning_kept(data, frozenset(), tagger=tagger, embed=emb, n=3)
    aug = sims["augmenters"]
    assert set(aug) <= {"adverb", "adverb_guarded", "eda", "aeda", "random"} and aug["adverb"]["n"] == 2
    assert all(0 < v["mean"] < 1 and v["se"] is not None for v in aug.values() if v["n"] > 1)
    # by hand for adverb deletion: the two texts with adverbs and their copies ("home" and "well" are tagged ADV too)
    a, b = emb(["She really quickly ran home.", "It honestly works well."]), emb(["She ran.", "It works."])
    cos = (a * b).sum(1)
    assert aug["adverb"]["mean"] == pytest.approx(float(cos.mean()), abs=1e-6)
    assert aug["adverb"]["se"] == pytest.approx(float(np.std(cos, ddof=1) / np.sqrt(2)), abs=1e-6)
    assert sims["adverb_vs"]["aeda"]["n"] == 2  # AEDA changes all three texts; two are paired with adverb deletion
