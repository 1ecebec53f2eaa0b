"""``S2OrbitExplorer``: S2's orbit and precession against the mass inside it, and the cluster that mass
belongs to.

Top: the enclosed mass M(<a) and cusp slope γ sliders with the f_SP readout against GRAVITY's band,
the precession exaggeration and the star's orbital elements (S2 by default). Tabs: the orbit on the
sky and in its plane, animated over orbits (a ``Play`` drives the orbit index; every frame is a PNG);
f_SP against the enclosed mass; where along the orbit the precession accrues; a direct integration
that checks the analytic numbers; and the reconstructed cluster model with capture-rate and
collision switches and finite-N realisations. Everything shown is computed by ``deletionlab.s2orbit``
(``explore``, ``verify``, ``cluster``, ``report``); heavy parts run in background jobs.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.core.jobs import UserError
from deletionlab.s2orbit import DEFAULT_CAPTURE_RATE, DEFAULT_EXAGGERATION, DEFAULT_GAMMA, DEFAULT_MASS, DEFAULT_ORBITS
from deletionlab.s2orbit.explore import ClusterRun, Exploration, Settings, Verification, cluster, explore, validate, verify
from deletionlab.s2orbit.orbit import ARCMIN, F_SP_ERROR, F_SP_MEASURED, S2

from .common import JobBar, StudyRoot, claims_table, escape, source_line

#: GRAVITY 2020's f_SP band (low, high, label, colour)
GRAVITY_BAND = (F_SP_MEASURED - F_SP_ERROR, F_SP_MEASURED + F_SP_ERROR, "GRAVITY 2020 (1σ)", "tab:blue")
#: matplotlib's text layout (mathtext's parser for log-axis ticks) is not thread-safe; the explorer's jobs draw
#: in background threads while a notebook's next cell may draw a results view, so drawing is serialised
_DRAW_LOCK = threading.Lock()
INTRO = ("<div class='dl-muted' style='max-width:980px'>Move the mass inside S2's orbit and the cusp slope: the readout is the "
         "f_SP a fit without extended mass would report, against GRAVITY's 1.10 ± 0.19. ▶ animates the precession; the tabs show "
         "where it accrues, a direct integration and the cluster model.</div>")


class Chart(W.Image):
    """A matplotlib chart rendered to PNG: series (dicts with x, y, label, style, color), horizontal
    bands and lines, optional equal aspect and error bars. ``series`` keeps the plain data."""

    def __init__(self, title: str = "", xlabel: str = "", ylabel: str = "", width: float = 5.0, height: float = 3.4, **kwargs: Any):
        kwargs.setdefault("layout", W.Layout(width=f"{round(width * 100)}px", height="auto"))   # native size, never stretched
        super().__init__(format="png", **kwargs)
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.figsize = (width, height)
        self.series: list[dict] = []
        self.deferred = False
        self._pending: dict | None = None
        self.add_class("dl-chart")

    def draw(self, series: Sequence[dict], **options: Any) -> None:
        """Show ``series`` with ``options`` (bands, hlines, vlines: lists of tuples; equal, xscale, yscale,
        xlim, ylim, invert_x, legend). While ``deferred`` (its tab is hidden) only the data is kept and
        :meth:`reveal` renders it later."""
        self.series = [dict(s) for s in series]
        self._pending = options
        if not self.deferred:
            self.reveal()

    def reveal(self) -> None:
        """Render what is pending (and render at once from now on)."""
        self.deferred = False
        options, self._pending = self._pending, None
        if options is not None:
            with _DRAW_LOCK:
                self._draw(self.series, **options)

    def _draw(self, series, bands=(), hlines=(), vlines=(), equal=False, xscale=None, yscale=None, xlim=None, ylim=None,
              invert_x=False, legend="best") -> None:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from io import BytesIO

        from matplotlib.figure import Figure

        fig = Figure(figsize=self.figsize, dpi=100)
        ax = fig.add_subplot(111)
        for lo, hi, label, color in bands:
            ax.axhspan(lo, hi, color=color, alpha=0.18, label=label)
        for s in series:
            kw = dict(label=s.get("label"), color=s.get("color"), markersize=s.get("markersize", 4), linewidth=s.get("linewidth", 1.5),
                      alpha=s.get("alpha", 1.0))
            if "yerr" in s:
                ax.errorbar(s["x"], s["y"], yerr=s["yerr"], fmt=s.get("style", "o-"), capsize=3, **kw)
            else:
                ax.plot(s["x"], s["y"], s.get("style", "-"), **kw)
        for y, label in hlines:
            ax.axhline(y, color="grey", linestyle=":", linewidth=1)
            if label:
                ax.annotate(label, (1.0, y), xycoords=("axes fraction", "data"), fontsize=8, color="grey", ha="right", va="bottom")
        for x, label in vlines:
            ax.axvline(x, color="grey", linestyle=":", linewidth=1)
            if label:
                ax.annotate(label, (x, 1.0), xycoords=("data", "axes fraction"), fontsize=8, color="grey", ha="left", va="top", rotation=90)
        self._finish(ax, equal, xscale, yscale, xlim, ylim, invert_x, legend)
        fig.tight_layout()
        buf = BytesIO()
        fig.savefig(buf, format="png")
        self.value = buf.getvalue()

    def _finish(self, ax, equal, xscale, yscale, xlim, ylim, invert_x, legend) -> None:
        if xscale:
            ax.set_xscale(xscale)
        if yscale:
            ax.set_yscale(yscale)
        if xlim:
            ax.set_xlim(*xlim)
        if ylim:
            ax.set_ylim(*ylim)
        if equal:
            ax.set_aspect("equal", adjustable="box")
        if invert_x:
            ax.invert_xaxis()
        if legend and any(s.get("label") for s in self.series):
            ax.legend(fontsize=7, loc=legend)
        ax.set_title(self.title, fontsize=10)
        ax.set_xlabel(self.xlabel, fontsize=9)
        ax.set_ylabel(self.ylabel, fontsize=9)
        ax.grid(alpha=0.3)


def _number(w: W.Text, name: str) -> float:
    text = (w.value or "").strip()
    try:
        v = float(text.replace("−", "-"))
    except ValueError:
        raise UserError(f"{name} must be a number (got {text[:30]!r}).") from None
    if not math.isfinite(v):
        raise UserError(f"{name} must be a finite number (got {text[:30]!r}).")
    return v


def fsp_html(ex: Exploration) -> str:
    """The readout: f_SP, the precessions and the verdict against GRAVITY's band and the paper's limit."""
    s = ex.settings
    band = "inside" if ex.in_band else "outside"
    allowed = (f"<span style='color:#1b4332'>allowed</span> (f_SP ≥ {1 - s.df:.2f})" if ex.allowed
               else f"<span style='color:#b00020'>ruled out</span> (f_SP < {1 - s.df:.2f})")
    return (f"<div class='dl-fsp' style='font-size:1.05em'><b>f_SP = {ex.fsp:.3f}</b> — {band} GRAVITY's band "
            f"{F_SP_MEASURED:.2f} ± {F_SP_ERROR:.2f}; by the paper's criterion this cusp is {allowed}.<br>"
            f"<span class='dl-muted'>Δω_SP = {ex.sp * ARCMIN:+.2f}′, Δω_M = {ex.mass_prec * ARCMIN:+.2f}′ per orbit "
            f"(G(e, γ) = {ex.g:.3f}); limit for γ = {s.gamma:g}: {ex.limit:,.0f} M☉ inside a "
            f"({ex.limit_apocentre:,.0f} inside the apocentre).</span></div>")


def verification_html(v: Verification) -> str:
    rows = "".join(f"<tr><td style='text-align:left'>{escape(r['what'])}</td><td>{r['analytic']:+.4f}′</td><td>{r['integrated']:+.4f}′</td>"
                   f"<td>{r['relative']:+.2%}</td></tr>" for r in v.rows)
    return (f"<table class='dl-verify' style='border-collapse:collapse'><tr><th style='text-align:left'>precession per orbit</th>"
            f"<th>analytic</th><th>direct integration</th><th>difference</th></tr>{rows}</table>"
            f"<div class='dl-muted'>RK4 in regularised time, {v.steps} steps per orbit (accepted after halving the step changed "
            f"the result by < 0.1 %); a pure-Newton orbit drifts {v.newton_drift:.1e}′ per orbit and is subtracted; {v.seconds:.2f} s. "
            "The tests compare the same integrations with REBOUND + REBOUNDx.</div>")


def cluster_html(run: ClusterRun) -> str:
    s, w, wo = run.settings, run.final["with"], run.final["without"]
    need = 1 - s.df

    def verdict(x):
        return "<b style='color:#1b4332'>consistent</b>" if x["fsp"] >= need else "<b style='color:#b00020'>ruled out</b>"

    chosen, other = (w, wo) if s.collisions else (wo, w)
    txt = (f"<div class='dl-cluster-readout'>Γ_cap = {s.capture_rate:.1e} per year, collisions <b>{'on' if s.collisions else 'off'}</b>: "
           f"after {s.age_gyr:g} Gyr M(&lt;a) = <b>{chosen['mass']:,.0f} M☉</b>, f_SP = {chosen['fsp']:.2f} → {verdict(chosen)} "
           f"(needs ≥ {need:.2f}). With collisions {'off' if s.collisions else 'on'}: {other['mass']:,.0f} M☉, f_SP = {other['fsp']:.2f} → "
           f"{verdict(other)}.<br>Depletion is needed above Γ* = <b>{run.thresholds['without']:.1e}</b> per year; with collisions "
           f"the limit holds up to {run.thresholds['with']:.1e} per year.")
    if run.consistent is not None:
        txt += (f"<br>{len(run.realisation_fsp)} finite-N realisations: {run.consistent:.0%} consistent "
                f"(f_SP {np.mean(run.realisation_fsp):.3f} ± {np.std(run.realisation_fsp):.3f}).")
    return txt + "</div>"


class S2OrbitExplorer(StudyRoot):
    """The S2-orbit dashboard (``sync=True`` runs jobs in the calling thread, for tests)."""

    exploration = T.Any(None, allow_none=True)
    cluster_run = T.Any(None, allow_none=True)
    verification = T.Any(None, allow_none=True)

    def __init__(self, sync: bool = False, autorun: bool = True, realisations: int = 20) -> None:
        self._build_controls(realisations)
        self._build_views()
        header = W.VBox([W.HTML(INTRO), W.HBox([self.mass, self.gamma]), W.HBox([self.exaggeration, self.orbits]), self.fsp_readout,
                         self.elements, self.job])
        self.job.runner.sync = sync
        self.verify_job.runner.sync = sync
        self.cluster_job.runner.sync = sync
        super().__init__("s2orbit", [header, self.tabs])
        for w in (self.mass, self.gamma, self.exaggeration, self.orbits):
            w.observe(lambda _: self.start(), "value")
        for w in (self.capture, self.collisions, self.realisations):
            w.observe(lambda _: self.start_cluster(), "value")
        self.frame.observe(lambda _: self._draw_frame(), "value")
        self.apply_button.on_click(lambda _: self.start_all())
        self.reset_button.on_click(lambda _: self.reset_orbit())
        self.verify_button.on_click(lambda _: self.start_verify())
        self.cluster_button.on_click(lambda _: self.start_cluster())
        if autorun:
            self.start_all()

    # -- building -----------------------------------------------------------------------------------------
    def _build_controls(self, realisations: int) -> None:
        self.mass = W.FloatSlider(value=DEFAULT_MASS, min=0, max=6000, step=10, description="M(<a) [M☉]", continuous_update=False,
                                  readout_format=",.0f", style={"description_width": "90px"}, layout=W.Layout(width="430px"))
        self.mass.add_class("dl-mass")
        self.gamma = W.FloatSlider(value=DEFAULT_GAMMA, min=0, max=2.95, step=0.05, description="cusp slope γ", continuous_update=False,
                                   style={"description_width": "90px"}, layout=W.Layout(width="380px"))
        self.gamma.add_class("dl-gamma")
        self.exaggeration = W.SelectionSlider(options=[1, 10, 30, 100, 300, 1000], value=DEFAULT_EXAGGERATION,
                                              description="exaggerate ×", continuous_update=False, style={"description_width": "90px"})
        self.orbits = W.IntSlider(value=DEFAULT_ORBITS, min=1, max=30, description="orbits", continuous_update=False)
        self.fsp_readout = W.HTML("")
        self.e_text = W.Text(f"{S2.e:g}", description="e", layout=W.Layout(width="200px"))
        self.a_text = W.Text(f"{S2.a_au:.1f}", description="a [AU]", layout=W.Layout(width="200px"))
        self.mbh_text = W.Text(f"{S2.mass:.4g}", description="M• [M☉]", layout=W.Layout(width="220px"))
        for w, cls in ((self.e_text, "dl-e"), (self.a_text, "dl-a"), (self.mbh_text, "dl-mbh")):
            w.add_class(cls)
        self.apply_button = W.Button(description="Apply", icon="check")
        self.reset_button = W.Button(description="Reset to S2", icon="undo")
        self.elements = W.Accordion([W.HBox([self.e_text, self.a_text, self.mbh_text, self.apply_button, self.reset_button])])
        self.elements.set_title(0, "The star's orbit (S2, GRAVITY 2020)")
        self.job = JobBar()
        self.capture = W.FloatLogSlider(value=DEFAULT_CAPTURE_RATE, base=10, min=-8, max=-4, step=0.05, description="Γ_cap [/yr]",
                                        continuous_update=False, readout_format=".1e", layout=W.Layout(width="420px"))
        self.capture.add_class("dl-capture")
        self.collisions = W.ToggleButtons(options=[("collisions on", True), ("collisions off", False)], value=True,
                                          description="destructive", tooltips=["stars colliding faster than 618 km/s are destroyed",
                                                                               "no collisions"])
        self.collisions.add_class("dl-collisions")
        self.realisations = W.Dropdown(options=[("no finite-N runs", 0), ("20 realisations", 20), ("100 realisations", 100)],
                                       value=realisations, description="finite N")
        self.m_relax_text = W.Text("500", description="M_rlx [M☉]", layout=W.Layout(width="200px"))
        self.t_relax_text = W.Text("1", description="t_rlx [Gyr]", layout=W.Layout(width="200px"))
        self.age_text = W.Text("10", description="age [Gyr]", layout=W.Layout(width="200px"))
        self.cluster_button = W.Button(description="Run cluster model", icon="play")
        self.verify_button = W.Button(description="Verify by direct integration", icon="calculator", button_style="primary",
                                      layout=W.Layout(width="260px"))
        self.verify_button.add_class("dl-verify-button")
        self.verify_job = JobBar()
        self.cluster_job = JobBar()

    def _build_views(self) -> None:
        self.sky = Chart("S2 on the sky (east to the left)", "ΔRA [mas]", "ΔDec [mas]", width=4.6, height=4.6)
        self.sky.add_class("dl-sky")
        self.plane = Chart("in the orbital plane", "x [AU]", "y [AU]", width=4.6, height=4.6)
        self.plane.add_class("dl-plane")
        self.frame = W.IntSlider(value=0, min=0, max=DEFAULT_ORBITS, description="orbit", continuous_update=True)
        self.frame.add_class("dl-frame")
        self.play = W.Play(value=0, min=0, max=DEFAULT_ORBITS, step=1, interval=1000, description="precess")
        W.jslink((self.play, "value"), (self.frame, "value"))
        self.frame_note = W.HTML("")
        self.fsp_chart = Chart("f_SP a fit without extended mass reports", "M(<a) [M☉]", "f_SP", width=6.4, height=3.8)
        self.fsp_chart.add_class("dl-fsp-chart")
        self.accrual = Chart("where along the orbit the precession accrues", "time from pericentre [orbits] (apocentre at ±0.5)",
                             "cumulative Δω [arcmin]", width=5.6, height=3.6)
        self.accrual.add_class("dl-accrual")
        self.kernel = Chart("which radii move the pericentre", "radius r [AU]", "Δω per AU of radius [arcmin/AU]", width=5.2, height=3.6)
        self.verify_table = W.HTML("<i>Press the button: our integrator measures the precessions from the orbit itself.</i>")
        self.mass_time = Chart("mass inside S2's orbit", "time [Gyr]", "M(<a) [M☉]", width=5.0, height=3.4)
        self.mass_time.add_class("dl-cluster-plot")
        self.fsp_time = Chart("f_SP the cluster would cause", "time [Gyr]", "f_SP", width=5.0, height=3.4)
        self.steady = Chart("mass inside a after the age vs capture rate", "Γ_cap [per year]", "M(<a) [M☉]", width=5.0, height=3.4)
        self.cluster_text = W.HTML("")
        self.cluster_text.add_class("dl-cluster-text")
        orbit_tab = W.VBox([W.HBox([self.sky, self.plane]), W.HBox([self.play, self.frame, self.frame_note])])
        fsp_tab = W.VBox([self.fsp_chart, W.HTML(
            "<div class='dl-muted' style='max-width:640px'>A cusp ρ ∝ r^−γ holding M(&lt;a) inside S2's semi-major axis turns the "
            "pericentre backwards by 2π (M(&lt;a)/M•) G(e, γ) per orbit; a fit that ignores it reads f_SP = 1 + Δω_M/Δω_SP. "
            "Shaded: GRAVITY 2020's 1.10 ± 0.19; dotted: the paper's criterion f_SP ≥ 0.81.</div>")])
        accrual_tab = W.VBox([W.HBox([self.accrual, self.kernel]), W.HTML(
            "<div class='dl-muted' style='max-width:980px'>Left: osculating argument of pericentre from Gauss's equation along one "
            "orbit. The Schwarzschild term turns the orbit almost entirely during the few months around pericentre; the cusp's pull "
            "acts on the apocentre half. Right: the precession contributed by the cusp's mass at each radius (a thin shell inside "
            "the pericentre acts like a point mass, one outside the apocentre not at all).</div>")])
        verify_tab = W.VBox([W.HBox([self.verify_button, self.verify_job]), self.verify_table])
        model = W.Accordion([W.VBox([W.HBox([self.m_relax_text, self.t_relax_text, self.age_text, self.cluster_button]), W.HTML(
            "<div class='dl-muted'>Reconstructed parameters: M_rlx is the mass relaxation alone keeps inside a, t_rlx the relaxation "
            "time at a. See the notebook for how the verdicts move with them.</div>")])])
        model.set_title(0, "model parameters (reconstructed)")
        cluster_tab = W.VBox([W.HBox([self.capture, self.collisions]), W.HBox([self.realisations]), model, self.cluster_job,
                              self.cluster_text, W.HBox([self.mass_time, self.fsp_time]), self.steady])
        self.tabs = W.Tab([orbit_tab, fsp_tab, accrual_tab, verify_tab, cluster_tab])
        for i, name in enumerate(["Orbit", "f_SP vs mass", "Where it accrues", "Direct integration", "Cluster"]):
            self.tabs.set_title(i, name)
        # charts render only while their tab shows (a hidden chart keeps its data and renders when revealed)
        self._tab_charts = {0: [self.sky, self.plane], 1: [self.fsp_chart], 2: [self.accrual, self.kernel],
                            4: [self.mass_time, self.fsp_time, self.steady]}
        self.tabs.observe(lambda ch: self._on_tab(ch["new"]), "selected_index")
        self._on_tab(0)

    def _on_tab(self, index: int | None) -> None:
        for i, charts in self._tab_charts.items():
            for chart in charts:
                if i == index:
                    chart.reveal()
                else:
                    chart.deferred = True

    # -- input ----------------------------------------------------------------------------------------------
    def settings(self) -> Settings:
        """The controls as :class:`Settings` (text fields must hold numbers; ranges are checked by ``validate``)."""
        return Settings(mass=float(self.mass.value), gamma=float(self.gamma.value), e=_number(self.e_text, "Eccentricity e"),
                        a_au=_number(self.a_text, "Semi-major axis a"), m_bh=_number(self.mbh_text, "Black-hole mass M•"),
                        exaggeration=float(self.exaggeration.value), orbits=int(self.orbits.value), capture_rate=float(self.capture.value),
                        collisions=bool(self.collisions.value), realisations=int(self.realisations.value),
                        m_relax=_number(self.m_relax_text, "Relaxation-fed mass M_rlx"),
                        t_relax_gyr=_number(self.t_relax_text, "Relaxation time t_rlx"), age_gyr=_number(self.age_text, "Age"))

    def _checked(self, bar: JobBar) -> Settings | None:
        s = bar.attempt(lambda: validate(self.settings()))
        if s is None:
            self.fsp_readout.value = "<div class='dl-fsp dl-muted'>f_SP: — (fix the input named in the error line)</div>"
        return s

    # -- running --------------------------------------------------------------------------------------------
    def start_all(self) -> None:
        """Recompute the orbit views and the cluster model (after the orbit changed)."""
        self.start()
        self.start_cluster()

    def start(self) -> None:
        """Validate and recompute the orbit, f_SP and accrual views (milliseconds, in a job)."""
        s = self._checked(self.job)
        if s is not None:
            self.job.run(explore, s, on_result=self._show, name="Orbit")

    def start_verify(self) -> None:
        s = self._checked(self.verify_job)
        if s is not None:
            self.verify_job.run(verify, s, on_result=self._show_verify, on_error=lambda _: self._clear_verify(), name="Integration")

    def start_cluster(self) -> None:
        s = self._checked(self.cluster_job)
        if s is not None:
            self.cluster_job.run(cluster, s, on_result=self._show_cluster, name="Cluster model")

    def reset_orbit(self) -> None:
        self.e_text.value, self.a_text.value, self.mbh_text.value = f"{S2.e:g}", f"{S2.a_au:.1f}", f"{S2.mass:.4g}"
        self.start_all()

    # -- showing --------------------------------------------------------------------------------------------
    def _show(self, ex: Exploration) -> None:
        self.exploration = ex
        self.fsp_readout.value = fsp_html(ex)
        lo = 1 - ex.settings.df
        self.fsp_chart.draw(ex.fsp_series, bands=[GRAVITY_BAND], hlines=[(1.0, "GR"), (lo, f"f_SP = {lo:.2f}")],
                            vlines=[(ex.limit, f"limit {ex.limit:,.0f} M☉")], legend="lower left")
        self.accrual.draw(ex.accrual_series, vlines=[(0.0, "pericentre")], legend="upper left")
        self.kernel.draw(ex.kernel_series, vlines=[(ex.settings.a_au, "a")], legend="lower right")
        n = len(ex.frames_plane) - 1
        self.play.max = self.frame.max = n
        if self.frame.value > n:
            self.frame.value = n
        self._draw_frame()
        if self.verification is not None:
            self._clear_verify()

    def _draw_frame(self) -> None:
        ex = self.exploration
        if ex is None:
            return
        k = min(self.frame.value, len(ex.frames_plane) - 1)
        for chart, frames, origin in ((self.sky, ex.frames_sky, "Sgr A*"), (self.plane, ex.frames_plane, "M•")):
            series = [dict(x=x, y=y, style="-", color="tab:blue", alpha=0.25, linewidth=0.8) for x, y in frames[:k]]
            x, y = frames[k]
            series += [dict(x=x, y=y, style="-", color="tab:blue", linewidth=2, label=f"orbit {k}"),
                       dict(x=[x[0]], y=[y[0]], style="o", color="tab:red", markersize=6, label="pericentre"),
                       dict(x=[0], y=[0], style="+", color="black", markersize=10, label=origin)]
            xs = np.concatenate([np.asarray(f[0]) for f in frames])
            ys = np.concatenate([np.asarray(f[1]) for f in frames])
            pad = 0.06 * max(np.ptp(xs), np.ptp(ys))
            chart.draw(series, equal=True, xlim=(xs.min() - pad, xs.max() + pad), ylim=(ys.min() - pad, ys.max() + pad),
                       invert_x=chart is self.sky, legend="lower right")
        total = (ex.sp + ex.mass_prec) * ARCMIN
        self.frame_note.value = (f"<span class='dl-muted'>orbit {k}: pericentre turned by {k * total:+.1f}′ in {k} orbits "
                                 f"({k * ex.settings.orbit.kepler_period_yr:.0f} yr); drawn × {ex.settings.exaggeration:g}.</span>")

    def _show_verify(self, v: Verification) -> None:
        self.verification = v
        self.verify_table.value = verification_html(v)

    def _clear_verify(self) -> None:
        self.verification = None
        self.verify_table.value = "<i>The settings changed (or the integration failed): press the button to integrate again.</i>"

    def _show_cluster(self, run: ClusterRun) -> None:
        self.cluster_run = run
        self.cluster_text.value = cluster_html(run)
        lo = 1 - run.settings.df
        extra = [dict(s, alpha=0.35, linewidth=0.7) for s in run.realisation_series]
        self.mass_time.draw(extra + run.time_series, hlines=[(run.limit, f"limit for a γ = {run.settings.gamma:g} cusp")],
                            yscale="log", legend="lower right")
        self.fsp_time.draw(run.fsp_time_series, bands=[GRAVITY_BAND], hlines=[(lo, f"{lo:.2f}")], legend="lower left")
        self.steady.draw(run.steady_series, hlines=[(run.limit, "limit")], vlines=[(run.settings.capture_rate, "Γ_cap")],
                         xscale="log", yscale="log", legend="upper left")


# -- results view ------------------------------------------------------------------------------------------------


def threshold_series(results: dict, df: float = 0.19) -> list[dict]:
    """Capture-rate thresholds against γ, with and without collisions (for the results chart)."""
    table = [t for t in results["thresholds"]["table"] if abs(t["df"] - df) < 1e-9]
    g = [t["gamma"] for t in table]
    return [dict(x=g, y=[t["without"] for t in table], label="without collisions", style="o-", color="tab:orange"),
            dict(x=g, y=[t["with"] for t in table], label="with collisions", style="s-", color="tab:green")]


def finite_n_series(results: dict) -> list[dict]:
    """Fraction of finite-N realisations consistent with f_SP against Γ/Γ*, with 95 % Wilson intervals."""
    from deletionlab.s2orbit.report import wilson

    out = []
    for coll, label, colour in ((False, "without collisions", "tab:orange"), (True, "with collisions", "tab:green")):
        rows = [r for r in results["finite_n"] if r["collisions"] == coll]
        iv = [wilson(r["k"], r["n"]) for r in rows]
        p = [r["k"] / r["n"] for r in rows]
        err = [[a - lo for a, (lo, _) in zip(p, iv)], [hi - a for a, (_, hi) in zip(p, iv)]]
        out.append(dict(x=[r["factor"] for r in rows], y=p, yerr=err, label=label, style="o-", color=colour))
    return out


class S2OrbitResultsView(W.VBox):
    """The committed results (``scripts/s2orbit_experiment.py``) with the paper's claims."""

    def __init__(self, results: dict) -> None:
        from deletionlab.s2orbit.report import compare

        self.rows = compare(results)
        th = Chart("capture rate above which f_SP < 0.81", "cusp slope γ", "Γ* [per year]", width=5.0, height=3.4)
        th.draw(threshold_series(results), yscale="log", bands=[(1e-6, 1e-5, "paper: a few × 10⁻⁶", "grey")], legend="center right")
        fn = Chart("finite-N realisations consistent with f_SP", "Γ_cap / Γ* (no collisions)", "fraction consistent", width=5.0, height=3.4)
        fn.draw(finite_n_series(results), xscale="log", ylim=(-0.05, 1.05), legend="center left")
        self.charts = [th, fn]
        super().__init__([W.HTML(source_line(results.get("made_by")) + claims_table(self.rows)), W.HBox(self.charts)])
        self.add_class("dl-s2orbit-results")
