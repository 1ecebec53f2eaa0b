"""What the explorer computes: requesters, one configuration's releases attacked, validation."""

import os
import subprocess
import sys

import numpy as np
import pytest

from deletionlab.core.jobs import Cancelled, CancelToken, UserError
from deletionlab.unlearning.data import load
from deletionlab.unlearning.explore import Config, explore, reference_stats, validate
from deletionlab.unlearning.learners import Hyper, make
from deletionlab.unlearning.models import Task, balanced_masks
from deletionlab.unlearning.requesters import REQUESTERS, link_pairs


def test_requesters_pick_present_members():
    ds = load("digits_3v8")
    task = Task.from_dataset(ds)
    lr = make("retrain", task, Hyper(), outsiders=ds.outsiders)
    rel = lr.fit(ds.members)
    rng = np.random.default_rng(0)
    conf = task.confidence(rel.params)
    masks = balanced_masks(ds.n, 8, np.random.default_rng(1))
    pairs = link_pairs(ds.members, ds.outsiders, 20, reference_stats(task, masks, Hyper()))
    for name, fn in REQUESTERS.items():
        ids = fn(task, rel, 7, rng, pairs)
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
    with pytest.raises(UserError, match="Releases must be a whole number from 1 to 50 .got 0"):
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
    ({"releases": 0}, "Releases must be a whole number from 1 to 50"),
    ({"releases": 51}, "Releases must be a whole number from 1 to 50"),
    ({"releases": 2.5}, "from 1 to 50.*got 2.5"),
    ({"releases": -1}, "from 1 to 50.*got -1"),
    ({"releases": float("nan")}, "Releases must be a whole number.*got nan"),
    ({"releases": float("inf")}, "Releases must be a whole number.*got inf"),
    ({"releases": 10 ** 308}, "Releases must be a whole number.*got 100000000000…"),
    ({"per_release": 0}, "Deletions per release must be a whole number from 1"),
    ({"shadows": 7}, "Shadow models must be an even number from 4 to 512"),
    ({"shadows": 1024}, "Shadow models must be a whole number from 4 to 512"),
    ({"seed": -1}, "Seed must be a whole number from 0 to 1,000,000,000"),
    ({"seed": 2 ** 64}, "Seed must be a whole number from 0 to 1,000,000,000"),
    ({"hyper": Hyper(sigma=-0.1)}, "Noise σ must be 0 .no noise. or a number from 0.0001 to 1"),
    ({"hyper": Hyper(sigma=1e10)}, "Noise σ must be"),
    ({"hyper": Hyper(eta=50.0)}, "Step size η must be a number above 0 and at most 1.98.*would diverge"),
    ({"releases": 40, "per_release": 10}, "Deletions per release must be at most 4 with 40 releases.*holds only 178 records"),
    ({"requester": "linked", "releases": 20, "per_release": 7}, "linked requester .*at most 118"),
    ({"dataset": "diabetes"}, "regression data set; use the ridge model"),
])
def test_validate_names_the_field(change, message):
    with pytest.raises(UserError, match=message):
        validate(Config(**change))


def test_validate_returns_the_configuration_it_accepts():
    cfg = Config(releases=3, per_release=4, shadows=8)
    assert validate(cfg) is cfg
    assert validate(Config(dataset="diabetes", model="ridge", learners=("retrain",))).model == "ridge"


def test_linked_requester_deletes_messengers_of_member_looking_targets():
    """The paper's construction on a tiny run: only messengers delete, the pairs are the same for
    every requester, and the linked-target attack is computed for every learner."""
    cfg = Config(requester="linked", releases=3, per_release=4, shadows=8, learners=("retrain", "noisy_gd"),
                 hyper=Hyper(k_learn=50, k_unlearn=5))
    res = explore(cfg)
    ds = load("digits_3v8")
    task = Task.from_dataset(ds)
    pairs = link_pairs(ds.members, ds.outsiders, 12, reference_stats(task, balanced_masks(ds.n, 8, np.random.default_rng(1)),
                                                                     cfg.hyper))
    assert len(pairs) == 24 and pairs.target_member.sum() == 12
    assert not np.isin(pairs.targets, pairs.messengers).any() and np.isin(pairs.messengers, ds.members).all()
    for run in res.runs.values():
        deleted = [i for r in run.releases for i in r["deleted"]]
        assert np.isin(deleted, pairs.messengers).all() and len(deleted) == 12
        assert run.linked["n_pos"] == 12 and run.linked["n_neg"] == 12 and 0 <= run.linked["auc"] <= 1
        assert 0 <= run.releases[-1]["attacks"]["difference"]["auc"] <= 1
    # the first batch: the messengers of the 4 targets that look most like members under release 0
    lr = make("retrain", task, cfg.hyper)
    rel0 = lr.fit(ds.members)
    score = pairs.stats.score(task.confidence(rel0.params)[pairs.targets], pairs.targets)
    first = set(pairs.messengers[np.argsort(-score)[:4]])
    assert set(res.runs["retrain"].releases[1]["deleted"]) == first


def test_difference_attack_sees_a_record_leave():
    """Retraining without a record lowers its statistic: the largest drop between consecutive
    releases ranks the deleted records above never-members (digits 3 vs 8, random requests)."""
    from deletionlab.unlearning.attack import drops

    S = np.array([[1.0, 0.0, 0.5], [0.2, 0.1, 0.4], [0.3, -0.5, 0.6]])  # 3 releases × 3 records
    np.testing.assert_allclose(drops(S), [[0.8, -0.1, 0.1], [0.8, 0.6, 0.1]])
    res = explore(Config(releases=6, per_release=5, shadows=8, learners=("retrain",)))
    assert res.runs["retrain"].releases[-1]["attacks"]["difference"]["auc"] > 0.55


def test_certificate_in_every_run_with_noisy_gd():
    res = explore(Config(releases=2, per_release=3, shadows=8, learners=("noisy_gd",), hyper=Hyper(k_learn=50, k_unlearn=5)))
    cert = res.certificate
    assert len(cert["epsilon"]) == 2 and cert["epsilon"][1] > cert["epsilon"][0] > 0 and cert["records"] == 3
    assert explore(Config(releases=1, shadows=8, learners=("retrain",))).certificate is None


@pytest.mark.parametrize("model,at", [("logistic", 0.0), ("logistic", 0.5), ("mlp", 0.3)])
def test_cancel_stops_the_run_within_a_second(model, at):
    """The explorer's run is the study's longest job: it must stop within 1 s of a cancel,
    wherever it is (training, shadows, attacks). The cancel comes when the run's own progress
    passes the fraction ``at`` (a fixed sleep would miss the run on a fast machine)."""
    import threading
    import time

    tok = CancelToken()
    out = {}
    reached = threading.Event()
    cfg = validate(Config(model=model))  # as the widget does before it starts the job (this imports the data loaders)

    def progress(done, total, note=""):
        if done >= at * total:
            reached.set()

    def run():
        try:
            explore(cfg, progress=progress, cancel=tok)
            out["finished"] = True
        except Cancelled:
            out["stopped"] = time.perf_counter()

    th = threading.Thread(target=run)
    th.start()
    assert reached.wait(120), "the run never reported progress"
    time.sleep(0.05)
    t0 = time.perf_counter()
    tok.cancel()
    th.join(10)
    assert "finished" not in out, "the run ignored the cancel and finished"
    assert "stopped" in out, "the run did not stop at a cancellation check"
    print(f"cancel latency ({model}, at {at:.0%}): {out['stopped'] - t0:.3f} s")
    assert out["stopped"] - t0 < 1.0


def test_matched_never_members_remove_the_selection_effect():
    """The misclassified requester picks hard records: against all never-members they look like
    non-members even after retraining (AUC well below 0.5); against the never-members the same rule
    picks (matched) the gap closes."""
    res = explore(Config(requester="misclassified", shadows=8, learners=("retrain",)))
    last = res.runs["retrain"].releases[-1]["attacks"]
    assert last["matched_online"]["n_neg"] == last["matched_online"]["n_pos"] == 50
    assert last["single_online"]["auc"] < 0.45 and last["matched_online"]["auc"] - last["single_online"]["auc"] > 0.08
    assert last["matched_average"]["auc"] == pytest.approx(last["matched_online"]["auc"])  # retraining: releases repeat nothing


def test_a_stored_run_is_read_and_drawn_without_torch_sklearn_or_scipy_stats(tmp_path):
    """A dashboard kernel whose default run and accounting curves come from the shared cache reads
    and draws them without importing torch, scikit-learn or scipy.stats (about 1.7 CPU-seconds and
    ~200 MB per visitor): the first process computes both, a second reads them and must not."""
    env = dict(os.environ, DELETIONLAB_CACHE=str(tmp_path), DELETIONLAB_RESULT_CACHE="1")
    code = (
        "import sys\n"
        "from deletionlab.unlearning.accounting import shared_accounting_curves\n"
        "from deletionlab.unlearning.dashboard import shared_explore\n"
        "from deletionlab.unlearning.explore import Config\n"
        "from deletionlab.unlearning.learners import Hyper\n"
        "from deletionlab.widgets import UnlearningExplorer, UnlearningResultsView  # noqa: F401\n"
        "shown = shared_explore(Config(releases=2, per_release=3, shadows=8, learners=('retrain', 'noisy_gd')))\n"
        "out = shared_accounting_curves(Hyper(), k_max=30)\n"
        "import numpy as np\n"
        "from deletionlab.unlearning.attack import Scores\n"
        "from deletionlab.unlearning.dashboard import roc_at\n"
        "from deletionlab.unlearning.data import class_name, raw_images\n"
        "roc_at(Scores(np.arange(3), np.ones(3), np.arange(3), np.zeros(3)))\n"
        "raw_images('digits_3v8'), class_name('digits_3v8', 0)\n"
        "print(len(shown.result.runs), len(out['exact']), any(m in sys.modules for m in ('torch', 'sklearn', 'scipy.stats')))\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.split()[-1] == "True"  # computing needs them
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.split()[:2] == first.stdout.split()[:2] and second.stdout.split()[-1] == "False"


def test_digits_read_without_scikit_learn_are_load_digits():
    """The digits come straight from scikit-learn's shipped file (no sklearn import when a stored run
    is drawn); they must be exactly what sklearn.datasets.load_digits returns, images included."""
    from sklearn.datasets import load_digits

    from deletionlab.unlearning.data import _raw, raw_images

    raw = load_digits()
    X, y = _raw("load_digits")
    np.testing.assert_array_equal(X, raw.data)
    np.testing.assert_array_equal(y, raw.target)
    np.testing.assert_array_equal(raw_images("digits"), raw.images)
    np.testing.assert_array_equal(raw_images("digits_3v8"), raw.images[np.isin(raw.target, (3, 8))])
