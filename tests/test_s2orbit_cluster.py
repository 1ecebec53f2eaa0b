"""The reconstructed cluster model: collision physics, the closed form, conservation, limits, finite N."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from deletionlab.core import UserError
from deletionlab.s2orbit import cluster as cl
from deletionlab.s2orbit.orbit import AU_PER_PC, KMS, R_SUN_AU, f_sp

BASE = cl.ClusterModel()


def test_escape_speed_and_the_destructive_radius_for_the_sun():
    assert cl.escape_speed(BASE) / KMS == pytest.approx(618, abs=1)
    assert cl.destructive_radius_au(BASE) / AU_PER_PC == pytest.approx(0.048, abs=0.001)


def test_destructive_collision_rate_against_monte_carlo():
    """⟨σ v 1[v > v_esc]⟩ in closed form vs an average over sampled relative velocities."""
    rng = np.random.default_rng(1)
    r = 300.0
    s = np.sqrt(2 * 4 * np.pi**2 * BASE.orbit.mass / ((1 + BASE.gamma) * r))   # 1-D dispersion of relative velocity
    v = np.linalg.norm(rng.normal(0, s, size=(2_000_000, 3)), axis=1)
    u, R = cl.escape_speed(BASE), R_SUN_AU
    mc = np.mean(4 * np.pi * R**2 * (1 + u**2 / v**2) * v * (v > u))
    assert cl.sigma_v_destructive(r, BASE) == pytest.approx(mc, rel=0.01)
    # at speeds far below v_esc (far out) almost no collision destroys the stars
    assert cl.sigma_v_destructive(1e7, BASE) < 1e-6 * cl.sigma_v_destructive(r, BASE)


def test_closed_form_matches_a_numerical_ode_solution():
    m = BASE.with_(capture_rate=1e-5)
    sh = m.shells
    times = np.geomspace(1e2, m.age, 40)
    sol = solve_ivp(lambda t, n: sh.A - sh.B * n - sh.C * n * n, (0, m.age), sh.n_relax, method="LSODA",
                    t_eval=times, rtol=1e-9, atol=1e-9)
    assert sol.success
    assert cl.shell_numbers(m, times) == pytest.approx(sol.y, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("collisions", [False, True])
def test_stars_are_conserved(collisions):
    m = BASE.with_(capture_rate=1e-5, collisions=collisions)
    t = np.concatenate([[0.0], np.geomspace(1e-2, m.age, 20_000)])
    b = cl.budget(m, t)
    change = b["n"][-1] - b["n"][0]
    flows = b["in_relax"][-1] + b["in_capture"][-1] - b["out_relax"][-1] - b["out_collisions"][-1]
    scale = b["in_relax"][-1] + b["in_capture"][-1]
    assert abs(change - flows) < 1e-3 * scale
    assert (b["out_collisions"][-1] > 0) == collisions
    assert b["in_capture"][-1] == pytest.approx(1e-5 * m.age * (1 + (1 + m.orbit.e) ** 1.25 - 1 - cl.R_IN**1.25), rel=1e-6)


def test_relaxation_alone_keeps_the_relaxed_cusp():
    m = BASE.with_(capture_rate=0.0, collisions=False)
    out = cl.at_age(m)
    assert out["mass"] == pytest.approx(m.m_relax * (1 - cl.R_IN ** (3 - m.gamma)), rel=1e-9)
    assert out["fsp"] == pytest.approx(float(f_sp(m.m_relax, m.gamma)), abs=2e-4)


def test_captures_without_collisions_add_rate_times_relaxation_time():
    # with γ = 1.5 the relaxation time is the same at every radius: the steady state is (M_rlx + Γ t_rlx) inside a
    m = BASE.with_(gamma=1.5, capture_rate=2e-6, collisions=False)
    steady = (m.m_relax + m.capture_rate * m.t_relax_gyr * 1e9) * (1 - cl.R_IN**1.5)
    start = m.m_relax * (1 - cl.R_IN**1.5)
    expected = steady + (start - steady) * np.exp(-m.age_gyr / m.t_relax_gyr)    # linear relaxation towards it
    assert cl.at_age(m)["mass"] == pytest.approx(expected, rel=1e-9)


def test_collisions_deplete_and_bigger_stars_deplete_more():
    rates = [1e-7, 1e-6, 1e-5]
    without = [cl.at_age(BASE.with_(capture_rate=r, collisions=False))["mass"] for r in rates]
    with_ = [cl.at_age(BASE.with_(capture_rate=r, collisions=True))["mass"] for r in rates]
    assert all(w < wo for w, wo in zip(with_, without))
    assert np.all(np.diff(without) > 0) and np.all(np.diff(with_) > 0)
    assert cl.at_age(BASE.with_(r_star=2.0))["mass"] < cl.at_age(BASE)["mass"] < cl.at_age(BASE.with_(r_star=0.5))["mass"]
    assert np.all(BASE.with_(collisions=False).shells.C == 0)


def test_threshold_is_where_f_sp_reaches_the_limit():
    m = BASE.with_(collisions=False)
    star = cl.threshold_capture_rate(m, 0.19)
    assert cl.at_age(m.with_(capture_rate=star))["fsp"] == pytest.approx(0.81, abs=1e-6)
    assert cl.threshold_capture_rate(BASE, 0.19) > 10 * star             # collisions raise it
    assert cl.threshold_capture_rate(m, 0.38) > star                     # a looser criterion raises it
    assert cl.threshold_capture_rate(m.with_(m_relax=3000.0), 0.19) == 0.0   # relaxation alone too much


def test_finite_n_without_collisions_is_poisson_and_seeded():
    m = BASE.with_(capture_rate=1e-6, collisions=False)
    a = cl.simulate(m, 400, seed=3, steps=100)
    b = cl.simulate(m, 400, seed=3, steps=100)
    assert np.array_equal(a["n_final"], b["n_final"])
    total = a["n_final"].sum(axis=1)
    expected = cl.shell_numbers(m, [m.age])[:, 0].sum()
    assert total.mean() == pytest.approx(expected, abs=4 * np.sqrt(expected / 400))
    assert 0.8 < total.var(ddof=1) / total.mean() < 1.2     # Poisson: variance = mean


def test_finite_n_with_collisions_follows_the_deterministic_model():
    m = BASE.with_(capture_rate=3e-6, collisions=True)
    sim = cl.simulate(m, 200, seed=0, steps=200)
    det = cl.at_age(m)["mass"]
    # a lone star cannot collide (N(N−1) instead of N²), so the finite clusters keep a little more mass
    assert det < sim["mass"][:, -1].mean() < 1.25 * det
    fsp = cl.realisation_fsp(m, sim["n_final"], seed=0)
    assert fsp.mean() == pytest.approx(cl.at_age(m)["fsp"], abs=0.01)
    assert 0 < fsp.std() < 0.01


def test_realisations_match_the_smooth_precession_on_average():
    m = BASE.with_(capture_rate=0.0, collisions=False)
    n = np.tile(np.round(m.shells.n_relax * 20).astype(int), (200, 1))      # 20 × the relaxed cusp, fixed numbers
    fsp = cl.realisation_fsp(m, n, seed=1)
    smooth = cl.summarise(m, n[0].astype(float))["fsp"]
    assert fsp.mean() == pytest.approx(smooth, abs=3 * fsp.std() / np.sqrt(200) + 1e-3)
    # 20 × the relaxed cusp is far beyond the limit: no realisation is consistent
    assert cl.consistent_fraction(fsp) == 0.0 and cl.consistent_fraction(np.array([0.9, 0.7])) == 0.5


@pytest.mark.parametrize("changes,words", [
    ({"capture_rate": -1e-6}, "Capture rate Γ_cap must be from 0 to 0.001 per year .*cannot be negative"),
    ({"m_relax": -5.0}, "Relaxation-fed mass M_rlx must be from 0"),
    ({"t_relax_gyr": 0.0}, "Relaxation time t_rlx"),
    ({"age_gyr": 20.0}, "Age must be from 0.001 to 13.8 Gyr"),
    ({"gamma": 3.5}, "Cusp slope γ must be at least 0 and below 3"),
])
def test_validate_model_names_the_field(changes, words):
    with pytest.raises(UserError, match=words):
        cl.validate_model(BASE.with_(**changes))
