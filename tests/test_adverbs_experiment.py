"""The classification experiment, adverb coverage and meaning kept."""

import numpy as np
import pytest

from deletionlab.adverbs.data import Dataset
from deletionlab.adverbs.experiment import CONDITIONS, ExperimentConfig, accuracy_curves, coverage, meaning_kept, run_experiment
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
    curves = accuracy_curves(table, cfg.conditions)
    assert list(curves) == list(CONDITIONS) and curves["none"][0] == [0.1, 1.0]
    assert curves["adverb"][1] == [r["accuracy"] for r in table if r["condition"] == "adverb"]


def test_config_validation_names_the_field():
    assert ExperimentConfig.small().validate().n_train == 200
    for kw, msg in [(dict(head="svm"), "head"), (dict(seeds=0), "Seeds must be a whole number from 1 to 50"),
                    (dict(n_train=5), "Train texts must be at least 20"), (dict(n_test=2), "Test texts must be at least 10"),
                    (dict(fractions=(0.5, 1.5)), "fractions"), (dict(conditions=("none", "magic")), "magic"),
                    (dict(guards=("politeness",)), "guards must be chosen")]:
        with pytest.raises(UserError, match=msg):
            ExperimentConfig(**kw).validate()


def test_meaning_kept_is_a_mean_cosine_per_augmenter(tagger, emb):
    data = Dataset("m", ["She really quickly ran home.", "It honestly works well.", "The cat sat."], ["a", "b", "a"])
    sims = meaning_kept(data, frozenset(), tagger=tagger, embed=emb, n=3)
    assert set(sims) <= {"adverb", "eda", "aeda", "random"} and "adverb" in sims
    assert all(0 < v < 1 for v in sims.values())
    # by hand for adverb deletion: the two texts with adverbs and their copies ("home" and "well" are tagged ADV too)
    a, b = emb(["She really quickly ran home.", "It honestly works well."]), emb(["She ran.", "It works."])
    assert sims["adverb"] == pytest.approx(float(np.mean((a * b).sum(1))), abs=1e-6)
