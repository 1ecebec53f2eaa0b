"""``S2OrbitExplorer``: S2's orbit and precession against the mass inside it, and the cluster that mass
belongs to.

Top: the enclosed mass M(<a) and cusp slope γ sliders with the f_SP readout against GRAVITY's band,
the precession exaggeration and the star's orbital elements (S2 by default). Tabs: the orbit on the
sky and in its plane, animated over orbits (a ``Play`` drives the orbit index); f_SP against the
enclosed mass; where along the orbit the precession accrues; a direct integration that checks the
analytic numbers; and the reconstructed cluster model with capture-rate and collision switches and
finite-N realisations. Everything shown is computed by ``deletionlab.s2orbit`` (``explore``,
``shared_verify``, ``shared_cluster``, ``report``); the integration and the cluster run are heavy jobs
(the machine-wide queue) whose results every kernel shares.

Every chart is an :class:`InteractivePlot` (hover for values with units, zoom, legend toggling). The
orbit drawings too: zooming into the apocentre shows the real 12′ turn per orbit that no static
picture of the whole orbit can, hover gives the star's distance from the black hole, and an
animation frame changes only the traces' data, so the zoom stays while ▶ plays. Clicking a curve of
"f_SP vs mass" moves the mass and γ sliders there; clicking the steady-state chart sets Γ_cap.
"""

from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.core.jobs import UserError
from deletionlab.s2orbit import DEFAULT_CAPTURE_RATE, DEFAULT_EXAGGERATION, DEFAULT_GAMMA, DEFAULT_MASS, DEFAULT_ORBITS
from deletionlab.s2orbit.explore import (
    ClusterRun,
    Exploration,
    Settings,
    Verification,
    explore,
    shared_cluster,
    shared_verify,
    validate,
    verify_settings,
)
from deletionlab.s2orbit.orbit import ARCMIN, F_SP_ERROR, F_SP_MEASURED, S2

from .common import JobBar, StudyRoot, claims_table, escape, source_line
from .plots import InteractivePlot

#: GRAVITY 2020's f_SP band (low, high, label)
GRAVITY_BAND = (F_SP_MEASURED - F_SP_ERROR, F_SP_MEASURED + F_SP_ERROR, "GRAVITY 2020 (1σ)")
#: earlier orbits of the animation, a light shade of the current orbit's tab:blue
FAINT_BLUE = "#a9cbe6"
#: the finite-N realisations, light grey behind the deterministic curves
FAINT_GREY = "#b8b8b8"
COMPUTING = "computing…"
STALE = "fix the input named in the error line above"
INTRO = ("<div class='dl-muted' style='max-width:980px'>Move the mass inside S2's orbit and the cusp slope: the readout is the "
         "f_SP a fit without extended mass would report, against GRAVITY's 1.10 ± 0.19. ▶ animates the precession; the tabs show "
         "where it accrues, a direct integration and the cluster model. Hover a chart for values, drag to zoom (double-click "
         "resets), click a legend entry to hide a curve.</div>")
FSP_NOTE = ("<div class='dl-muted' style='max-width:640px'>A cusp ρ ∝ r^−γ holding M(&lt;a) inside S2's semi-major axis turns the "
            "pericentre backwards by 2π (M(&lt;a)/M•) G(e, γ) per orbit; a fit that ignores it reads f_SP = 1 + Δω_M/Δω_SP. "
            "Shaded: GRAVITY 2020's 1.10 ± 0.19; dotted: the paper's criterion f_SP ≥ 0.81. <b>Click a curve</b> to move the "
            "mass and γ sliders to that point.</div>")
ACCRUAL_NOTE = ("<div class='dl-muted' style='max-width:980px'>Left: osculating argument of pericentre from Gauss's equation along "
                "one orbit. The Schwarzschild term turns the orbit almost entirely during the few months around pericentre; the "
                "cusp's pull acts on the apocentre half. Right: the precession contributed by the cusp's mass at each radius (a thin "
                "shell inside the pericentre acts like a point mass, one outside the apocentre not at all).</div>")
ORBIT_NOTE = ("<div class='dl-muted' style='max-width:980px'>Drag a box around the apocentre (the far end) to zoom in: even at "
              "exaggerate × 1 the turn of 12′ per orbit shows there as separate lines; the zoom stays while ▶ plays. "
              "Double-click resets.</div>")


def _plot(title: str, xlabel: str, ylabel: str, css: str, **kwargs) -> InteractivePlot:
    plot = InteractivePlot(title, xlabel, ylabel, **kwargs)
    plot.add_class(css)
    return plot


class OrbitPlot(InteractivePlot):
    """An orbit drawn at equal aspect (1 AU or 1 mas the same length on both axes) whose animation
    frames replace only the traces' data, so a zoom the user chose survives the animation."""

    def __init__(self, title: str, xlabel: str, ylabel: str, unit: str, css: str) -> None:
        super().__init__(title, xlabel, ylabel, xunit=unit, yunit=unit, width=470, height=470, xfmt=",.1f", yfmt=",.1f")
        lay = self.figure.layout
        lay.yaxis.scaleanchor, lay.yaxis.scaleratio = "x", 1
        lay.xaxis.constrain = lay.yaxis.constrain = "domain"    # shrink the drawing area, not pad the axes, to keep 1:1
        self.add_class(css)

    def frame(self, series: list[dict]) -> None:
        """Show ``series`` (same labels as the last :meth:`draw`) without touching the axes."""
        fig = self.figure
        if [s.get("label") for s in series] != [s.get("label") for s in self.series] or len(fig.data) != len(series):
            raise ValueError("frame() needs the traces of the last draw()")
        self.series = [dict(s) for s in series]
        with fig.batch_update():
            for trace, s in zip(fig.data, series):
                trace.x, trace.y = s["x"], s["y"]
                if s.get("text") is not None:
                    trace.text = list(s["text"])


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
    txt = (f"<div class='dl-cluster-readout'>γ = {s.gamma:g}, Γ_cap = {s.capture_rate:.1e} per year, collisions "
           f"<b>{'on' if s.collisions else 'off'}</b>: after {s.age_gyr:g} Gyr M(&lt;a) = <b>{chosen['mass']:,.0f} M☉</b>, "
           f"f_SP = {chosen['fsp']:.2f} → {verdict(chosen)} (needs ≥ {need:.2f}). With collisions {'off' if s.collisions else 'on'}: "
           f"{other['mass']:,.0f} M☉, f_SP = {other['fsp']:.2f} → {verdict(other)}.<br>Depletion is needed above "
           f"Γ* = <b>{run.thresholds['without']:.1e}</b> per year; with collisions the limit holds up to "
           f"{run.thresholds['with']:.1e} per year.")
    if run.consistent is not None:
        txt += (f"<br>{len(run.realisation_fsp)} finite-N realisations: {run.consistent:.0%} consistent "
                f"(f_SP {np.mean(run.realisation_fsp):.3f} ± {np.std(run.realisation_fsp):.3f}).")
    return txt + "</div>"


def orbit_series(frames: list, k: int, origin: str, radii: list | None = None) -> list[dict]:
    """Orbit ``k`` of ``frames`` with the earlier ones faint (one trace, gaps between orbits), its
    pericentre and the black hole; ``radii`` (AU, per point) go into the hover text."""
    xs: list = []
    ys: list = []
    for x, y in frames[:k]:
        xs += list(x) + [None]
        ys += list(y) + [None]
    x, y = frames[k]
    text = None if radii is None else [f"{r:,.0f} AU from the black hole" for r in radii]
    return [dict(x=xs, y=ys, style="-", color=FAINT_BLUE, label="earlier orbits"),
            dict(x=list(x), y=list(y), style="-", color="tab:blue", label="this orbit", text=text),
            dict(x=[x[0]], y=[y[0]], style="o", color="tab:red", markersize=9, label="pericentre", text=text[:1] if text else None),
            dict(x=[0.0], y=[0.0], style="x", color="black", markersize=10, label=origin)]


def merged(series: list[dict], label: str, color: str) -> list[dict]:
    """Many curves as one trace (gaps between them): one legend entry, one click hides them all."""
    if not series:
        return []
    xs: list = []
    ys: list = []
    for s in series:
        xs += list(s["x"]) + [None]
        ys += list(s["y"]) + [None]
    return [dict(x=xs, y=ys, style="-", color=color, label=label)]


class S2OrbitExplorer(StudyRoot):
    """The S2-orbit dashboard (``sync=True`` runs jobs in the calling thread, for tests).

    It shows at once: every view says "computing…" until the first results arrive from the
    background jobs. After an input error every view is cleared (the error line says which field).
    """

    exploration = T.Any(None, allow_none=True)
    cluster_run = T.Any(None, allow_none=True)
    verification = T.Any(None, allow_none=True)

    def __init__(self, sync: bool = False, autorun: bool = True, realisations: int = 20) -> None:
        self._stale = False                # views cleared after an input error, to refill once the inputs are good
        self._build_controls(realisations)
        self._build_views()
        header = W.VBox([W.HTML(INTRO), W.HBox([self.mass, self.gamma]), W.HBox([self.exaggeration, self.orbits]), self.fsp_readout,
                         self.elements, self.job])
        for bar in (self.job, self.verify_job, self.cluster_job):
            bar.runner.sync = sync
        super().__init__("s2orbit", [header, self.tabs])
        self.mass.observe(lambda _: self.start(), "value")
        self.gamma.observe(lambda _: self.start_all(), "value")     # γ shapes the cluster too
        for w in (self.exaggeration, self.orbits):
            w.observe(lambda _: self.start(), "value")
        for w in (self.capture, self.collisions, self.realisations):
            w.observe(lambda _: self.start_cluster(), "value")
        self.frame.observe(lambda _: self._draw_frame(), "value")
        self.apply_button.on_click(lambda _: self.start_all())
        self.reset_button.on_click(lambda _: self.reset_orbit())
        self.verify_button.on_click(lambda _: self.start_verify())
        self.cluster_button.on_click(lambda _: self.start_cluster())
        self.fsp_chart.on_click(self._clicked_fsp)
        self.steady.on_click(lambda x, _y, _label: self._set_capture(x))
        self._blank(COMPUTING)
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
        self.a_text = W.Text(f"{S2.a_au:.6g}", description="a [AU]", layout=W.Layout(width="200px"))
        self.mbh_text = W.Text(f"{S2.mass:.6g}", description="M• [M☉]", layout=W.Layout(width="220px"))
        for w, cls in ((self.e_text, "dl-e"), (self.a_text, "dl-a"), (self.mbh_text, "dl-mbh")):
            w.add_class(cls)
        self.apply_button = W.Button(description="Apply", icon="check")
        self.apply_button.add_class("dl-apply")
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

    def _build_plots(self) -> None:
        self.sky = OrbitPlot("S2 on the sky (east to the left)", "ΔRA [mas]", "ΔDec [mas]", "mas", "dl-sky")
        self.plane = OrbitPlot("in the orbital plane", "x [AU]", "y [AU]", "AU", "dl-plane")
        self.fsp_chart = _plot("f_SP a fit without extended mass reports", "M(<a) [M☉]", "f_SP", "dl-fsp-chart", xunit="M☉",
                               width=660, height=380, xfmt=",.0f")
        self.accrual = _plot("where along the orbit the precession accrues", "time from pericentre [orbits] (apocentre at ±0.5)",
                             "cumulative Δω [arcmin]", "dl-accrual", xunit="orbits", yunit="′", width=520, height=360)
        self.kernel = _plot("which radii move the pericentre", "radius r [AU]", "Δω per AU of radius [arcmin/AU]", "dl-kernel",
                            xunit="AU", yunit="′/AU", width=470, height=360, xfmt=",.0f")
        self.mass_time = _plot("mass inside S2's orbit", "time [Gyr]", "M(<a) [M☉]", "dl-cluster-plot", xunit="Gyr", yunit="M☉",
                               yscale="log", width=490, height=360, yfmt=",.0f")
        self.fsp_time = _plot("f_SP the cluster would cause", "time [Gyr]", "f_SP", "dl-fsp-time", xunit="Gyr", width=490, height=360)
        self.steady = _plot("mass inside a after the age vs capture rate (click: set Γ_cap)", "Γ_cap [per year]", "M(<a) [M☉]",
                            "dl-steady", xunit="/yr", yunit="M☉", xscale="log", yscale="log", width=560, height=360, yfmt=",.0f")

        for plot in (self.mass_time, self.steady):            # log axes: 200, 500, 1,000, 2,000 (not "2", "5" next to 1000)
            plot.figure.layout.yaxis.update(dtick="D2", tickformat=",.0f")
        self.steady.figure.layout.xaxis.update(dtick=1, exponentformat="power")   # 10⁻⁸ … 10⁻⁴ per year, not "10n" or "100µ"

    def _build_views(self) -> None:
        self._build_plots()
        self.frame = W.IntSlider(value=0, min=0, max=DEFAULT_ORBITS, description="orbit", continuous_update=True)
        self.frame.add_class("dl-frame")
        self.play = W.Play(value=0, min=0, max=DEFAULT_ORBITS, step=1, interval=1000, description="precess")
        W.jslink((self.play, "value"), (self.frame, "value"))
        self.frame_note = W.HTML("")
        self.verify_table = W.HTML("")
        self.cluster_text = W.HTML("")
        self.cluster_text.add_class("dl-cluster-text")
        orbit_tab = W.VBox([W.HBox([self.sky, self.plane]), W.HBox([self.play, self.frame, self.frame_note]), W.HTML(ORBIT_NOTE)])
        fsp_tab = W.VBox([self.fsp_chart, W.HTML(FSP_NOTE)])
        accrual_tab = W.VBox([W.HBox([self.accrual, self.kernel]), W.HTML(ACCRUAL_NOTE)])
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
        """Validated settings, or None after the error line (on ``bar``) said what is wrong and every
        view was cleared: nothing on screen may belong to inputs other than the ones shown."""
        s = bar.attempt(lambda: validate(self.settings()))
        if s is None:
            for other in (self.job, self.verify_job, self.cluster_job):
                other.runner.cancel()      # a run for the previous inputs must not draw over the cleared views
            self._blank(STALE)
            self._stale = True
        elif self._stale:                  # the inputs are good again: refill the views the error cleared
            self._stale = False
            self._run_views(s, explore_too=bar is not self.job, cluster_too=bar is not self.cluster_job)
        return s

    def _clicked_fsp(self, x: float, _y: float, label: str) -> None:
        """A click on a curve of the f_SP chart: move the mass (and γ, for another slope's curve) there."""
        curve = next((s for s in self.fsp_chart.series if s.get("label") == label), None)
        if curve is None or "gamma" not in curve:
            return
        if abs(curve["gamma"] - self.gamma.value) > 1e-9:
            self.gamma.value = curve["gamma"]
        self.mass.value = min(self.mass.max, max(self.mass.min, round(float(x) / self.mass.step) * self.mass.step))

    def _set_capture(self, rate: float) -> None:
        if rate and math.isfinite(rate) and rate > 0:
            self.capture.value = min(10 ** self.capture.max, max(10 ** self.capture.min, float(rate)))

    # -- running --------------------------------------------------------------------------------------------
    def start_all(self) -> None:
        """Recompute the orbit views and the cluster model (after the orbit changed)."""
        self.start()
        self.start_cluster()

    def start(self) -> None:
        """Validate and recompute the orbit, f_SP and accrual views (milliseconds, in a job)."""
        s = self._checked(self.job)
        if s is not None:
            self._run_views(s, explore_too=True, cluster_too=False)

    def _run_views(self, s: Settings, explore_too: bool, cluster_too: bool) -> None:
        if explore_too:
            self.job.run(explore, s, on_result=self._show, name="Orbit")
        if cluster_too:
            self.cluster_job.run(shared_cluster, s, on_result=self._show_cluster, on_error=lambda _: self._blank_cluster(STALE),
                                 name="Cluster model", heavy=True)

    def start_verify(self) -> None:
        """The direct integration (about a second; a heavy job, shared through the result cache)."""
        s = self._checked(self.verify_job)
        if s is not None:
            self._verifying = verify_settings(s)
            self.verify_job.run(shared_verify, s, on_result=self._show_verify, on_error=lambda _: self._clear_verify(),
                                name="Integration", heavy=True)

    def start_cluster(self) -> None:
        """The cluster model (up to a second with 100 realisations; a heavy job, shared through the result cache)."""
        s = self._checked(self.cluster_job)
        if s is not None:
            self._run_views(s, explore_too=False, cluster_too=True)

    def reset_orbit(self) -> None:
        self.e_text.value, self.a_text.value, self.mbh_text.value = f"{S2.e:g}", f"{S2.a_au:.6g}", f"{S2.mass:.6g}"
        self.start_all()

    # -- showing --------------------------------------------------------------------------------------------
    def _blank(self, why: str) -> None:
        """Every view empty with ``why`` written across it ("computing…", or fix the input)."""
        self.exploration = None
        self.fsp_readout.value = f"<div class='dl-fsp dl-muted'>f_SP: — ({escape(why)})</div>"
        for plot in (self.sky, self.plane, self.fsp_chart, self.accrual, self.kernel):
            plot.draw([], note=why)
        self.frame_note.value = ""
        self._clear_verify()
        self._blank_cluster(why)

    def _blank_cluster(self, why: str) -> None:
        self.cluster_run = None
        self.cluster_text.value = f"<div class='dl-cluster-readout dl-muted'>Cluster model: {escape(why)}</div>"
        for plot in (self.mass_time, self.fsp_time, self.steady):
            plot.draw([], note=why)

    def _show(self, ex: Exploration) -> None:
        self.exploration = ex
        s = ex.settings
        self.fsp_readout.value = fsp_html(ex)
        lo = 1 - s.df
        self.fsp_chart.draw(ex.fsp_series, hbands=[GRAVITY_BAND], hlines=[(1.0, "GR"), (lo, f"f_SP = {lo:.2f}")],
                            vlines=[(ex.limit, f"limit {ex.limit:,.0f} M☉")])
        self.accrual.draw(ex.accrual_series, vlines=[(0.0, "pericentre")])
        empty = s.mass == 0
        self.kernel.draw([] if empty else ex.kernel_series, vlines=[(s.a_au, "a")],
                         note="M(<a) = 0: no mass inside the orbit, nothing to show" if empty else "")
        n = len(ex.frames_plane) - 1
        self.play.max = self.frame.max = n
        if self.frame.value > n:
            self.frame.value = n
        self._draw_orbits(ex)
        if self.verification is not None and self._verified != verify_settings(s):
            self._clear_verify()

    def _draw_orbits(self, ex: Exploration) -> None:
        """A new exploration: draw both orbits and fit the axes to every frame (resets any zoom)."""
        k = min(self.frame.value, len(ex.frames_plane) - 1)
        for plot, frames, origin in ((self.sky, ex.frames_sky, "Sgr A*"), (self.plane, ex.frames_plane, "M•")):
            xs = np.concatenate([np.asarray(f[0]) for f in frames])
            ys = np.concatenate([np.asarray(f[1]) for f in frames])
            pad = 0.06 * max(np.ptp(xs), np.ptp(ys))
            xlim = (xs.min() - pad, xs.max() + pad)
            plot.draw(self._frame_series(ex, plot, k), xlim=xlim[::-1] if plot is self.sky else xlim,    # east to the left
                      ylim=(ys.min() - pad, ys.max() + pad))
        self._frame_note(ex, k)

    def _frame_series(self, ex: Exploration, plot: OrbitPlot, k: int) -> list[dict]:
        x, y = ex.frames_plane[k]
        radii = np.hypot(x, y)
        if plot is self.sky:
            return orbit_series(ex.frames_sky, k, "Sgr A*", radii)
        return orbit_series(ex.frames_plane, k, "M•", radii)

    def _draw_frame(self) -> None:
        """The animation moved: new data in the same traces (the axes and any zoom stay)."""
        ex = self.exploration
        if ex is None:
            return
        k = min(self.frame.value, len(ex.frames_plane) - 1)
        for plot in (self.sky, self.plane):
            plot.frame(self._frame_series(ex, plot, k))
        self._frame_note(ex, k)

    def _frame_note(self, ex: Exploration, k: int) -> None:
        total = (ex.sp + ex.mass_prec) * ARCMIN
        self.frame_note.value = (f"<span class='dl-muted'>orbit {k}: pericentre turned by {k * total:+.1f}′ in {k} orbits "
                                 f"({k * ex.settings.orbit.kepler_period_yr:.0f} yr); drawn × {ex.settings.exaggeration:g}.</span>")

    def _show_verify(self, v: Verification) -> None:
        self.verification = v
        self._verified = self._verifying
        self.verify_table.value = verification_html(v)

    def _clear_verify(self) -> None:
        self.verification = None
        self._verified = None
        self.verify_table.value = ("<i class='dl-verify-empty'>Press the button: our integrator measures the precessions from the "
                                   "orbit itself (it integrates again whenever the orbit or the cusp changed).</i>")

    def _show_cluster(self, run: ClusterRun) -> None:
        self.cluster_run = run
        s = run.settings
        self.cluster_text.value = cluster_html(run)
        lo = 1 - s.df
        extra = merged(run.realisation_series, f"finite-N realisations ({len(run.realisation_fsp)})", FAINT_GREY)
        self.mass_time.draw(extra + run.time_series, hlines=[(run.limit, f"S2 limit for a γ = {s.gamma:g} cusp")])
        self.fsp_time.draw(run.fsp_time_series, hbands=[GRAVITY_BAND], hlines=[(lo, f"f_SP = {lo:.2f}")])
        self.steady.draw(run.steady_series, hlines=[(run.limit, "S2 limit")], vlines=[(s.capture_rate, "Γ_cap")])


# -- results view ------------------------------------------------------------------------------------------------


def threshold_series(results: dict, df: float = 0.19) -> list[dict]:
    """Capture-rate thresholds against γ, with and without collisions (for the results chart)."""
    table = [t for t in results["thresholds"]["table"] if abs(t["df"] - df) < 1e-9]
    g = [t["gamma"] for t in table]
    return [dict(x=g, y=[t["without"] for t in table], label="without collisions", style="o-", color="tab:orange"),
            dict(x=g, y=[t["with"] for t in table], label="with collisions", style="s-", color="tab:green")]


def finite_n_series(results: dict) -> list[dict]:
    """Fraction of finite-N realisations consistent with f_SP against Γ/Γ*, with the 95 % Wilson
    interval as a band (it is asymmetric) and "k of n" in the hover text."""
    from deletionlab.s2orbit.report import wilson

    out = []
    for coll, label, colour in ((False, "without collisions", "tab:orange"), (True, "with collisions", "tab:green")):
        rows = [r for r in results["finite_n"] if r["collisions"] == coll]
        iv = [wilson(r["k"], r["n"]) for r in rows]
        out.append(dict(x=[r["factor"] for r in rows], y=[r["k"] / r["n"] for r in rows], band=([lo for lo, _ in iv], [hi for _, hi in iv]),
                        text=[f"{r['k']} of {r['n']} consistent (95 % interval {lo:.0%}–{hi:.0%})" for r, (lo, hi) in zip(rows, iv)],
                        label=label, style="o-", color=colour))
    return out


class S2OrbitResultsView(W.VBox):
    """The committed results (``scripts/s2orbit_experiment.py``) with the paper's claims."""

    def __init__(self, results: dict) -> None:
        from deletionlab.s2orbit.report import compare

        self.rows = compare(results)
        th = _plot("capture rate above which f_SP < 0.81", "cusp slope γ", "Γ* [per year]", "dl-s2-thresholds", yunit="/yr",
                   yscale="log", width=520, height=360)
        th.figure.layout.yaxis.update(dtick=1, exponentformat="power")
        th.draw(threshold_series(results), hbands=[(1e-6, 1e-5, "paper: a few × 10⁻⁶")])
        fn = _plot("finite-N realisations consistent with f_SP (95 % Wilson band)", "Γ_cap / Γ* (no collisions)", "fraction consistent",
                   "dl-s2-finite-n", xunit="× Γ*", xscale="log", width=520, height=360, yfmt=".0%")
        fn.figure.layout.xaxis.update(dtick="D2", tickformat=".2~g")      # 0.5, 1, 2, 5, 10 (not a row of small digits)
        fn.draw(finite_n_series(results), ylim=(-0.05, 1.05))
        self.charts = [th, fn]
        super().__init__([W.HTML(source_line(results.get("made_by")) + claims_table(self.rows)), W.HBox(self.charts)])
        self.add_class("dl-s2orbit-results")
