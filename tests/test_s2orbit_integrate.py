"""Direct orbit integration: our integrator against the analytic precession and against REBOUND + REBOUNDx."""

import threading

import numpy as np
import pytest

from deletionlab.core import Cancelled, CancelToken
from deletionlab.s2orbit.integrate import IntegrationError, integrate_precession, rebound_precession
from deletionlab.s2orbit.orbit import S2, mass_precession, schwarzschild_precession

GAMMAS = (1.0, 1.5, 1.75, 2.0)


@pytest.fixture(scope="module")
def batch():
    """One batch: four cusps of 1000 M☉, the two relativity models, and relativity + cusp."""
    masses = [1000.0] * 4 + [0.0, 0.0, 1000.0]
    gammas = list(GAMMAS) + [1.0, 1.0, 1.5]
    grs = ["none"] * 4 + ["potential", "1pn", "potential"]
    return integrate_precession(S2, masses, gammas, grs)


def test_cusp_precession_agrees_with_the_orbit_average_within_2_percent(batch):
    analytic = np.array([mass_precession(1000.0, g) for g in GAMMAS])
    rel = batch.precession[:4] / analytic - 1
    assert np.all(np.abs(rel) < 0.02), rel
    assert np.all(np.abs(rel) < 0.005)   # in fact to a few per mille at 1000 M☉


def test_schwarzschild_precession_agrees_for_both_relativity_models(batch):
    sp = schwarzschild_precession(S2)
    assert batch.precession[4] == pytest.approx(sp, rel=0.002)   # gr_potential: exact at first order
    assert batch.precession[5] == pytest.approx(sp, rel=0.005)   # 1PN, harmonic gauge
    assert batch.precession[6] == pytest.approx(sp + mass_precession(1000.0, 1.5), rel=0.01)


def test_the_integrator_converged_and_its_own_error_is_tiny(batch):
    assert abs(batch.newton_drift) < 1e-8          # a pure Kepler orbit does not precess
    assert np.all(batch.error_estimate < 1e-3 * np.abs(batch.precession))
    assert batch.steps >= 2000
    # the radial period shortens a little when mass is added inside the orbit
    assert batch.radial_period_yr[0] < S2.period_yr and batch.radial_period_yr[0] == pytest.approx(S2.period_yr, rel=0.01)


def test_more_mass_more_precession_linearly():
    res = integrate_precession(S2, [300.0, 600.0], 1.75, "none")
    assert res.precession[1] / res.precession[0] == pytest.approx(2.0, rel=2e-3)


@pytest.mark.parametrize("mass,gamma,gr", [(1000.0, 1.5, "none"), (0.0, 1.0, "potential"), (1000.0, 1.75, "potential")])
def test_rebound_and_reboundx_give_the_same_precession(batch, mass, gamma, gr):
    ours = integrate_precession(S2, mass, gamma, gr).precession[0]
    theirs = rebound_precession(S2, mass, gamma, gr)
    assert theirs == pytest.approx(ours, rel=1e-6)
    analytic = float(mass_precession(mass, gamma)) + (schwarzschild_precession(S2) if gr != "none" else 0.0)
    assert theirs == pytest.approx(analytic, rel=0.02)


def test_rebound_1pn_agrees_to_second_order():
    # REBOUNDx's 'gr' (1PN) and our harmonic-gauge 1PN acceleration differ only at second order
    assert rebound_precession(S2, 0.0, 1.0, "1pn") == pytest.approx(schwarzschild_precession(S2), rel=0.005)


def test_a_nearly_parabolic_orbit_does_not_converge_and_says_so():
    far = S2.with_(e=0.9999, a_au=1e6, m_bh=S2.mass)
    with pytest.raises(IntegrationError, match="did not converge"):
        integrate_precession(far, 1000.0, 1.5, "none", max_steps=4000)


def test_beyond_first_order_the_integrators_still_agree_and_the_formula_does_not():
    # a cusp of 1e5 M☉ (2 % of M•) shortens the radial period by 13 %: the orbit average no longer holds
    ours = integrate_precession(S2, 1e5, 1.0, "none")
    assert ours.radial_period_yr[0] < 0.9 * S2.period_yr
    assert rebound_precession(S2, 1e5, 1.0, "none") == pytest.approx(ours.precession[0], rel=1e-6)
    assert abs(ours.precession[0] / mass_precession(1e5, 1.0) - 1) > 0.05


def test_cancel_stops_the_integration():
    token = CancelToken()
    threading.Timer(0.05, token.cancel).start()
    with pytest.raises(Cancelled):
        integrate_precession(S2, 1000.0, 1.5, "none", steps=64000, max_steps=128000, cancel=token)
