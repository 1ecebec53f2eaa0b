"""The cluster inside S2's orbit: supplied by relaxation and binary captures, depleted by collisions.

**Reconstructed.** The paper evolves the stellar mass inside S2's orbit with simulations whose
equations we could not read offline. This module is our own model of the same processes, built from
the paper's ingredients and standard formulas; every choice is marked "reconstructed" and its
parameters are arguments (their effect on the verdicts is measured in ``experiment.py``).

The region from r_in = 0.01 a to S2's apocentre is cut into thin logarithmic shells; shell k holds
N_k stars of mass m★ (everything that can move S2's pericentre lies between its pericentre and
apocentre). Each shell evolves on its own:

* **[C1]** (reconstructed) relaxation: stars enter at the rate N_rlx,k/t_rlx,k and leave at
  N_k/t_rlx,k, so that relaxation alone holds a relaxed cusp M_rlx(<r) = M_rlx (r/a)^{3−γ} (M_rlx, the
  mass it keeps inside a, is a parameter; the paper's value is not known to us), with
  t_rlx(r) = t_rlx(a) (r/a)^{γ−3/2} (t ∝ σ³/ρ);
* **[C2]** captures from tidally disrupted binaries (Hills mechanism) place Γ_cap stars per year on
  orbits inside a -- the paper's free parameter (1e-7 to 1e-4 per year); (reconstructed) they are
  spread over the shells like the cusp's mass, continued beyond a;
* **[C3]** destructive collisions (DCs): pairs collide at the rate n σ v_rel with σ = π(2R★)²(1 +
  v_esc²/v_rel²) (gravitational focusing) and are destroyed when v_rel exceeds the stars' escape speed
  v_esc = √(2Gm★/R★) (618 km/s for the Sun; the circular speed exceeds it inside 0.048 pc). With a
  Maxwellian of relative speeds (1-D dispersion s = √2 σ, where σ² = GM•/((1+γ) r) is the stars'
  dispersion in a cusp around a point mass) ⟨σ v 1[v > v_esc]⟩ = 4πR★² √(2/π) (2v_esc² + 2s²)/s · exp(−v_esc²/2s²), so the shell
  loses stars at C_k N_k² with C_k = ⟨σv⟩(r_k)/V_k (both stars of a pair are destroyed; the pair rate
  is half of it).

Together, per shell, **[C4]** dN/dt = A − B N − C N² with A = N_rlx/t_rlx + Γ_k, B = 1/t_rlx, C = C_k: a
Riccati equation with a closed-form solution. Collisions deplete the inner shells first, so the
cusp flattens inside S2's orbit (as Rose & MacLeod 2023 find near 0.1 pc). **[C5]** is its finite-N
version, a birth-death process stepped exactly for arrivals and relaxation (survivors Binomial(N,
e^{−h dt}), arrivals that survive Poisson(A(1−e^{−h dt})/h) with the hazard h = B + C(N−1) frozen over
a step), so with collisions off its stationary law is exactly Poisson(N_rlx + Γ t_rlx). **[C6]** is
a finite-N realisation's precession: every star a thin shell at a radius drawn inside its shell ([O2]
in :mod:`.orbit`) -- a snapshot, which overstates the fluctuations (stars move along their orbits
during S2's 16 years), so it is the generous test of "can fluctuations replace collisions?".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from deletionlab.core import UserError, check_cancel, no_progress
from deletionlab.s2orbit.orbit import F_SP_ERROR, R_SUN_AU, S2, G, Orbit, mass_limit, schwarzschild_precession, shell_precession

YR_PER_GYR = 1e9
#: inner edge of the modelled region in units of a (10 AU for S2: mass inside it cannot move S2's
#: pericentre, and it is < 0.3 % of a γ = 1.75 cusp's mass inside a)
R_IN = 0.01
#: shells per model (log-spaced from R_IN to the apocentre; 64 resolve the kernel [O2] to < 0.1 %)
SHELLS = 64


@dataclass(frozen=True)
class ClusterModel:
    """Parameters of the reconstructed cluster model (defaults: our choices, see docs/s2orbit.md)."""

    gamma: float = 1.75            # slope of the relaxed cusp and of the captures' spread [C1, C2]
    capture_rate: float = 3e-6     # Γ_cap: captures onto orbits inside a, per year [C2]
    collisions: bool = True        # destructive collisions on/off [C3]
    m_relax: float = 500.0         # M☉ that relaxation alone keeps inside a [C1] (reconstructed)
    t_relax_gyr: float = 1.0       # relaxation time at a [C1] (reconstructed)
    age_gyr: float = 10.0          # how long captures have gone on
    m_star: float = 1.0            # M☉ per star
    r_star: float = 1.0            # stellar radius in R☉
    orbit: Orbit = field(default=S2)

    def with_(self, **changes) -> ClusterModel:
        return replace(self, **changes)

    @property
    def age(self) -> float:
        return self.age_gyr * YR_PER_GYR

    @cached_property
    def shells(self) -> Shells:
        return Shells.build(self)


def validate_model(m: ClusterModel) -> ClusterModel:
    """Raise :class:`UserError` naming the parameter and its allowed range."""
    checks = [
        ("Capture rate Γ_cap", m.capture_rate, 0.0, 1e-3, "per year"),
        ("Relaxation-fed mass M_rlx", m.m_relax, 0.0, 1e5, "M☉"),
        ("Relaxation time t_rlx", m.t_relax_gyr, 0.001, 100.0, "Gyr"),
        ("Age", m.age_gyr, 0.001, 13.8, "Gyr"),
        ("Stellar mass m★", m.m_star, 0.1, 100.0, "M☉"),
        ("Stellar radius R★", m.r_star, 0.01, 100.0, "R☉"),
    ]
    for name, v, lo, hi, unit in checks:
        if not math.isfinite(v) or not lo <= v <= hi:
            neg = "; masses and rates cannot be negative" if math.isfinite(v) and v < 0 else ""
            raise UserError(f"{name} must be from {lo:g} to {hi:g} {unit} (got {v:g}{neg}).")
    if not math.isfinite(m.gamma) or not 0 <= m.gamma < 3:
        raise UserError(f"Cusp slope γ must be at least 0 and below 3 (got {m.gamma:g}).")
    return m


# -- [C3] collisions -------------------------------------------------------------------------------------


def escape_speed(m: ClusterModel) -> float:
    """v_esc = √(2Gm★/R★) in AU/yr."""
    return math.sqrt(2 * G * m.m_star / (m.r_star * R_SUN_AU))


def destructive_radius_au(m: ClusterModel) -> float:
    """Radius inside which the circular speed √(GM•/r) exceeds v_esc (0.048 pc for the Sun)."""
    return G * m.orbit.mass / escape_speed(m) ** 2


def sigma_v_destructive(r_au, m: ClusterModel) -> np.ndarray:
    """[C3] ⟨σ v 1[v > v_esc]⟩ (AU³/yr) for a Maxwellian of relative speeds at radius r."""
    r = np.asarray(r_au, dtype=float)
    s = np.sqrt(2 * G * m.orbit.mass / ((1 + m.gamma) * r))
    u = escape_speed(m)
    R = m.r_star * R_SUN_AU
    return 4 * np.pi * R**2 * np.sqrt(2 / np.pi) * (2 * u**2 + 2 * s**2) / s * np.exp(-(u**2) / (2 * s**2))


# -- the shells ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shells:
    """Per-shell constants of [C4]: edges (units of a), A, B, C, relaxed numbers and mean kernels."""

    edges: np.ndarray
    mid: np.ndarray          # geometric mid radius, AU
    inside_a: np.ndarray     # bool: shell lies inside a
    n_relax: np.ndarray
    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    kernel: np.ndarray       # mean precession per star in the shell, radians per orbit [O2]

    @staticmethod
    def build(m: ClusterModel) -> Shells:
        o, k = m.orbit, 3.0 - m.gamma
        edges = np.concatenate([np.geomspace(R_IN, 1.0, 40), np.geomspace(1.0, 1 + o.e, SHELLS - 38)[1:]])
        lo, hi = edges[:-1], edges[1:]
        frac = hi**k - lo**k                                   # share of the cusp's M(<a) in each shell
        mid = np.sqrt(lo * hi) * o.a_au
        t_rlx = m.t_relax_gyr * YR_PER_GYR * (mid / o.a_au) ** (m.gamma - 1.5)    # [C1]
        n_relax = m.m_relax / m.m_star * frac
        volume = 4 * np.pi / 3 * o.a_au**3 * (hi**3 - lo**3)
        C = sigma_v_destructive(mid, m) / volume if m.collisions else np.zeros_like(mid)   # [C3]
        A = n_relax / t_rlx + m.capture_rate * frac                                         # [C1] + [C2]
        u = (np.arange(32) + 0.5) / 32                                                      # radii within a shell ~ M(<r)
        radii = (lo[:, None] ** k + u[None, :] * frac[:, None]) ** (1 / k) * o.a_au
        kernel = shell_precession(radii, m.m_star, o).mean(axis=1)
        return Shells(edges, mid, hi <= 1.0 + 1e-12, n_relax, A, 1.0 / t_rlx, C, kernel)


def _riccati(A, B, C, n0, t):
    """Closed form of dN/dt = A − B N − C N² (per shell; t may be an array of times, last axis)."""
    D = np.sqrt(B * B + 4 * A * C)
    n_plus = np.where(C > 0, 2 * A / (B + D), A / B)          # the positive root, written stably
    y0 = (n0 - n_plus)[..., None]
    decay = np.exp(-D[..., None] * np.asarray(t, dtype=float))
    return n_plus[..., None] + y0 * D[..., None] * decay / (D[..., None] + C[..., None] * y0 * (1 - decay))


def shell_numbers(m: ClusterModel, times_yr) -> np.ndarray:
    """[C4] N_k(t) for every shell (shells × times), from the relaxed cusp at t = 0."""
    sh = m.shells
    return _riccati(sh.A, sh.B, sh.C, sh.n_relax, times_yr)


def summarise(m: ClusterModel, numbers: np.ndarray) -> dict:
    """Mass inside a (M☉) and f_SP [P3]+[O2] for shell numbers (shells × ...)."""
    sh = m.shells
    mass = m.m_star * np.tensordot(sh.inside_a.astype(float), numbers, axes=(0, 0))
    fsp = 1.0 + np.tensordot(sh.kernel, numbers, axes=(0, 0)) / schwarzschild_precession(m.orbit)
    return {"mass": mass, "fsp": fsp}


def evolve(m: ClusterModel, times_yr) -> dict:
    """[C4] Mass inside a and f_SP over time (deterministic)."""
    return {"t": np.asarray(times_yr, dtype=float), **summarise(m, shell_numbers(m, times_yr))}


def budget(m: ClusterModel, times_yr) -> dict:
    """Cumulative stars in and out by each process (trapezoid quadrature of the fluxes along the closed
    form), for the conservation check N(t) − N(0) = in − out."""
    sh = m.shells
    t = np.asarray(times_yr, dtype=float)
    nk = shell_numbers(m, t)

    def cum(rate):
        rate = np.broadcast_to(rate, t.shape)
        return np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(t))])

    captures = sh.A - sh.n_relax * sh.B
    return {"t": t, "n": nk.sum(axis=0), "in_relax": cum(np.sum(sh.n_relax * sh.B)), "in_capture": cum(np.sum(captures)),
            "out_relax": cum((sh.B[:, None] * nk).sum(axis=0)), "out_collisions": cum((sh.C[:, None] * nk**2).sum(axis=0))}


def at_age(m: ClusterModel) -> dict:
    """Mass inside a and f_SP at the model's age."""
    out = evolve(m, [m.age])
    return {"mass": float(out["mass"][0]), "fsp": float(out["fsp"][0])}


def threshold_capture_rate(m: ClusterModel, df: float = F_SP_ERROR) -> float:
    """The capture rate (per year) above which f_SP at the model's age falls below 1 − ``df``
    (bisection in log Γ; 0 if even Γ = 0 is below, inf if 0.1 per year stays above)."""
    def bad(rate):
        return at_age(m.with_(capture_rate=rate))["fsp"] < 1.0 - df

    if bad(0.0):
        return 0.0
    lo, hi = -14.0, -1.0
    if not bad(10**hi):
        return math.inf
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if bad(10**mid) else (mid, hi)
    return 10 ** (0.5 * (lo + hi))


# -- [C5] finite N ------------------------------------------------------------------------------------------


def simulate(m: ClusterModel, realisations: int, seed: int = 0, steps: int = 400, record: int = 81,
             progress=no_progress, cancel=None) -> dict:
    """[C5] Finite-N realisations: per step, survivors Binomial(N, e^{−h dt}) and surviving arrivals
    Poisson(A (1 − e^{−h dt})/h), with the hazard h = B + C (N − 1) frozen over the step (exact with
    collisions off). Returns times (yr), shell numbers at the end (realisations × shells) and the mass
    inside a and f_SP over time (realisations × record)."""
    rng = np.random.default_rng(seed)
    sh = m.shells
    dt = m.age / steps
    n = rng.poisson(np.broadcast_to(sh.n_relax, (realisations, sh.A.size))).astype(np.int64)
    keep = np.linspace(0, steps, record).round().astype(int)
    nums = np.zeros((record, realisations, sh.A.size))
    nums[0] = n
    j = 1
    for k in range(1, steps + 1):
        if k % 20 == 0:
            check_cancel(cancel)
            progress(k, steps, "finite-N realisations")
        h = sh.B + sh.C * np.maximum(n - 1, 0)
        survive = np.exp(-h * dt)
        n = rng.binomial(n, survive) + rng.poisson(sh.A * -np.expm1(-h * dt) / h)
        if j < record and k == keep[j]:
            nums[j] = n
            j += 1
    s = summarise(m, np.moveaxis(nums, 2, 0))
    return {"t": keep * dt, "mass": s["mass"].T, "fsp_smooth": s["fsp"].T, "n_final": n}


def realisation_fsp(m: ClusterModel, n_final: np.ndarray, seed: int = 0, cancel=None) -> np.ndarray:
    """[C6] f_SP = 1 + Σᵢ Δω(star i)/Δω_SP for finite-N clusters (realisations × shells), each star a
    thin shell at a radius drawn from the cusp's M(<r) ∝ r^{3−γ} inside its shell (a snapshot).
    ``cancel`` is checked once per realisation (a few ms each, ~10⁵ stars without collisions)."""
    rng = np.random.default_rng(seed)
    sh, k = m.shells, 3.0 - m.gamma
    lo, hi = sh.edges[:-1] ** k, sh.edges[1:] ** k
    sp = schwarzschild_precession(m.orbit)
    matter = sh.kernel != 0                                # shells wholly inside the pericentre do nothing
    out = np.empty(n_final.shape[0])
    for i, row in enumerate(n_final):
        check_cancel(cancel)
        idx = np.repeat(np.nonzero(matter)[0], row[matter])
        radii = (lo[idx] + rng.random(idx.size) * (hi[idx] - lo[idx])) ** (1 / k) * m.orbit.a_au
        out[i] = 1.0 + float(np.sum(shell_precession(radii, m.m_star, m.orbit))) / sp
    return out


def consistent_fraction(fsp: np.ndarray, df: float = F_SP_ERROR) -> float:
    """Fraction of realisations whose f_SP is at least 1 − ``df`` (the paper's criterion: the mass
    precession may move f_SP by no more than the 1σ error, 0.19)."""
    return float(np.mean(np.asarray(fsp) >= 1.0 - df))


def limit_for(m: ClusterModel, df: float = F_SP_ERROR) -> float:
    """The f_SP mass limit [P4] for this model's γ and orbit (for a pure power-law cusp)."""
    return float(mass_limit(m.gamma, df, m.orbit))
