"""``AdverbExplorer``: what deleting adverbs does to a text, next to EDA, AEDA and random deletion.

Above the tabs, the data set every tab uses (named for what it holds). **Text**: a text box (or a
random example from the data set) and the guard switches; the tagged text with adverbs
highlighted, deletions struck through and guard-kept adverbs underlined; every augmenter's output
for several seeds with the meaning it keeps (MiniLM cosine) and its flags. **Data set**: adverb
coverage, most deleted adverbs, examples, and the augmented data set as a CSV file.
**Experiment**: the classification experiment with an estimate before it starts, progress with the
time left, cancel, an interactive accuracy chart (error bars, hover, legend toggling, click a point
for its paired comparisons) and a table. ``AdverbResultsView`` shows the committed results the same
way. Every job runs in the background (heavy ones through the machine-wide queue, their results
shared between kernels by ``deletionlab.core.cache``); everything shown is computed by
``deletionlab.adverbs``.
"""

from __future__ import annotations

import base64

import ipywidgets as W
import traitlets as T

from deletionlab.adverbs import DEFAULT_DATASET, DEFAULT_EXAMPLE, DEFAULT_GUARDS
from deletionlab.adverbs.data import DATASETS, LABELS
from deletionlab.adverbs.experiment import ExperimentConfig, ExperimentResult, by_seed, paired_difference
from deletionlab.adverbs.explore import (
    CACHE_NAMESPACE,
    MAX_SAMPLES,
    MIN_SAMPLES,
    DatasetSummary,
    Exploration,
    Settings,
    check_coverage_texts,
    shared_experiment,
    shared_explore,
    shared_summary,
    validate,
)
from deletionlab.adverbs.timing import duration, estimate
from deletionlab.core.cache import is_cached

from .common import JobBar, StudyRoot, claims_table, escape, source_line
from .plots import InteractivePlot

STYLE = """<style>
.dl-adverbs .dl-tok-adv { background: #fff3b0; border-radius: 3px; padding: 0 1px; }
.dl-adverbs .dl-tok-deleted { background: #ffd6d6; color: #a00; text-decoration: line-through; }
.dl-adverbs .dl-tok-kept { background: #d8f3dc; text-decoration: underline; }
.dl-adverbs table.dl-methods td, .dl-adverbs table.dl-methods th {
  padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
.dl-adverbs table.dl-methods td.dl-seed { color: #666; white-space: nowrap; font-size: 0.9em; }
.dl-adverbs .dl-op { border-bottom: 1px dotted #666; cursor: help; }
.dl-adverbs .dl-flag { color: #b00020; font-size: 0.85em; }
.dl-adverbs .dl-guards .widget-checkbox { width: auto; margin-right: 18px; }
.dl-adverbs .dl-guards .widget-checkbox label { overflow: visible; text-overflow: clip; white-space: nowrap; }
.dl-adverbs .dl-stale { color: #777; font-style: italic; }
</style>"""
GUARD_LABELS = (("negation", "keep negations (not, never, hardly…)"), ("degree", "keep degree adverbs (very, too…)"),
                ("wh", "keep wh-adverbs (how, when…)"))
#: the experiment panel's starting sizes: about 2 minutes for a first run on the busy 2-core
#: development machine (most of it embedding ~5,900 texts), about 30 s once the embeddings are on disk
EXPERIMENT_DEFAULTS = dict(n_train=1000, n_test=500, seeds=5)
#: samples per augmenter the text tab shows at first
DEFAULT_SAMPLES = 3
#: conditions drawn at first in the accuracy charts (the others are one legend click away)
SHOWN_CONDITIONS = ("none", "adverb", "duplicate", "eda", "aeda")
#: per condition: legend name, colour and line style, the same in every chart of the study
CONDITION_STYLE = {
    "none": ("no augmentation", "#222222", "o-"),
    "adverb": ("adverb deletion (paper)", "tab:red", "o-"),
    "adverb_guarded": ("adverb deletion, guarded", "tab:pink", "o--"),
    "random": ("random deletion (same texts)", "tab:brown", "x:"),
    "duplicate": ("exact copies (same texts)", "tab:gray", "s--"),
    "eda_matched": ("EDA (same texts)", "tab:olive", "d:"),
    "aeda_matched": ("AEDA (same texts)", "tab:cyan", "^:"),
    "eda": ("EDA (every text)", "tab:green", "d-"),
    "aeda": ("AEDA (every text)", "tab:blue", "^-"),
    "duplicate_all": ("exact copies (every text)", "tab:purple", "s:"),
}
#: what each augmenter of the text tab does (hover text and the line under the table)
METHOD_HELP = {
    "adverb deletion": "deletes every adverb (POS ADV) that no switched-on guard keeps; no randomness, so every seed gives the same text",
    "random deletion": "the control: deletes as many random words as adverb deletion deletes",
    "EDA": "Easy Data Augmentation: one edit per copy, picked at random (sr, ri, rs or rd, see below)",
    "AEDA": "inserts 1 to n/3 punctuation marks (. ; ? : ! ,) at random word boundaries",
}
EDA_OPS = {"sr": "synonym replacement (WordNet)", "ri": "random insertion of a synonym", "rs": "random swap of two words",
           "rd": "random deletion, each word with probability 0.1"}
PLOT_NOTE = ("Each point is the mean test accuracy over the seeds; error bars are ± 1 standard error of that mean. "
             "Shown at first: no augmentation, the paper's adverb deletion, exact copies of the same texts (the equal-copies "
             "control: as many extra training texts as adverb deletion adds, but unchanged, so a gain it shares comes from the "
             "extra copies, not from deleting adverbs), and EDA and AEDA. Click a legend entry to show or hide a condition "
             "(the other controls: guarded deletion, random deletion, EDA/AEDA on the same texts only, copies of every text); "
             "hover for values, drag to zoom, click a point for its paired comparisons.")
#: ticks of the training-share axis (log), in %
TICKS = (1, 2, 5, 10, 20, 50, 100)
COMPUTING = "<span class='dl-stale'>computing…</span>"
NO_RUN = ("<span class='dl-stale'>No run yet: press <b>Run experiment</b> (the committed results of the full "
          "experiment are further down the page).</span>")
STALE = "<span class='dl-stale'>Nothing shown: fix the input above.</span>"


# -- HTML views ---------------------------------------------------------------------------------------
def _token_html(t) -> str:
    title = escape(f"{t.pos} ({t.tag})" + (f": {t.reason}" if t.reason else ""))
    cls = (["dl-tok-adv"] if t.pos == "ADV" else []) + ({"deleted": ["dl-tok-deleted"], "kept": ["dl-tok-kept"]}.get(t.status, []))
    attr = f' class="{" ".join(cls)}"' if cls else ""
    return f'<span{attr} title="{title}">{escape(t.text)}</span>{escape(t.whitespace)}'


def tagged_html(ex: Exploration) -> str:
    """The text with every token's POS in its tooltip, adverbs highlighted, deletions struck."""
    key = ("<div class='dl-muted'><span class='dl-tok-adv'>adverb</span> · <span class='dl-tok-deleted'>deleted</span> · "
           "<span class='dl-tok-kept'>kept by a guard</span> — hover a word for its part of speech</div>")
    return f"<div class='dl-tagged' style='font-size:1.1em;line-height:1.8'>{''.join(_token_html(t) for t in ex.tokens)}</div>{key}"


def _family(method: str) -> str:
    return method.split(" (")[0]


def _op_badge(method: str) -> str:
    if "(" not in method:
        return ""
    op = method.split("(")[1].rstrip(")")
    return f" <span class='dl-op' title='{escape(EDA_OPS.get(op, op))}'>{escape(op)}</span>"


def methods_html(ex: Exploration) -> str:
    """One block of rows per augmenter: its output for each seed (one row when every seed gives the same text)."""
    samples = ex.samples or [[m] for m in ex.methods]
    seeds = ex.seeds or [0]
    rows = []
    for views in samples:
        fam = _family(views[0].method)
        same = all(v.text == views[0].text for v in views)
        shown = views[:1] if same else views
        name = f"<b title='{escape(METHOD_HELP.get(fam, ''))}'>{escape(fam)}</b>"
        for k, v in enumerate(shown):
            seed = "every seed" if same and len(views) > 1 else f"seed {seeds[k]}"
            sim = "" if v.similarity is None else f"{v.similarity:.3f}"
            flags = "".join(f"<div class=dl-flag>{escape(f)}</div>" for f in v.flags)
            first = f"<td rowspan={len(shown)}>{name}</td>" if k == 0 else ""
            rows.append(f"<tr>{first}<td class='dl-seed'>{seed}{_op_badge(v.method)}</td><td>{escape(v.text)}</td>"
                        f"<td>{sim}</td><td>{flags}</td></tr>")
    legend = ("<div class='dl-muted' style='margin-top:4px'>EDA's edit is one of: "
              + "; ".join(f"<b>{k}</b> {escape(v)}" for k, v in EDA_OPS.items())
              + ". AEDA inserts punctuation; random deletion removes as many random words as adverb deletion removes. "
              "Meaning kept: cosine similarity of MiniLM sentence embeddings (1 = same meaning to the model).</div>")
    return ("<table class='dl-methods' style='border-collapse:collapse'><tr><th>method</th><th>seed · edit</th><th>augmented text</th>"
            f"<th>meaning kept (cosine)</th><th>flags</th></tr>{''.join(rows)}</table>{legend}")


def coverage_html(s: DatasetSummary) -> str:
    cov = s.coverage
    top = ", ".join(f"{escape(w)} ({c})" for w, c in cov.top_deleted)
    kept = ", ".join(f"{escape(g)}: {c}" for g, c in cov.kept_by_guard.items()) or "none"
    ex = "".join(f"<li>{escape(a)}<br>→ <i>{escape(b)}</i></li>" for a, b in s.examples)
    return (
        f"<div><b>{escape(s.description)}</b>: a sample of {cov.n_texts:,} texts ({', '.join(escape(c) for c in s.classes)})</div>"
        f"<ul><li>texts with at least one adverb deleted: <b>{cov.share_with_adverb:.1%}</b></li>"
        f"<li>adverbs per text: {cov.adverbs_per_text:.2f}; deleted per text: {cov.deleted_per_text:.2f}</li>"
        f"<li>kept by guards: {kept}</li><li>most deleted: {top}</li></ul><div>Examples:</div><ul>{ex}</ul>"
    )


def csv_link(text: str, name: str, n: int) -> str:
    """A download link for the augmented data set (the file travels inside the page)."""
    data = base64.b64encode(text.encode("utf-8")).decode()
    size = len(text.encode("utf-8")) / 1e6
    return (f"<a class='dl-csv-link' download='{escape(name)}' href='data:text/csv;base64,{data}'>download {escape(name)}</a> "
            f"<span class='dl-muted'>({n:,} texts, {size:.1f} MB). Columns: text, label, then each augmenter's copy "
            "(adverb = the paper's deletion of every adverb, adverb_guarded, random, eda with eda_op, aeda); an empty cell means "
            "the augmenter left the text unchanged, so the experiment adds no copy for it.</span>")


def experiment_html(res: ExperimentResult) -> str:
    rows = "".join(
        f"<tr><td>{escape(CONDITION_STYLE.get(r['condition'], (r['condition'],))[0])}</td><td>{r['fraction']:.0%}</td>"
        f"<td>{r['n_train']}</td><td>{r['n_augmented']:.0f}</td>"
        f"<td>{r['accuracy']:.3f} ± {r['se']:.3f}</td><td>{r['macro_f1']:.3f} ± {r['macro_f1_std']:.3f}</td>"
        f"<td>{_gain(r)}</td></tr>"
        for r in res.table()
    )
    return ("<table class='dl-methods'><tr><th>condition</th><th>train share</th><th>originals</th><th>copies</th>"
            "<th>accuracy ± s.e.</th><th>macro-F1 ± s.d.</th><th>gain vs none (paired ± s.e.)</th></tr>"
            f"{rows}</table>")


def experiment_header(res: ExperimentResult) -> str:
    cfg = res.config
    share = ", ".join(f"{escape(CONDITION_STYLE.get(k, (k,))[0])} {v:.0%}" for k, v in res.augmented_share.items()
                      if k in ("adverb", "eda", "aeda"))
    notes = "".join(f"<div class='dl-notice'>{escape(n)}</div>" for n in res.notices)
    return (f"<div><b>{escape(LABELS.get(cfg.dataset, cfg.dataset))}</b>: {cfg.n_train:,} train / {cfg.n_test:,} test texts, "
            f"{cfg.seeds} seeds, head {escape(cfg.head)}; {res.seconds.get('total', 0):.0f} s to compute. Training texts that "
            f"got a copy: {share}.</div>{notes}")


def _gain(r: dict) -> str:
    if r["condition"] == "none":
        return "—"
    if r.get("gain_se") is None:
        return f"{r['gain']:+.3f} (no spread)"
    return f"{r['gain']:+.3f} ± {r['gain_se']:.3f}"


# -- the accuracy chart -------------------------------------------------------------------------------
def accuracy_plot(title: str) -> InteractivePlot:
    """The accuracy-vs-training-share chart, sized for its slot, legend beside the plot (never over the lines)."""
    plot = InteractivePlot(title, "share of the training set used", "test accuracy", xunit="%", xscale="log", yfmt=".3f",
                           height=380, width=800)
    plot.figure.update_layout(legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top", yref="paper", tracegroupgap=2),
                              margin=dict(r=230, b=56),
                              xaxis=dict(tickvals=TICKS, ticktext=[f"{t} %" for t in TICKS]))
    plot.add_class("dl-accuracy-plot")
    return plot


def accuracy_series(table: list[dict], conditions) -> list[dict]:
    """One series per condition: mean accuracy ± s.e. against the training share (in %), with hover text."""
    out = []
    for cond in conditions:
        rs = [r for r in table if r["condition"] == cond]
        if not rs:
            continue
        name, color, style = CONDITION_STYLE.get(cond, (cond, None, "o-"))
        text = [f"± {r['se']:.3f} (s.e. over {r['n']} seeds)<br>{r['n_train']:,} training texts + {r['n_augmented']:.0f} copies"
                + ("" if cond == "none" else f"<br>gain vs none {_gain(r)}") for r in rs]
        out.append(dict(x=[round(100 * r["fraction"], 6) for r in rs], y=[r["accuracy"] for r in rs], error=[r["se"] for r in rs],
                        label=name, color=color, style=style, text=text, condition=cond))
    return out


def draw_accuracy(plot: InteractivePlot, table: list[dict], conditions, shown=SHOWN_CONDITIONS) -> None:
    """Draw the chart; conditions not in ``shown`` start hidden (legend only) when the chart is (re)built."""
    series = accuracy_series(table, conditions)
    before = [d.name for d in plot.figure.data]
    plot.draw(series, note="" if series else "no results")
    if [d.name for d in plot.figure.data] != before:  # new traces: apply the default selection
        hidden = {s["label"] for s in series if s["condition"] not in shown}
        with plot.figure.batch_update():
            for trace in plot.figure.data:
                trace.visible = "legendonly" if trace.name in hidden else True


def point_detail(rows: list[dict], condition: str, fraction: float) -> str:
    """A clicked point: its accuracy over seeds and its paired differences with the baselines and controls."""
    mine = by_seed(rows, condition, fraction)
    if not mine:
        return ""
    name = CONDITION_STYLE.get(condition, (condition,))[0]
    parts = []
    for other in ("none", "duplicate", "duplicate_all", "adverb"):
        theirs = by_seed(rows, other, fraction)
        if other == condition or not theirs:
            continue
        p = paired_difference(mine, theirs)
        pval = f"p {p['p']:.2f}" if p["se"] is not None and p["p"] >= 0.01 else "p < 0.01"
        spread = f" ± {p['se']:.3f} (z {p['z']:+.1f}, {pval})" if p["se"] is not None else " (no spread)"
        parts.append(f"vs {escape(CONDITION_STYLE[other][0])}: {p['diff']:+.3f}{spread}")
    accs = ", ".join(f"{v:.3f}" for _, v in sorted(mine.items()))
    return (f"<div class='dl-point-detail'><b>{escape(name)} at {fraction:.0%}</b> — accuracy per seed: {accs}. "
            f"Paired by seed: {'; '.join(parts)}.</div>")


def _attach_detail(plot: InteractivePlot, detail: W.HTML, rows_of) -> None:
    by_label = {v[0]: k for k, v in CONDITION_STYLE.items()}

    def clicked(x, y, label) -> None:
        cond = by_label.get(label)
        rows = rows_of()
        if cond and rows:
            detail.value = point_detail(rows, cond, round(float(x) / 100, 6))

    plot.on_click(clicked)


def _reset_bar(bar: JobBar, text: str) -> None:
    """The job bar no longer reports a result that the views do not show."""
    bar.progress.value = 0.0
    bar.progress.bar_style = ""
    bar.status.value = escape(text)


class AdverbExplorer(StudyRoot):
    """The adverb-deletion study's dashboard. ``tagger``/``embed``/``loader`` can be injected (tests)."""

    exploration = T.Any(None, allow_none=True)  # the latest Exploration
    experiment = T.Any(None, allow_none=True)  # the latest ExperimentResult
    dataset_coverage = T.Any(None, allow_none=True)  # the latest Coverage
    csv_text = T.Unicode("")  # the latest exported CSV

    def __init__(self, text: str = DEFAULT_EXAMPLE, tagger=None, embed=None, loader=None, sync: bool = False,
                 experiment_defaults: dict | None = None, autorun: bool = True) -> None:
        self._tagger, self._embed, self._loader = tagger, embed, loader
        self._gen = {"text": 0, "data": 0, "exp": 0}  # a result is shown only if no newer request or error came since
        self._quiet = False  # set while a random example writes the text box (its job explores it already)
        self.dataset = W.Dropdown(options=[(LABELS[k], k) for k in DATASETS], value=DEFAULT_DATASET, description="Data set",
                                  style={"description_width": "initial"}, layout=W.Layout(width="460px"))
        self.dataset.add_class("dl-dataset")
        self.dataset_note = W.HTML(self._dataset_note())
        tabs = W.Tab([self._text_tab(text, sync), self._data_tab(sync), self._experiment_tab(sync, experiment_defaults)])
        for i, t in enumerate(["Text", "Data set", "Experiment"]):
            tabs.set_title(i, t)
        self.tabs = tabs
        super().__init__("adverbs", [W.HTML(STYLE), self.dataset, self.dataset_note, tabs])
        self._wire()
        if autorun:
            self.start()

    def _wire(self) -> None:
        self.text.observe(lambda ch: None if self._quiet else self.start(), names="value")
        self.seed.observe(lambda ch: self.start(), names="value")
        self.samples.observe(lambda ch: self.start(), names="value")
        for b in self.guard_boxes.values():
            b.observe(lambda ch: self.start(), names="value")
        self.dataset.observe(lambda ch: self._dataset_changed(), names="value")
        for w in (self.exp_train, self.exp_test, self.exp_seeds, self.exp_head, self.dataset):
            w.observe(lambda ch: self._update_estimate(), names="value")
        self.random_button.on_click(lambda _: self.random_example())
        self.coverage_button.on_click(lambda _: self.run_coverage())
        self.csv_button.on_click(lambda _: self.run_export())
        self.exp_button.on_click(lambda _: self.run_experiment())

    def _text_tab(self, text: str, sync: bool) -> W.Widget:
        self.text = W.Textarea(text, placeholder="Type or paste English text…", continuous_update=False,
                               layout=W.Layout(width="720px", height="80px"))
        self.text.add_class("dl-text")
        self.random_button = W.Button(description="Random example", icon="random", tooltip="A text drawn from the data set chosen above",
                                      layout=W.Layout(width="170px"))
        self.random_button.add_class("dl-random")
        self.guard_boxes = {g: W.Checkbox(value=g in DEFAULT_GUARDS, description=lab, indent=False, layout=W.Layout(width="auto"))
                            for g, lab in GUARD_LABELS}
        self.seed = W.IntText(0, description="Seed", layout=W.Layout(width="150px"), style={"description_width": "40px"})
        self.samples = W.IntSlider(DEFAULT_SAMPLES, min=MIN_SAMPLES, max=MAX_SAMPLES, description="Samples per method",
                                   continuous_update=False, style={"description_width": "initial"}, layout=W.Layout(width="300px"))
        self.job = JobBar(sync=sync)
        self.tagged = W.HTML(COMPUTING)
        self.methods = W.HTML("")
        guards = W.HBox(list(self.guard_boxes.values()), layout=W.Layout(flex_flow="row wrap"))
        guards.add_class("dl-guards")
        return W.VBox([W.HBox([self.text]), W.HBox([self.random_button, self.seed, self.samples]), guards, self.job,
                       self.tagged, self.methods])

    def _data_tab(self, sync: bool) -> W.Widget:
        self.coverage_button = W.Button(description="Adverb coverage", icon="bar-chart", layout=W.Layout(width="170px"))
        self.csv_button = W.Button(description="Export augmented CSV", icon="download", layout=W.Layout(width="210px"),
                                   tooltip="Every text of the sample with each augmenter's copy, as a CSV file (up to 5,000 texts)")
        self.csv_button.add_class("dl-export-csv")
        self.coverage_n = W.IntSlider(2000, min=100, max=20000, step=100, description="Texts", continuous_update=False)
        self.coverage_view = W.HTML("")
        self.csv_view = W.HTML("")
        self.data_job = JobBar(sync=sync)
        help_ = W.HTML("<div class='dl-muted'>A stratified sample of the data set chosen above: how many of its texts adverb "
                       "deletion can change at all (it adds no copy for the others), or the augmented sample as a CSV file.</div>")
        return W.VBox([help_, W.HBox([self.coverage_n, self.coverage_button, self.csv_button]), self.data_job, self.csv_view,
                       self.coverage_view])

    def _experiment_tab(self, sync: bool, defaults: dict | None) -> W.Widget:
        d = {**EXPERIMENT_DEFAULTS, **(defaults or {})}
        wide = {"description_width": "initial"}
        self.exp_train = W.IntSlider(d["n_train"], min=100, max=30000, step=100, description="Train texts", continuous_update=False,
                                     style=wide)
        self.exp_test = W.IntSlider(d["n_test"], min=50, max=5000, step=50, description="Test texts", continuous_update=False, style=wide)
        self.exp_seeds = W.IntSlider(d["seeds"], min=2, max=10, description="Seeds", continuous_update=False, style=wide)
        self.exp_head = W.Dropdown(options=[("logistic regression", "logreg"), ("MLP (128)", "mlp")], value="logreg",
                                   description="Head", style=wide)
        self.exp_button = W.Button(description="Run experiment", icon="flask", button_style="primary")
        self.exp_button.add_class("dl-run-experiment")
        self.exp_estimate = W.HTML("")
        self.exp_estimate.add_class("dl-estimate")
        self.exp_job = JobBar(sync=sync)
        self.exp_header = W.HTML("")
        self.exp_plot = accuracy_plot("test accuracy vs share of the training set")
        self.exp_detail = W.HTML("")
        _attach_detail(self.exp_plot, self.exp_detail, lambda: self.experiment.rows if self.experiment else None)
        self.exp_table = W.HTML("")
        table = W.Accordion([self.exp_table])
        table.set_title(0, "Table: every condition and training share")
        table.selected_index = None
        self.exp_views = W.VBox([W.HTML(f"<div class='dl-muted'>{PLOT_NOTE}</div>"), self.exp_plot, self.exp_detail, table],
                                layout=W.Layout(display="none"))  # shown once there is a result
        self.exp_header.value = NO_RUN
        self._update_estimate()
        return W.VBox([W.HBox([self.exp_train, self.exp_test]), W.HBox([self.exp_seeds, self.exp_head, self.exp_button]),
                       self.exp_estimate, self.exp_job, self.exp_header, self.exp_views])

    # -- data set ---------------------------------------------------------------------------------
    def _dataset_note(self) -> str:
        return (f"<div class='dl-muted'>{escape(DATASETS[self.dataset.value])}. The random example, the coverage, the CSV "
                "and the experiment all use this set.</div>")

    def _dataset_changed(self) -> None:
        """The coverage and the CSV described the previous set: they go; an experiment result names its set."""
        self.dataset_note.value = self._dataset_note()
        self._gen["data"] += 1
        self.data_job.cancel()
        self.coverage_view.value = self.csv_view.value = ""
        self.dataset_coverage, self.csv_text = None, ""
        _reset_bar(self.data_job, "Ready.")

    def _data(self, name: str):
        """The injected loader's data set (tests), or None: the jobs load the shipped one once per process."""
        return None if self._loader is None else self._loader(name)

    # -- text tab ---------------------------------------------------------------------------------
    @property
    def guards(self) -> frozenset:
        return frozenset(g for g, b in self.guard_boxes.items() if b.value)

    def settings(self) -> Settings:
        return Settings(self.text.value, self.guards, int(self.seed.value), int(self.samples.value))

    def _deps(self) -> dict:
        return {"tagger": self._tagger, "embed": self._embed}

    def _heavy(self, key) -> bool:
        """A job that only reads a result another kernel computed skips the machine-wide queue. Heavy jobs
        run one torch thread: on the busy 2-core test machine a MiniLM batch took ~1 s with one thread and
        ~3 s with two."""
        return self._tagger is not None or self._embed is not None or not is_cached(CACHE_NAMESPACE, key)

    def _text_error(self) -> None:
        self.job.cancel()
        self.exploration = None
        self.tagged.value, self.methods.value = STALE, ""
        self.say("")
        _reset_bar(self.job, "Not run.")

    def start(self) -> None:
        """Tag and augment the text in the box (a bad input: a sentence on the error line, views cleared)."""
        self._gen["text"] += 1
        gen = self._gen["text"]
        s = self.job.attempt(lambda: validate(self.settings()))
        if s is None:
            self._text_error()
            return
        if self.exploration is None:
            self.tagged.value = COMPUTING
        self.job.run(shared_explore, s, **self._deps(), on_result=lambda ex: self._show(ex, gen), name="Tagging and augmenting",
                     heavy=self._heavy(("explore", s)), threads=1)

    def _show(self, ex: Exploration, gen: int) -> None:
        if gen != self._gen["text"]:
            return  # a newer request (or an input error) came since
        self.exploration = ex
        self.tagged.value = tagged_html(ex)
        self.methods.value = methods_html(ex)
        self.say(" ".join(ex.notices))

    def random_example(self) -> None:
        """A text from the chosen data set, tagged and augmented with the current guards, seed and samples."""
        from deletionlab.adverbs.explore import random_exploration

        self._gen["text"] += 1
        gen = self._gen["text"]
        s = self.job.attempt(lambda: validate(Settings("example", self.guards, int(self.seed.value), int(self.samples.value))))
        if s is None:
            self._text_error()
            return
        self.job.run(random_exploration, self.dataset.value, s, data=self._data(self.dataset.value), **self._deps(),
                     on_result=lambda r: self._show_random(r, gen), name="Random example", heavy=True, threads=1)

    def _show_random(self, result: tuple[str, Exploration], gen: int) -> None:
        if gen != self._gen["text"]:
            return
        text, ex = result
        self._quiet = True
        try:
            self.text.value = text
        finally:
            self._quiet = False
        self._show(ex, gen)

    # -- data-set tab -----------------------------------------------------------------------------
    def _data_error(self) -> None:
        self.data_job.cancel()
        self.coverage_view.value, self.csv_view.value = STALE, ""
        self.dataset_coverage, self.csv_text = None, ""
        _reset_bar(self.data_job, "Not run.")

    def run_coverage(self) -> None:
        self._gen["data"] += 1
        gen, name, guards = self._gen["data"], self.dataset.value, self.guards
        n = self.data_job.attempt(check_coverage_texts, int(self.coverage_n.value))
        if n is None:
            self._data_error()
            return
        self.coverage_view.value = COMPUTING
        self.data_job.run(shared_summary, name, n, guards, data=self._data(name), tagger=self._tagger,
                          on_result=lambda s: self._show_coverage(s, gen), name=f"Coverage of {n:,} texts",
                          heavy=self._heavy(("coverage", name, n, guards)), threads=1)

    def _show_coverage(self, summary: DatasetSummary, gen: int) -> None:
        if gen != self._gen["data"]:
            return
        self.dataset_coverage = summary.coverage
        self.coverage_view.value = coverage_html(summary)

    def run_export(self) -> None:
        """The augmented sample as a CSV file, offered as a download link."""
        from deletionlab.adverbs.export import check_export_texts, shared_csv

        self._gen["data"] += 1
        gen, name, guards = self._gen["data"], self.dataset.value, self.guards
        n = self.data_job.attempt(check_export_texts, int(self.coverage_n.value))
        seed = self.data_job.attempt(lambda: validate(Settings("x", guards, int(self.seed.value))).seed) if n is not None else None
        if n is None or seed is None:
            self._data_error()
            return
        self.csv_view.value = COMPUTING
        self.data_job.run(shared_csv, name, n, guards, seed, data=self._data(name), tagger=self._tagger,
                          on_result=lambda text: self._show_csv(text, name, n, gen), name=f"Augmenting {n:,} texts",
                          heavy=self._heavy(("csv", name, n, guards, seed)), threads=1)

    def _show_csv(self, text: str, name: str, n: int, gen: int) -> None:
        if gen != self._gen["data"]:
            return
        self.csv_text = text
        self.csv_view.value = csv_link(text, f"adverbs-{name}-{n}.csv", n)

    # -- experiment tab ---------------------------------------------------------------------------
    def experiment_config(self) -> ExperimentConfig:
        return ExperimentConfig(dataset=self.dataset.value, n_train=int(self.exp_train.value), n_test=int(self.exp_test.value),
                                seeds=int(self.exp_seeds.value), head=self.exp_head.value, guards=tuple(sorted(self.guards)))

    def _update_estimate(self) -> None:
        from deletionlab.adverbs.timing import EMBED_SETUP_S

        try:
            p = estimate(self.experiment_config().validate())
        except Exception:  # noqa: BLE001 - an invalid setting: Run says why
            self.exp_estimate.value = ""
            return
        rerun = p.seconds[0] + EMBED_SETUP_S + p.seconds[2]
        self.exp_estimate.value = (
            f"<div class='dl-muted'>A first run with these settings: about <b>{duration(p.total)}</b> on our busy 2-core test "
            f"machine ({p.n_pool:,} texts to tag, about {p.n_embed:,} texts and copies to embed with MiniLM, {p.n_fits:,} "
            f"classifier fits). The embeddings stay on disk, so a rerun takes about {duration(rerun)}, and a run that anyone on "
            "this server made with the same settings appears at once. While it runs, the bar shows the time left, measured "
            "on this machine.</div>")

    def _clear_experiment(self, why: str) -> None:
        self.experiment = None
        self.exp_header.value, self.exp_table.value, self.exp_detail.value = why, "", ""
        self.exp_plot.draw([], note="no results yet")
        self.exp_views.layout.display = "none"

    def run_experiment(self) -> None:
        self._gen["exp"] += 1
        gen = self._gen["exp"]
        cfg = self.exp_job.attempt(lambda: self.experiment_config().validate())
        if cfg is None:
            self.exp_job.cancel()
            self._clear_experiment(STALE)
            _reset_bar(self.exp_job, "Not run.")
            return
        self._clear_experiment(COMPUTING)
        self.exp_job.run(shared_experiment, cfg, data=self._data(cfg.dataset), **self._deps(),
                         on_result=lambda res: self._show_experiment(res, gen), name="Experiment",
                         heavy=self._heavy(("experiment", cfg)), threads=1)

    def _show_experiment(self, res: ExperimentResult, gen: int) -> None:
        if gen != self._gen["exp"]:
            return
        self.experiment = res
        self.exp_header.value = experiment_header(res)
        self.exp_table.value = experiment_html(res)
        draw_accuracy(self.exp_plot, res.table(), res.config.conditions)
        self.exp_views.layout.display = None


def results_header(name: str, res: dict) -> str:
    cfg, cov = res["config"], res.get("coverage") or {}
    top = ", ".join(f"{escape(w)} ({c})" for w, c in (cov.get("top_deleted") or [])[:8])
    return (f"<h4>{escape(LABELS.get(name, name))}: {cfg['n_train']:,} training / {cfg['n_test']:,} test texts, {cfg['seeds']} seeds, "
            f"head {escape(cfg['head'])}</h4>"
            f"<div class='dl-muted'>texts with an adverb deleted: {cov.get('share_with_adverb', 0):.0%}; adverbs per text "
            f"{cov.get('adverbs_per_text', 0):.2f}; most deleted: {top}</div>")


class AdverbResultsView(W.VBox):
    """The committed experiment results (``scripts/adverbs_experiment.py``) with the paper's claims."""

    def __init__(self, results: dict) -> None:
        from deletionlab.adverbs.report import by_dataset, compare_all

        self.rows = compare_all(results)
        self.plots: dict[str, InteractivePlot] = {}
        self.details: dict[str, W.HTML] = {}
        children = [W.HTML(STYLE + source_line(results.get("made_by")))]
        for name, res in by_dataset(results).items():
            plot = accuracy_plot(f"{LABELS.get(name, name).split(' — ')[0].split(' (')[0]}: test accuracy (mean ± s.e.)")
            draw_accuracy(plot, res["table"], res["config"]["conditions"])
            detail = W.HTML("")
            _attach_detail(plot, detail, lambda rows=res["rows"]: rows)
            self.plots[name], self.details[name] = plot, detail
            children += [W.HTML(results_header(name, res) + claims_table(self.rows[name])),
                         W.HTML(f"<div class='dl-muted' style='margin-top:8px'>{PLOT_NOTE}</div>"), plot, detail]
        super().__init__(children)
        self.add_class("dl-adverb-results")
        self.add_class("dl-adverbs")
