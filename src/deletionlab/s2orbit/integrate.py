"""Direct orbit integration: the precession per orbit measured from the orbit itself, not averaged.

Our integrator (used by the explorer and the benchmark) and the REBOUND + REBOUNDx cross-check (used
in the tests and the experiment) integrate the same forces on a test star around Sgr A*:

* Newton's point mass, a = −GM• r/r³;
* **[I1]** general relativity either as REBOUNDx's ``gr_potential`` term (Nobili & Roxburgh 1986),
  a = −6 (GM•)²/(c² r³) r̂ (from Φ = −3 (GM•/c r)²), which gives exactly the Schwarzschild precession [P1] per orbit, or as the
  1PN test-particle acceleration in harmonic gauge, a = GM•/(c²r²) [(4GM•/r − v²) r̂ + 4 ṙ v];
* **[I2]** the cusp's Newtonian pull, a = −G M(<r)/r² r̂ = −G M_a r^{1−γ}/a^{3−γ} r̂, which is REBOUNDx's
  ``central_force`` with A = −G M_a/a^{3−γ} and ``gammacentral`` = 1 − γ.

Method: classical Runge-Kutta (RK4) in Sundman's regularised time s (dt = r ds, so that equal steps in
s are equal steps in eccentric anomaly and the pericentre passage gets as many steps as the rest).
The star starts at pericentre on the +x axis; the next pericentre is where r·v changes sign, found
to machine precision by a secant search over a partial step. The apsidal angle minus 2π is the
precession per radial orbit. Many orbits (different masses, slopes) run as one batch of arrays, and
every batch carries a pure-Newton member: its "precession" is the integrator's own error, which we
subtract (a paired difference) and report. Each answer is checked by halving the step; a result that
still moves by more than the tolerance after ``max_steps`` raises a sentence (:class:`IntegrationError`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from deletionlab.core import UserError, check_cancel, no_progress, require_package
from deletionlab.s2orbit.orbit import C_AU_YR, G, Orbit

#: relativity models of the integrator (codes used inside the batch)
GR_MODELS = {"none": 0, "potential": 1, "1pn": 2}
#: fraction of a Kepler orbit integrated beyond one period when looking for the next pericentre
#: (a cusp of up to a few per cent of M• shortens the radial period by less than this)
SEARCH_MARGIN = 0.3
#: absolute precision floor (radians per orbit) below which the step-halving check always passes
ATOL = 1e-10


class IntegrationError(UserError):
    """The direct integration did not converge (or the orbit stopped being a bound ellipse)."""


@dataclass
class IntegrationResult:
    """Precession per orbit (radians) of each batch member, measured by direct integration."""

    precession: np.ndarray      # paired: member minus the pure-Newton member
    raw: np.ndarray             # apsidal angle − 2π of each member, unpaired
    newton_drift: float         # the pure-Newton member's apsidal drift: the integrator's own error
    error_estimate: np.ndarray  # |result at N steps − result at N/2 steps| per member
    steps: int                  # steps per Kepler orbit of the accepted run
    radial_period_yr: np.ndarray
    seconds: float


def _accel(x, y, vx, vy, mu, gamma, lam, code):
    """Acceleration in units GM• = 1, a = 1 (mu = M_a/M•, lam = GM•/(c² a))."""
    r2 = x * x + y * y
    r = np.sqrt(r2)
    radial = -1.0 / (r2 * r) - mu * r ** (-gamma)                   # Newton + [I2] (times the position vector)
    radial = radial - np.where(code == 1, 6.0 * lam / (r2 * r2), 0.0)   # [I1] gr_potential
    ax, ay = radial * x, radial * y
    if np.any(code == 2):                                              # [I1] 1PN, harmonic gauge
        v2 = vx * vx + vy * vy
        rdot = (x * vx + y * vy) / r
        k = np.where(code == 2, lam / r2, 0.0)
        ax = ax + k * ((4.0 / r - v2) * x / r + 4.0 * rdot * vx)
        ay = ay + k * ((4.0 / r - v2) * y / r + 4.0 * rdot * vy)
    return ax, ay


def _deriv(s, mu, gamma, lam, code):
    x, y, vx, vy, _ = s
    r = np.sqrt(x * x + y * y)
    ax, ay = _accel(x, y, vx, vy, mu, gamma, lam, code)
    return np.stack([r * vx, r * vy, r * ax, r * ay, r])


def _rk4(s, h, args):
    k1 = _deriv(s, *args)
    k2 = _deriv(s + 0.5 * h * k1, *args)
    k3 = _deriv(s + 0.5 * h * k2, *args)
    k4 = _deriv(s + h * k3, *args)
    return s + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)


def _refine(states, h, args, iterations: int = 60):
    """Illinois (modified regula falsi) search, member by member, for the partial step h' in [0, h]
    after which r·v = 0 (the pericentre); returns the states there."""
    def rv(st):
        return st[0] * st[2] + st[1] * st[3]

    a, b = np.zeros(states.shape[1]), np.full(states.shape[1], h)
    fa, fb = rv(states), rv(_rk4(states, b, args))
    side = np.zeros(states.shape[1])
    best = states
    for _ in range(iterations):
        denom = np.where(fb - fa == 0, 1.0, fb - fa)
        c = np.clip((a * fb - b * fa) / denom, np.minimum(a, b), np.maximum(a, b))
        best = _rk4(states, c, args)
        fc = rv(best)
        if np.all(np.abs(fc) < 1e-16) or np.all(np.abs(b - a) < 1e-15):
            break
        with_b = fc * fb > 0
        fa = np.where(with_b & (side == -1), fa * 0.5, fa)
        fb = np.where(~with_b & (side == 1), fb * 0.5, fb)
        b, fb = np.where(with_b, c, b), np.where(with_b, fc, fb)
        a, fa = np.where(with_b, a, c), np.where(with_b, fa, fc)
        side = np.where(with_b, -1, 1)
    return best


def _one_orbit(e, mu, gamma, lam, code, steps, progress, cancel):
    """Integrate every member from pericentre to the next; returns (apsidal angle − 2π, s-period)."""
    b = mu.size
    rp = 1.0 - e
    s = np.stack([np.full(b, rp), np.zeros(b), np.zeros(b), np.full(b, math.sqrt((1 + e) / (1 - e))), np.zeros(b)])
    h = 2 * math.pi / steps
    args = (mu, gamma, lam, code)
    found = np.zeros(b, dtype=bool)
    apo = np.zeros(b, dtype=bool)
    before = np.zeros_like(s)
    limit = int(steps * (1 + SEARCH_MARGIN))
    for k in range(limit):
        if k % 200 == 0:
            check_cancel(cancel)
            progress(k, limit, f"{steps} steps per orbit")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            new = _rk4(s, h, args)
        if not np.all(np.isfinite(new)):
            raise IntegrationError("The direct orbit integration did not converge: the orbit ran into the black hole "
                                   "(non-finite positions); lower e or the enclosed mass.")
        rv_old, rv_new = s[0] * s[2] + s[1] * s[3], new[0] * new[2] + new[1] * new[3]
        apo |= (rv_old > 0) & (rv_new <= 0)                  # outward → inward: the apocentre passed
        cross = apo & ~found & (rv_old < 0) & (rv_new >= 0)   # inward → outward after it: the next pericentre
        before[:, cross] = s[:, cross]
        found |= cross
        if found.all():
            break
        s = new
    if not found.all():
        raise IntegrationError(f"The direct orbit integration did not converge: no pericentre passage within {1 + SEARCH_MARGIN:.1f} "
                               "Kepler periods (the extended mass is too large for a near-Kepler orbit); lower the enclosed mass.")
    peri = _refine(before, h, args)
    return np.angle(np.exp(1j * np.arctan2(peri[1], peri[0]))), peri[4]


def integrate_precession(orbit: Orbit, masses, gammas, gr="none", *, steps: int = 1000, max_steps: int = 8000,
                         rtol: float = 1e-3, progress=no_progress, cancel=None) -> IntegrationResult:
    """Precession per orbit (radians) of each (mass, γ, gr) member, by direct integration.

    ``masses``, ``gammas`` and ``gr`` (a model name or one per member: "none", "potential", "1pn")
    broadcast to one batch; a pure-Newton member is added and subtracted. The step is halved until two
    runs agree to ``rtol`` (relative) or 1e-10 rad; beyond ``max_steps`` per orbit it raises
    :class:`IntegrationError`.
    """
    t0 = time.perf_counter()
    masses, gammas, grs = np.broadcast_arrays(np.atleast_1d(np.asarray(masses, float)), np.atleast_1d(np.asarray(gammas, float)),
                                              np.atleast_1d(np.asarray(gr, dtype=object)))
    code = np.array([0] + [GR_MODELS[str(g)] for g in grs])
    mu = np.concatenate([[0.0], masses / orbit.mass])
    gam = np.concatenate([[1.0], gammas])
    lam = G * orbit.mass / (C_AU_YR**2 * orbit.a_au)
    previous = None
    n = steps
    while True:
        raw, speriod = _one_orbit(orbit.e, mu, gam, lam, code, n, progress, cancel)
        paired = raw[1:] - raw[0]
        if previous is not None:
            err = np.abs(paired - previous)
            if np.all(err <= np.maximum(rtol * np.abs(paired), ATOL)):
                break
        if 2 * n > max_steps:
            worst = float(np.max(err / np.maximum(np.abs(paired), ATOL))) if previous is not None else float("nan")
            raise IntegrationError(f"The direct orbit integration did not converge: halving the step up to {n} steps per orbit "
                                   f"still changes the precession by {worst:.1%}; lower e (or the masses).")
        previous, n = paired, 2 * n
    # physical radial period: dt = r ds with r in units of a, time in units of 1/n = P/2π
    period = speriod[1:] * orbit.kepler_period_yr / (2 * math.pi)
    return IntegrationResult(precession=paired, raw=raw[1:], newton_drift=float(raw[0]), error_estimate=err, steps=n,
                             radial_period_yr=period, seconds=time.perf_counter() - t0)


# -- REBOUND + REBOUNDx cross-check --------------------------------------------------------------------


def _rebound_state(orbit: Orbit, mass: float, gamma: float, gr: str, t: float):
    rebound = require_package("rebound")
    reboundx = require_package("reboundx")
    sim = rebound.Simulation()
    sim.G = G
    sim.integrator = "ias15"
    sim.add(m=orbit.mass)
    rp = orbit.pericentre_au
    sim.add(m=0.0, x=rp, vy=math.sqrt(G * orbit.mass * (1 + orbit.e) / rp))
    rebx = reboundx.Extras(sim)
    if gr != "none":
        force = rebx.load_force({"potential": "gr_potential", "1pn": "gr"}[gr])
        rebx.add_force(force)
        force.params["c"] = C_AU_YR
    if mass > 0:
        cf = rebx.load_force("central_force")
        rebx.add_force(cf)
        sim.particles[0].params["Acentral"] = -G * mass / orbit.a_au ** (3.0 - gamma)
        sim.particles[0].params["gammacentral"] = 1.0 - gamma
    sim.integrate(t, exact_finish_time=1)
    p, c = sim.particles[1], sim.particles[0]
    x, y, vx, vy = p.x - c.x, p.y - c.y, p.vx - c.vx, p.vy - c.vy
    return x, y, x * vx + y * vy


def rebound_precession(orbit: Orbit, mass: float = 0.0, gamma: float = 1.75, gr: str = "potential") -> float:
    """Precession per orbit (radians) from REBOUND's IAS15 with REBOUNDx's ``gr_potential`` (or ``gr``, 1PN)
    and ``central_force``: the angle of the next pericentre, located by bisection on r·v = 0 in time
    (each trial integrates a fresh simulation from pericentre, about a millisecond)."""
    period = orbit.kepler_period_yr
    grid = np.linspace(0.8 * period, 1.2 * period, 81)
    rv = np.array([_rebound_state(orbit, mass, gamma, gr, t)[2] for t in grid])
    idx = np.where((rv[:-1] < 0) & (rv[1:] >= 0))[0]
    if idx.size == 0:
        raise IntegrationError("REBOUND found no pericentre passage within 0.8-1.2 Kepler periods.")
    lo, hi = grid[idx[0]], grid[idx[0] + 1]
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        if _rebound_state(orbit, mass, gamma, gr, mid)[2] < 0:
            lo = mid
        else:
            hi = mid
    x, y, _ = _rebound_state(orbit, mass, gamma, gr, 0.5 * (lo + hi))
    return float(math.atan2(y, x))
