"""S2's orbit, its Schwarzschild precession and the precession of an extended stellar cusp.

Equation labels [P1]-[P4] are the formulas the paper builds its S2 argument on (its precession
section; we could read only the paper's abstract offline, so each formula also names the public source
it comes from and was checked numerically against the paper's quoted numbers in the tests):

* **[P1]** Schwarzschild precession per orbit, Δω_SP = 6πGM•/(c² a (1−e²)) (GRAVITY Collaboration
  2020, A&A 636, L5, who quote ≈ 12′ per orbit for S2).
* **[P2]** Extended-mass precession of a power-law cusp ρ ∝ r^−γ holding M_a inside a:
  Δω_M = −2π (M_a/M•) G(e, γ), with G(e, γ) = √(1−e²)/(e(2−γ)) · d⟨(r/a)^{2−γ}⟩/de (time average over the
  Kepler orbit; standard orbit-averaged perturbation theory); closed forms G = √(1−e²) at γ = 1 and √(1−e²)/(1+√(1−e²)) at γ = 2.
* **[P3]** What a fit without extended mass reports: f_SP ≈ 1 + Δω_M/Δω_SP (GRAVITY's f_SP multiplies
  the 1PN terms, so it absorbs the retrograde mass precession).
* **[P4]** The enclosed-mass limit: the M_a whose precession moves f_SP by Δf (the paper uses the 1σ
  error, Δf = 0.19, and quotes ≈ 1000-1300 M☉ for γ = 1-1.75), M_a = Δf Δω_SP M•/(2π G(e, γ)).

Our additions (standard celestial mechanics, not from the paper): **[O1]** Gauss's perturbation
equation for ω (where along the orbit the precession accrues), **[O2]** the precession caused by one
thin shell of mass (which radii matter; used for the finite-N realisations), **[O3]** the sky
projection with the Thiele-Innes convention. Units: AU, yr, M☉; G = 4π².
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from deletionlab.core import UserError

#: Newton's constant in AU³ M☉⁻¹ yr⁻² (Kepler's third law with P in years, a in AU)
G = 4.0 * math.pi**2
#: speed of light in AU per Julian year (299 792 458 m/s × 31 557 600 s / 149 597 870 700 m)
C_AU_YR = 299_792_458.0 * 31_557_600.0 / 149_597_870_700.0
#: AU per parsec
AU_PER_PC = 206_264.806
#: AU/yr per km/s
KMS = 31_557_600.0 / 149_597_870.7
#: solar radius in AU
R_SUN_AU = 695_700.0 / 149_597_870.7
#: arcminutes per radian
ARCMIN = 180.0 / math.pi * 60.0
#: GRAVITY 2020's measured Schwarzschild-precession factor and its 1σ error (0 = Newton, 1 = GR)
F_SP_MEASURED, F_SP_ERROR = 1.10, 0.19
#: closest pericentre (in gravitational radii GM•/c²) we accept: there the Schwarzschild precession is
#: about 2° per orbit and second-order terms stay below a per cent (S2: 2830)
MIN_PERICENTRE_RG = 300


@dataclass(frozen=True)
class Orbit:
    """A star's orbit around Sgr A*. Defaults: S2 as fitted by GRAVITY Collaboration 2020 (A&A 636, L5).

    ``a_mas`` and ``distance_pc`` give the semi-major axis in AU; the black-hole mass follows from
    Kepler's third law with the period, unless ``m_bh`` is given.
    """

    a_mas: float = 125.058
    e: float = 0.884649
    period_yr: float = 16.0455
    inclination_deg: float = 134.567
    node_deg: float = 228.171
    periapsis_deg: float = 66.263
    distance_pc: float = 8246.7
    t_peri: float = 2018.379
    m_bh: float | None = None

    @property
    def a_au(self) -> float:
        """Semi-major axis in AU (1 mas at 1 kpc is 1 AU)."""
        return self.a_mas * self.distance_pc / 1000.0

    @property
    def mass(self) -> float:
        """Black-hole mass M• in M☉ (Kepler: M = a³/P² in AU, yr, M☉ units)."""
        return self.m_bh if self.m_bh is not None else self.a_au**3 / self.period_yr**2

    @property
    def pericentre_au(self) -> float:
        return self.a_au * (1 - self.e)

    @property
    def apocentre_au(self) -> float:
        return self.a_au * (1 + self.e)

    @property
    def kepler_period_yr(self) -> float:
        """Period from a and M• (equals ``period_yr`` unless ``m_bh`` was given)."""
        return math.sqrt(self.a_au**3 / self.mass)

    @property
    def gravitational_radius_au(self) -> float:
        """GM•/c² in AU."""
        return G * self.mass / C_AU_YR**2

    def with_(self, **changes) -> Orbit:
        """A copy with some elements changed (``a_au=`` sets the semi-major axis in AU)."""
        if "a_au" in changes:
            changes["a_mas"] = changes.pop("a_au") * 1000.0 / self.distance_pc
        return replace(self, **changes)


S2 = Orbit()


def validate_orbit(orbit: Orbit) -> Orbit:
    """Raise :class:`UserError` naming the element and its allowed range."""
    e, a, m = orbit.e, orbit.a_au, orbit.mass
    for name, v in (("Eccentricity e", e), ("Semi-major axis a", a), ("Black-hole mass M•", m)):
        if not math.isfinite(v):
            raise UserError(f"{name} must be a finite number (got {v}).")
    if not 0.001 <= e < 1:
        raise UserError(f"Eccentricity e must be at least 0.001 and below 1 (got {e:g}); an orbit with e ≥ 1 is not bound.")
    if m <= 0:
        raise UserError(f"Black-hole mass M• must be positive, from 1e5 to 1e8 M☉ (got {m:g} M☉).")
    if not 1e5 <= m <= 1e8:
        raise UserError(f"Black-hole mass M• must be from 1e5 to 1e8 M☉ (got {m:g} M☉).")
    if not 10 <= a <= 1e6:
        raise UserError(f"Semi-major axis a must be from 10 to 1,000,000 AU (got {a:g} AU).")
    rg = orbit.gravitational_radius_au
    if orbit.pericentre_au < MIN_PERICENTRE_RG * rg:
        raise UserError(f"The pericentre a(1−e) = {orbit.pericentre_au:.3g} AU lies within {MIN_PERICENTRE_RG} gravitational radii "
                        f"({MIN_PERICENTRE_RG * rg:.3g} AU) of the black hole, where the first-order (post-Newtonian) "
                        "precession formulas fail; lower e or raise a.")
    return orbit


def validate_cusp(mass: float, gamma: float) -> None:
    """The enclosed mass M(<a) must be 0 to 1e6 M☉ and the cusp slope γ from 0 to below 3."""
    if not math.isfinite(mass) or mass < 0:
        raise UserError(f"Enclosed mass M(<a) must be from 0 to 1e6 M☉ and not negative (got {mass:g} M☉).")
    if mass > 1e6:
        raise UserError(f"Enclosed mass M(<a) must be from 0 to 1e6 M☉ (got {mass:g} M☉).")
    if not math.isfinite(gamma) or not 0 <= gamma < 3:
        raise UserError(f"Cusp slope γ must be at least 0 and below 3 (got {gamma:g}); for γ ≥ 3 the mass inside any radius is infinite.")


# -- [P1]-[P4] --------------------------------------------------------------------------------------


def schwarzschild_precession(orbit: Orbit = S2) -> float:
    """[P1] Δω_SP = 6πGM•/(c² a (1−e²)) in radians per orbit (prograde). 12.16′ for S2."""
    return 6.0 * math.pi * G * orbit.mass / (C_AU_YR**2 * orbit.a_au * (1 - orbit.e**2))


def _grid_size(e: float) -> int:
    """Points of the periodic trapezoid rule: the integrand's Fourier terms fall like ρ^k with
    ρ = e/(1+√(1−e²)), so ~40/(1−ρ) points reach double precision."""
    rho = e / (1 + math.sqrt(1 - e * e))
    return int(min(200_000, max(256, 40.0 / (1 - rho))))


def g_factor(e: float, gamma) -> np.ndarray | float:
    """[P2] G(e, γ) = √(1−e²)/(e(2−γ)) · d⟨(r/a)^{2−γ}⟩/de, for one e and one or many γ in [0, 3).

    The time average over the Kepler orbit is an average over the eccentric anomaly E with weight
    (1 − e cos E); its e-derivative is −(p+1)⟨cos E (1 − e cos E)^p⟩_E with p = 2 − γ. We evaluate
    (x^p − 1)/p (whose E-average with cos E is the same, as ⟨cos E⟩ = 0) with expm1/log, so that γ = 2
    (the logarithmic potential) is the smooth limit, not a 0/0.
    """
    g = np.atleast_1d(np.asarray(gamma, dtype=float))
    if e < 1e-6:  # small-e limit of the formula: (3 − γ)/2
        out = (3.0 - g) / 2.0
        return out if np.ndim(gamma) else float(out[0])
    n = _grid_size(e)
    E = (np.arange(n) + 0.5) * (2 * np.pi / n)
    lnx = np.log1p(-e * np.cos(E))[None, :]
    p = (2.0 - g)[:, None]
    small = np.abs(p) < 1e-12
    ratio = np.where(small, lnx, np.expm1(p * lnx) / np.where(small, 1.0, p))
    mean = (np.cos(E)[None, :] * ratio).mean(axis=1)
    out = -math.sqrt(1 - e * e) / e * (3.0 - g) * mean
    return out if np.ndim(gamma) else float(out[0])


def g_closed_form(e: float, gamma: float) -> float:
    """[P2] The closed forms: √(1−e²) at γ = 1, √(1−e²)/(1+√(1−e²)) at γ = 2."""
    b = math.sqrt(1 - e * e)
    if gamma == 1:
        return b
    if gamma == 2:
        return b / (1 + b)
    raise ValueError("closed forms exist for γ = 1 and γ = 2 only")


def mass_precession(mass: float, gamma, orbit: Orbit = S2):
    """[P2] Δω_M = −2π (M_a/M•) G(e, γ) in radians per orbit (retrograde, so negative)."""
    return -2.0 * math.pi * (mass / orbit.mass) * g_factor(orbit.e, gamma)


def f_sp(mass, gamma, orbit: Orbit = S2):
    """[P3] The Schwarzschild factor a fit without extended mass would report: 1 + Δω_M/Δω_SP."""
    return 1.0 + np.asarray(mass, dtype=float) * (-2.0 * math.pi / orbit.mass) * g_factor(orbit.e, gamma) / schwarzschild_precession(orbit)


def mass_limit(gamma, df: float = F_SP_ERROR, orbit: Orbit = S2):
    """[P4] M(<a) in M☉ whose precession moves f_SP by ``df`` (the paper: df = 0.19, the 1σ error)."""
    return df * schwarzschild_precession(orbit) * orbit.mass / (2.0 * math.pi * g_factor(orbit.e, gamma))


def mass_inside(radius_au, mass_a: float, gamma, orbit: Orbit = S2):
    """Mass of the cusp inside ``radius_au``: M(<r) = M_a (r/a)^{3−γ}."""
    return mass_a * (np.asarray(radius_au, dtype=float) / orbit.a_au) ** (3.0 - np.asarray(gamma, dtype=float))


# -- geometry ---------------------------------------------------------------------------------------


def true_anomaly_from_phase(phase, e: float) -> np.ndarray:
    """True anomaly f for orbital phases (time since pericentre / period, 0..1): Kepler's equation
    M = E − e sin E solved by Newton's method (vectorised), then f from E."""
    M = 2 * np.pi * np.asarray(phase, dtype=float)
    E = np.where(e > 0.8, np.pi * np.ones_like(M), M)
    for _ in range(60):
        dE = (E - e * np.sin(E) - M) / (1 - e * np.cos(E))
        E = E - dE
        if np.max(np.abs(dE)) < 1e-14:
            break
    return 2 * np.arctan2(np.sqrt(1 + e) * np.sin(E / 2), np.sqrt(1 - e) * np.cos(E / 2))


def phase_from_true_anomaly(f, e: float) -> np.ndarray:
    """Orbital phase (time since pericentre / period, −0.5..0.5) for true anomalies f in [−π, π]."""
    f = np.asarray(f, dtype=float)
    E = 2 * np.arctan2(np.sqrt(1 - e) * np.sin(f / 2), np.sqrt(1 + e) * np.cos(f / 2))
    return (E - e * np.sin(E)) / (2 * np.pi)


def plane_positions(orbit: Orbit, f, omega_shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Positions in the orbital plane (AU), pericentre along +x rotated by ``omega_shift`` radians."""
    f = np.asarray(f, dtype=float)
    r = orbit.a_au * (1 - orbit.e**2) / (1 + orbit.e * np.cos(f))
    return r * np.cos(f + omega_shift), r * np.sin(f + omega_shift)


def sky_positions(orbit: Orbit, f, omega_shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """[O3] Offsets on the sky in mas (east, north) with the Thiele-Innes convention:
    north = r[cos(ω+f) cos Ω − sin(ω+f) sin Ω cos i], east = r[cos(ω+f) sin Ω + sin(ω+f) cos Ω cos i]."""
    f = np.asarray(f, dtype=float)
    r = orbit.a_au * (1 - orbit.e**2) / (1 + orbit.e * np.cos(f)) * 1000.0 / orbit.distance_pc
    u = np.radians(orbit.periapsis_deg) + omega_shift + f
    i, node = np.radians(orbit.inclination_deg), np.radians(orbit.node_deg)
    north = r * (np.cos(u) * np.cos(node) - np.sin(u) * np.sin(node) * np.cos(i))
    east = r * (np.cos(u) * np.sin(node) + np.sin(u) * np.cos(node) * np.cos(i))
    return east, north


# -- [O1] where along the orbit the precession accrues -----------------------------------------------


def _rt_1pn(orbit: Orbit, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Radial and transverse 1PN test-particle acceleration (harmonic gauge) on the Kepler orbit:
    a = GM/(c²r²) [(4GM/r − v²) n + 4 ṙ v]."""
    u, e, a = G * orbit.mass, orbit.e, orbit.a_au
    p = a * (1 - e * e)
    r = p / (1 + e * np.cos(f))
    h = math.sqrt(u * p)
    rdot = u / h * e * np.sin(f)
    vt = h / r
    v2 = u * (2 / r - 1 / a)
    k = u / (C_AU_YR**2 * r**2)
    return k * (4 * u / r - v2 + 4 * rdot**2), k * 4 * rdot * vt


def _cumulative(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(y)
    out[1:] = np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(x))
    return out


def precession_along_orbit(orbit: Orbit, mass: float, gamma: float, n: int = 1441) -> dict:
    """[O1] Cumulative osculating Δω from apocentre (f = −π) through pericentre to the next apocentre,
    for the 1PN (Schwarzschild) acceleration and for the cusp's Newtonian pull, from Gauss's equation
    dω/dt = √(p/GM)/e [−R cos f + T (1 + r/p) sin f] with dt/df = r²/h on the unperturbed orbit.

    Returns true anomaly, orbital phase, radius (AU) and the two cumulative curves (radians); their
    end values are the per-orbit precessions [P1] and [P2] (to first order).
    """
    e, a = orbit.e, orbit.a_au
    u = G * orbit.mass
    p = a * (1 - e * e)
    f = np.linspace(-np.pi, np.pi, n)
    r = p / (1 + e * np.cos(f))
    dtdf = r**2 / math.sqrt(u * p)
    pref = math.sqrt(p / u) / e
    R_sp, T_sp = _rt_1pn(orbit, f)
    sp = pref * (-R_sp * np.cos(f) + T_sp * (1 + r / p) * np.sin(f)) * dtdf
    R_m = -G * mass_inside(r, mass, gamma, orbit) / r**2
    cusp = pref * (-R_m * np.cos(f)) * dtdf
    return {"f": f, "phase": phase_from_true_anomaly(f, e), "r": r,
            "sp": _cumulative(sp, f), "mass": _cumulative(cusp, f)}


# -- [O2] one thin shell -------------------------------------------------------------------------------


def shell_precession(radius_au, shell_mass, orbit: Orbit = S2) -> np.ndarray:
    """[O2] Precession per orbit (radians) from a thin spherical shell of ``shell_mass`` M☉ at
    ``radius_au``: with Φ = −Gm/max(r, s), the orbit average gives ∂⟨Φ⟩/∂e = Gm sin E_s/(π s), where
    r(E_s) = s, so Δω = −2 (m/M•)(a/s) √(1−e²) sin E_s / e for pericentre < s < apocentre and 0
    otherwise (a shell inside the pericentre acts as a point mass, one outside the apocentre as a
    constant). Summed over a cusp's shells it gives [P2] (tested)."""
    s = np.asarray(radius_au, dtype=float)
    e, a = orbit.e, orbit.a_au
    cos_es = np.clip((1 - s / a) / e, -1.0, 1.0)
    sin_es = np.sqrt(1 - cos_es**2)
    inside = (s > a * (1 - e)) & (s < a * (1 + e))
    return np.where(inside, -2.0 * (np.asarray(shell_mass, dtype=float) / orbit.mass) * (a / s) * math.sqrt(1 - e * e) * sin_es / e, 0.0)
