"""Batched convex models against independent references (scikit-learn, closed forms)."""

import numpy as np
import pytest
import torch

from deletionlab.core.jobs import UserError
from deletionlab.unlearning.data import load, prepare
from deletionlab.unlearning.models import Diverged, Task, balanced_masks, descend, fit_exact


@pytest.fixture(scope="module")
def cancer():
    ds = load("breast_cancer")
    return ds, Task.from_dataset(ds)


def test_rows_in_unit_ball_and_split_is_a_partition(cancer):
    ds, _ = cancer
    assert np.linalg.norm(ds.X, axis=1).max() <= 1 + 1e-6
    assert len(np.intersect1d(ds.members, ds.outsiders)) == 0
    assert len(ds.members) + len(ds.outsiders) == ds.n


def test_batched_newton_matches_sklearn(cancer):
    from sklearn.linear_model import LogisticRegression

    ds, task = cancer
    lam = 1e-2
    masks = balanced_masks(ds.n, 4, np.random.default_rng(0))
    theta = fit_exact(task, masks, lam=lam)
    for m, th in zip(masks, theta):
        # binary softmax with penalty (λ/2)‖θ‖² = sigmoid with (λ/4)‖w‖², w = θ1 − θ0; our bias is
        # penalised too, so sklearn gets it as a feature column instead of an intercept
        Xb = np.c_[ds.X.astype(np.float64), np.ones(ds.n)]
        clf = LogisticRegression(C=1.0 / (lam / 2 * m.sum()), fit_intercept=False, tol=1e-12, max_iter=100000)
        clf.fit(Xb[m], ds.y[m])
        w = (th[:, 1] - th[:, 0]).numpy()
        np.testing.assert_allclose(w, clf.coef_[0], rtol=1e-4, atol=1e-4)


def test_multiclass_newton_and_nesterov_agree():
    ds = load("wine")
    task = Task.from_dataset(ds)
    masks = balanced_masks(ds.n, 2, np.random.default_rng(1))
    a = fit_exact(task, masks, lam=1e-2, method="newton")
    b = fit_exact(task, masks, lam=1e-2, method="nesterov", steps=3000)
    W = task.weights(masks)
    assert float((task.gradient(a, W) + 1e-2 * a).abs().max()) < 1e-7
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_clipping_bounds_per_example_gradients(cancer):
    ds, task = cancer
    theta = torch.randn(1, *task.shape, dtype=torch.float64) * 5
    for i in range(0, ds.n, 97):
        W = torch.zeros(1, ds.n, dtype=torch.float64)
        W[0, i] = 1.0
        g = task.gradient(theta, W, clip=0.3)
        assert float(g.norm()) <= 0.3 + 1e-9


def test_ridge_newton_is_the_closed_form():
    ds = load("diabetes")
    task = Task.from_dataset(ds)
    mask = np.zeros((1, ds.n), bool)
    mask[0, ds.members] = True
    th = fit_exact(task, mask, lam=0.1)[0, :, 0].numpy()
    Xb = np.c_[ds.X, np.ones(ds.n)][ds.members]
    ref = np.linalg.solve(Xb.T @ Xb / len(Xb) + 0.1 * np.eye(Xb.shape[1]), Xb.T @ ds.y[ds.members] / len(Xb))
    np.testing.assert_allclose(th, ref, atol=1e-8)


def test_too_large_step_is_reported_not_nan(cancer):
    ds, task = cancer
    W = task.weights(np.ones((1, ds.n), bool))
    with pytest.raises(Diverged, match="diverged"):
        descend(Task.from_dataset(load("diabetes")), torch.zeros(1, 11, 1, dtype=torch.float64),
                torch.ones(1, 442, dtype=torch.float64) / 442, lam=0.01, eta=50.0, steps=200)
    assert W.shape == (1, ds.n)


def test_bad_data_is_refused():
    with pytest.raises(UserError):
        prepare(np.array([[np.nan, 1.0]] * 10), np.arange(10) % 2)
    with pytest.raises(UserError):
        load("imagenet")
