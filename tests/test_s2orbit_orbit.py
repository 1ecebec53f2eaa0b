"""S2's precession formulas against the paper's numbers, their closed forms and independent checks."""

import math

import numpy as np
import pytest

from deletionlab.core import UserError
from deletionlab.s2orbit.orbit import (
    ARCMIN,
    KMS,
    S2,
    f_sp,
    g_closed_form,
    g_factor,
    mass_inside,
    mass_limit,
    mass_precession,
    plane_positions,
    precession_along_orbit,
    schwarzschild_precession,
    shell_precession,
    sky_positions,
    true_anomaly_from_phase,
    validate_cusp,
    validate_orbit,
)


def test_s2_elements_give_the_black_hole_mass_and_the_pericentre():
    assert S2.a_au == pytest.approx(1031.3, abs=0.1)          # 125.058 mas at 8246.7 pc
    assert S2.mass == pytest.approx(4.26e6, rel=2e-3)          # Kepler: a³/P²
    assert S2.pericentre_au == pytest.approx(119, abs=1) and S2.apocentre_au == pytest.approx(1944, abs=1)
    v_peri = math.sqrt(4 * math.pi**2 * S2.mass * (1 + S2.e) / S2.pericentre_au) / KMS
    assert v_peri == pytest.approx(7740, abs=15)


def test_schwarzschild_precession_of_s2_is_12_16_arcmin():
    assert schwarzschild_precession(S2) * ARCMIN == pytest.approx(12.16, abs=0.05)


@pytest.mark.parametrize("gamma,expected", [(1.0, 0.466), (1.5, 0.389), (1.75, 0.354), (2.0, 0.318)])
def test_g_factor_matches_the_reference_values(gamma, expected):
    assert g_factor(S2.e, gamma) == pytest.approx(expected, abs=0.002)


@pytest.mark.parametrize("e", [0.1, 0.5, 0.884649, 0.99])
def test_g_factor_equals_its_closed_forms(e):
    assert g_factor(e, 1.0) == pytest.approx(g_closed_form(e, 1), rel=1e-10)
    assert g_factor(e, 2.0) == pytest.approx(g_closed_form(e, 2), rel=1e-10)
    # γ = 2 is a smooth limit, not a 0/0
    near = g_factor(e, np.array([1.999, 2.0, 2.001]))
    assert abs(near[0] - near[1]) < 1e-3 and abs(near[2] - near[1]) < 1e-3


def test_g_factor_by_brute_force_time_average():
    # independent: average (r/a)^(2-γ) over uniform time (mean anomaly), differentiate in e numerically
    def avg(e, p):
        phase = (np.arange(200_000) + 0.5) / 200_000
        f = true_anomaly_from_phase(phase, e)
        r = (1 - e * e) / (1 + e * np.cos(f))
        return np.mean(r**p)

    e, g, h = 0.6, 1.5, 1e-4
    numeric = math.sqrt(1 - e * e) / (e * (2 - g)) * (avg(e + h, 2 - g) - avg(e - h, 2 - g)) / (2 * h)
    assert g_factor(e, g) == pytest.approx(numeric, rel=1e-5)


def test_small_eccentricity_limit():
    assert g_factor(1e-8, 1.5) == pytest.approx(0.75)
    assert g_factor(1e-3, 1.5) == pytest.approx(0.75, rel=1e-4)


def test_mass_limits_are_the_papers_1000_to_1300():
    lim = mass_limit(np.array([1.0, 1.5, 1.75]))
    assert lim == pytest.approx([980, 1170, 1290], abs=15)
    apo = lim * (1 + S2.e) ** (3 - np.array([1.0, 1.5, 1.75]))
    assert apo == pytest.approx([3470, 3030, 2840], abs=20)
    # the limit is the mass that moves f_SP by exactly Δf
    assert f_sp(lim[2], 1.75) == pytest.approx(0.81, abs=1e-12)
    assert mass_limit(1.75, 0.38) == pytest.approx(2 * lim[2])


def test_f_sp_is_one_without_mass_and_falls_linearly():
    assert f_sp(0.0, 1.5) == 1.0
    m = np.array([500.0, 1000.0])
    d = 1 - f_sp(m, 1.5)
    assert d[1] == pytest.approx(2 * d[0])
    assert mass_precession(1000.0, 1.5) < 0


def test_shells_sum_to_the_cusp_precession():
    g = 1.5
    s = np.linspace(S2.pericentre_au, S2.apocentre_au, 200_001)
    dm = 1000.0 * (3 - g) * (s / S2.a_au) ** (2 - g) / S2.a_au
    total = np.sum(0.5 * (shell_precession(s[1:], dm[1:]) + shell_precession(s[:-1], dm[:-1])) * np.diff(s))
    assert total == pytest.approx(mass_precession(1000.0, g), rel=1e-4)


def test_shells_outside_the_orbit_do_nothing():
    assert shell_precession([50.0, 3000.0], 1.0).tolist() == [0.0, 0.0]
    assert shell_precession(1000.0, 1.0) < 0


def test_accrual_ends_at_the_orbit_averaged_precessions():
    d = precession_along_orbit(S2, 1000.0, 1.75)
    assert d["sp"][-1] == pytest.approx(schwarzschild_precession(S2), rel=1e-4)
    assert d["mass"][-1] == pytest.approx(mass_precession(1000.0, 1.75), rel=1e-4)
    # the Schwarzschild turn happens within ±0.05 orbits (±0.8 yr) of pericentre, the cusp's elsewhere
    ph = d["phase"]

    def share(curve, lo, hi):
        return (np.interp(hi, ph, curve) - np.interp(lo, ph, curve)) / curve[-1]

    assert share(d["sp"], -0.05, 0.05) > 0.8 and share(d["mass"], -0.05, 0.05) < 0.05
    outer = {k: share(d[k], -0.5, -0.25) + share(d[k], 0.25, 0.5) for k in ("sp", "mass")}
    assert outer["sp"] < 0.05 and outer["mass"] > 0.4


def test_geometry_on_the_sky_and_in_the_plane():
    f = np.linspace(0, 2 * np.pi, 721)
    x, y = plane_positions(S2, f)
    assert np.hypot(x, y).min() == pytest.approx(S2.pericentre_au, rel=1e-6)
    east, north = sky_positions(S2, f)
    r_mas = np.hypot(east, north)
    # projection never lengthens a vector: the sky distance is at most the 3-D distance in mas
    assert np.all(r_mas <= np.hypot(x, y) * 1000 / S2.distance_pc + 1e-9)
    assert r_mas.max() > 150   # apocentre 236 mas in 3-D, foreshortened by i = 134.6°
    # a precession of 2π changes nothing
    e2, n2 = sky_positions(S2, f, 2 * np.pi)
    assert np.allclose(e2, east) and np.allclose(n2, north)


def test_mass_inside_follows_the_power_law():
    assert mass_inside(S2.a_au, 1000.0, 1.75) == pytest.approx(1000.0)
    assert mass_inside(2 * S2.a_au, 1000.0, 1.0) == pytest.approx(4000.0)


@pytest.mark.parametrize("changes,words", [
    ({"e": 1.2}, "Eccentricity e must be at least 0.001 and below 1"),
    ({"e": 1.0}, "not bound"),
    ({"e": float("nan")}, "Eccentricity e must be a finite number"),
    ({"m_bh": -4e6}, "Black-hole mass M• must be positive"),
    ({"a_au": 5.0}, "Semi-major axis a must be from 10"),
    ({"e": 0.995}, "gravitational radii"),
])
def test_validate_orbit_names_the_field(changes, words):
    with pytest.raises(UserError, match=words):
        validate_orbit(S2.with_(**{"m_bh": S2.mass, **changes}))


@pytest.mark.parametrize("mass,gamma,words", [
    (-100.0, 1.5, "Enclosed mass M\\(<a\\) must be from 0 to 1e6 M☉ and not negative"),
    (2e6, 1.5, "Enclosed mass"),
    (1000.0, 3.0, "Cusp slope γ must be at least 0 and below 3"),
    (1000.0, float("inf"), "Cusp slope"),
])
def test_validate_cusp_names_the_field(mass, gamma, words):
    with pytest.raises(UserError, match=words):
        validate_cusp(mass, gamma)
