"""``SpaceByteExplorer``: where SpaceByte thinks harder, what it costs, and how it fares at equal compute.

Tabs: **Patches** (paste any text; coloured patches, a marker ▾ where the global blocks run, bytes
past T_global greyed, statistics); **FLOPs per byte** (sliders D, L, T, P; the paper's formula for
every architecture, drawn against the context T); **Tournament** (the committed mini-tournament: bits
per byte against training FLOPs with each architecture's frontier; a click on a run draws its
training curve next to the other architectures' and opens a shipped model's loss map; a small
retraining in the background with progress, cancel and its loss curves); **Loss map** (bits of every
byte under a shipped model, global positions overlaid); **Complete** (a shipped model writes byte by
byte). Curves are :class:`InteractivePlot` charts (hover for values with units, zoom, legend
toggling; one colour per architecture everywhere). Everything shown is computed by
``deletionlab.spacebyte``; ``SpaceByteResultsView`` draws the committed results and their verdicts.

Heavy jobs (loss map, completion, retraining) go through the machine-wide queue with one torch
thread and through the shared result cache, so the default loss map is computed once per machine.
"""

from __future__ import annotations

import html
import math

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.core.cache import is_cached
from deletionlab.core.jobs import UserError
from deletionlab.spacebyte import DEFAULT_FLOPS, DEFAULT_PATCH, DEFAULT_RULE, DEFAULT_T_GLOBAL, DEFAULT_TEXT
from deletionlab.spacebyte.checkpoints import MAX_NEW_BYTES, shipped_models
from deletionlab.spacebyte.experiment import SIZES, ExperimentConfig, Stage
from deletionlab.spacebyte.explore import (
    Exploration,
    FlopsSettings,
    LossMap,
    Settings,
    check_loss_text,
    explore,
    flops_curves,
    flops_table,
    loss_key,
    model_record,
    retrain_estimate,
    retrain_key,
    shared_loss_map,
    shared_retrain,
    shared_write,
    validate,
    validate_write,
    write_key,
)
from deletionlab.spacebyte.models import ARCHS
from deletionlab.spacebyte.report import CORPUS_NAMES, compare, ordering

from .common import JobBar, LinePlot, StudyRoot, claims_table, colorize, escape, source_line
from .plots import TAB10, InteractivePlot

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
.dl-spacebyte .dl-stale { color: #888; font-style: italic; }
.dl-spacebyte .dl-swatch { font-size: 1.2em; line-height: 1; }
.dl-spacebyte .dl-run-detail { margin: 4px 0; max-width: 1100px; }
</style>"""
PALETTE = ["#ffe0b3", "#c8e6c9", "#bbdefb", "#f8bbd0", "#d1c4e9", "#fff59d"]
#: one colour per architecture, in every chart and table of the dashboard and the results view
COLORS = {"spacebyte": "tab:red", "spacebyte_fixed": "tab:orange", "megabyte": "tab:green", "byte": "tab:blue",
          "byte_window": "tab:cyan", "subword": "tab:purple"}
#: the retraining panel's defaults: seconds on a laptop (XS models, a budget of 2e10 FLOPs)
RETRAIN_DEFAULTS = dict(budget=2e10, seeds=2, archs=("spacebyte", "byte", "megabyte"), batch_bytes=1024, val_bytes=8192)
#: the largest retraining budget per run (an XS model took 40-230 s per 1e12 FLOPs on one thread)
MAX_RETRAIN_BUDGET = 1e12
#: architectures' points around a budget are drawn this far apart (log10 units), so none hides another,
#: and an architecture's seeds a third of that (two seeds 0.001 bits per byte apart stay apart)
DODGE = 0.04
SEED_DODGE = DODGE / 3
#: the tabs, in order
TABS = ["Patches", "FLOPs per byte", "Tournament", "Loss map", "Complete"]
COMPUTING = "<span class='dl-stale'>computing…</span>"
STALE = "<span class='dl-stale'>Nothing shown: fix the input above.</span>"
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
SEED_STYLES = ["-", "--", ":", "-."]


def _show(ch: str) -> str:
    """A character as drawn in the views: newlines and tabs made visible but kept."""
    return {"\n": "↵\n", "\t": "→\t", "\r": "␍"}.get(ch, html.escape(ch))


def sci(x: float, digits: int = 3) -> str:
    """``x`` as "9.996×10¹¹" (or "10¹²", "4×10¹²" for a round budget)."""
    if not x or not math.isfinite(x):
        return f"{x:g}"
    e = math.floor(math.log10(abs(x)))
    m = x / 10**e
    text = f"{m:.{digits - 1}f}".rstrip("0").rstrip(".") if digits > 1 else f"{m:.0f}"
    power = "10" + str(e).translate(SUPERSCRIPT)
    return power if text == "1" else f"{text}×{power}"


def swatch(arch: str) -> str:
    """A dot in the architecture's colour (tables next to the charts)."""
    return f"<span class='dl-swatch' style='color:{TAB10[COLORS[arch]]}'>●</span> "


def _reset_bar(bar: JobBar, text: str) -> None:
    """The job bar no longer reports a result that the views do not show."""
    bar.progress.value = 0.0
    bar.progress.bar_style = ""
    bar.status.value = escape(text)


# -- patches ----------------------------------------------------------------------------------------
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


# -- FLOPs calculator -------------------------------------------------------------------------------
def flops_html(table: dict) -> str:
    """Every architecture's FLOPs per byte at the sliders' setting, split into its parts."""
    base = table["byte"]["inference"]
    rows = "".join(f"<tr><td>{swatch(a)}{escape(v['name'])}</td><td>{sci(v['inference'])}</td><td>{sci(v['weights'])}</td>"
                   f"<td>{sci(v['attention'])}</td><td>{sci(v['other'])}</td><td>{sci(v['training'])}</td>"
                   f"<td>{v['inference'] / base:.2f}×</td></tr>" for a, v in table.items())
    return ("<table class='dl-t dl-flops'><tr><th>architecture</th><th>inference FLOPs/byte</th><th>of which weights</th>"
            "<th>attention</th><th>other</th><th>training FLOPs/byte</th><th>vs byte Transformer</th></tr>"
            f"{rows}</table>")


def flops_plot() -> InteractivePlot:
    plot = InteractivePlot("inference FLOPs per byte against the context T", "context T", "FLOPs per byte", xunit="bytes",
                           yunit="FLOPs/byte", xscale="log", yscale="log", yfmt=".3~e", xfmt=",d", width=720, height=360,
                           legend="right")
    plot.figure.update_layout(xaxis=dict(tickvals=[256, 1024, 4096, 16384], ticktext=["256", "1,024", "4,096", "16,384"]),
                              yaxis=dict(exponentformat="power"))  # "10⁹", never plotly's "1B" (a billion, not a byte)
    plot.add_class("dl-flops-plot")
    return plot


def draw_flops(plot: InteractivePlot, curves: dict, context: int) -> None:
    series = [dict(x=c["context"], y=c["inference"], label=c["name"], color=COLORS[a], style="o-") for a, c in curves.items()]
    plot.draw(series, vlines=[(context, f"T = {context:,}")])


# -- the tournament chart ---------------------------------------------------------------------------
def tournament_plot(title: str = "", width: int = 700, height: int = 400) -> InteractivePlot:
    plot = InteractivePlot(title, "training FLOPs", "bits per byte (validation)", xunit="FLOPs", yunit="bits/byte", xscale="log",
                           width=width, height=height, legend="right")
    plot.add_class("dl-tournament-plot")
    return plot


def _dodge(arch: str, archs: list[str], seed: int | None = None) -> float:
    """Factor that moves an architecture's points (and a seed's, around the frontier) off the budget on the log axis."""
    k = archs.index(arch) if arch in archs else 0
    return 10 ** (DODGE * (k - (len(archs) - 1) / 2) + (0 if seed is None else SEED_DODGE * (seed - 1)))


def run_hover(r: dict, shipped: bool = False) -> str:
    """A run's tooltip: architecture, size, seed, bits per byte and training FLOPs with units."""
    d, layers = SIZES.get(r["size"], ("?", "?"))
    mb = r.get("bytes_trained", 0) / 1e6
    tip = (f"<b>{escape(ARCHS[r['arch']])}</b>, size {escape(r['size'])} (D = {d}, {layers} layers), seed {r['seed']}<br>"
           f"{r['bpb']:.3f} bits per byte (validation)<br>{sci(r['flops'], 4)} training FLOPs (budget {sci(r['budget'], 2)})<br>"
           f"{r.get('steps', 0):,} steps, {mb:.2f} MB of text, {r.get('train_seconds', 0):.0f} s")
    return tip + ("<br><i>shipped: click for its loss map</i>" if shipped else "<br><i>click for its training curve</i>")


def tournament_series(results: dict, corpus: str, shipped_ids=()) -> list[dict]:
    """Series for the bits-per-byte vs training-FLOPs chart: every run (dots) and the frontier (best size
    per seed, mean ± s.e. over seeds; line) of each architecture, drawn side by side around each budget."""
    series = []
    runs = [r for r in results["runs"] if r["corpus"] == corpus]
    front = results["frontier_mean"].get(corpus, {})
    archs = list(results.get("archs", ARCHS))
    budgets = sorted(front, key=float)
    for arch in archs:
        rs = [r for r in runs if r["arch"] == arch]
        if not rs:
            continue
        k = _dodge(arch, archs)
        name = ARCHS[arch]
        series.append(dict(x=[r["budget"] * _dodge(arch, archs, r["seed"]) for r in rs], y=[r["bpb"] for r in rs], style="o",
                           color=COLORS.get(arch), label=name,
                           markersize=6, text=[run_hover(r, r["id"] in shipped_ids) for r in rs], runs=[r["id"] for r in rs],
                           kind="runs"))
        pts = [(float(b), front[b][arch]) for b in budgets if arch in front[b]]
        text = [f"<b>{escape(name)}</b>: frontier (best size per seed), mean of {m['n']} seed{'s' * (m['n'] > 1)}<br>"
                + (f"{m['mean']:.3f} ± {m['se']:.3f} bits per byte (s.e.)" if m["se"] else f"{m['mean']:.3f} bits per byte (one seed)")
                + f"<br>budget {sci(b, 2)} training FLOPs" for b, m in pts]
        series.append(dict(x=[b * k for b, _ in pts], y=[m["mean"] for _, m in pts], error=[m["se"] for _, m in pts],
                           style="s-", color=COLORS.get(arch), label=name, markersize=5, text=text, kind="frontier"))
    return series


def tournament_view(results: dict, corpus: str) -> tuple[tuple[float, float], str]:
    """Y range that shows every architecture's frontier (the sizes that lost may lie above it) and a
    note saying how many runs fall outside."""
    front = results["frontier_mean"][corpus]
    means = [v["mean"] for b in front.values() for v in b.values()]
    lo, hi = min(means) - 0.1, max(means) + 0.25
    out = [r["bpb"] for r in results["runs"] if r["corpus"] == corpus and not lo <= r["bpb"] <= hi]
    note = (f"{len(out)} runs of sizes that lost lie above the chart (up to {max(out):.2f} bits per byte; double-click the "
            "chart to see them)." if out else "")
    return (lo, hi), note


def draw_tournament_chart(plot: InteractivePlot, results: dict, corpus: str, shipped_ids=()) -> str:
    """Draw the chart (tooltips from the series' text, one legend entry per architecture); returns the note."""
    series = tournament_series(results, corpus, shipped_ids)
    ylim, note = tournament_view(results, corpus)
    plot.draw(series, ylim=ylim)
    budgets = sorted({float(b) for b in results["frontier_mean"][corpus]})
    fig = plot.figure
    assert len(fig.data) == len(series)  # one trace per series (no bands)
    with fig.batch_update():
        for trace, s in zip(fig.data, series):
            trace.hovertemplate = "%{text}<extra></extra>"  # x is dodged: the tooltip says the true FLOPs
            trace.showlegend = s["kind"] == "frontier"      # dots and line share one legend entry (and group)
        fig.layout.xaxis.tickvals = budgets
        fig.layout.xaxis.ticktext = [sci(b, 2) for b in budgets]
        half = DODGE * (len(series) / 4 + 0.5) + SEED_DODGE  # half the width of a budget's group of points
        fig.layout.xaxis.range = [math.log10(min(budgets)) - half - 0.08, math.log10(max(budgets)) + half + 0.08]
        fig.layout.xaxis.autorange = False
    return note


def clicked_run(results: dict, series: list[dict], x: float, y: float, label: str) -> dict | None:
    """The run drawn at (x, y) in the series named ``label`` (None for a frontier point)."""
    ids = {r["id"]: r for r in results["runs"]}
    for s in series:
        if s.get("label") != label or s.get("kind") != "runs":
            continue
        for rid, sx, sy in zip(s["runs"], s["x"], s["y"]):
            if math.isclose(sx, float(x), rel_tol=1e-9) and math.isclose(sy, float(y), rel_tol=1e-9):
                return ids[rid]
    return None


def run_detail(r: dict, shipped: bool, byte_level: bool = True, curves: bool = True) -> str:
    """A clicked run in one paragraph: what it is, its result, whether it ships with the dashboard."""
    d, layers = SIZES.get(r["size"], ("?", "?"))
    what = ("Shipped with the dashboard: its loss map is in the <b>Loss map</b> tab, and it writes in <b>Complete</b>."
            if shipped and byte_level else "Shipped with the dashboard (a subword model: no byte-level loss map)." if shipped
            else "Not shipped (only each architecture's best model at the largest prose budget is).")
    return (f"<div class='dl-run-detail'>{swatch(r['arch'])}<b>{escape(ARCHS[r['arch']])}</b>, size {escape(r['size'])} "
            f"(D = {d}, {layers} layers), seed {r['seed']}, {escape(CORPUS_NAMES.get(r['corpus'], r['corpus']))}: "
            f"<b>{r['bpb']:.3f}</b> bits per byte after {sci(r['flops'], 4)} training FLOPs. {what}"
            + (" Below: its training loss next to the other architectures' at the same budget, size and seed." if curves else "")
            + "</div>")


# -- training curves --------------------------------------------------------------------------------
def curves_plot(title: str = "") -> InteractivePlot:
    plot = InteractivePlot(title, "training FLOPs", "training loss (bits per byte)", xunit="FLOPs", yunit="bits/byte", xfmt=".3~e",
                           yfmt=".3f", width=720, height=330, legend="right")
    plot.figure.update_layout(xaxis=dict(exponentformat="power"))  # "2×10¹⁰", never plotly's "20B"
    plot.add_class("dl-curves-plot")
    return plot


def curve_series(runs: list[dict]) -> list[dict]:
    """Training loss (bits per byte of the training batches) against training FLOPs spent, one line per run,
    coloured by architecture, dashed by seed; one legend entry per architecture."""
    series, seen = [], set()
    for r in runs:
        if not r.get("curve"):
            continue
        steps = max(r["steps"], 1)
        xs = [r["flops"] * s / steps for s, _ in r["curve"]]
        ys = [b for _, b in r["curve"]]
        took = f", trained in {r['train_seconds']:.0f} s" if r.get("train_seconds") is not None else ""
        text = [f"size {escape(r['size'])}, seed {r['seed']}, step {s:,} of {steps:,}{took}" for s, _ in r["curve"]]
        series.append(dict(x=xs, y=ys, label=ARCHS[r["arch"]], color=COLORS.get(r["arch"]), style=SEED_STYLES[r["seed"] % 4],
                           text=text, legend=r["arch"] not in seen))
        seen.add(r["arch"])
    return series


def draw_curves(plot: InteractivePlot, runs: list[dict]) -> None:
    series = curve_series(runs)
    ys = [y for s in series for y in s["y"][len(s["y"]) // 4:]]  # the first steps start near 8 bits: zoom on the rest
    ylim = (min(ys) - 0.1, max(ys) + 0.2) if ys else None
    plot.draw(series, ylim=ylim, note="" if series else "no training curve recorded")
    with plot.figure.batch_update():
        for trace, s in zip(plot.figure.data, series):
            trace.showlegend = s["legend"]


def ordering_html(results: dict) -> str:
    parts = []
    for corpus, budgets in results["frontier_mean"].items():
        for budget in sorted(budgets, key=float):
            items = ", ".join(f"{swatch(a)}{escape(ARCHS[a])} {m:.3f}" + (f" ± {se:.3f}" if se is not None else "")
                              for a, m, se in ordering(results, corpus, budget))
            parts.append(f"<li><b>{escape(CORPUS_NAMES.get(corpus, corpus))}, {sci(float(budget), 2)} FLOPs</b>: {items}</li>")
    return f"<ul class='dl-ordering'>{''.join(parts)}</ul>"


def lossmap_html(lm: LossMap, vmax: float = 8.0, caption: str = "") -> str:
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
    stops = colorize(np.linspace(0, vmax, 9)[None, :], 0.0, vmax, "magma_r")[0]
    scale = ("<span class='dl-colour-scale' style='display:inline-block;width:120px;height:10px;vertical-align:middle;"
             "background:linear-gradient(to right," + ",".join(f"rgb({r},{g},{b})" for r, g, b in stops[:, :3].astype(int)) + ")'></span>")
    first = (f"; first byte of a word: <b>{s['first_byte_bits']:.2f}</b> bits on average ({s['n_first']} bytes), "
             f"other bytes: <b>{s['other_bits']:.2f}</b> bits" if s["first_byte_bits"] is not None and s["other_bits"] is not None else "")
    head = f"<div class='dl-muted'>{escape(caption)}</div>" if caption else ""
    return (f"{head}<div class='dl-lossmap'>{''.join(out)}</div><div class='dl-muted'>{escape(ARCHS[lm.arch])}: "
            f"{s['mean_bits']:.2f} bits per byte over {s['n_bytes']:,} bytes{first}. Colour: 0 {scale} {vmax:g}+ bits; hover a "
            "character for its bits.</div>")


def _number(w: W.Text, name: str, lo: float, hi: float, whole: bool) -> float:
    """The number typed in a text box, or a one-sentence :class:`UserError` naming the field and its range."""
    text = (w.value or "").strip().replace(",", "").replace("_", "")
    shown = text[:30] + ("…" if len(text) > 30 else "")
    rng = f"from {lo:,} to {hi:,}" if whole else f"from {lo:g} to {hi:g}"
    kind = "a whole number" if whole else "a number"
    try:
        v = float(text)
    except (ValueError, OverflowError):
        raise UserError(f"{name} must be {kind} {rng} (got {shown!r}).") from None
    if not (math.isfinite(v) and lo <= v <= hi) or (whole and v != int(v)):
        raise UserError(f"{name} must be {kind} {rng} (got {shown}).")
    return v


def _int(w: W.Text, name: str, lo: int, hi: int) -> int:
    return int(_number(w, name, lo, hi, whole=True))


def _float(w: W.Text, name: str, lo: float, hi: float) -> float:
    return _number(w, name, lo, hi, whole=False)


class SpaceByteExplorer(StudyRoot):
    """The SpaceByte study's dashboard (``sync=True`` runs jobs in the calling thread, for tests).

    ``results`` (default: the committed ``results.json``) feeds the tournament tab; ``retrain_defaults``
    sets the retraining panel's first values; ``models`` (arch -> folder) replaces the shipped models.
    """

    exploration = T.Any(None, allow_none=True)   # the latest patches Exploration
    flops = T.Any(None, allow_none=True)         # the latest FLOPs table
    lossmap = T.Any(None, allow_none=True)       # the latest LossMap
    completion = T.Any(None, allow_none=True)    # the latest completion (bytes)
    retrained = T.Any(None, allow_none=True)     # the latest retraining results
    selected_run = T.Any(None, allow_none=True)  # the tournament run last clicked (its record)

    def __init__(self, text: str = DEFAULT_TEXT, sync: bool = False, autorun: bool = True, results: dict | None = None,
                 retrain_defaults: dict | None = None, models: dict | None = None) -> None:
        from deletionlab.spacebyte.report import load_results

        self.results = results if results is not None else load_results()
        self.retrain_defaults = {**RETRAIN_DEFAULTS, **(retrain_defaults or {})}
        folders = shipped_models() if models is None else dict(models)
        self.shipped_ids = {rid: a for a, f in folders.items() if (rid := model_record(f).get("id"))}  # run id -> arch
        self.model_folders = {a: f for a, f in folders.items() if a != "subword"}
        self.models = list(self.model_folders)
        self._gen = {"patch": 0, "loss": 0, "write": 0, "train": 0}  # a result is shown only if no newer request or error came
        tabs = W.Tab([self._patch_tab(text, sync), self._flops_tab(), self._tournament_tab(sync), self._loss_tab(sync),
                      self._complete_tab(sync)])
        for i, t in enumerate(TABS):
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
                               placeholder="Type or paste any text, in any script (up to 200 kB)")
        self.text.add_class("dl-text")
        self.rule = W.ToggleButtons(options=[("spacelike rule", "spacelike"), ("every P bytes", "fixed")], value=DEFAULT_RULE)
        self.patch_size = W.BoundedIntText(value=DEFAULT_PATCH, min=1, max=64, description="P", layout=W.Layout(width="140px"))
        self.t_global = W.Text(str(DEFAULT_T_GLOBAL), description="T_global", continuous_update=False, layout=W.Layout(width="180px"))
        self.job = JobBar(sync=sync)
        self.patch_view = W.HTML(COMPUTING)
        self.stats_view = W.HTML("")
        for w in (self.text, self.rule, self.patch_size, self.t_global):
            w.observe(lambda _: self.start(), "value")
        help_ = W.HTML("<div class='dl-muted'>Global blocks run at each ▾: a spacelike byte (not a letter, digit or UTF-8 "
                       "continuation byte) that follows a non-spacelike one, and at the start (BOS). Try code, a Chinese "
                       "sentence, emoji, or a long line of punctuation; switch to <i>every P bytes</i> to see the fixed-P "
                       "variant split words (and characters: dotted underline). P: 1 to 64 bytes; T_global: 1 to 100,000 "
                       "global positions. Hover a character for its byte and patch.</div>")
        return W.VBox([help_, self.text, W.HBox([self.rule, self.patch_size, self.t_global]), self.job,
                       W.HBox([self.patch_view], layout=W.Layout(width="100%")), self.stats_view])

    def settings(self) -> Settings:
        return Settings(text=self.text.value, rule=self.rule.value, patch=int(self.patch_size.value),
                        t_global=_int(self.t_global, "T_global", 1, 100_000))

    def start(self) -> None:
        """Cut the text into patches in the background (bad input: a sentence, the old view cleared)."""
        self._gen["patch"] += 1
        gen = self._gen["patch"]
        s = self.job.attempt(lambda: validate(self.settings()))
        if s is None:
            self._clear_patches()
            return
        if self.exploration is None:
            self.patch_view.value = COMPUTING
        self.job.run(explore, s, on_result=lambda ex: self._show_patches(ex, gen), on_error=lambda _: self._clear_patches(),
                     name="Patching")

    def _clear_patches(self) -> None:
        self.job.cancel()
        self.exploration = None
        self.patch_view.value = STALE
        self.stats_view.value = ""
        if self.job.error:
            _reset_bar(self.job, "Not run.")

    def _show_patches(self, ex: Exploration, gen: int) -> None:
        if gen != self._gen["patch"]:
            return
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
        wide = {"description_width": "initial"}
        self.f_vocab = W.Text("50257", description="subword V", continuous_update=False, layout=W.Layout(width="200px"), style=wide)
        self.f_bpt = W.Text("4.0", description="bytes/token", continuous_update=False, layout=W.Layout(width="200px"), style=wide)
        self.flops_job = JobBar(sync=True, idle_text="")  # only its error line is used: the formula is instant
        self.flops_job.progress.layout.display = self.flops_job.cancel_button.layout.display = "none"
        self.flops_plot = flops_plot()
        self.flops_plot.on_click(lambda x, y, label: self._pick_context(x))
        self.flops_view = W.HTML("")
        for w in (self.f_d, self.f_l, self.f_t, self.f_p, self.f_vocab, self.f_bpt):
            w.observe(lambda _: self.compute_flops(), "value")
        help_ = W.HTML("<div class='dl-muted'>The paper's accounting: 2 FLOPs per multiply-add of the matrix products, "
                       "attention over T keys (W for windows), training = 3 × inference. SpaceByte and MegaByte use d = D/2 "
                       "and L local layers; SpaceByte's global blocks see T/P positions. Starts at SpaceByte-793M+184M "
                       "(D = 1536, 28 global layers, T = 8192). Try a small D: attention takes over at long T. Subword V: 256 "
                       "to 300,000 tokens; bytes per token: 1 to 16. Click a point of the chart to set T.</div>")
        return W.VBox([help_, W.HBox([W.VBox([self.f_d, self.f_l]), W.VBox([self.f_t, self.f_p]), W.VBox([self.f_vocab, self.f_bpt])]),
                       self.flops_job, self.flops_plot, self.flops_view])

    def flops_settings(self) -> FlopsSettings:
        return FlopsSettings(d_model=self.f_d.value, n_layers=self.f_l.value, context=self.f_t.value, patch=self.f_p.value,
                             vocab=_int(self.f_vocab, "subword V", 256, 300_000),
                             bytes_per_token=_float(self.f_bpt, "bytes per token", 1, 16))

    def compute_flops(self) -> None:
        out = self.flops_job.attempt(lambda: (flops_table(self.flops_settings()), flops_curves(self.flops_settings())))
        if out is None:
            self.flops = None
            self.flops_view.value = STALE
            self.flops_plot.draw([], note="fix the input above")
            return
        self.flops, curves = out
        draw_flops(self.flops_plot, curves, self.f_t.value)
        self.flops_view.value = flops_html(self.flops)

    def _pick_context(self, x: float) -> None:
        t = int(round(float(x) / 256) * 256)
        self.f_t.value = min(max(t, self.f_t.min), self.f_t.max)

    # -- tournament -----------------------------------------------------------------------------------
    def _tournament_tab(self, sync: bool) -> W.Widget:
        self.t_corpus = W.ToggleButtons(options=[("prose", "prose"), ("code", "code")], value="prose")
        self.t_plot = tournament_plot()
        self.t_plot.on_click(self._clicked)
        self.t_order = W.HTML("")
        self.t_detail = W.HTML("")
        self.t_curves = curves_plot()
        self.t_curves.layout.display = "none"  # shown once a run is selected
        self.t_corpus.observe(lambda _: self.draw_tournament(), "value")
        help_ = W.HTML("<div class='dl-muted'>Every model trained for a fixed number of training FLOPs. Dots: every size and "
                       "seed; squares and line: each architecture's frontier (its best size per seed, mean ± s.e. over seeds). "
                       "Each architecture's points are drawn side by side around their budget. Hover for a run's size, seed, "
                       "bits per byte and FLOPs; click a legend entry to hide an architecture; drag to zoom, double-click to "
                       "see every run; click a dot for its training curve (a shipped model also opens its loss map).</div>")
        return W.VBox([help_, self.t_corpus, W.HBox([self.t_plot, self.t_order]), self.t_detail, self.t_curves,
                       self._retrain_panel(sync)])

    def draw_tournament(self) -> None:
        res, corpus = self.results, self.t_corpus.value
        if not res or corpus not in res.get("frontier_mean", {}):
            self.t_order.value = "<i>No committed results for this corpus: run scripts/spacebyte_experiment.py.</i>"
            self.t_plot.draw([], note="no committed results")
            return
        note = draw_tournament_chart(self.t_plot, res, corpus, self.shipped_ids)
        self.t_order.value = ("<div style='max-width:420px'><b>Best first</b> (frontier bits per byte, mean ± s.e. over seeds)"
                              + ordering_html({**res, "frontier_mean": {corpus: res["frontier_mean"][corpus]}})
                              + f"<div class='dl-muted'>{escape(note)}</div></div>")
        runs = [r for r in res["runs"] if r["corpus"] == corpus]
        first = next((r for r in runs if r["id"] in self.shipped_ids and r["arch"] == "spacebyte"), None) or \
            next((r for r in runs if r["arch"] == "spacebyte"), runs[0] if runs else None)
        if first is not None:
            self.select_run(first, open_loss=False)

    def _clicked(self, x: float, y: float, label: str) -> None:
        run = clicked_run(self.results, self.t_plot.series, x, y, label)
        if run is None:
            self.t_detail.value = (f"<div class='dl-run-detail'>{escape(label)}: a frontier point ({y:.3f} bits per byte, the mean "
                                   "over seeds of the best size). Click a dot for one run.</div>")
            return
        self.select_run(run)

    def select_run(self, run: dict, open_loss: bool = True) -> None:
        """Describe a tournament run, draw its training curve next to its peers'; a shipped byte-level model
        (``open_loss``) is chosen in the Loss map and Complete tabs and its loss map computed."""
        self.selected_run = run
        shipped = run["id"] in self.shipped_ids
        byte_level = run["arch"] in self.model_folders
        self.t_detail.value = run_detail(run, shipped, byte_level)
        keys = ("corpus", "budget", "size", "seed")
        peers = [r for r in self.results["runs"] if all(r[k] == run[k] for k in keys)]
        peers.sort(key=lambda r: (r["arch"] != run["arch"], list(ARCHS).index(r["arch"])))
        draw_curves(self.t_curves, peers)
        self.t_curves.layout.display = None
        if open_loss and shipped and byte_level:
            self.l_arch.value = self.c_arch.value = run["arch"]
            self.tabs.selected_index = TABS.index("Loss map")
            self.start_loss(caption=f"The model you clicked: {ARCHS[run['arch']]}, size {run['size']}, seed {run['seed']}, "
                                    f"{sci(run['budget'], 2)} training FLOPs, {run['bpb']:.3f} bits per byte on validation text.")

    # -- retraining -----------------------------------------------------------------------------------
    def _retrain_panel(self, sync: bool) -> W.Widget:
        r = self.retrain_defaults
        self.r_archs = {a: W.Checkbox(value=a in r["archs"], description=ARCHS[a], indent=False, layout=W.Layout(width="230px"))
                        for a in ARCHS}
        self.r_budget = W.Text(f"{r['budget']:.0e}", description="budget", continuous_update=False, layout=W.Layout(width="200px"))
        self.r_seeds = W.BoundedIntText(value=r["seeds"], min=1, max=5, description="seeds", layout=W.Layout(width="160px"))
        self.r_button = W.Button(description="Retrain", icon="play", button_style="primary")
        self.r_button.add_class("dl-retrain")
        self.r_estimate = W.HTML("")
        self.train_job = JobBar(sync=sync)
        self.r_plot = curves_plot("your retraining: training loss by architecture")
        self.r_plot.layout.display = "none"  # shown once drawn
        self.r_view = W.HTML("")
        self._from_cache = ""
        self.r_button.on_click(lambda _: self.start_retrain())
        for w in (*self.r_archs.values(), self.r_budget, self.r_seeds):
            w.observe(lambda _: self._show_estimate(), "value")
        self._show_estimate()
        help_ = W.HTML("<div class='dl-muted'><b>Retrain</b> runs a small tournament on prose here, in the background (XS "
                       f"models; budget: training FLOPs per run, up to {sci(MAX_RETRAIN_BUDGET, 2)}; seeds: 1 to 5). Runs "
                       "already done are reused, so a cancelled retraining resumes, and a retraining another visitor asked "
                       "for is read, not repeated.</div>")
        return W.VBox([W.HTML("<b>Retrain</b>"), help_, W.HBox(list(self.r_archs.values()), layout=W.Layout(flex_flow="row wrap")),
                       W.HBox([self.r_budget, self.r_seeds, self.r_button]), self.r_estimate, self.train_job, self.r_plot, self.r_view])

    def retrain_config(self) -> ExperimentConfig:
        archs = tuple(a for a, b in self.r_archs.items() if b.value)
        if not archs:
            raise UserError("Tick at least one architecture to retrain.")
        budget = _float(self.r_budget, "budget (training FLOPs per run)", 1e6, MAX_RETRAIN_BUDGET)
        r = self.retrain_defaults
        cfg = ExperimentConfig(stages=(Stage("prose", budget, ("XS",), seeds=int(self.r_seeds.value)),), archs=archs,
                               batch_bytes=r["batch_bytes"], val_bytes=r["val_bytes"])
        return cfg.validate()

    def _show_estimate(self) -> None:
        try:
            cfg = self.retrain_config()
        except UserError:
            self.r_estimate.value = ""
            return
        secs = retrain_estimate(cfg, self.results)
        n = len(cfg.runs())
        when = (f"about {secs:.0f} s of training at the committed tournament's measured speed (one thread; longer on a busy "
                "machine), plus a few seconds per run to load text and score it" if secs is not None else "time unknown")
        self.r_estimate.value = f"<div class='dl-muted dl-estimate'>{n} run{'s' * (n > 1)}: {escape(when)}.</div>"

    def start_retrain(self) -> None:
        self._gen["train"] += 1
        gen = self._gen["train"]
        cfg = self.train_job.attempt(self.retrain_config)
        if cfg is None:
            self._clear_retrain()
            return
        self.retrained = None
        self.r_plot.layout.display = "none"
        self.r_view.value = COMPUTING
        cached_ = is_cached("spacebyte", retrain_key(cfg))
        self._from_cache = (" Read from this machine's result cache: the same retraining ran before, for you or another "
                            "visitor (the tooltips say how long each run trained)." if cached_ else "")
        self.train_job.run(shared_retrain, cfg, on_result=lambda res: self._show_retrain(res, gen),
                           on_error=lambda _: self._clear_retrain(), name="Retraining", heavy=not cached_, threads=1)

    def _clear_retrain(self) -> None:
        self.train_job.cancel()
        self.retrained = None
        self.r_plot.layout.display = "none"
        self.r_view.value = STALE
        if self.train_job.error:
            _reset_bar(self.train_job, "Not run.")

    def _show_retrain(self, res: dict, gen: int) -> None:
        if gen != self._gen["train"]:
            return
        self.retrained = res
        draw_curves(self.r_plot, res["runs"])
        self.r_plot.layout.display = None
        (budget, _), = res["frontier_mean"]["prose"].items()
        self.r_view.value = ("<div style='max-width:720px'><b>Bits per byte on validation text</b> (mean ± s.e. over seeds, "
                             f"best first) at {sci(float(budget), 2)} training FLOPs" + ordering_html(res)
                             + "<div class='dl-muted'>Lines: training loss of each run (dashes: seeds). At equal FLOPs the "
                             "architectures take different numbers of steps: SpaceByte's big blocks run on one byte in about "
                             f"six.{self._from_cache}</div></div>")

    # -- loss map -------------------------------------------------------------------------------------
    def _loss_tab(self, sync: bool) -> W.Widget:
        self.l_text = W.Textarea(value=DEFAULT_TEXT.split("\n")[0] + " The quick brown fox jumps over the lazy dog.", rows=3,
                                 layout=W.Layout(width="100%"), placeholder="Any text, up to 6,000 bytes")
        self.l_text.add_class("dl-loss-text")
        self.l_arch = W.Dropdown(options=[(ARCHS[a], a) for a in self.models], description="model")
        self.l_button = W.Button(description="Score bytes", icon="play")
        self.l_button.add_class("dl-score")
        self.loss_job = JobBar(sync=sync)
        self.l_view = W.HTML(COMPUTING if self.models else "<i>No shipped models: run scripts/spacebyte_experiment.py --export.</i>")
        self.l_view.add_class("dl-loss-view")
        self.l_button.on_click(lambda _: self.start_loss())
        help_ = W.HTML("<div class='dl-muted'>How surprised a shipped model is by each byte (darker = more bits). The paper's "
                       "observation: the first byte of a word carries most of the loss, which is where SpaceByte's global "
                       "blocks (▾) have just run. Text: 1 to 6,000 bytes.</div>")
        return W.VBox([help_, self.l_text, W.HBox([self.l_arch, self.l_button]), self.loss_job, self.l_view])

    def start_loss(self, caption: str = "") -> None:
        """Score the text with the chosen model in the background (read from the shared cache when any kernel did)."""
        self._gen["loss"] += 1
        gen = self._gen["loss"]
        if self.l_arch.value is None:
            self.loss_job.show_error("No shipped model to score with.")
            return
        if self.loss_job.attempt(lambda: check_loss_text(self.l_text.value)) is None:
            self._clear_loss()
            return
        text, folder = self.l_text.value, self.model_folders[self.l_arch.value]
        self.l_view.value = COMPUTING
        self.loss_job.run(shared_loss_map, text, folder, on_result=lambda lm: self._show_loss(lm, gen, caption),
                          on_error=lambda _: self._clear_loss(), name="Scoring", heavy=not is_cached("spacebyte", loss_key(text, folder)),
                          threads=1)

    def _clear_loss(self) -> None:
        self.loss_job.cancel()
        self.lossmap = None
        self.l_view.value = STALE
        if self.loss_job.error:
            _reset_bar(self.loss_job, "Not run.")

    def _show_loss(self, lm: LossMap, gen: int, caption: str = "") -> None:
        if gen != self._gen["loss"]:
            return
        self.lossmap = lm
        self.l_view.value = lossmap_html(lm, caption=caption)

    # -- completion -----------------------------------------------------------------------------------
    def _complete_tab(self, sync: bool) -> W.Widget:
        self.c_prompt = W.Textarea(value="The government said that", rows=2, layout=W.Layout(width="100%"),
                                   placeholder="A prompt, up to 20,000 bytes")
        self.c_arch = W.Dropdown(options=[(ARCHS[a], a) for a in self.models], description="model")
        wide = {"description_width": "initial"}
        self.c_bytes = W.Text("120", description="bytes", continuous_update=False, layout=W.Layout(width="130px"), style=wide)
        self.c_temp = W.Text("0.7", description="temperature", continuous_update=False, layout=W.Layout(width="170px"), style=wide)
        self.c_seed = W.BoundedIntText(value=0, min=0, max=10**6, description="seed", layout=W.Layout(width="160px"))
        self.c_button = W.Button(description="Write", icon="pencil")
        self.c_button.add_class("dl-write")
        self.complete_job = JobBar(sync=sync)
        self.c_view = W.HTML("")
        self.c_view.add_class("dl-completion")
        self.c_button.on_click(lambda _: self.start_complete())
        help_ = W.HTML("<div class='dl-muted'>A tiny model trained here for a few minutes on BBC News writes one byte at a "
                       f"time. Expect English-looking words, not sense. Bytes: 1 to {MAX_NEW_BYTES}; temperature: 0 (always the "
                       "likeliest byte) to 2; seed: 0 to 1,000,000 (the same seed writes the same text).</div>")
        return W.VBox([help_, self.c_prompt, W.HBox([self.c_arch, self.c_bytes, self.c_temp, self.c_seed, self.c_button]),
                       self.complete_job, self.c_view])

    def write_settings(self) -> tuple[str, int, float, int]:
        n = _int(self.c_bytes, "bytes to write", 1, MAX_NEW_BYTES)
        temp = _float(self.c_temp, "temperature", 0, 2)
        seed = int(self.c_seed.value)
        validate_write(self.c_prompt.value, n, temp, seed)
        return self.c_prompt.value, n, temp, seed

    def start_complete(self) -> None:
        self._gen["write"] += 1
        gen = self._gen["write"]
        args = self.complete_job.attempt(self.write_settings)
        if args is None:
            self._clear_completion()
            return
        if self.c_arch.value is None:
            self.complete_job.show_error("No shipped model to write with.")
            return
        folder = self.model_folders[self.c_arch.value]
        prompt = args[0]
        self.c_view.value = COMPUTING
        self.complete_job.run(shared_write, folder, *args, on_result=lambda out: self._show_completion(prompt, out, gen),
                              on_error=lambda _: self._clear_completion(), name="Writing",
                              heavy=not is_cached("spacebyte", write_key(folder, *args)), threads=1)

    def _clear_completion(self) -> None:
        self.complete_job.cancel()
        self.completion = None
        self.c_view.value = STALE
        if self.complete_job.error:
            _reset_bar(self.complete_job, "Not run.")

    def _show_completion(self, prompt: str, out: bytes, gen: int) -> None:
        if gen != self._gen["write"]:
            return
        self.completion = out
        self.c_view.value = f"<div>{escape(prompt)}<b>{escape(out.decode('utf-8', errors='replace'))}</b></div>"


def _short(arch: str) -> str:
    return {"spacebyte": "SB", "spacebyte_fixed": "SB-P", "megabyte": "MB", "byte": "byte", "byte_window": "win", "subword": "BPE"}[arch]


def paired_plot(results: dict) -> LinePlot:
    """Seed-paired differences a − b with ± s.e. bars (a static chart: bars, not a curve), sized for its slot."""
    pairs = [p for p in results["paired"] if p["se"] is not None]
    budgets = sorted({p["budget"] for p in pairs}, key=float)
    title = "seed-paired differences a − b (bits per byte; below 0: a better" + (
        f"; {float(budgets[0]):.0e} FLOPs)" if len(budgets) == 1 else ")")
    diffs = LinePlot(title, "SB SpaceByte, SB-P fixed-P, MB MegaByte, win windowed, BPE subword", "Δ bits per byte",
                     width=9.0, height=3.2)
    if pairs:
        cats = [f"{_short(p['a'])}−{_short(p['b'])}\n{p['corpus']}" + (f" {float(p['budget']):.0e}" if len(budgets) > 1 else "")
                for p in pairs]
        diffs.draw([], bars={"categories": cats, "groups": {"mean ± s.e.": ([p["mean"] for p in pairs], [p["se"] for p in pairs])}},
                   hlines=[(0.0, "")])
    else:
        diffs.draw([], note="no budget with several seeds: no paired differences")
    return diffs


class SpaceByteResultsView(W.VBox):
    """The committed tournament: claims table with verdicts, bits per byte vs FLOPs per corpus (interactive;
    a click describes the run), seed-paired differences, orderings."""

    def __init__(self, results: dict):
        rows = compare(results)
        self.results = results
        self.plots: list[InteractivePlot] = []
        self.detail = W.HTML("")
        self.detail.add_class("dl-run-detail")
        shipped = {rid for f in shipped_models().values() if (rid := model_record(f).get("id"))}
        charts = []
        for corpus in results["frontier_mean"]:
            p = tournament_plot(f"{CORPUS_NAMES.get(corpus, corpus)}: bits per byte vs training FLOPs")
            note = draw_tournament_chart(p, results, corpus, shipped)
            p.on_click(lambda x, y, label, _p=p: self._clicked(_p, x, y, label, shipped))
            self.plots.append(p)
            order = ordering_html({**results, "frontier_mean": {corpus: results["frontier_mean"][corpus]}})
            charts.append(W.HBox([p, W.HTML(f"<div style='max-width:420px'>{order}<div class='dl-muted'>{escape(note)}</div></div>")]))
        self.diffs = paired_plot(results)
        speed = ", ".join(f"{escape(ARCHS[a])} {v:,.0f}" for a, v in results.get("bytes_per_second", {}).items())
        super().__init__([W.HTML(STYLE + source_line(results.get("made_by")) + claims_table(rows)), *charts, self.detail, self.diffs,
                          W.HTML(f"<div class='dl-muted'>Training speed in the tournament (bytes/s, median over runs, one "
                                 f"thread): {speed}.</div>")])
        self.rows = rows
        self.add_class("dl-spacebyte")
        self.add_class("dl-spacebyte-results")

    def _clicked(self, plot: InteractivePlot, x: float, y: float, label: str, shipped: set) -> None:
        run = clicked_run(self.results, plot.series, x, y, label)
        if run is not None:
            self.detail.value = run_detail(run, run["id"] in shipped, run["arch"] != "subword", curves=False)
