"""``S3TExplorer``: a sharded, sliced system of LoRA adapters that switches adapters off as deletion
requests arrive, next to SISA at the same training cost; ``S3TResultsView``: the committed results.

Controls: data set, shards m, slices L, sequences B′, layers per step k, records per shard, how the
sequences are chosen and the deletion prior. The default system of each data set ships, so the
dashboard opens ready; other settings train in the background (progress, cancel) and are cached.
Requests: one record, a burst, or a stream drawn from the prior (a background job: watch the grid,
cancel it). Views: the shards × sequences × slices grid (each cell is a step's adapters, labelled
with the slice it added; green = served, pale = alive, grey = switched off), the same for SISA,
and accuracy and capacity curves against the number of requests.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.core.jobs import UserError
from deletionlab.s3t.capacity import deletion_rate, first_slices
from deletionlab.s3t.data import DATASETS
from deletionlab.s3t.explore import (
    MUST_RETRAIN,
    Exploration,
    Settings,
    apply_retrained,
    burst,
    curves,
    explore,
    record_info,
    retrain,
    send,
    status,
    stream,
    validate,
)
from deletionlab.s3t.model import N_LAYERS
from deletionlab.s3t.report import compare
from deletionlab.s3t.sequences import PRIORS, STRATEGIES, layer_schedule
from deletionlab.s3t.service import OFF, SERVED

from .common import JobBar, LinePlot, StudyRoot, claims_table, escape, source_line

COLORS = {"s3t": "tab:green", "sisa": "tab:orange"}
CELL = {SERVED: ("#2d6a4f", "#fff"), 1: ("#b7e4c7", "#1b4332"), OFF: ("#d9d9d9", "#888")}
LEGEND = ("<span class='dl-muted'>Each cell is one step's adapters, labelled with the slice that step added: "
          "<span style='background:#2d6a4f;color:#fff;padding:0 4px'>served</span> "
          "<span style='background:#b7e4c7;padding:0 4px'>alive</span> "
          "<span style='background:#d9d9d9;color:#888;padding:0 4px'>switched off</span>; a red frame marks the slice of the "
          "last request. Try one deletion, a burst of 20, a stream from the one-hot-slice prior, then B′ = 1 against B′ = 3.</span>")


def _whole(w: W.Text, name: str) -> int:
    """A control's text as a whole number (the ranges are checked by the science's ``validate``)."""
    text = (w.value or "").strip()
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise UserError(f"{name} must be a whole number (got {text[:30]!r}).")
    return int(text)


def grid_html(exp: Exploration, kind: str, service, title: str) -> str:
    """The shards × sequences × steps grid of one system as an HTML table."""
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
        for b in range(system.sequences):
            cells = []
            for i in range(cfg.slices):
                s = int(system.orderings[b, i])
                bg, fg = CELL[int(g[h, b, i])]
                hit = last is not None and last.shard == h and last.slice == s
                border = "2px solid #b00020" if hit else "1px solid #fff"
                cells.append(f"<td class='dl-cell dl-state-{int(g[h, b, i])}' style='background:{bg};color:{fg};border:{border};"
                             f"width:46px;text-align:center;font-size:12px'>S{s + 1}</td>")
            label = f"<td rowspan='{system.sequences}' style='font-size:12px;padding-right:8px'>shard {h + 1}<br>" \
                    f"<span style='font-size:10px'>{note}</span></td>" if b == 0 else ""
            rows.append(f"<tr>{label}<td style='font-size:10px;color:#666'>seq {b + 1}</td>{''.join(cells)}</tr>")
    return (f"<div style='font-size:13px;margin:4px 0'><b>{escape(title)}</b></div>"
            f"<table style='border-collapse:collapse'><tr><th></th><th></th>{head}</tr>{''.join(rows)}</table>")


class S3TExplorer(StudyRoot):
    """The S3T study's dashboard (``sync=True`` runs jobs in the calling thread, for tests;
    ``settings`` overrides the defaults, e.g. a tiny system)."""

    exploration = T.Any(None, allow_none=True)

    def __init__(self, sync: bool = False, autorun: bool = True, settings: Settings | None = None, delay: float = 0.25,
                 **kwargs: Any) -> None:
        s = settings or Settings()
        self.base = s
        self.delay = delay
        lay = W.Layout(width="150px")
        wide = {"description_width": "initial"}
        self.dataset = W.Dropdown(options=[(v, k) for k, v in DATASETS.items()], value=s.dataset, description="Data",
                                  layout=W.Layout(width="520px"))
        self.strategy = W.Dropdown(options=[(v, k) for k, v in STRATEGIES.items()], value=s.strategy, description="Sequences",
                                   layout=W.Layout(width="400px"))
        self.prior = W.Dropdown(options=[(v, k) for k, v in PRIORS.items()], value=s.prior, description="Prior",
                                layout=W.Layout(width="400px"))
        self.shards = W.Text(str(s.shards), description="shards m", layout=lay, style=wide)
        self.slices = W.Text(str(s.slices), description="slices L", layout=lay, style=wide)
        self.sequences = W.Text(str(s.sequences), description="sequences B′", layout=lay, style=wide)
        self.per_step = W.Text(str(s.per_step), description="layers per step k", layout=W.Layout(width="180px"), style=wide)
        self.per_shard = W.Text(str(s.per_shard), description="records per shard", layout=W.Layout(width="190px"), style=wide)
        for w, c in ((self.shards, "dl-shards"), (self.slices, "dl-slices"), (self.sequences, "dl-sequences")):
            w.add_class(c)
        self.train_button = W.Button(description="Load / train", icon="play", button_style="primary")
        self.train_button.add_class("dl-train")
        self.job = JobBar(sync=sync)
        self._build_requests()
        self.grid = W.HTML("")
        self.grid.add_class("dl-grid")
        self.sisa_grid = W.HTML("", layout=W.Layout(margin="0 0 0 40px"))
        self.sisa_grid.add_class("dl-sisa-grid")
        self.summary = W.HTML("")
        self.summary.add_class("dl-summary")
        self.acc_plot = LinePlot("accuracy while requests arrive", "deletion requests", "test accuracy", width=5.4, height=3.2)
        self.cap_plot = LinePlot("can the system still serve?", "deletion requests", "P(some shard serves)", width=5.4, height=3.2)
        self.acc_plot.add_class("dl-acc")
        controls = W.VBox([W.HBox([self.dataset]), W.HBox([self.shards, self.slices, self.sequences, self.per_step,
                                                                          self.per_shard]),
                           W.HBox([self.strategy, self.prior]), W.HBox([self.train_button, self.job])])
        views = W.VBox([self.requests, self.summary, W.HTML(LEGEND), W.HBox([self.grid, self.sisa_grid]),
                        W.HBox([self.acc_plot, self.cap_plot])])
        super().__init__("s3t", [controls, views], **kwargs)
        self.train_button.on_click(lambda _: self.start())
        self.prior.observe(lambda _: self.start_curves(), "value")
        if autorun:
            self.start()

    def _build_requests(self) -> None:
        self.record = W.Text("0", description="record", layout=W.Layout(width="170px"))
        self.record.add_class("dl-record")
        self.delete_button = W.Button(description="Delete record", icon="trash")
        self.delete_button.add_class("dl-delete")
        self.burst_size = W.Text("20", description="burst", layout=W.Layout(width="150px"))
        self.burst_button = W.Button(description="Send burst", icon="bolt")
        self.burst_button.add_class("dl-burst")
        self.stream_size = W.Text("30", description="stream", layout=W.Layout(width="150px"))
        self.stream_button = W.Button(description="Start stream", icon="play-circle")
        self.stream_button.add_class("dl-stream")
        self.retrain_button = W.Button(description="Retrain", icon="refresh", tooltip="retrain every shard that lost adapters")
        self.retrain_button.add_class("dl-retrain")
        self.retrain_sisa = W.Checkbox(value=False, description="SISA too", indent=False, layout=W.Layout(width="90px"))
        self.reset_button = W.Button(description="Forget requests", icon="undo", tooltip="back to the trained system (exploring only)")
        self.record_line = W.HTML("")
        self.record_line.add_class("dl-record-info")
        self.requests = W.VBox([W.HBox([self.record, self.delete_button, self.burst_size, self.burst_button, self.stream_size,
                                        self.stream_button, self.retrain_button, self.retrain_sisa, self.reset_button]),
                                       self.record_line])
        self.delete_button.on_click(lambda _: self.delete_one())
        self.burst_button.on_click(lambda _: self.send_burst())
        self.stream_button.on_click(lambda _: self.start_stream())
        self.retrain_button.on_click(lambda _: self.start_retrain())
        self.reset_button.on_click(lambda _: self.forget())
        self.record.observe(lambda _: self._show_record(), "value")

    # -- input ----------------------------------------------------------------------------------
    def settings(self) -> Settings:
        """Controls -> :class:`Settings` (a text that is not a whole number is refused here; every
        range is checked by ``validate``)."""
        from dataclasses import replace

        return replace(self.base, dataset=self.dataset.value, strategy=self.strategy.value, prior=self.prior.value,
                       shards=_whole(self.shards, "Shards m"), slices=_whole(self.slices, "Slices L"),
                       sequences=_whole(self.sequences, "Sequences B′"), per_step=_whole(self.per_step, "Layers per step k"),
                       per_shard=_whole(self.per_shard, "Records per shard"))

    # -- jobs -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Load (shipped or cached) or train the system of the controls, in the background."""
        s = self.job.attempt(lambda: validate(self.settings()))
        if s is None:
            return
        self.job.run(explore, s, on_result=self._loaded, name="Loading" if s == self.base else "Training")

    def _loaded(self, exp: Exploration) -> None:
        self.exploration = exp
        self.say(f"S3T and SISA systems {exp.source}: {exp.s3t.config.n_train} training texts in {exp.s3t.config.shards} shards, "
                 f"test accuracy on {len(exp.y_test)} held-out texts.")
        self._draw()
        self._draw_curves()
        self._show_record()

    def start_curves(self) -> None:
        """Recompute the curves for the chosen prior (the system stays)."""
        exp = self.exploration
        if exp is None:
            return
        prior = self.prior.value
        if exp.s3t.config.strategy == "matched" and exp.s3t.config.prior != prior:
            self.say("The sequences were matched to another prior: press Load / train to match them to this one.")

        def work(progress, cancel):
            return curves(exp, prior, cancel=cancel)

        self.job.run(work, on_result=self._curves_done, name="Curves")

    def _curves_done(self, c: dict) -> None:
        self.exploration.curves = c
        self._draw_curves()

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
        if exp is not None and self.job.attempt(burst, exp, self.burst_size.value, self.prior.value) is not None:
            self._after_requests()

    def start_stream(self) -> None:
        """Requests one by one in the background; the grid follows; Cancel stops it."""
        exp = self.exploration
        if exp is None:
            return
        from deletionlab.s3t.explore import check_count

        n = self.job.attempt(check_count, exp, self.stream_size.value, "Stream length")
        if n is None:
            return
        prior, delay = self.prior.value, self.delay

        def work(progress, cancel):
            return stream(exp, n, prior, progress=progress, cancel=cancel, delay=delay, on_request=lambda _: self._draw())

        self.job.run(work, on_result=lambda _: self._after_requests(), name="Stream")

    def start_retrain(self) -> None:
        """Retrain every shard that lost adapters (S3T and SISA), in the background."""
        exp = self.exploration
        if exp is None:
            return
        prior, with_sisa = self.prior.value, self.retrain_sisa.value

        def work(progress, cancel):
            new = retrain(exp, progress=progress, cancel=cancel, sisa=with_sisa)
            apply_retrained(exp, new)
            exp.curves = curves(exp, prior, cancel=cancel)
            return new

        def done(new) -> None:
            sisa = f" and SISA shard(s) {', '.join(str(h + 1) for h in new.sisa_shards)}" if new.sisa_shards else ""
            self.say(f"Retrained S3T shard(s) {', '.join(str(h + 1) for h in new.s3t_shards) or 'none'}{sisa} on the records left, "
                     f"in {new.seconds:.0f} s.")
            self._after_requests()

        self.job.run(work, on_result=done, name="Retraining")

    def forget(self) -> None:
        """Back to the trained system without any request (for exploring; not a real service's move)."""
        exp = self.exploration
        if exp is None:
            return
        self.job.cancel()
        with exp.lock:
            exp.s3t_service.reset()
            exp.sisa_service.reset()
            exp.sisa_seconds = 0.0
        self.job.clear_error()
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
            f"<div><b>{st['deleted']}</b> request(s). S3T accuracy <b>{acc(st['s3t_accuracy'])}</b> ({n_s3t}/{cfg.shards} shards "
            f"serving) · SISA <b>{acc(st['sisa_accuracy'])}</b> ({n_sisa}/{cfg.shards} serving from their last clean checkpoint; "
            f"retraining instead would have taken ≈ {st['sisa_seconds']:.0f} s).{escape(where)}</div>"
            f"<div class='dl-muted'>Expected requests until no shard serves (uniform requests): S3T "
            f"{deletion_rate(cfg.shards, cfg.slices, first_slices(exp.s3t.orderings)):.1f} = m·L·H(m·B′), SISA "
            f"{deletion_rate(cfg.shards, cfg.slices, 1):.1f} = m·L·H(m). Training: S3T {exp.s3t.cost.seconds:.0f} s, SISA "
            f"{exp.sisa.cost.seconds:.0f} s at the same {exp.s3t.cost.updates} updates.</div>")

    def _draw_curves(self) -> None:
        exp = self.exploration
        c = exp.curves if exp is not None else None
        if not c:
            return
        st = status(exp)
        x = c["x"]
        acc, cap = [], []
        for k, label in (("s3t", "S3T"), ("sisa", "SISA")):
            m, se = np.array(c[f"{k}_accuracy"]), np.nan_to_num(np.array(c[f"{k}_accuracy_se"]))
            acc.append(dict(x=x, y=m.tolist(), label=f"{label} (mean of {c['streams']} streams)", style="-", color=COLORS[k]))
            acc.append(dict(x=x, y=(m + 2 * se).tolist(), style=":", color=COLORS[k]))
            acc.append(dict(x=x, y=(m - 2 * se).tolist(), style=":", color=COLORS[k]))
            cap.append(dict(x=x, y=c[f"{k}_serving"], label=f"{label} simulated", style="-", color=COLORS[k]))
            if c["prior"] == "uniform":
                cap.append(dict(x=x, y=c[f"{k}_analytic"], label=f"{label} analytic", style="--", color=COLORS[k]))
        now = st["deleted"]
        for k in ("s3t", "sisa"):
            a = st[f"{k}_accuracy"]
            acc.append(dict(x=[now], y=[0.0 if a is None else a], style="o", markersize=9, color=COLORS[k],
                            label="now" if k == "s3t" else None))
        self.acc_plot.title = f"accuracy while requests arrive ({PRIORS[c['prior']].split(':')[0]} prior; dotted: ± 2 s.e.)"
        self.acc_plot.draw(acc, ylim=(0, 1))
        self.cap_plot.draw(cap, ylim=(0, 1.05), hlines=[(0.5, "")])


class S3TResultsView(W.VBox):
    """The committed results: the claims table, accuracy and serving curves per data set, the
    deletion-rate check."""

    def __init__(self, results: dict):
        rows = compare(results)
        self.rows = rows
        plots = []
        for name, entry in results["datasets"].items():
            c = entry["summary"]["curves"]
            x = c["x"]
            n = len(x) * 3 // 8 + 1
            acc = LinePlot(f"{name}: accuracy vs requests (mean over seeds, ± 2 s.e.)", "deletion requests", "test accuracy",
                           width=5.0, height=3.0)
            series = []
            for k, label in (("s3t", "S3T"), ("sisa", "SISA"), ("s3t_b1", "S3T, B′ = 1")):
                if k not in c:
                    continue
                m = np.array(c[k]["accuracy"][:n])
                series.append(dict(x=x[:n], y=m.tolist(), label=label, style="-", color=COLORS.get(k, "tab:blue")))
                if c[k].get("accuracy_se") is not None and k != "s3t_b1":
                    se = np.array(c[k]["accuracy_se"][:n])
                    series += [dict(x=x[:n], y=(m + s * 2 * se).tolist(), style=":", color=COLORS[k]) for s in (1, -1)]
            acc.draw(series, ylim=(0, 1))
            plots.append(acc)
        cap = results["capacity"]
        bars = LinePlot(f"deletion rate, m = {cap['shards']}, L = {cap['slices']}", "sequences per shard B′",
                        "requests until no shard serves", width=5.0, height=3.0)
        bars.draw([dict(x=[r["sequences"] for r in cap["rows"]], y=[r["analytic"] for r in cap["rows"]], label="m·L·H(m·B′)", style="-"),
                   dict(x=[r["sequences"] for r in cap["rows"]], y=[r["simulated"] for r in cap["rows"]], label="Monte Carlo", style="o")])
        plots.append(bars)
        boxes = [W.HBox(plots[i:i + 2]) for i in range(0, len(plots), 2)]
        super().__init__([W.HTML(source_line(results.get("made_by")) + claims_table(rows)), *boxes])
        self.add_class("dl-s3t-results")
