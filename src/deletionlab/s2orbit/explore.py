"""What the S2 explorer shows, computed: settings, their checks, and three jobs.

* :func:`explore` (milliseconds): the orbit on the sky and in its plane with the precession
  exaggerated, f_SP against the enclosed mass with the GRAVITY band, and where along the orbit the
  precession accrues.
* :func:`verify` (about a second): the same precessions by direct integration (our integrator).
* :func:`cluster` (a second or two): the reconstructed cluster model over time with and without
  destructive collisions, the steady state against the capture rate, and finite-N realisations.
* :func:`shared_verify` and :func:`shared_cluster`: the same two through the result cache that every
  kernel on the machine shares (``deletionlab.core.cache``), keyed by only the settings each depends
  on, so a class computes the dashboard's default cluster run once. :func:`explore` is not cached:
  it takes milliseconds, and every slider position would leave a file behind.

Every chart's data is a plain list of series dicts (``x``, ``y``, ``label``, ``style``), easy to hand to
another plotting library.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from deletionlab.core import UserError, check_cancel, no_progress
from deletionlab.core.cache import cached
from deletionlab.s2orbit import DEFAULT_CAPTURE_RATE, DEFAULT_EXAGGERATION, DEFAULT_GAMMA, DEFAULT_MASS, DEFAULT_ORBITS
from deletionlab.s2orbit import cluster as cl
from deletionlab.s2orbit.integrate import integrate_precession
from deletionlab.s2orbit.orbit import (
    ARCMIN,
    F_SP_ERROR,
    F_SP_MEASURED,
    S2,
    Orbit,
    f_sp,
    g_factor,
    mass_limit,
    mass_precession,
    plane_positions,
    precession_along_orbit,
    schwarzschild_precession,
    shell_precession,
    sky_positions,
    validate_cusp,
    validate_orbit,
)

#: slopes drawn next to the chosen one in the f_SP chart (the paper's range and the log limit)
REFERENCE_GAMMAS = (1.0, 1.5, 1.75, 2.0)
#: one colour per reference slope, whichever slope is chosen (black); none of the study's other
#: meanings (blue: the orbit / Schwarzschild, red: the cusp, green/orange: with/without collisions)
REFERENCE_COLORS = {1.0: "tab:purple", 1.5: "tab:brown", 1.75: "tab:cyan", 2.0: "tab:pink"}
#: capture rates of the steady-state chart (per year)
RATE_GRID = np.geomspace(1e-8, 1e-4, 33)


@dataclass(frozen=True)
class Settings:
    """What the explorer's controls set (defaults: S2 and a cusp at about the paper's limit)."""

    mass: float = DEFAULT_MASS                 # M(<a), M☉
    gamma: float = DEFAULT_GAMMA
    e: float = S2.e
    a_au: float = S2.a_au
    m_bh: float = S2.mass
    exaggeration: float = DEFAULT_EXAGGERATION
    orbits: int = DEFAULT_ORBITS
    df: float = F_SP_ERROR                     # allowed shift of f_SP [P4]
    # cluster model
    capture_rate: float = DEFAULT_CAPTURE_RATE
    collisions: bool = True
    realisations: int = 0
    m_relax: float = cl.ClusterModel.m_relax
    t_relax_gyr: float = cl.ClusterModel.t_relax_gyr
    age_gyr: float = cl.ClusterModel.age_gyr
    seed: int = 0

    @property
    def orbit(self) -> Orbit:
        return S2.with_(e=self.e, a_au=self.a_au, m_bh=self.m_bh)

    @property
    def model(self) -> cl.ClusterModel:
        return cl.ClusterModel(gamma=self.gamma, capture_rate=self.capture_rate, collisions=self.collisions,
                               m_relax=self.m_relax, t_relax_gyr=self.t_relax_gyr, age_gyr=self.age_gyr, orbit=self.orbit)


def validate(s: Settings) -> Settings:
    """Raise :class:`UserError` with one sentence naming the field and its range."""
    validate_orbit(s.orbit)
    validate_cusp(s.mass, s.gamma)
    if not math.isfinite(s.exaggeration) or not 1 <= s.exaggeration <= 10_000:
        raise UserError(f"Exaggeration must be from 1 to 10000 (got {s.exaggeration:g}).")
    if not 1 <= int(s.orbits) <= 50:
        raise UserError(f"Orbits must be a whole number from 1 to 50 (got {s.orbits}).")
    if not math.isfinite(s.df) or not 0.01 <= s.df <= 1:
        raise UserError(f"Allowed shift of f_SP must be from 0.01 to 1 (got {s.df:g}).")
    if not 0 <= int(s.realisations) <= 1000:
        raise UserError(f"Realisations must be a whole number from 0 to 1000 (got {s.realisations}).")
    cl.validate_model(s.model)
    return s


@dataclass
class Exploration:
    """The cheap views: numbers for the readout and the chart series."""

    settings: Settings
    sp: float                  # Δω_SP, radians per orbit
    mass_prec: float           # Δω_M
    g: float
    fsp: float
    limit: float               # M(<a) allowed for this γ and Δf
    limit_apocentre: float
    frames_plane: list = field(default_factory=list)   # per orbit: (x, y) arrays in AU
    frames_sky: list = field(default_factory=list)     # per orbit: (east, north) arrays in mas
    fsp_series: list = field(default_factory=list)
    accrual_series: list = field(default_factory=list)
    kernel_series: list = field(default_factory=list)

    @property
    def in_band(self) -> bool:
        """Whether f_SP is inside GRAVITY's 1σ band (1.10 ± 0.19)."""
        return abs(self.fsp - F_SP_MEASURED) <= F_SP_ERROR

    @property
    def allowed(self) -> bool:
        """The paper's criterion: the mass moves f_SP by no more than Δf below GR."""
        return self.fsp >= 1.0 - self.settings.df


def _fsp_series(s: Settings, orbit: Orbit, limit: float) -> list[dict]:
    top = max(3 * limit, 1.5 * s.mass, 100.0)
    masses = np.linspace(0, top, 121)
    # "gamma" names each curve's slope (a dashboard that is clicked on a curve moves the γ slider there)
    out = [dict(x=masses.tolist(), y=np.atleast_1d(f_sp(masses, g, orbit)).tolist(), label=f"γ = {g:g}", style="-", gamma=g,
                color=REFERENCE_COLORS[g])
           for g in REFERENCE_GAMMAS if abs(g - s.gamma) > 1e-9]
    out.append(dict(x=masses.tolist(), y=np.atleast_1d(f_sp(masses, s.gamma, orbit)).tolist(), label=f"γ = {s.gamma:g} (chosen)",
                    style="-", color="black", gamma=s.gamma))
    out.append(dict(x=[s.mass], y=[float(f_sp(s.mass, s.gamma, orbit))], label="this cusp", style="o", color="tab:red", markersize=8))
    return out


def _frames(s: Settings, orbit: Orbit, per_orbit: float) -> tuple[list, list]:
    f = np.linspace(0, 2 * np.pi, 361)
    plane, sky = [], []
    for k in range(int(s.orbits) + 1):
        shift = k * per_orbit * s.exaggeration
        x, y = plane_positions(orbit, f, shift)
        e_, n_ = sky_positions(orbit, f, shift)
        plane.append((x.tolist(), y.tolist()))
        sky.append((e_.tolist(), n_.tolist()))
    return plane, sky


def _accrual_series(s: Settings, orbit: Orbit) -> tuple[list, list]:
    d = precession_along_orbit(orbit, s.mass, s.gamma)
    accrual = [dict(x=d["phase"].tolist(), y=(d["sp"] * ARCMIN).tolist(), label="Schwarzschild (1PN)", style="-", color="tab:blue"),
               dict(x=d["phase"].tolist(), y=(d["mass"] * ARCMIN).tolist(), label=f"cusp, {s.mass:g} M☉ inside a", style="-",
                    color="tab:red"),
               dict(x=d["phase"].tolist(), y=((d["sp"] + d["mass"]) * ARCMIN).tolist(), label="both", style="--", color="black")]
    radii = np.linspace(orbit.pericentre_au, orbit.apocentre_au, 400)[1:-1]
    k = 3.0 - s.gamma
    dm_dr = s.mass * k * (radii / orbit.a_au) ** (k - 1) / orbit.a_au            # dM/dr of the cusp
    per_au = shell_precession(radii, dm_dr, orbit) * ARCMIN                        # arcmin per AU of radius
    kernel = [dict(x=radii.tolist(), y=per_au.tolist(), label="precession from mass at radius r", style="-", color="tab:red")]
    return accrual, kernel


def explore(s: Settings, *, progress=no_progress, cancel=None) -> Exploration:
    """The orbit, f_SP and where the precession accrues for these settings (milliseconds)."""
    validate(s)
    orbit = s.orbit
    check_cancel(cancel)
    sp = schwarzschild_precession(orbit)
    mp = float(mass_precession(s.mass, s.gamma, orbit))
    limit = float(mass_limit(s.gamma, s.df, orbit))
    progress(1, 3, "precession")
    plane, sky = _frames(s, orbit, sp + mp)
    check_cancel(cancel)
    progress(2, 3, "orbits")
    accrual, kernel = _accrual_series(s, orbit)
    progress(3, 3, "done")
    return Exploration(settings=s, sp=sp, mass_prec=mp, g=float(g_factor(orbit.e, s.gamma)), fsp=float(f_sp(s.mass, s.gamma, orbit)),
                       limit=limit, limit_apocentre=limit * (1 + orbit.e) ** (3 - s.gamma), frames_plane=plane, frames_sky=sky,
                       fsp_series=_fsp_series(s, orbit, limit), accrual_series=accrual, kernel_series=kernel)


# -- direct integration -------------------------------------------------------------------------------------


@dataclass
class Verification:
    rows: list[dict]           # what, analytic (arcmin), integrated (arcmin), relative difference
    steps: int
    newton_drift: float        # arcmin
    seconds: float


def verify(s: Settings, *, progress=no_progress, cancel=None) -> Verification:
    """Schwarzschild, cusp and combined precession per orbit, analytic [P1]/[P2] against our direct
    integration (gr_potential, 1PN, cusp force; see :mod:`.integrate`)."""
    validate(s)
    orbit = s.orbit
    sp = schwarzschild_precession(orbit)
    mp = float(mass_precession(s.mass, s.gamma, orbit))
    cases = [("Schwarzschild, GR potential", 0.0, "potential", sp), ("Schwarzschild, 1PN", 0.0, "1pn", sp)]
    if s.mass > 0:
        cases += [(f"cusp, {s.mass:g} M☉, γ = {s.gamma:g}", s.mass, "none", mp),
                  ("both (GR potential + cusp)", s.mass, "potential", sp + mp)]
    res = integrate_precession(orbit, [c[1] for c in cases], s.gamma, [c[2] for c in cases], progress=progress, cancel=cancel)
    rows = [{"what": c[0], "analytic": c[3] * ARCMIN, "integrated": float(v) * ARCMIN,
             "relative": float(v / c[3] - 1) if c[3] else float("nan")} for c, v in zip(cases, res.precession)]
    return Verification(rows=rows, steps=res.steps, newton_drift=res.newton_drift * ARCMIN, seconds=res.seconds)


# -- the cluster ----------------------------------------------------------------------------------------------


@dataclass
class ClusterRun:
    settings: Settings
    limit: float                       # M(<a) allowed by f_SP for a pure γ cusp
    final: dict                        # {"with": {...}, "without": {...}}: mass and f_SP at the age
    thresholds: dict                   # capture rate above which f_SP < 1 − Δf, with/without collisions
    time_series: list = field(default_factory=list)       # mass inside a over time (Gyr)
    fsp_time_series: list = field(default_factory=list)
    steady_series: list = field(default_factory=list)     # mass inside a at the age vs capture rate
    realisation_series: list = field(default_factory=list)
    consistent: float | None = None    # fraction of finite-N realisations with f_SP ≥ 1 − Δf
    realisation_fsp: list = field(default_factory=list)


def cluster(s: Settings, *, progress=no_progress, cancel=None) -> ClusterRun:
    """The reconstructed cluster model [C1]-[C6] for these settings (see :mod:`.cluster`)."""
    validate(s)
    base = s.model
    times = np.linspace(0, base.age, 201)
    gyr = (times / cl.YR_PER_GYR).tolist()
    out, series, fsp_series, steady = {}, [], [], []
    for coll, label, style in ((True, "with collisions", "-"), (False, "without collisions", "--")):
        m = base.with_(collisions=coll)
        ev = cl.evolve(m, times)
        colour = "tab:green" if coll else "tab:orange"
        series.append(dict(x=gyr, y=ev["mass"].tolist(), label=label, style=style if coll == s.collisions else ":", color=colour))
        fsp_series.append(dict(x=gyr, y=ev["fsp"].tolist(), label=label, style=style if coll == s.collisions else ":", color=colour))
        at = [cl.at_age(m.with_(capture_rate=float(g))) for g in RATE_GRID]
        steady.append(dict(x=RATE_GRID.tolist(), y=[a["mass"] for a in at], label=label, style="-", color=colour))
        out["with" if coll else "without"] = {"mass": float(ev["mass"][-1]), "fsp": float(ev["fsp"][-1]),
                                              "threshold": cl.threshold_capture_rate(m, s.df)}
        check_cancel(cancel)
    progress(1, 2, "deterministic model")
    run = ClusterRun(settings=s, limit=float(mass_limit(s.gamma, s.df, s.orbit)), final=out,
                     thresholds={k: v["threshold"] for k, v in out.items()}, time_series=series, fsp_time_series=fsp_series,
                     steady_series=steady)
    if s.realisations:
        sim = cl.simulate(base, int(s.realisations), seed=s.seed, progress=progress, cancel=cancel)
        run.realisation_series = [dict(x=(sim["t"] / cl.YR_PER_GYR).tolist(), y=row.tolist(), style="-", color="grey")
                                  for row in sim["mass"][:40]]
        fsp = cl.realisation_fsp(base, sim["n_final"], seed=s.seed, cancel=cancel)
        run.realisation_fsp = fsp.tolist()
        run.consistent = cl.consistent_fraction(fsp, s.df)
    progress(2, 2, "done")
    return run


# -- through the shared result cache ----------------------------------------------------------------------------

#: what the shared cache stores these runs under (``$DELETIONLAB_CACHE/results/s2orbit/``)
CACHE_NAMESPACE = "s2orbit"


def verify_settings(s: Settings) -> Settings:
    """``s`` with the fields :func:`verify` ignores set to their defaults (the cache key of a verification)."""
    return dataclasses.replace(s, exaggeration=DEFAULT_EXAGGERATION, orbits=DEFAULT_ORBITS, capture_rate=DEFAULT_CAPTURE_RATE,
                               collisions=True, realisations=0, m_relax=cl.ClusterModel.m_relax,
                               t_relax_gyr=cl.ClusterModel.t_relax_gyr, age_gyr=cl.ClusterModel.age_gyr, seed=0)


def cluster_settings(s: Settings) -> Settings:
    """``s`` with the fields :func:`cluster` ignores (the enclosed mass, the drawing) set to their defaults."""
    return dataclasses.replace(s, mass=DEFAULT_MASS, exaggeration=DEFAULT_EXAGGERATION, orbits=DEFAULT_ORBITS)


def shared_verify(s: Settings, *, progress=no_progress, cancel=None) -> Verification:
    """:func:`verify`, computed once per machine for these settings (later calls read the shared cache)."""
    key = verify_settings(validate(s))
    return cached(CACHE_NAMESPACE, ("verify", key), lambda: verify(key, progress=progress, cancel=cancel), cancel=cancel,
                  progress=progress)


def shared_cluster(s: Settings, *, progress=no_progress, cancel=None) -> ClusterRun:
    """:func:`cluster`, computed once per machine for these settings (later calls read the shared cache)."""
    key = cluster_settings(validate(s))
    return cached(CACHE_NAMESPACE, ("cluster", key), lambda: cluster(key, progress=progress, cancel=cancel), cancel=cancel,
                  progress=progress)
