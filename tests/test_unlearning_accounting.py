"""The exact Gaussian divergence, the bound, the certified ε of a run, and the accounting tab's checks."""

import math

import numpy as np
import pytest

from deletionlab.core.jobs import UserError
from deletionlab.unlearning.accounting import (
    accounting_curves,
    certificate,
    certificate_conditions,
    certified_epsilons,
    exact_ridge_divergence,
    gaussian_renyi,
    k_unlearn_for,
    noisy_gd_bound,
    ridge_lipschitz,
)
from deletionlab.unlearning.data import load
from deletionlab.unlearning.learners import Hyper
from deletionlab.unlearning.models import Task


def test_gaussian_renyi_one_dimensional_closed_form():
    # D_α(N(μ1,s1²)‖N(μ2,s2²)) = ln(s2/s1) + ln(s2²/s_α²)/(2(α−1)) + α(μ1−μ2)²/(2 s_α²), s_α² = α s2² + (1−α) s1²
    m1, s1, m2, s2, a = 0.3, 1.1, -0.2, 1.3, 3.0
    sa2 = a * s2 ** 2 + (1 - a) * s1 ** 2
    ref = math.log(s2 / s1) + math.log(s2 ** 2 / sa2) / (2 * (a - 1)) + a * (m1 - m2) ** 2 / (2 * sa2)
    got = gaussian_renyi(np.array([m1]), np.array([[s1 ** 2]]), np.array([m2]), np.array([[s2 ** 2]]), a)
    assert got == pytest.approx(ref, rel=1e-10)
    # numerical integration of the definition as an independent check
    x = np.linspace(-15, 15, 200001)
    p = np.exp(-(x - m1) ** 2 / (2 * s1 ** 2)) / (s1 * math.sqrt(2 * math.pi))
    q = np.exp(-(x - m2) ** 2 / (2 * s2 ** 2)) / (s2 * math.sqrt(2 * math.pi))
    num = math.log(np.trapezoid(p ** a * q ** (1 - a), x)) / (a - 1)
    assert got == pytest.approx(num, rel=1e-6)


def test_exact_divergence_shrinks_with_unlearning_and_stays_under_the_bound():
    ds = load("diabetes")
    h = Hyper(lam=0.05, sigma=0.05, k_learn=200)
    eta = 1 / (2 + h.lam)
    d = exact_ridge_divergence(ds.X, ds.y, ds.members, ds.members[:1], lam=h.lam, sigma=h.sigma, eta=eta,
                               k_learn=h.k_learn, k_unlearn=60)
    assert d[0] > 0 and np.all(np.diff(d) < 0)
    b = noisy_gd_bound(np.arange(61), alpha=2, sigma=h.sigma, eta=eta, lam=h.lam,
                       lipschitz=ridge_lipschitz(ds.X, ds.y, ds.members, h.lam), n=len(ds.members), smooth=2 + h.lam)
    assert np.all(b >= d)
    assert noisy_gd_bound([1], alpha=2, sigma=0, eta=eta, lam=h.lam, lipschitz=1, n=10) is None


def test_bound_for_a_sequence_of_requests():
    kw = dict(alpha=2.0, sigma=0.1, eta=0.5, lam=0.05, lipschitz=1.0, n=200)
    ks = np.arange(0, 200, 20)
    one = noisy_gd_bound(ks, **kw)
    np.testing.assert_allclose(one, np.exp(-0.05 * 0.5 * ks / 2) * 4 * 2 / (0.05 * 0.01 * 200 ** 2))
    three = noisy_gd_bound(ks, **kw, requests=3)
    assert np.all(three > one) and np.all(np.diff(three) < 0)
    with pytest.raises(UserError):
        noisy_gd_bound(ks, **kw, requests=0)


# -- the certified ε of a run (issue 10, items 11 and 15) -----------------------------------------


def test_certified_epsilon_by_hand():
    # two requests of r = 2 records, n = 200, λ = 0.05, σ = 0.1, η = 0.5, L = 1, K_U = 20, α = 2:
    # ε₀(a, m) = 4·a·r²·L²/(λσ²m²); request 1 holds 200 records, request 2 holds 198
    # ε_1(2) = e^(−0.05·0.5·20/2)·32/(5e-4·200²) = 0.7788008·1.6            = 1.2460813
    # ε_1(4) = e^(−0.05·0.5·20/4)·64/(5e-4·200²) = 0.8824969·3.2            = 2.8239901
    # ε_2(2) = e^(−0.05·0.5·20/2)·(1.5/1)·[64/(5e-4·198²) + ε_1(4)] = 0.7788008·1.5·(3.2649727 + 2.8239901) = 7.1131
    eps = certified_epsilons(k_unlearn=20, requests=2, alpha=2.0, sigma=0.1, eta=0.5, lam=0.05, lipschitz=1.0, n=200, records=2)
    assert eps[0] == pytest.approx(0.7788008 * 1.6, rel=1e-6)
    assert eps[1] == pytest.approx(0.7788008 * 1.5 * (3.2649727 + 2.8239901), rel=1e-6)


def test_the_audit_numbers_at_the_defaults():
    """The audit found ε ≈ 56 after one request (of one record) and ≈ 1.5·10⁵ after ten at the defaults."""
    ds = load("digits_3v8")
    task = Task.from_dataset(ds)
    cert = certificate(task, Hyper(), n=len(ds.members), records=1, requests=10)
    assert cert["epsilon"][0] == pytest.approx(56, rel=0.05)
    assert cert["epsilon"][-1] == pytest.approx(1.5e5, rel=0.1)
    assert not cert["meaningful"] and cert["why"] is None
    # the run's own certificate (5 records per request) is larger still; a meaningful one needs many more steps
    k = k_unlearn_for(task, Hyper(), n=len(ds.members), records=5, requests=10)
    kw = dict(sigma=0.02, eta=Hyper().step(task), lam=0.01, lipschitz=1.0, n=len(ds.members), records=5)
    assert max(certified_epsilons(k_unlearn=k, requests=10, **kw)) <= 10 < max(certified_epsilons(k_unlearn=k - 1, requests=10, **kw))


@pytest.mark.parametrize("change,why", [
    ({"sigma": 0.0}, "σ = 0"),
    ({"eta": 1.5}, "above 1/β"),
])
def test_no_certificate_where_the_bound_does_not_apply(change, why):
    ds = load("digits_3v8")
    cert = certificate(Task.from_dataset(ds), Hyper(**change), n=len(ds.members), records=5, requests=3)
    assert why in cert["why"] and cert["epsilon"] is None and not cert["meaningful"]


def test_no_certificate_for_the_mlp_or_a_clipped_softmax():
    from deletionlab.unlearning.mlp import make_task

    digits = load("digits")
    assert certificate_conditions(Task.from_dataset(load("digits_3v8")), Hyper()) is None  # two classes: clipping keeps it convex
    assert "10 classes" in certificate_conditions(Task.from_dataset(digits), Hyper())
    assert certificate_conditions(Task.from_dataset(digits), Hyper(clip=None)) is None  # unclipped softmax is convex
    assert "not convex" in certificate_conditions(make_task(load("digits_3v8"), "mlp"), Hyper())


# -- the accounting tab: the same checks as a run, and no false statement (issue 18, item 3) ---------


@pytest.mark.parametrize("change,message", [
    ({"eta": -1.0}, "Step size η must be a number above 0 and at most"),
    ({"eta": 0.0}, "Step size η must be a number above 0"),
    ({"k_unlearn": -1}, "Unlearning steps K_U must be a whole number from 0 to 20,000"),
    ({"lam": 1e308}, r"Regularisation λ must be a number from 0.0001 to 10 \(got 1e\+308\)"),
    ({"lam": 0.0}, "Regularisation λ must be a number from 0.0001 to 10"),
    ({"sigma": 1e-300}, r"Noise σ must be 0 \(no noise\) or a number from 0.0001 to 1"),
    ({"sigma": 1e308}, r"Noise σ must be 0 \(no noise\) or a number from 0.0001 to 1"),
    ({"sigma": float("nan")}, "Noise σ must be 0 .*got nan"),
    ({"sigma": float("inf")}, "Noise σ must be 0 .*got inf"),
    ({"k_learn": 2 ** 64}, "Learning steps K_A must be a whole number from 1 to 20,000 .got 18446744073"),
])
def test_accounting_refuses_what_a_run_refuses(change, message):
    with pytest.raises(UserError, match=message):
        accounting_curves(Hyper(**change), k_max=10)


def test_accounting_says_no_bound_where_it_is_not_proven():
    out = accounting_curves(Hyper(eta=0.6), k_max=30)  # ridge: 1/β ≈ 0.50 < 0.6 < 2/β ≈ 0.99
    assert out["bound"] is None and "above 1/β" in out["no_bound"]
    assert "No bound" in out["text"] and "does not hold" not in out["text"]
    assert np.all(np.isfinite(out["exact"]))
    out = accounting_curves(Hyper(k_unlearn=10), k_max=40, requests=3)
    assert "After request 3 the bound is" in out["text"] and ("vacuous" in out["text"] or "meaningful" in out["text"])


def test_accounting_stops_when_cancelled():
    from deletionlab.core.jobs import Cancelled, CancelToken

    tok = CancelToken()
    tok.cancel()
    with pytest.raises(Cancelled):
        accounting_curves(Hyper(k_learn=20_000), cancel=tok)
