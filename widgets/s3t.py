"""``S3TExplorer``: a sharded, sliced system of LoRA adapters that switches adapters off as deletion
requests arrive, next to SISA at the same training cost; ``S3TResultsView``: the committed results.

Controls: data set, shards m, slices L, sequences B′, layers per step k, records per shard, how the
sequences are chosen and the deletion prior. The default system of each data set ships, so the
dashboard opens ready (the widget shows at once with "computing…"; the system and its curves come
from a background job that reads the shared result cache); other settings train in a heavy job
(progress, cancel, the machine-wide queue) and are cached for every kernel. Requests: one record, a
burst, or a stream drawn from the prior (a background job: watch the grid, cancel it). Views: the
shards × sequences × slices grid (each cell is a step's adapters, labelled with the slice it added;
dark = served, pale = alive, grey = switched off; S3T green, SISA orange, as in every chart), and
interactive accuracy and serving curves against the number of requests: hover for values, click a
point to replay the curves' first request stream up to that many requests in the grid.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.core.cache import is_cached
from deletionlab.core.jobs import UserError
from deletionlab.s3t.capacity import deletion_rate, first_slices
from deletionlab.s3t.data import DATASETS
from deletionlab.s3t.explore import (
    MUST_RETRAIN,
    Exploration,
    Opened,
    Settings,
    apply_retrained,
    burst,
    check_count,
    curves_key,
    exploration_of,
    is_stored,
    open_systems,
    opens_at_once,
    parse,
    record_info,
    replay,
    reset,
    retrain_and_replay,
    retrain_plan,
    send,
    shared_curves,
    status,
    stream,
    validate,
)
from deletionlab.s3t.model import N_LAYERS
from deletionlab.s3t.report import compare
from deletionlab.s3t.sequences import PRIORS, STRATEGIES, layer_schedule
from deletionlab.s3t.service import OFF, ON, SERVED

from .common import JobBar, StudyRoot, claims_table, escape, source_line
from .plots import TAB10, InteractivePlot

#: one colour per system in every chart, grid and legend of the dashboard and the results view
COLORS = {"s3t": "tab:green", "sisa": "tab:orange", "s3t_b1": "tab:blue"}
NAMES = {"s3t": "S3T", "sisa": "SISA", "s3t_b1": "S3T, B′ = 1"}
#: grid cells (background, text) by system and state: S3T in greens, SISA in oranges, switched off grey
CELL = {"s3t": {SERVED: ("#2d6a4f", "#fff"), ON: ("#b7e4c7", "#1b4332"), OFF: ("#d9d9d9", "#888")},
        "sisa": {SERVED: ("#b35c00", "#fff"), ON: ("#fdd8b0", "#5c2e00"), OFF: ("#d9d9d9", "#888")}}
#: sequences drawn per shard (the first ones and the served one); B′ may be up to L! = 720
MAX_ROWS = 6
STYLE = """<style>
.dl-s3t .dl-stale { opacity: 0.45; }
.dl-s3t .dl-stale-note { color: #7a5b00; font-weight: 500; }
.dl-s3t .dl-computing { color: #777; font-style: italic; padding: 6px 0; }
.dl-s3t .dl-grid-table td { height: 20px; }
.dl-s3t .dl-help { color: #666; font-size: 0.9em; line-height: 1.4; max-width: 1100px; margin: 4px 0; }
</style>"""
COMPUTING = "<div class='dl-computing'>computing…</div>"


def _swatch(kind: str, state: int, text: str) -> str:
    bg, fg = CELL[kind][state]
    return f"<span style='background:{bg};color:{fg};padding:0 4px'>{text}</span>"


LEGEND = ("<div class='dl-help'>Each cell is one step's adapters, labelled with the slice that step added. S3T: "
          f"{_swatch('s3t', SERVED, 'served')} {_swatch('s3t', ON, 'alive')} {_swatch('s3t', OFF, 'switched off')}; SISA: "
          f"{_swatch('sisa', SERVED, 'served')} {_swatch('sisa', ON, 'alive')} {_swatch('sisa', OFF, 'switched off')}; a red "
          "frame marks the slice of the last request. Try one deletion, a burst of 20, a stream from the one-hot-slice prior, "
          "then B′ = 1 against B′ = 3.</div>")
CLICK_HELP = ("<div class='dl-help'>The curves replay random request streams on the loaded system: the shaded band is ± 2 "
              "standard errors of the mean over the streams, and a system that cannot serve counts as 0 % accuracy. Hover a "
              "curve for its values; drag to zoom (double-click: back); click a legend entry to hide a line. <b>Click a "
              "point</b> of a curve to replay the curves' first request stream (the same for S3T and SISA) up to that many "
              "requests: the grids above then show that moment.</div>")


def _rows_shown(sequences: int, served: int | None) -> list[int]:
    """The sequences drawn for one shard: the first :data:`MAX_ROWS`, and the served one if it is later."""
    rows = list(range(min(sequences, MAX_ROWS)))
    if served is not None and served >= MAX_ROWS:
        rows[-1] = served
    return rows


def grid_html(exp: Exploration, kind: str, service, title: str) -> str:
    """The shards × sequences × steps grid of one system as an HTML table (crisp at any zoom; at most
    :data:`MAX_ROWS` sequences per shard are drawn, the rest are counted)."""
    system = exp.s3t if kind == "s3t" else exp.sisa
    cfg = system.config
    g = service.grid()
    last = service.log[-1] if service.log else None
    sched = layer_schedule(N_LAYERS, cfg.slices, cfg.per_step) if kind == "s3t" else [list(range(N_LAYERS))] * cfg.slices
    head = "".join(f"<th style='font-size:10px;font-weight:normal'>step {i + 1}<br>layers "
                   f"{','.join(str(x + 1) for x in sorted(s))}</th>" for i, s in enumerate(sched))
    rows = []
    for h, sv in enumerate(service.served()):
        note = f"serves sequence {sv[0] + 1}, {sv[1] + 1} slice(s)" if sv else "<span style='color:#b00020'>dropped out</span>"
        shown = _rows_shown(system.sequences, sv[0] if sv else None)
        hidden = system.sequences - len(shown)
        span = len(shown) + (1 if hidden else 0)
        for j, b in enumerate(shown):
            cells = []
            for i in range(cfg.slices):
                s = int(system.orderings[b, i])
                state = int(g[h, b, i])
                bg, fg = CELL[kind][state]
                hit = last is not None and last.shard == h and last.slice == s
                border = "2px solid #b00020" if hit else "1px solid #fff"
                cells.append(f"<td class='dl-cell dl-state-{state}' style='background:{bg};color:{fg};border:{border};"
                             f"width:46px;text-align:center;font-size:12px'>S{s + 1}</td>")
            label = f"<td rowspan='{span}' style='font-size:12px;line-height:1.15;padding-right:8px'>shard {h + 1}<br>" \
                    f"<span style='font-size:10px'>{note}</span></td>" if j == 0 else ""
            rows.append(f"<tr>{label}<td style='font-size:10px;color:#666'>seq {b + 1}</td>{''.join(cells)}</tr>")
        if hidden:
            alive = int((service.alive[h] > 0).sum())
            rows.append(f"<tr><td colspan='{cfg.slices + 1}' class='dl-more' style='font-size:10px;color:#666'>… and {hidden} more "
                        f"sequences (not drawn); {alive} of {system.sequences} still have a prefix</td></tr>")
    return (f"<div style='font-size:13px;margin:4px 0'><b>{escape(title)}</b></div>"
            f"<table class='dl-grid-table' style='border-collapse:collapse'><tr><th></th><th></th>{head}</tr>{''.join(rows)}</table>")


def percent_plot(title: str, ylabel: str, width: int = 560, height: int = 340) -> InteractivePlot:
    """A share (accuracy, a probability) against deletion requests: ticks and tooltips in %."""
    plot = InteractivePlot(title, "deletion requests", ylabel, yfmt=".1%", xfmt=",d", width=width, height=height)
    plot.figure.layout.yaxis.tickformat = ".0%"
    return plot


def accuracy_plot(title: str, width: int = 560, height: int = 340) -> InteractivePlot:
    """Test accuracy against deletion requests (values in %, requests counted)."""
    plot = percent_plot(title, "test accuracy", width, height)
    plot.add_class("dl-acc")
    return plot


def accuracy_series(x: list, mean, se, kind: str, label: str, visible: bool = True) -> dict:
    """One mean curve with its ± 2 s.e. band (the band and the tooltip say what it is)."""
    m = np.asarray(mean, float)
    s = np.nan_to_num(np.asarray(se, float)) if se is not None else np.zeros_like(m)
    lo, hi = np.clip(m - 2 * s, 0, 1), np.clip(m + 2 * s, 0, 1)
    text = [f"± 2 s.e.: {a:.1%} to {b:.1%}" for a, b in zip(lo, hi)]
    return dict(x=list(x), y=m.tolist(), label=label, style="-", color=COLORS[kind], band=(lo.tolist(), hi.tolist()), text=text,
                visible=visible)


def same_system(a: Settings, b: Settings) -> bool:
    """Whether two settings describe the same trained system (the prior matters only to matched sequences)."""
    return (a if a.strategy == "matched" else replace(a, prior=b.prior)) == b


class S3TExplorer(StudyRoot):
    """The S3T study's dashboard (``sync=True`` runs jobs in the calling thread, for tests;
    ``settings`` overrides the defaults, e.g. a tiny system)."""

    exploration = T.Any(None, allow_none=True)

    def __init__(self, sync: bool = False, autorun: bool = True, settings: Settings | None = None, delay: float = 0.25,
                 **kwargs: Any) -> None:
        s = settings or Settings()
        self.base = s
        self.delay = delay
        self._build_controls(s)
        self.job = JobBar(sync=sync)
        self._build_requests()
        self.grid = W.HTML(COMPUTING)
        self.grid.add_class("dl-grid")
        self.sisa_grid = W.HTML("", layout=W.Layout(margin="0 0 0 40px"))
        self.sisa_grid.add_class("dl-sisa-grid")
        self.summary = W.HTML("")
        self.summary.add_class("dl-summary")
        self.stale_note = W.HTML("")
        self.stale_note.add_class("dl-stale-note")
        self.acc_plot = accuracy_plot("accuracy while requests arrive")
        self.cap_plot = percent_plot("can the system still serve?", "P(some shard serves)")
        self.cap_plot.add_class("dl-cap")
        for plot in (self.acc_plot, self.cap_plot):
            plot.draw([], note="computing…")
            plot.on_click(lambda x, y, label: self.replay_to(x, label))
        wrap = W.Layout(flex_flow="row wrap", align_items="flex-start")
        controls = W.VBox([W.HBox([self.dataset]), W.HBox([self.shards, self.slices, self.sequences, self.per_step, self.per_shard],
                                                         layout=wrap),
                           W.HBox([self.strategy, self.prior], layout=wrap), W.HBox([self.train_button, self.job])])
        self.views = W.VBox([self.requests, self.summary, W.HTML(LEGEND), W.HBox([self.grid, self.sisa_grid], layout=wrap),
                             W.HTML(CLICK_HELP), W.HBox([self.acc_plot, self.cap_plot], layout=wrap)])
        super().__init__("s3t", [W.HTML(STYLE), controls, self.stale_note, self.views], **kwargs)
        self.train_button.on_click(lambda _: self.start())
        self.prior.observe(lambda _: self.start_curves(), "value")
        for w in (self.dataset, self.strategy, self.shards, self.slices, self.sequences, self.per_step, self.per_shard):
            w.observe(lambda _: self._note_changed(), "value")
        if autorun:
            self.start()

    def _build_controls(self, s: Settings) -> None:
        lay = W.Layout(width="150px")
        wide = {"description_width": "initial"}
        self.dataset = W.Dropdown(options=[(v, k) for k, v in DATASETS.items()], value=s.dataset, description="Data",
                                  layout=W.Layout(width="680px"))
        self.strategy = W.Dropdown(options=[(v, k) for k, v in STRATEGIES.items()], value=s.strategy, description="Sequences",
                                   layout=W.Layout(width="400px"))
        self.prior = W.Dropdown(options=[(v, k) for k, v in PRIORS.items()], value=s.prior, description="Prior",
                                layout=W.Layout(width="400px"))
        self.shards = W.Text(str(s.shards), description="shards m", layout=lay, style=wide, tooltip="1 to 8")
        self.slices = W.Text(str(s.slices), description="slices L", layout=lay, style=wide, tooltip="L × k ≤ 6 layers")
        self.sequences = W.Text(str(s.sequences), description="sequences B′", layout=lay, style=wide, tooltip="1 to L!")
        self.per_step = W.Text(str(s.per_step), description="layers per step k", layout=W.Layout(width="180px"), style=wide)
        self.per_shard = W.Text(str(s.per_shard), description="records per shard", layout=W.Layout(width="190px"), style=wide)
        for w, c in ((self.shards, "dl-shards"), (self.slices, "dl-slices"), (self.sequences, "dl-sequences"),
                     (self.per_step, "dl-per-step"), (self.per_shard, "dl-per-shard")):
            w.add_class(c)
        self.train_button = W.Button(description="Load / train", icon="play", button_style="primary")
        self.train_button.add_class("dl-train")

    def _build_requests(self) -> None:
        self.record = W.Text("0", description="record", layout=W.Layout(width="170px"))
        self.record.add_class("dl-record")
        self.delete_button = W.Button(description="Delete record", icon="trash")
        self.delete_button.add_class("dl-delete")
        self.burst_size = W.Text("20", description="burst", layout=W.Layout(width="150px"))
        self.burst_size.add_class("dl-burst-size")
        self.burst_button = W.Button(description="Send burst", icon="bolt")
        self.burst_button.add_class("dl-burst")
        self.stream_size = W.Text("30", description="stream", layout=W.Layout(width="150px"))
        self.stream_size.add_class("dl-stream-size")
        self.stream_button = W.Button(description="Start stream", icon="play-circle")
        self.stream_button.add_class("dl-stream")
        self.retrain_button = W.Button(description="Retrain", icon="refresh", tooltip="retrain every shard that lost adapters")
        self.retrain_button.add_class("dl-retrain")
        self.retrain_sisa = W.Checkbox(value=False, description="SISA too", indent=False, layout=W.Layout(width="90px"))
        self.reset_button = W.Button(description="Forget requests", icon="undo", tooltip="back to the trained system (exploring only)")
        self.record_line = W.HTML("")
        self.record_line.add_class("dl-record-info")
        self.requests = W.VBox([W.HBox([self.record, self.delete_button, self.burst_size, self.burst_button, self.stream_size,
                                        self.stream_button, self.retrain_button, self.retrain_sisa, self.reset_button],
                                       layout=W.Layout(flex_flow="row wrap")),
                                self.record_line])
        self.delete_button.on_click(lambda _: self.delete_one())
        self.burst_button.on_click(lambda _: self.send_burst())
        self.stream_button.on_click(lambda _: self.start_stream())
        self.retrain_button.on_click(lambda _: self.start_retrain())
        self.reset_button.on_click(lambda _: self.forget())
        self.record.observe(lambda _: self._show_record(), "value")

    # -- input ----------------------------------------------------------------------------------
    def settings(self) -> Settings:
        """Controls -> :class:`Settings` (a box without a whole number gets a sentence naming the
        field and its range; every range is checked by ``validate``)."""
        return parse(self.base, dataset=self.dataset.value, strategy=self.strategy.value, prior=self.prior.value,
                     shards=self.shards.value, slices=self.slices.value, sequences=self.sequences.value,
                     per_step=self.per_step.value, per_shard=self.per_shard.value)

    def _note_changed(self) -> None:
        """Say when the controls no longer describe the system on screen."""
        exp = self.exploration
        if exp is None or "dl-stale" in self.views._dom_classes:
            return
        try:
            s = self.settings()
        except UserError:
            s = None
        self.stale_note.value = "" if s is not None and same_system(s, exp.settings) else (
            "<span class='dl-muted'>The controls above differ from the system shown below: press <b>Load / train</b> to "
            "switch to them.</span>")

    def _mark_stale(self, why: str) -> None:
        """Grey the views out: they belong to the system loaded before, not to the controls."""
        self.views.add_class("dl-stale")
        self.stale_note.value = escape(why)

    def _unmark_stale(self) -> None:
        self.views.remove_class("dl-stale")
        self.stale_note.value = ""

    # -- jobs -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Load (shipped or cached) or train the system of the controls, in the background."""
        s = self.job.attempt(lambda: validate(self.settings()))
        if s is None:
            self.job.status.value = "Not loaded: fix the input above."
            if self.exploration is not None:
                self._mark_stale("The grid and curves below belong to the system loaded before, not to the controls above: fix "
                                 "the input named in the error line, then press Load / train.")
            return
        trained = is_stored(s.config())
        if self.exploration is not None and not trained:
            self._mark_stale("Training the system of the controls above (see the progress bar); the grid and curves below "
                             "still show the system loaded before.")
        self.job.run(open_systems, s, on_result=self._loaded, on_error=lambda _: self._failed(), heavy=not opens_at_once(s),
                     threads=1, name="Loading" if trained else "Training")

    def _failed(self) -> None:
        if self.exploration is None:
            self.grid.value = "<div class='dl-computing'>Nothing loaded: see the error line above.</div>"
            for plot in (self.acc_plot, self.cap_plot):
                plot.draw([], note="nothing loaded")
        else:
            self._mark_stale("The grid and curves below belong to the system loaded before: the one asked for above could "
                             "not be loaded (see the error line).")

    def _loaded(self, opened: Opened) -> None:
        exp = exploration_of(opened)
        self.exploration = exp
        self._unmark_stale()
        self.say(f"S3T and SISA systems {exp.source}: {exp.s3t.config.n_train} training texts in {exp.s3t.config.shards} shards, "
                 f"test accuracy on {len(exp.y_test)} held-out texts.")
        self.retrain_button.button_style = ""
        self._after_requests()

    def start_curves(self) -> None:
        """Replay the request streams for the chosen prior (the system stays), in the background."""
        exp = self.exploration
        if exp is None:
            return
        prior = self.prior.value
        if exp.s3t.config.strategy == "matched" and exp.s3t.config.prior != prior:
            self.say("The sequences were matched to another prior: press Load / train to match them to this one.")
        fresh = exp.retrained == 0
        light = fresh and is_cached("s3t", curves_key(exp.s3t.config, prior))
        for plot in (self.acc_plot, self.cap_plot):
            plot.draw([], note="computing…")
        self.job.run(shared_curves, exp.s3t, exp.sisa, exp.y_test, prior, fresh, on_result=lambda c: self._curves_done(exp, c),
                     on_error=lambda _: self._curves_failed(), heavy=not light, threads=1, name="Curves")

    def _curves_done(self, exp: Exploration, c: dict) -> None:
        if exp is not self.exploration:
            return
        exp.curves = c
        self._draw_curves()

    def _curves_failed(self) -> None:
        for plot in (self.acc_plot, self.cap_plot):
            plot.draw([], note="no curves: see the error line above")

    def delete_one(self) -> None:
        """Send one request for the record in the box."""
        exp = self.exploration
        if exp is None:
            return self.job.show_error("Load a system first (Load / train).")
        before = int(exp.s3t_service.deleted.sum())
        out = self.job.attempt(send, exp, self.record.value)
        if int(exp.s3t_service.deleted.sum()) != before:  # recorded (also when the system was exhausted)
            self._after_requests()
        if out is not None and not exp.s3t_service.exhausted:
            self.record.value = str(self._next_record())

    def send_burst(self) -> None:
        """Send a burst of requests drawn from the prior."""
        exp = self.exploration
        if exp is None:
            return self.job.show_error("Load a system first (Load / train).")
        if self.job.attempt(burst, exp, self.burst_size.value, self.prior.value) is not None:
            self._after_requests()

    def start_stream(self) -> None:
        """Requests one by one in the background; the grid follows; Cancel stops it."""
        exp = self.exploration
        if exp is None:
            return self.job.show_error("Load a system first (Load / train).")
        n = self.job.attempt(check_count, exp, self.stream_size.value, "Stream length")
        if n is None:
            return
        prior, delay = self.prior.value, self.delay

        def work(progress, cancel):
            return stream(exp, n, prior, progress=progress, cancel=cancel, delay=delay, on_request=lambda _: self._draw())

        self.job.run(work, on_result=lambda _: self._after_requests(), name="Stream")

    def start_retrain(self) -> None:
        """Retrain every shard that lost adapters (S3T, and SISA if ticked) in a heavy background job,
        then replay the curves of the retrained systems."""
        exp = self.exploration
        if exp is None:
            return self.job.show_error("Load a system first (Load / train).")
        plan = self.job.attempt(retrain_plan, exp, self.retrain_sisa.value)
        if plan is None:
            return
        honoured, todo = plan
        self.job.run(retrain_and_replay, exp.s3t, exp.sisa, honoured, todo, exp.y_test, self.prior.value,
                     on_result=lambda res: self._retrained(exp, *res), heavy=True, threads=1, name="Retraining")

    def _retrained(self, exp: Exploration, new, c: dict) -> None:
        if exp is not self.exploration:
            return
        apply_retrained(exp, new)
        exp.curves = c
        sisa = f" and SISA shard(s) {', '.join(str(h + 1) for h in new.sisa_shards)}" if new.sisa_shards else ""
        self.say(f"Retrained S3T shard(s) {', '.join(str(h + 1) for h in new.s3t_shards) or 'none'}{sisa} on the records left, "
                 f"in {new.seconds:.0f} s.")
        self._after_requests()

    def forget(self) -> None:
        """Back to the trained system without any request (for exploring; not a real service's move)."""
        exp = self.exploration
        if exp is None:
            return
        self.job.cancel()
        reset(exp)
        self.job.clear_error()
        self._after_requests()

    def replay_to(self, x, label: str = "") -> None:
        """A click on a curve at ``x`` requests: the grid replays the curves' first stream up to there."""
        exp = self.exploration
        if exp is None or label == "now":
            return
        self.job.cancel()
        n = self.job.attempt(replay, exp, round(x) if isinstance(x, float) and np.isfinite(x) and abs(x) < 1e12 else x)
        if n is None:
            return
        self.say(f"Replayed the first {n} request(s) of the curves' first stream ({PRIORS[exp.curves.get('prior', 'uniform')]}"
                 f"), the same for S3T and SISA: the grids show that moment. Your own requests were forgotten.")
        self._after_requests()

    # -- views ----------------------------------------------------------------------------------
    def _after_requests(self) -> None:
        exp = self.exploration
        if exp is None:
            return
        self._draw()
        self._draw_curves()
        self._show_record()
        exhausted = exp.s3t_service.exhausted
        self.retrain_button.button_style = "danger" if exhausted else ""
        if exhausted and not self.job.error:
            self.job.show_error(MUST_RETRAIN)

    def _next_record(self) -> int:
        left = np.nonzero(~self.exploration.s3t_service.deleted)[0]
        return int(left[0]) if len(left) else 0

    def _show_record(self) -> None:
        exp = self.exploration
        if exp is None:
            return
        try:
            self.record_line.value = f"<span class='dl-muted'>{escape(record_info(exp, self.record.value))}</span>"
        except UserError as exc:
            self.record_line.value = f"<span class='dl-muted'>{escape(str(exc))}</span>"

    def _draw(self) -> None:
        exp = self.exploration
        st = status(exp)
        cfg = exp.s3t.config
        self.grid.value = grid_html(exp, "s3t", exp.s3t_service, f"S3T: {cfg.shards} shards × {exp.s3t.sequences} sequences × "
                                                                  f"{cfg.slices} slices")
        self.sisa_grid.value = grid_html(exp, "sisa", exp.sisa_service, "SISA: one ordering per shard")

        def acc(a):
            return "cannot serve" if a is None else f"{a:.1%}"

        n_s3t = sum(sv is not None for sv in st["s3t_served"])
        n_sisa = sum(sv is not None for sv in st["sisa_served"])
        last = st["last"]
        where = f" Last: record {last.record} (shard {last.shard + 1}, slice S{last.slice + 1}) switched {last.switched_off} " \
                f"adapter set(s) off." if last else ""
        self.summary.value = (
            f"<div><b>{st['deleted']}</b> request(s). <span style='color:{TAB10[COLORS['s3t']]}'>■</span> S3T accuracy "
            f"<b>{acc(st['s3t_accuracy'])}</b> ({n_s3t}/{cfg.shards} shards serving) · "
            f"<span style='color:{TAB10[COLORS['sisa']]}'>■</span> SISA <b>{acc(st['sisa_accuracy'])}</b> ({n_sisa}/{cfg.shards} "
            f"serving from their last clean checkpoint; retraining instead would have taken ≈ {st['sisa_seconds']:.0f} s)."
            f"{escape(where)}</div>"
            f"<div class='dl-muted'>Expected requests until no shard serves (uniform requests): S3T "
            f"{deletion_rate(cfg.shards, cfg.slices, first_slices(exp.s3t.orderings)):.1f} = m·L·H(m·B′), SISA "
            f"{deletion_rate(cfg.shards, cfg.slices, 1):.1f} = m·L·H(m). Training: S3T {exp.s3t.cost.seconds:.0f} s, SISA "
            f"{exp.sisa.cost.seconds:.0f} s at the same {exp.s3t.cost.updates:,} updates.</div>")

    def _draw_curves(self) -> None:
        exp = self.exploration
        c = exp.curves if exp is not None else None
        if not c:
            return
        st = status(exp)
        x = c["x"]
        acc, cap = [], []
        for k in ("s3t", "sisa"):
            acc.append(accuracy_series(x, c[f"{k}_accuracy"], c[f"{k}_accuracy_se"], k, f"{NAMES[k]}, mean of {c['streams']} streams"))
            cap.append(dict(x=x, y=c[f"{k}_serving"], label=f"{NAMES[k]} simulated", style="-", color=COLORS[k]))
            if c["prior"] == "uniform":
                cap.append(dict(x=x, y=c[f"{k}_analytic"], label=f"{NAMES[k]} exact, m·L·H(m·d)", style="--", color=COLORS[k]))
        now = st["deleted"]
        for k in ("s3t", "sisa"):
            a = st[f"{k}_accuracy"]
            acc.append(dict(x=[now], y=[0.0 if a is None else a], style="o", markersize=11, color=COLORS[k], label="now",
                            legend=k == "s3t", text=[f"{NAMES[k]} after the {now} request(s) sent so far"]))
        prior = PRIORS[c["prior"]].split(":")[0]
        self.acc_plot.title = f"accuracy as requests arrive ({prior} prior)"
        self.acc_plot.figure.layout.title.text = escape(self.acc_plot.title)
        self.acc_plot.draw(acc, ylim=(0, 1), vlines=[(now, "now")] if now else [])
        rates = [(c["s3t_rate"], "S3T expected"), (c["sisa_rate"], "SISA expected")] if c["prior"] == "uniform" else []
        self.cap_plot.draw(cap, ylim=(0, 1.05), hlines=[(0.5, "")], vlines=rates)


class S3TResultsView(W.VBox):
    """The committed results: the claims table, accuracy curves per data set (S3T, SISA and S3T
    with one sequence, each with its ± 2 s.e. band over seeds), and the deletion-rate check."""

    def __init__(self, results: dict):
        rows = compare(results)
        self.rows = rows
        self.plots: list[InteractivePlot] = []
        for name, entry in results["datasets"].items():
            c = entry["summary"]["curves"]
            n = len(c["x"]) * 3 // 8 + 1
            plot = accuracy_plot(f"{name}: accuracy vs requests (mean over seeds, bands ± 2 s.e.)", width=540, height=340)
            series = [accuracy_series(c["x"][:n], c[k]["accuracy"][:n], (c[k].get("accuracy_se") or [0.0] * n)[:n], k, NAMES[k])
                      for k in ("s3t", "sisa", "s3t_b1") if k in c]
            plot.draw(series, ylim=(0, 1))
            self.plots.append(plot)
        cap = results["capacity"]
        b = [r["sequences"] for r in cap["rows"]]
        rate = InteractivePlot(f"deletion rate, m = {cap['shards']}, L = {cap['slices']} (uniform requests)", "sequences per shard B′",
                               "requests until no shard serves", yunit="requests", xfmt="d", yfmt=".1f", width=540, height=340)
        rate.add_class("dl-rate")
        rate.draw([dict(x=b, y=[r["analytic"] for r in cap["rows"]], label="m·L·H(m·B′)", style="-", color=COLORS["s3t"]),
                   dict(x=b, y=[r["simulated"] for r in cap["rows"]], label=f"Monte Carlo ({cap['trials']:,} runs, ± 2 s.e.)",
                        style="o", color="tab:gray", error=[2 * r.get("simulated_se", 0.0) for r in cap["rows"]])],
                  hlines=[(cap["rows"][0]["analytic"], "SISA (B′ = 1)")])
        self.plots.append(rate)
        wrap = W.Layout(flex_flow="row wrap", align_items="flex-start")
        boxes = [W.HBox(self.plots[i:i + 2], layout=wrap) for i in range(0, len(self.plots), 2)]
        super().__init__([W.HTML(source_line(results.get("made_by")) + claims_table(rows)), *boxes])
        self.add_class("dl-s3t-results")
