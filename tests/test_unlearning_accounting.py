"""The exact Gaussian divergence and the bound."""

import math

import numpy as np
import pytest

from deletionlab.core.jobs import UserError
from deletionlab.unlearning.accounting import exact_ridge_divergence, gaussian_renyi, noisy_gd_bound, ridge_lipschitz
from deletionlab.unlearning.data import load
from deletionlab.unlearning.learners import Hyper


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
