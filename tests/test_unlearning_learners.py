"""Each learner's ``delete`` removes a record's influence where it claims to."""

import numpy as np
import pytest
import torch

from deletionlab.core.jobs import UserError
from deletionlab.unlearning.accounting import GaussianChain, ridge_system
from deletionlab.unlearning.data import load
from deletionlab.unlearning.learners import Hyper, make
from deletionlab.unlearning.models import Task, fit_exact


@pytest.fixture(scope="module")
def digits():
    ds = load("digits_3v8")
    return ds, Task.from_dataset(ds)


def _mask(n, ids):
    m = np.zeros((1, n), bool)
    m[0, ids] = True
    return m


def test_retrain_equals_training_without_the_records(digits):
    ds, task = digits
    lr = make("retrain", task, Hyper(), outsiders=ds.outsiders)
    lr.fit(ds.members)
    gone = ds.members[[3, 17, 40]]
    rel = lr.delete(gone)
    ref = fit_exact(task, _mask(ds.n, np.setdiff1d(ds.members, gone)), lam=lr.hyper.lam)[0]
    torch.testing.assert_close(rel.params, ref, atol=1e-7, rtol=1e-7)
    assert not np.isin(gone, rel.present).any()


def test_sisa_deletion_equals_retraining_the_shards_without_the_record(digits):
    ds, task = digits
    lr = make("sisa", task, Hyper(shards=3, slices=4), seed=1, outsiders=ds.outsiders)
    before = lr.fit(ds.members)
    victim = int(ds.members[10])
    s = lr.shard_of[victim]
    rel = lr.delete([victim])
    for k in range(3):
        shard_ids = np.concatenate(lr.slices_[k])
        assert victim not in shard_ids
        ref = fit_exact(task, _mask(ds.n, shard_ids), lam=lr.hyper.lam)[0]
        torch.testing.assert_close(rel.params[k], ref, atol=1e-6, rtol=1e-6)
    # only the victim's shard changed, and retraining started from a checkpoint (cheaper than a full shard)
    others = [k for k in range(3) if k != s]
    torch.testing.assert_close(rel.params[others], before.params[others])
    assert rel.cost < before.cost


def test_noisy_gd_matches_the_gaussian_closed_form():
    """Ridge + Noisy-GD without clipping: 4000 chains vs the exact mean and covariance."""
    ds = load("diabetes")
    task = Task.from_dataset(ds)
    h = Hyper(lam=0.1, sigma=0.05, k_learn=30, k_unlearn=5, clip=None)
    lr = make("noisy_gd", task, h, seed=3)
    masks = np.zeros((4000, ds.n), bool)
    masks[:, ds.members] = True
    rels = lr.shadow_releases(masks, 2)  # release 0: K_A steps; release 1: + K_U steps
    A, b = ridge_system(ds.X, ds.y, ds.members, h.lam)
    p = len(A)
    chain = GaussianChain(np.zeros(p), h.sigma ** 2 / h.lam * np.eye(p)).steps(A, b, h.step(task), h.sigma, h.k_learn + h.k_unlearn)
    samples = rels[1][:, :, 0].numpy()
    sd = np.sqrt(np.diag(chain.cov))
    np.testing.assert_allclose(samples.mean(0), chain.mean, atol=4 * sd.max() / np.sqrt(4000))
    np.testing.assert_allclose(samples.std(0), sd, rtol=0.08)
    emp = np.cov(samples.T)
    assert np.abs(emp - chain.cov).max() < 0.15 * np.abs(chain.cov).max()


def test_caching_releases_average_to_the_cached_model(digits):
    ds, task = digits
    lr = make("caching", task, Hyper(sigma=0.02), seed=0)
    lr.fit(ds.members)
    rels = [lr.delete([i]) for i in ds.members[:8]]
    # after the last deletion the cached state is fixed; republish it several times
    state = lr.state[0]
    singles = [lr._noisy(state) for _ in range(16)]
    err_one = float((singles[0] - state).norm())
    err_avg = float((torch.stack(singles).mean(0) - state).norm())
    assert err_avg < err_one / 2.5  # √16 = 4 in expectation
    assert all(r.t == i + 1 for i, r in enumerate(rels))


@pytest.mark.parametrize("key", ["retrain", "sisa", "caching", "noisy_gd"])
def test_bad_deletions_change_nothing(digits, key):
    ds, task = digits
    lr = make(key, task, Hyper(k_learn=20), outsiders=ds.outsiders)
    lr.fit(ds.members)
    n_rel, present = len(lr.releases), lr.present.copy()
    with pytest.raises(UserError, match="not .*in the data"):
        lr.delete([int(ds.outsiders[0])])
    with pytest.raises(UserError, match="does not exist"):
        lr.delete([10 ** 6])
    with pytest.raises(UserError, match="every remaining record"):
        lr.delete(ds.members)
    lr.delete([int(ds.members[0])])
    with pytest.raises(UserError, match="no longer"):
        lr.delete([int(ds.members[0])])
    assert len(lr.releases) == n_rel + 1
    assert len(lr.present) == len(present) - 1


def test_learning_rate_above_two_over_beta_is_refused(digits):
    _, task = digits
    with pytest.raises(UserError, match="diverge"):
        make("noisy_gd", task, Hyper(eta=10.0))


def test_empty_request_republishes_for_free():
    ds = load("digits_3v8")
    task = Task.from_dataset(ds)
    for key in ("noisy_gd", "caching"):
        lr = make(key, task, Hyper(k_learn=20))
        first = lr.fit(ds.members)
        again = lr.delete([])
        assert again.cost == 0 and len(again.present) == len(first.present)
        same = bool((again.params == first.params).all())
        assert same == (key == "noisy_gd")
