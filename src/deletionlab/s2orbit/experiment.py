"""The committed measurement: precession numbers, their check by direct integration (ours and REBOUND),
and the reconstructed cluster model's capture-rate thresholds with finite-N realisations.

``run_experiment(ExperimentConfig())`` returns a JSON-able dict; ``scripts/s2orbit_experiment.py``
writes it to ``assets/s2orbit/results.json`` and :mod:`.report` turns it into verdicts. Uncertainty:
the integrations carry their step-halving error and REBOUND's independent answer; the thresholds carry
their spread over the reconstructed parameters; the finite-N fractions carry binomial standard errors
over seeded realisations, paired (the same seed with and without collisions).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from deletionlab.core import check_cancel, has_package, no_progress
from deletionlab.s2orbit import cluster as cl
from deletionlab.s2orbit.integrate import integrate_precession, rebound_precession
from deletionlab.s2orbit.orbit import (
    ARCMIN,
    AU_PER_PC,
    KMS,
    S2,
    g_closed_form,
    g_factor,
    mass_limit,
    mass_precession,
    schwarzschild_precession,
)


@dataclass(frozen=True)
class ExperimentConfig:
    """What the experiment measures (``small()`` for CI)."""

    gammas: tuple = (1.0, 1.25, 1.5, 1.75, 2.0)
    masses: tuple = (300.0, 1000.0, 3000.0)
    dfs: tuple = (0.09, 0.19, 0.28, 0.38)          # allowed shifts of f_SP: (1.10−1σ), 1σ, (1.10−1σ… 2σ), 2σ
    cluster_gammas: tuple = (1.0, 1.5, 1.75)
    t_relax_gyr: tuple = (0.3, 1.0, 3.0)
    m_relax: tuple = (0.0, 250.0, 500.0, 1000.0)
    r_star: tuple = (0.5, 1.0, 2.0)
    rate_factors: tuple = (0.5, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 10.0)   # Γ / Γ*(no collisions)
    realisations: int = 400
    seed: int = 0
    rebound: bool = True

    @classmethod
    def small(cls) -> ExperimentConfig:
        return cls(gammas=(1.0, 1.75), masses=(1000.0,), dfs=(0.19,), cluster_gammas=(1.75,), t_relax_gyr=(1.0,),
                   m_relax=(500.0,), r_star=(1.0,), rate_factors=(0.5, 1.0, 2.0), realisations=30, rebound=False)


def _limit(gamma: float, df: float) -> dict:
    inside = float(mass_limit(gamma, df))
    return {"inside_a": inside, "inside_apocentre": inside * (1 + S2.e) ** (3 - gamma)}


def _precession_table(cfg: ExperimentConfig) -> dict:
    sp = schwarzschild_precession(S2)
    gs = sorted(set(cfg.gammas) | {1.0, 1.5, 1.75, 2.0})
    return {
        "orbit": {"a_au": S2.a_au, "e": S2.e, "m_bh": S2.mass, "pericentre_au": S2.pericentre_au, "apocentre_au": S2.apocentre_au},
        "schwarzschild_arcmin": sp * ARCMIN,
        "g": {f"{g:g}": float(g_factor(S2.e, g)) for g in gs},
        "g_closed": {"1": g_closed_form(S2.e, 1), "2": g_closed_form(S2.e, 2)},
        "limits": {f"{df:g}": {f"{g:g}": _limit(g, df) for g in gs} for df in sorted(set(cfg.dfs) | {0.19})},
    }


def _integration_table(cfg: ExperimentConfig, progress, cancel) -> dict:
    grid = [(m, g) for g in cfg.gammas for m in cfg.masses]
    res = integrate_precession(S2, [m for m, _ in grid], [g for _, g in grid], "none", steps=1000, progress=progress, cancel=cancel)
    rows = []
    for (m, g), v, err in zip(grid, res.precession, res.error_estimate):
        an = float(mass_precession(m, g))
        row = {"mass": m, "gamma": g, "analytic_arcmin": an * ARCMIN, "ours_arcmin": float(v) * ARCMIN,
               "ours_error_arcmin": float(err) * ARCMIN, "ours_vs_analytic": float(v / an - 1)}
        if cfg.rebound and has_package("rebound") and has_package("reboundx"):
            check_cancel(cancel)
            rb = rebound_precession(S2, m, g, gr="none")
            row.update(rebound_arcmin=rb * ARCMIN, rebound_vs_analytic=rb / an - 1, ours_vs_rebound=float(v) / rb - 1)
        rows.append(row)
    sp = schwarzschild_precession(S2)
    gr = integrate_precession(S2, [0.0, 0.0], 1.0, ["potential", "1pn"], progress=progress, cancel=cancel)
    sp_rows = []
    for model, v in zip(("potential", "1pn"), gr.precession):
        row = {"model": model, "analytic_arcmin": sp * ARCMIN, "ours_arcmin": float(v) * ARCMIN, "ours_vs_analytic": float(v / sp - 1)}
        if cfg.rebound and has_package("rebound") and has_package("reboundx"):
            rb = rebound_precession(S2, 0.0, 1.0, gr=model)
            row.update(rebound_arcmin=rb * ARCMIN, ours_vs_rebound=float(v) / rb - 1)
        sp_rows.append(row)
    return {"cusp": rows, "schwarzschild": sp_rows, "steps": res.steps, "newton_drift_arcmin": res.newton_drift * ARCMIN,
            "rebound": bool(cfg.rebound and has_package("rebound") and has_package("reboundx"))}


def _thresholds(cfg: ExperimentConfig, cancel) -> dict:
    """Γ* above which f_SP at the age falls below 1 − Δf, with and without collisions, per γ and Δf,
    and its sensitivity to the reconstructed parameters (one changed at a time, at γ = 1.75, Δf = 0.19)."""
    base = cl.ClusterModel()
    table = []
    for g in cfg.cluster_gammas:
        for df in cfg.dfs:
            check_cancel(cancel)
            m = base.with_(gamma=g)
            table.append({"gamma": g, "df": df, "limit": float(mass_limit(g, df)),
                          "without": cl.threshold_capture_rate(m.with_(collisions=False), df),
                          "with": cl.threshold_capture_rate(m.with_(collisions=True), df)})
    sens = []
    for name, values in (("t_relax_gyr", cfg.t_relax_gyr), ("m_relax", cfg.m_relax), ("r_star", cfg.r_star)):
        for v in values:
            m = base.with_(**{name: v})
            sens.append({"parameter": name, "value": v, "without": cl.threshold_capture_rate(m.with_(collisions=False)),
                         "with": cl.threshold_capture_rate(m.with_(collisions=True))})
    return {"model": {k: v for k, v in asdict(base).items() if k != "orbit"}, "table": table, "sensitivity": sens,
            "scales": {"escape_speed_kms": cl.escape_speed(base) / KMS, "destructive_radius_pc": cl.destructive_radius_au(base) / AU_PER_PC,
                       "inner_edge_au": cl.R_IN * S2.a_au}}


def _finite_n(cfg: ExperimentConfig, threshold: float, progress, cancel) -> list[dict]:
    """Seeded finite-N realisations at capture rates around the no-collision threshold, paired: the same
    seed with and without collisions."""
    base = cl.ClusterModel()
    rows = []
    for i, factor in enumerate(cfg.rate_factors):
        rate = threshold * factor
        pair = {}
        for coll in (False, True):
            m = base.with_(capture_rate=rate, collisions=coll)
            sim = cl.simulate(m, cfg.realisations, seed=cfg.seed + i, cancel=cancel)
            fsp = cl.realisation_fsp(m, sim["n_final"], seed=cfg.seed + i)
            pair[coll] = fsp >= 1 - 0.19
            rows.append({"factor": factor, "rate": rate, "collisions": coll, "n": len(fsp), "k": int(pair[coll].sum()),
                         "fsp_mean": float(fsp.mean()), "fsp_std": float(fsp.std(ddof=1)), "mass_mean": float(sim["mass"][:, -1].mean()),
                         "mass_std": float(sim["mass"][:, -1].std(ddof=1)), "deterministic_fsp": cl.at_age(m)["fsp"]})
        rows[-1]["paired_only_with"] = int(np.sum(pair[True] & ~pair[False]))
        rows[-1]["paired_only_without"] = int(np.sum(pair[False] & ~pair[True]))
        progress(i + 1, len(cfg.rate_factors), f"finite N at {factor:g} × threshold")
    return rows


def run_experiment(cfg: ExperimentConfig = ExperimentConfig(), *, progress=no_progress, cancel=None) -> dict:
    """The whole measurement as a JSON-able dict (see the module docstring)."""
    t0 = time.perf_counter()
    out = {"config": asdict(cfg), "precession": _precession_table(cfg)}
    progress(0, 3, "integration")
    out["integration"] = _integration_table(cfg, no_progress, cancel)
    progress(1, 3, "thresholds")
    out["thresholds"] = _thresholds(cfg, cancel)
    default = next(r for r in out["thresholds"]["table"] if r["gamma"] == 1.75 and r["df"] == 0.19)
    progress(2, 3, "finite N")
    out["finite_n"] = _finite_n(cfg, default["without"], no_progress, cancel)
    out["seconds"] = time.perf_counter() - t0
    progress(3, 3, "done")
    return out
