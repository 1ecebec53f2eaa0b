"""``SpaceByteExplorer``: where SpaceByte thinks harder, what it costs, and how it fares at equal compute.

Tabs: **Patches** (paste any text; coloured patches, a marker ▾ where the global blocks run, bytes
past T_global greyed, statistics); **FLOPs per byte** (sliders D, L, T, P; the paper's formula for
every architecture); **Tournament** (the committed mini-tournament: bits per byte against training
FLOPs with each architecture's frontier, and a small retraining in the background with progress and
cancel); **Loss map** (bits of every byte under a shipped model, global positions overlaid);
**Complete** (a shipped model writes byte by byte). Everything shown is computed by
``deletionlab.spacebyte``; ``SpaceByteResultsView`` draws the committed results and their verdicts.
"""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.core.jobs import UserError
from deletionlab.spacebyte import DEFAULT_FLOPS, DEFAULT_PATCH, DEFAULT_RULE, DEFAULT_T_GLOBAL, DEFAULT_TEXT
from deletionlab.spacebyte.checkpoints import MAX_NEW_BYTES, load_cached, shipped_models
from deletionlab.spacebyte.experiment import ExperimentConfig, Stage
from deletionlab.spacebyte.explore import (
    Exploration,
    FlopsSettings,
    LossMap,
    Settings,
    explore,
    flops_table,
    loss_map,
    retrain,
    validate,
    write,
)
from deletionlab.spacebyte.models import ARCHS
from deletionlab.spacebyte.report import CORPUS_NAMES, compare, ordering

from .common import JobBar, LinePlot, StudyRoot, claims_table, colorize, escape, source_line

STYLE = """<style>
.dl-spacebyte .dl-patches { font-family: var(--jp-code-font-family, monospace); font-size: 14px; line-height: 2.0;
  white-space: pre-wrap; word-break: break-all; max-height: 360px; overflow-y: auto; border: 1px solid #eee; padding: 6px; }
.dl-spacebyte .dl-patch { border-radius: 3px; padding: 1px 0; }
.dl-spacebyte .dl-gmark { color: #c0392b; font-size: 10px; vertical-align: super; margin-left: 1px; }
.dl-spacebyte .dl-past { color: #aaa; text-decoration: line-through; }
.dl-spacebyte .dl-split { text-decoration: underline dotted #c0392b; }
.dl-spacebyte table.dl-t td, .dl-spacebyte table.dl-t th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: right; }
.dl-spacebyte table.dl-t td:first-child, .dl-spacebyte table.dl-t th:first-child { text-align: left; }
.dl-spacebyte .dl-lossmap { font-family: var(--jp-code-font-family, monospace); font-size: 14px; line-height: 2.0;
  white-space: pre-wrap; word-break: break-all; max-height: 320px; overflow-y: auto; }
.dl-spacebyte .dl-completion { font-family: var(--jp-code-font-family, monospace); white-space: pre-wrap; }
.dl-spacebyte .dl-completion b { background: #fff3b0; font-weight: normal; }
</style>"""
PALETTE = ["#ffe0b3", "#c8e6c9", "#bbdefb", "#f8bbd0", "#d1c4e9", "#fff59d"]
COLORS = {"spacebyte": "tab:red", "spacebyte_fixed": "tab:orange", "megabyte": "tab:green", "byte": "tab:blue",
          "byte_window": "tab:cyan", "subword": "tab:purple"}
#: the retraining panel's defaults: seconds on a laptop (XS models, a budget of 2e10 FLOPs)
RETRAIN_DEFAULTS = dict(budget=2e10, seeds=2, archs=("spacebyte", "byte", "megabyte"), batch_bytes=1024, val_bytes=8192)


def _show(ch: str) -> str:
    """A character as drawn in the views: newlines and tabs made visible but kept."""
    return {"\n": "↵\n", "\t": "→\t", "\r": "␍"}.get(ch, html.escape(ch))


def patches_html(ex: Exploration) -> str:
    """The text with one background colour per patch, ▾ where a global block runs, greyed bytes past T_global."""
    bos = (f"<span class='dl-gmark'>▾</span><span class='dl-patch dl-bos' style='background:{PALETTE[0]};font-size:10px' "
           "title='BOS (byte 255): a global block always runs here'>BOS</span>")
    out = [bos]
    for c in ex.chars:
        cls = "dl-patch" + (" dl-past" if c.past else "") + (" dl-split" if c.split else "")
        mark = "<span class='dl-gmark'>▾</span>" if c.is_global else ""
        tip = f"byte {c.start - 1}, patch {c.patch}" + (", global block here" if c.is_global else "")
        out.append(f"{mark}<span class='{cls}' style='background:{PALETTE[c.patch % len(PALETTE)]}' title='{tip}'>{_show(c.text)}</span>")
    more = " <i class='dl-muted'>…</i>" if ex.truncated else ""
    return f"<div class='dl-patches'>{''.join(out)}{more}</div>"


def stats_html(ex: Exploration) -> str:
    s = ex.stats
    rows = [("bytes (UTF-8)", f"{s['bytes']:,}"), ("characters", f"{s['chars']:,}"),
            ("patches (global positions, BOS included)", f"{s['patches']:,}"),
            ("mean patch", f"{s['mean_patch']:.2f} bytes"), ("median / longest patch", f"{s['median_patch']:g} / {s['max_patch']} bytes"),
            (f"bytes past T_global = {s['t_global']}", f"{s['bytes_past']:,} ({s['fraction_past']:.1%})")]
    body = "".join(f"<tr><td>{escape(a)}</td><td>{escape(b)}</td></tr>" for a, b in rows)
    notes = "".join(f"<div class='dl-muted'>{escape(n)}</div>" for n in ex.notices)
    return f"<table class='dl-t dl-patch-stats'>{body}</table>{notes}"


def flops_html(table: dict) -> str:
    base = table["byte"]["inference"]
    rows = "".join(f"<tr><td>{escape(v['name'])}</td><td>{v['inference']:.3g}</td><td>{v['training']:.3g}</td>"
                   f"<td>{v['inference'] / base:.2f}×</td></tr>" for v in table.values())
    return ("<table class='dl-t dl-flops'><tr><th>architecture</th><th>inference FLOPs/byte</th><th>training FLOPs/byte</th>"
            f"<th>vs byte Transformer</th></tr>{rows}</table>")


def draw_flops(plot: LinePlot, table: dict) -> None:
    cats = [v["name"].replace(" Transformer", "\nTransformer").replace(" (", "\n(") for v in table.values()]
    groups = {part: ([v[part] for v in table.values()], [0] * len(table)) for part in ("weights", "attention", "other")}
    plot.draw([], bars={"categories": cats, "groups": groups}, yscale="log")


def tournament_series(results: dict, corpus: str) -> list[dict]:
    """Plain series for the bits-per-byte vs training-FLOPs chart: every run (dots) and the mean
    frontier per budget (line) of each architecture."""
    series = []
    runs = [r for r in results["runs"] if r["corpus"] == corpus]
    front = results["frontier_mean"].get(corpus, {})
    for arch in results.get("archs", ARCHS):
        rs = [r for r in runs if r["arch"] == arch]
        if not rs:
            continue
        series.append(dict(x=[r["budget"] for r in rs], y=[r["bpb"] for r in rs], style=".", color=COLORS.get(arch), label=None,
                           markersize=5))
        budgets = sorted(front, key=float)
        xs = [float(b) for b in budgets if arch in front[b]]
        ys = [front[b][arch]["mean"] for b in budgets if arch in front[b]]
        series.append(dict(x=xs, y=ys, style="o-", color=COLORS.get(arch), label=ARCHS[arch]))
    return series


def tournament_view(results: dict, corpus: str) -> tuple[tuple[float, float], str]:
    """Y range that shows every architecture's frontier (the sizes that lost may lie above it) and a
    note saying how many runs fall outside."""
    front = results["frontier_mean"][corpus]
    means = [v["mean"] for b in front.values() for v in b.values()]
    lo, hi = min(means) - 0.1, max(means) + 0.25
    out = [r["bpb"] for r in results["runs"] if r["corpus"] == corpus and not lo <= r["bpb"] <= hi]
    note = f"{len(out)} runs of sizes that lost lie above the chart (up to {max(out):.2f} bits per byte)." if out else ""
    return (lo, hi), note


def ordering_html(results: dict) -> str:
    parts = []
    for corpus, budgets in results["frontier_mean"].items():
        for budget in sorted(budgets, key=float):
            items = ", ".join(f"{escape(ARCHS[a])} {m:.3f}" + (f" ± {se:.3f}" if se is not None else "")
                              for a, m, se in ordering(results, corpus, budget))
            parts.append(f"<li><b>{escape(CORPUS_NAMES.get(corpus, corpus))}, {float(budget):.0e} FLOPs</b>: {items}</li>")
    return f"<ul class='dl-ordering'>{''.join(parts)}</ul>"


def lossmap_html(lm: LossMap, vmax: float = 8.0) -> str:
    """Each byte coloured by its loss in bits (dark = surprising), ▾ on the bytes where a global block
    ran (its output feeds the prediction of the next byte, the first of a word)."""
    text = bytes(lm.data[1:].astype(np.uint8))
    rgb = colorize(np.minimum(lm.bits, vmax)[None, :], 0.0, vmax, "magma_r")[0]
    out, pos = [], 0
    for ch in text.decode("utf-8", errors="replace"):
        n = max(1, len(ch.encode("utf-8")))
        bits = float(lm.bits[pos:pos + n].sum())
        r, g, b = (int(v) for v in rgb[pos])
        fg = "#fff" if (r + g + b) < 300 else "#000"
        mark = "<span class='dl-gmark'>▾</span>" if pos + 1 < len(lm.is_global) and lm.is_global[pos + 1] else ""
        out.append(f"{mark}<span style='background:rgb({r},{g},{b});color:{fg}' title='{bits:.2f} bits'>{_show(ch)}</span>")
        pos += n
    s = lm.summary
    first = (f"first byte of a word: <b>{s['first_byte_bits']:.2f}</b> bits on average ({s['n_first']} bytes); "
             f"other bytes: <b>{s['other_bits']:.2f}</b> bits" if s["first_byte_bits"] is not None else "")
    return (f"<div class='dl-lossmap'>{''.join(out)}</div><div class='dl-muted'>{escape(ARCHS[lm.arch])}: "
            f"{s['mean_bits']:.2f} bits per byte over {s['n_bytes']:,} bytes; {first}. Colour: 0 to {vmax:g}+ bits.</div>")


def _int(w: W.Text, name: str, lo: int, hi: int) -> int:
    text = (w.value or "").strip().replace(",", "").replace("_", "")
    try:
        v = float(text)
    except ValueError:
        raise UserError(f"{name} must be a number from {lo:,} to {hi:,}, not {text[:30]!r}.") from None
    if not np.isfinite(v) or v != int(v) or not lo <= v <= hi:
        raise UserError(f"{name} must be a whole number from {lo:,} to {hi:,} (got {text[:30]}).")
    return int(v)


def _float(w: W.Text, name: str, lo: float, hi: float) -> float:
    text = (w.value or "").strip().replace(",", "").replace("_", "")
    try:
        v = float(text)
    except ValueError:
        raise UserError(f"{name} must be a number from {lo:g} to {hi:g}, not {text[:30]!r}.") from None
    if not (np.isfinite(v) and lo <= v <= hi):
        raise UserError(f"{name} must be a number from {lo:g} to {hi:g} (got {text[:30]}).")
    return v


class SpaceByteExplorer(StudyRoot):
    """The SpaceByte study's dashboard (``sync=True`` runs jobs in the calling thread, for tests).

    ``results`` (default: the committed ``results.json``) feeds the tournament tab; ``retrain_defaults``
    sets the retraining panel's first values.
    """

    exploration = T.Any(None, allow_none=True)   # the latest patches Exploration
    flops = T.Any(None, allow_none=True)         # the latest FLOPs table
    lossmap = T.Any(None, allow_none=True)       # the latest LossMap
    completion = T.Any(None, allow_none=True)    # the latest completion (bytes)
    retrained = T.Any(None, allow_none=True)     # the latest retraining results

    def __init__(self, text: str = DEFAULT_TEXT, sync: bool = False, autorun: bool = True, results: dict | None = None,
                 retrain_defaults: dict | None = None, models: dict | None = None) -> None:
        from deletionlab.spacebyte.report import load_results

        self.results = results if results is not None else load_results()
        self.retrain_defaults = {**RETRAIN_DEFAULTS, **(retrain_defaults or {})}
        folders = shipped_models() if models is None else models
        self.model_folders = {a: f for a, f in folders.items() if a != "subword"}
        self.models = list(self.model_folders)
        tabs = W.Tab([self._patch_tab(text, sync), self._flops_tab(), self._tournament_tab(sync), self._loss_tab(sync),
                      self._complete_tab(sync)])
        for i, t in enumerate(["Patches", "FLOPs per byte", "Tournament", "Loss map", "Complete"]):
            tabs.set_title(i, t)
        self.tabs = tabs
        super().__init__("spacebyte", [W.HTML(STYLE), tabs])
        if autorun:
            self.start()
            self.compute_flops()
            self.draw_tournament()
            if self.models:
                self.start_loss()

    # -- patches --------------------------------------------------------------------------------------
    def _patch_tab(self, text: str, sync: bool) -> W.Widget:
        self.text = W.Textarea(value=text, rows=5, continuous_update=False, layout=W.Layout(width="100%"),
                               placeholder="Type or paste any text, in any script")
        self.text.add_class("dl-text")
        self.rule = W.ToggleButtons(options=[("spacelike rule", "spacelike"), ("every P bytes", "fixed")], value=DEFAULT_RULE)
        self.patch_size = W.BoundedIntText(value=DEFAULT_PATCH, min=1, max=64, description="P", layout=W.Layout(width="140px"))
        self.t_global = W.Text(str(DEFAULT_T_GLOBAL), description="T_global", layout=W.Layout(width="180px"))
        self.job = JobBar(sync=sync)
        self.patch_view = W.HTML("")
        self.stats_view = W.HTML("")
        for w in (self.text, self.rule, self.patch_size, self.t_global):
            w.observe(lambda _: self.start(), "value")
        help_ = W.HTML("<div class='dl-muted'>Global blocks run at each ▾: a spacelike byte (not a letter, digit or UTF-8 "
                       "continuation byte) that follows a non-spacelike one, and at the start (BOS). Try code, a Chinese "
                       "sentence, emoji, or a long line of punctuation; switch to <i>every P bytes</i> to see the fixed-P "
                       "variant split words (and characters: dotted underline).</div>")
        return W.VBox([help_, self.text, W.HBox([self.rule, self.patch_size, self.t_global]), self.job,
                       W.HBox([self.patch_view], layout=W.Layout(width="100%")), self.stats_view])

    def settings(self) -> Settings:
        return Settings(text=self.text.value, rule=self.rule.value, patch=int(self.patch_size.value),
                        t_global=_int(self.t_global, "T_global", 1, 100_000))

    def start(self) -> None:
        """Cut the text into patches in the background (bad input: a sentence, the old view cleared)."""
        s = self.job.attempt(lambda: validate(self.settings()))
        if s is None:
            return
        self.job.run(explore, s, on_result=self._show_patches, on_error=lambda _: self._clear_patches(), name="Patching")

    def _clear_patches(self) -> None:
        self.exploration = None
        self.patch_view.value = ""
        self.stats_view.value = ""

    def _show_patches(self, ex: Exploration) -> None:
        self.exploration = ex
        self.patch_view.value = patches_html(ex)
        self.stats_view.value = stats_html(ex)

    # -- FLOPs ----------------------------------------------------------------------------------------
    def _flops_tab(self) -> W.Widget:
        d = DEFAULT_FLOPS
        self.f_d = W.IntSlider(value=d["d_model"], min=64, max=4096, step=64, description="D", continuous_update=False)
        self.f_l = W.IntSlider(value=d["n_layers"], min=1, max=64, description="L", continuous_update=False)
        self.f_t = W.IntSlider(value=d["context"], min=256, max=16384, step=256, description="T (bytes)", continuous_update=False)
        self.f_p = W.IntSlider(value=d["patch"], min=1, max=16, description="P", continuous_update=False)
        self.f_vocab = W.Text("50257", description="subword V", layout=W.Layout(width="200px"))
        self.f_bpt = W.Text("4.0", description="bytes/token", layout=W.Layout(width="200px"))
        self.flops_job = JobBar(sync=True, idle_text="")  # only its error line is used: the formula is instant
        self.flops_job.progress.layout.display = self.flops_job.cancel_button.layout.display = "none"
        self.flops_plot = LinePlot("inference FLOPs per byte, by part", "", "FLOPs per byte", width=7.5, height=3.4)
        self.flops_plot.add_class("dl-flops-plot")
        self.flops_view = W.HTML("")
        for w in (self.f_d, self.f_l, self.f_t, self.f_p, self.f_vocab, self.f_bpt):
            w.observe(lambda _: self.compute_flops(), "value")
        help_ = W.HTML("<div class='dl-muted'>The paper's accounting: 2 FLOPs per multiply-add of the matrix products, "
                       "attention over T keys (W for windows), training = 3 × inference. SpaceByte and MegaByte use d = D/2 "
                       "and L local layers; SpaceByte's global blocks see T/P positions. Starts at SpaceByte-793M+184M "
                       "(D = 1536, 28 global layers, T = 8192). Try a small D with a long T: attention takes over.</div>")
        return W.VBox([help_, W.HBox([W.VBox([self.f_d, self.f_l]), W.VBox([self.f_t, self.f_p]), W.VBox([self.f_vocab, self.f_bpt])]),
                       self.flops_job, W.HBox([self.flops_plot, self.flops_view])])

    def flops_settings(self) -> FlopsSettings:
        return FlopsSettings(d_model=self.f_d.value, n_layers=self.f_l.value, context=self.f_t.value, patch=self.f_p.value,
                             vocab=_int(self.f_vocab, "subword V", 256, 300_000),
                             bytes_per_token=_float(self.f_bpt, "bytes per token", 1, 16))

    def compute_flops(self) -> None:
        table = self.flops_job.attempt(lambda: flops_table(self.flops_settings()))
        if table is None:
            self.flops = None
            self.flops_view.value = ""
            return
        self.flops = table
        draw_flops(self.flops_plot, table)
        self.flops_view.value = flops_html(table)

    # -- tournament -----------------------------------------------------------------------------------
    def _tournament_tab(self, sync: bool) -> W.Widget:
        r = self.retrain_defaults
        self.t_corpus = W.ToggleButtons(options=[("prose", "prose"), ("code", "code")], value="prose")
        self.t_plot = LinePlot("bits per byte vs training FLOPs (committed tournament)", "training FLOPs", "bits per byte (validation)",
                               width=6.4, height=3.8)
        self.t_plot.add_class("dl-tournament-plot")
        self.t_plot.layout.display = "none"  # shown once drawn (no empty image)
        self.t_order = W.HTML("")
        self.r_archs = {a: W.Checkbox(value=a in r["archs"], description=ARCHS[a], indent=False, layout=W.Layout(width="230px"))
                        for a in ARCHS}
        self.r_budget = W.Text(f"{r['budget']:.0e}", description="budget", layout=W.Layout(width="200px"))
        self.r_seeds = W.BoundedIntText(value=r["seeds"], min=1, max=5, description="seeds", layout=W.Layout(width="160px"))
        self.r_button = W.Button(description="Retrain", icon="play", button_style="primary")
        self.r_button.add_class("dl-retrain")
        self.train_job = JobBar(sync=sync)
        self.r_plot = LinePlot("your retraining: bits per byte by architecture", "", "bits per byte", width=6.0, height=3.2)
        self.r_plot.layout.display = "none"
        self.r_view = W.HTML("")
        self.t_corpus.observe(lambda _: self.draw_tournament(), "value")
        self.r_button.on_click(lambda _: self.start_retrain())
        help_ = W.HTML("<div class='dl-muted'>Every model trained for a fixed number of training FLOPs (dots: sizes and seeds; "
                       "line: each architecture's best size, mean over seeds). <b>Retrain</b> runs a small tournament on prose "
                       "here (XS models: about 12 s for the defaults, 45 s at 1e11, measured on a busy 2-core machine); runs "
                       "already done are reused, so a cancelled retraining resumes.</div>")
        return W.VBox([help_, self.t_corpus, W.HBox([self.t_plot, self.t_order]),
                       W.HTML("<b>Retrain</b>"), W.HBox(list(self.r_archs.values()), layout=W.Layout(flex_flow="row wrap")),
                       W.HBox([self.r_budget, self.r_seeds, self.r_button]), self.train_job, W.HBox([self.r_plot, self.r_view])])

    def draw_tournament(self) -> None:
        res = self.results
        if not res or self.t_corpus.value not in res.get("frontier_mean", {}):
            self.t_order.value = "<i>No committed results for this corpus: run scripts/spacebyte_experiment.py.</i>"
            return
        ylim, note = tournament_view(res, self.t_corpus.value)
        self.t_plot.draw(tournament_series(res, self.t_corpus.value), ylim=ylim, legend_loc="center left")
        self.t_plot.layout.display = None
        self.t_order.value = "<div style='max-width:560px'><b>Best first</b> (bits per byte, mean ± s.e. over seeds)" + ordering_html(
            {**res, "frontier_mean": {self.t_corpus.value: res["frontier_mean"][self.t_corpus.value]}}) + \
            f"<div class='dl-muted'>{escape(note)}</div></div>"

    def retrain_config(self) -> ExperimentConfig:
        archs = tuple(a for a, b in self.r_archs.items() if b.value)
        if not archs:
            raise UserError("Tick at least one architecture to retrain.")
        budget = _float(self.r_budget, "budget (training FLOPs)", 1e6, 1e14)
        r = self.retrain_defaults
        cfg = ExperimentConfig(stages=(Stage("prose", budget, ("XS",), seeds=int(self.r_seeds.value)),), archs=archs,
                               batch_bytes=r["batch_bytes"], val_bytes=r["val_bytes"])
        return cfg.validate()

    def start_retrain(self) -> None:
        cfg = self.train_job.attempt(self.retrain_config)
        if cfg is None:
            return
        self.train_job.run(retrain, cfg, on_result=self._show_retrain, name="Retraining")

    def _show_retrain(self, res: dict) -> None:
        self.retrained = res
        (budget, means), = res["frontier_mean"]["prose"].items()
        archs = list(means)
        vals = [means[a]["mean"] for a in archs]
        errs = [means[a]["se"] or 0.0 for a in archs]
        self.r_plot.draw([], bars={"categories": [ARCHS[a].replace(" Transformer", "\nTransformer") for a in archs],
                                   "groups": {f"{float(budget):.0e} FLOPs": (vals, errs)}}, ylim=(0, max(vals) * 1.15))
        self.r_plot.layout.display = None
        self.r_view.value = "<div style='max-width:380px'>" + ordering_html(res) + "</div>"

    # -- loss map -------------------------------------------------------------------------------------
    def _loss_tab(self, sync: bool) -> W.Widget:
        self.l_text = W.Textarea(value=DEFAULT_TEXT.split("\n")[0] + " The quick brown fox jumps over the lazy dog.", rows=3,
                                 layout=W.Layout(width="100%"))
        self.l_arch = W.Dropdown(options=[(ARCHS[a], a) for a in self.models], description="model")
        self.l_button = W.Button(description="Score bytes", icon="play")
        self.l_button.add_class("dl-score")
        self.loss_job = JobBar(sync=sync)
        self.l_view = W.HTML("" if self.models else "<i>No shipped models: run scripts/spacebyte_experiment.py --export.</i>")
        self.l_button.on_click(lambda _: self.start_loss())
        help_ = W.HTML("<div class='dl-muted'>How surprised a shipped model is by each byte (darker = more bits). The paper's "
                       "observation: the first byte of a word carries most of the loss, which is where SpaceByte's global "
                       "blocks (▾) have just run.</div>")
        return W.VBox([help_, self.l_text, W.HBox([self.l_arch, self.l_button]), self.loss_job, self.l_view])

    def start_loss(self) -> None:
        if self.l_arch.value is None:
            self.loss_job.show_error("No shipped model to score with.")
            return
        model = self.loss_job.attempt(lambda: load_cached(self.model_folders[self.l_arch.value])[0])
        if model is not None:
            self.loss_job.run(loss_map, self.l_text.value, model, on_result=self._show_loss, name="Scoring")

    def _show_loss(self, lm: LossMap) -> None:
        self.lossmap = lm
        self.l_view.value = lossmap_html(lm)

    # -- completion -----------------------------------------------------------------------------------
    def _complete_tab(self, sync: bool) -> W.Widget:
        self.c_prompt = W.Textarea(value="The government said that", rows=2, layout=W.Layout(width="100%"))
        self.c_arch = W.Dropdown(options=[(ARCHS[a], a) for a in self.models], description="model")
        self.c_bytes = W.Text("120", description="bytes", layout=W.Layout(width="160px"))
        self.c_temp = W.Text("0.7", description="temperature", layout=W.Layout(width="180px"), style={"description_width": "initial"})
        self.c_seed = W.BoundedIntText(value=0, min=0, max=10**6, description="seed", layout=W.Layout(width="160px"))
        self.c_button = W.Button(description="Write", icon="pencil")
        self.c_button.add_class("dl-write")
        self.complete_job = JobBar(sync=sync)
        self.c_view = W.HTML("")
        self.c_view.add_class("dl-completion")
        self.c_button.on_click(lambda _: self.start_complete())
        help_ = W.HTML("<div class='dl-muted'>A tiny model trained here for a few minutes on BBC News writes one byte at a "
                       "time. Expect English-looking words, not sense.</div>")
        return W.VBox([help_, self.c_prompt, W.HBox([self.c_arch, self.c_bytes, self.c_temp, self.c_seed, self.c_button]),
                       self.complete_job, self.c_view])

    def start_complete(self) -> None:
        args = self.complete_job.attempt(lambda: (_int(self.c_bytes, "bytes", 1, MAX_NEW_BYTES), _float(self.c_temp, "temperature", 0, 2)))
        if args is None:
            return
        if self.c_arch.value is None:
            self.complete_job.show_error("No shipped model to write with.")
            return
        model = self.complete_job.attempt(lambda: load_cached(self.model_folders[self.c_arch.value])[0])
        if model is None:
            return
        prompt = self.c_prompt.value
        self.complete_job.run(write, model, prompt, args[0], args[1], int(self.c_seed.value),
                              on_result=lambda out: self._show_completion(prompt, out), name="Writing")

    def _show_completion(self, prompt: str, out: bytes) -> None:
        self.completion = out
        self.c_view.value = f"<div>{escape(prompt)}<b>{escape(out.decode('utf-8', errors='replace'))}</b></div>"


def _short(arch: str) -> str:
    return {"spacebyte": "SB", "spacebyte_fixed": "SB-P", "megabyte": "MB", "byte": "byte", "byte_window": "win", "subword": "BPE"}[arch]


class SpaceByteResultsView(W.VBox):
    """The committed tournament: claims table with verdicts, bits per byte vs FLOPs per corpus, orderings."""

    def __init__(self, results: dict):
        rows = compare(results)
        plots = []
        for corpus in results["frontier_mean"]:
            p = LinePlot(f"{CORPUS_NAMES.get(corpus, corpus)}: bits per byte vs training FLOPs", "training FLOPs", "bits per byte",
                         width=6.0, height=3.6)
            ylim, _ = tournament_view(results, corpus)
            p.draw(tournament_series(results, corpus), ylim=ylim, legend_loc="center left")
            plots.append(p)
        self.plots = plots
        pairs = [p for p in results["paired"] if p["se"] is not None]
        budgets = sorted({p["budget"] for p in pairs}, key=float)
        title = "seed-paired differences a − b (bits per byte; below 0: a better" + (
            f"; {float(budgets[0]):.0e} FLOPs)" if len(budgets) == 1 else ")")
        diffs = LinePlot(title, "SB SpaceByte, SB-P fixed-P, MB MegaByte, win windowed, BPE subword", "Δ bits per byte",
                         width=10.0, height=3.4)
        if pairs:
            cats = [f"{_short(p['a'])}−{_short(p['b'])}\n{p['corpus']}" + (f" {float(p['budget']):.0e}" if len(budgets) > 1 else "")
                    for p in pairs]
            diffs.draw([], bars={"categories": cats, "groups": {"mean ± s.e.": ([p["mean"] for p in pairs], [p["se"] for p in pairs])}},
                       hlines=[(0.0, "")])
        self.diffs = diffs
        speed = ", ".join(f"{escape(ARCHS[a])} {v:,.0f}" for a, v in results.get("bytes_per_second", {}).items())
        super().__init__([W.HTML(STYLE + source_line(results.get("made_by")) + claims_table(rows)), W.HBox(plots), diffs,
                          W.HTML("<b>Ordering</b> (frontier bits per byte, best first)" + ordering_html(results)
                                 + f"<div class='dl-muted'>Training speed in the tournament (bytes/s, median over runs, one "
                                   f"thread): {speed}.</div>")])
        self.rows = rows
        self.add_class("dl-spacebyte")
