"""The optional small MLP: hand-written back-propagation and clipping, deterministic retraining."""

import numpy as np
import pytest
import torch

from deletionlab.unlearning.data import load
from deletionlab.unlearning.explore import Config, explore
from deletionlab.unlearning.learners import Hyper, make
from deletionlab.unlearning.mlp import MLPTask, make_task
from deletionlab.unlearning.models import Task, balanced_masks, fit_exact


@pytest.fixture(scope="module")
def setup():
    ds = load("digits_3v8")
    return ds, make_task(ds, "mlp")


def test_gradient_matches_autograd(setup):
    ds, task = setup
    assert isinstance(task, MLPTask)
    th = task.initial(3) + 0.2 * torch.randn(3, *task.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    W = task.weights(balanced_masks(ds.n, 4, np.random.default_rng(0))[:3])
    leaf = th.clone().requires_grad_(True)
    per = -(torch.log_softmax(task.outputs(leaf), -1) * task.Y).sum(-1)
    (per * W).sum().backward()
    torch.testing.assert_close(task.gradient(th, W), leaf.grad, atol=1e-12, rtol=1e-9)


def test_per_example_clipping_bounds_each_record(setup):
    ds, task = setup
    th = task.initial(1) * 3
    for i in range(0, ds.n, 61):
        W = torch.zeros(1, ds.n, dtype=torch.float64)
        W[0, i] = 1.0
        assert float(task.gradient(th, W, clip=0.05).norm()) <= 0.05 + 1e-12
        leaf = th.clone().requires_grad_(True)
        (-(torch.log_softmax(task.outputs(leaf), -1) * task.Y).sum(-1) * W).sum().backward()
        full = float(leaf.grad.norm())
        assert float(task.gradient(th, W, clip=1e6).norm()) == pytest.approx(full, rel=1e-9)


def test_retrain_is_deterministic_and_learns(setup):
    ds, task = setup
    h = Hyper(exact_steps=150)
    lr = make("retrain", task, h, outsiders=ds.outsiders)
    lr.fit(ds.members)
    rel = lr.delete(ds.members[:5])
    m = np.zeros((1, ds.n), bool)
    m[0, np.setdiff1d(ds.members, ds.members[:5])] = True
    torch.testing.assert_close(rel.params, fit_exact(task, m, lam=h.lam, steps=150)[0])
    assert rel.accuracy > 0.9


def test_simulation_with_the_mlp_says_it_is_not_convex():
    res = explore(Config(model="mlp", releases=1, per_release=3, shadows=4, learners=("retrain", "noisy_gd"),
                     hyper=Hyper(exact_steps=60, k_learn=60, k_unlearn=5)))
    assert any("not convex" in n for n in res.notes)
    assert set(res.runs) == {"retrain", "noisy_gd"}


def test_make_task_builds_every_kind_and_models_does_not_import_mlp(setup):
    import ast
    from pathlib import Path

    import deletionlab.unlearning.models as models
    from deletionlab.core.jobs import UserError

    ds, _ = setup
    assert type(make_task(ds)) is Task and make_task(ds).kind == "logistic"
    assert make_task(load("diabetes")).kind == "ridge"
    with pytest.raises(UserError, match="regression"):
        make_task(load("diabetes"), "mlp")
    with pytest.raises(UserError, match="make_task"):
        Task.from_dataset(ds, "mlp")
    tree = ast.parse(Path(models.__file__).read_text())
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not any("mlp" in m for m in imported), imported
