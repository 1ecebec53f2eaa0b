"""What the explorer computes: requesters, one configuration's releases attacked, validation."""

import numpy as np
import pytest

from deletionlab.core.jobs import Cancelled, CancelToken, UserError
from deletionlab.unlearning.data import load
from deletionlab.unlearning.explore import Config, explore, validate
from deletionlab.unlearning.learners import Hyper, make
from deletionlab.unlearning.models import Task
from deletionlab.unlearning.requesters import REQUESTERS


def test_requesters_pick_present_members():
    ds = load("digits_3v8")
    task = Task.from_dataset(ds)
    lr = make("retrain", task, Hyper(), outsiders=ds.outsiders)
    rel = lr.fit(ds.members)
    rng = np.random.default_rng(0)
    conf = task.confidence(rel.params)
    for name, fn in REQUESTERS.items():
        ids = fn(task, rel, 7, rng)
        assert len(ids) == 7 and len(set(ids)) == 7 and np.isin(ids, rel.present).all(), name
    top = REQUESTERS["confident"](task, rel, 7, rng)
    low = REQUESTERS["misclassified"](task, rel, 7, rng)
    assert conf[top].min() >= np.sort(conf[rel.present])[-7]
    assert conf[low].max() <= np.sort(conf[rel.present])[6]


def test_simulation_tracks_every_release_and_deleted_record():
    cfg = Config(releases=3, per_release=4, shadows=8, learners=("retrain", "noisy_gd"),
                 hyper=Hyper(k_learn=50, k_unlearn=5))
    res = explore(cfg)
    for key, r in res.runs.items():
        assert [x["t"] for x in r.releases] == [0, 1, 2, 3]
        deleted = [i for x in r.releases for i in x["deleted"]]
        assert len(deleted) == len(set(deleted)) == 12
        assert [s["id"] for s in r.deleted_scores] == deleted
        assert r.releases[-1]["n_present"] == res.n_members - 12
        assert r.releases[3]["attacks"]["single_online"]["n_pos"] == 12
        assert 0 <= r.releases[3]["attacks"]["single_online"]["auc"] <= 1
        assert r.roc["single_online"]["fpr"][0] == 0


def test_simulation_input_errors():
    with pytest.raises(UserError, match="Zero releases"):
        explore(Config(releases=0))
    with pytest.raises(UserError, match="holds only"):
        explore(Config(releases=40, per_release=10))
    tok = CancelToken()
    tok.cancel()
    with pytest.raises(Cancelled):
        explore(Config(releases=2, shadows=8), cancel=tok)


def test_sigma_zero_runs_with_a_note():
    res = explore(Config(releases=1, shadows=8, learners=("caching",), hyper=Hyper(sigma=0.0)))
    assert any("σ = 0" in n for n in res.notes)


@pytest.mark.parametrize("change,message", [
    ({"dataset": "imagenet"}, "Unknown dataset 'imagenet'; choose one of"),
    ({"model": "tree"}, "Unknown model 'tree'"),
    ({"requester": "nobody"}, "Unknown requester"),
    ({"learners": ()}, "at least one learner"),
    ({"learners": ("retrain", "magic")}, "Unknown learner 'magic'"),
    ({"releases": 0}, "Zero releases"),
    ({"releases": 51}, "Releases must be a whole number from 1 to 50"),
    ({"releases": 2.5}, "from 1 to 50.*got 2.5"),
    ({"releases": -3}, "from 1 to 50"),
    ({"per_release": 0}, "at least one deletion request"),
    ({"shadows": 7}, "even number of shadow models between 4 and 512"),
    ({"shadows": 1024}, "between 4 and 512"),
    ({"seed": -1}, "seed must be a whole number from 0"),
    ({"hyper": Hyper(sigma=-0.1)}, "σ cannot be negative"),
    ({"hyper": Hyper(eta=50.0)}, "would diverge"),
    ({"releases": 40, "per_release": 10}, "holds only 178 records"),
    ({"dataset": "diabetes"}, "regression data set; use the ridge model"),
])
def test_validate_names_the_field(change, message):
    with pytest.raises(UserError, match=message):
        validate(Config(**change))


def test_validate_returns_the_configuration_it_accepts():
    cfg = Config(releases=3, per_release=4, shadows=8)
    assert validate(cfg) is cfg
    assert validate(Config(dataset="diabetes", model="ridge", learners=("retrain",))).model == "ridge"
