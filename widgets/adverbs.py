"""``AdverbExplorer``: what deleting adverbs does to a text, next to EDA, AEDA and random deletion.

Top: a text box (or a random example from a data set) and the guard switches; the tagged text
with adverbs highlighted, deletions struck through and guard-kept adverbs underlined; every
augmenter's output with the meaning it keeps (MiniLM cosine) and its flags. Below: a data-set
panel (adverb coverage, most deleted adverbs, examples) and the classification experiment with
progress, cancel, a results table and a plot. All heavy work runs in background jobs; everything
shown is computed by ``deletionlab.adverbs`` (``explore``, ``experiment``, ``report``).
"""

from __future__ import annotations

import ipywidgets as W
import traitlets as T

from deletionlab.adverbs import DEFAULT_DATASET, DEFAULT_EXAMPLE, DEFAULT_GUARDS
from deletionlab.adverbs.data import DATASETS
from deletionlab.adverbs.experiment import ExperimentConfig, ExperimentResult, accuracy_curves, run_experiment
from deletionlab.adverbs.explore import DatasetSummary, Exploration, Settings, check_coverage_texts, explore, summarize_dataset, validate

from .common import JobBar, LinePlot, StudyRoot, claims_table, escape, source_line

STYLE = """<style>
.dl-adverbs .dl-tok-adv { background: #fff3b0; border-radius: 3px; padding: 0 1px; }
.dl-adverbs .dl-tok-deleted { background: #ffd6d6; color: #a00; text-decoration: line-through; }
.dl-adverbs .dl-tok-kept { background: #d8f3dc; text-decoration: underline; }
.dl-adverbs table.dl-methods td, .dl-adverbs table.dl-methods th {
  padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
.dl-adverbs .dl-flag { color: #b00020; font-size: 0.85em; }
</style>"""
GUARD_LABELS = (("negation", "negations (not, never, hardly…)"), ("degree", "degree adverbs (very, too…)"),
                ("wh", "wh-adverbs (how, when…)"))
#: the experiment panel's starting sizes (a minute or two on a laptop)
EXPERIMENT_DEFAULTS = dict(n_train=3000, n_test=1000, seeds=5)


def _token_html(t) -> str:
    title = escape(f"{t.pos} ({t.tag})" + (f": {t.reason}" if t.reason else ""))
    cls = (["dl-tok-adv"] if t.pos == "ADV" else []) + ({"deleted": ["dl-tok-deleted"], "kept": ["dl-tok-kept"]}.get(t.status, []))
    attr = f' class="{" ".join(cls)}"' if cls else ""
    return f'<span{attr} title="{title}">{escape(t.text)}</span>{escape(t.whitespace)}'


def tagged_html(ex: Exploration) -> str:
    """The text with every token's POS in its tooltip, adverbs highlighted, deletions struck."""
    return f"<div class='dl-tagged' style='font-size:1.1em;line-height:1.8'>{''.join(_token_html(t) for t in ex.tokens)}</div>"


def methods_html(ex: Exploration) -> str:
    rows = "".join(
        f"<tr><td><b>{escape(m.method)}</b></td><td>{escape(m.text)}</td>"
        f"<td>{'' if m.similarity is None else f'{m.similarity:.3f}'}</td>"
        f"<td>{''.join(f'<div class=dl-flag>{escape(f)}</div>' for f in m.flags)}</td></tr>"
        for m in ex.methods
    )
    return ("<table class='dl-methods' style='border-collapse:collapse'><tr><th>method</th><th>augmented text</th>"
            f"<th>meaning kept (cosine)</th><th>flags</th></tr>{rows}</table>")


def coverage_html(s: DatasetSummary) -> str:
    cov = s.coverage
    top = ", ".join(f"{escape(w)} ({c})" for w, c in cov.top_deleted)
    kept = ", ".join(f"{escape(g)}: {c}" for g, c in cov.kept_by_guard.items()) or "none"
    ex = "".join(f"<li>{escape(a)}<br>→ <i>{escape(b)}</i></li>" for a, b in s.examples)
    return (
        f"<div><b>{escape(s.description)}</b>, {cov.n_texts:,} texts ({', '.join(escape(c) for c in s.classes)})</div>"
        f"<ul><li>texts with at least one adverb deleted: <b>{cov.share_with_adverb:.1%}</b></li>"
        f"<li>adverbs per text: {cov.adverbs_per_text:.2f}; deleted per text: {cov.deleted_per_text:.2f}</li>"
        f"<li>kept by guards: {kept}</li><li>most deleted: {top}</li></ul><div>Examples:</div><ul>{ex}</ul>"
    )


def experiment_html(res: ExperimentResult) -> str:
    rows = "".join(
        f"<tr><td>{escape(r['condition'])}</td><td>{r['fraction']:.0%}</td><td>{r['n_train']}</td>"
        f"<td>{r['accuracy']:.3f} ± {r['accuracy_std']:.3f}</td><td>{r['macro_f1']:.3f} ± {r['macro_f1_std']:.3f}</td>"
        f"<td>{r['gain']:+.3f}</td></tr>"
        for r in res.table()
    )
    cfg = res.config
    share = ", ".join(f"{escape(k)} {v:.0%}" for k, v in res.augmented_share.items())
    return (
        f"<div class='dl-muted'>{escape(cfg.dataset)}: {cfg.n_train} train / {cfg.n_test} test texts, "
        f"{cfg.seeds} seeds, head {escape(cfg.head)}; training texts that got an augmented copy: {share}; "
        f"{res.seconds.get('total', 0):.0f} s.</div>"
        "<table class='dl-methods'><tr><th>condition</th><th>train share</th><th>originals</th><th>accuracy</th>"
        f"<th>macro-F1</th><th>gain vs none</th></tr>{rows}</table>"
    )


def draw_accuracy(plot: LinePlot, table: list[dict], conditions) -> None:
    """Test accuracy against the share of training data, one curve per condition."""
    series = [dict(x=x, y=y, label=cond, style="o-" if cond in ("none", "adverb") else "s--")
              for cond, (x, y) in accuracy_curves(table, conditions).items()]
    plot.draw(series, xscale="log")


class AdverbExplorer(StudyRoot):
    """The adverb-deletion study's dashboard. ``tagger``/``embed``/``loader`` can be injected."""

    exploration = T.Any(None, allow_none=True)  # the latest Exploration
    experiment = T.Any(None, allow_none=True)  # the latest ExperimentResult
    dataset_coverage = T.Any(None, allow_none=True)  # the latest Coverage

    def __init__(self, text: str = DEFAULT_EXAMPLE, tagger=None, embed=None, loader=None, sync: bool = False,
                 experiment_defaults: dict | None = None, autorun: bool = True) -> None:
        self._tagger, self._embed = tagger, embed
        self._loader = loader
        self._data: dict = {}
        tabs = W.Tab([self._text_tab(text, sync), self._data_tab(sync), self._experiment_tab(sync, experiment_defaults)])
        for i, t in enumerate(["Text", "Data set", "Experiment"]):
            tabs.set_title(i, t)
        self.tabs = tabs
        super().__init__("adverbs", [W.HTML(STYLE), tabs])

        self.text.observe(lambda ch: self.start(), names="value")
        self.seed.observe(lambda ch: self.start(), names="value")
        for b in self.guard_boxes.values():
            b.observe(lambda ch: self.start(), names="value")
        self.random_button.on_click(lambda _: self.random_example())
        self.coverage_button.on_click(lambda _: self.run_coverage())
        self.exp_button.on_click(lambda _: self.run_experiment())
        if autorun:
            self.start()

    def _text_tab(self, text: str, sync: bool) -> W.Widget:
        self.text = W.Textarea(text, placeholder="Type or paste English text…", continuous_update=False,
                               layout=W.Layout(width="720px", height="80px"))
        self.text.add_class("dl-text")
        self.dataset = W.Dropdown(options=[(v.split(":")[0], k) for k, v in DATASETS.items()], value=DEFAULT_DATASET,
                                  description="Data set")
        self.random_button = W.Button(description="Random example", icon="random")
        self.guard_boxes = {g: W.Checkbox(value=g in DEFAULT_GUARDS, description=f"keep {lab}", indent=False,
                                          layout=W.Layout(width="210px"))
                            for g, lab in GUARD_LABELS}
        self.seed = W.IntText(0, description="Seed", layout=W.Layout(width="150px"))
        self.job = JobBar(sync=sync)
        self.tagged = W.HTML("")
        self.methods = W.HTML("")
        return W.VBox([W.HBox([self.text]), W.HBox([self.dataset, self.random_button, self.seed]),
                       W.HBox(list(self.guard_boxes.values())), self.job, self.tagged, self.methods])

    def _data_tab(self, sync: bool) -> W.Widget:
        self.coverage_button = W.Button(description="Adverb coverage", icon="bar-chart")
        self.coverage_n = W.IntSlider(2000, min=100, max=20000, step=100, description="Texts", continuous_update=False)
        self.coverage_view = W.HTML("")
        self.data_job = JobBar(sync=sync)
        return W.VBox([W.HBox([self.coverage_n, self.coverage_button]), self.data_job, self.coverage_view])

    def _experiment_tab(self, sync: bool, defaults: dict | None) -> W.Widget:
        d = {**EXPERIMENT_DEFAULTS, **(defaults or {})}
        self.exp_train = W.IntSlider(d["n_train"], min=100, max=30000, step=100, description="Train texts", continuous_update=False)
        self.exp_test = W.IntSlider(d["n_test"], min=50, max=5000, step=50, description="Test texts", continuous_update=False)
        self.exp_seeds = W.IntSlider(d["seeds"], min=1, max=10, description="Seeds", continuous_update=False)
        self.exp_head = W.Dropdown(options=[("logistic regression", "logreg"), ("MLP (128)", "mlp")], value="logreg", description="Head")
        self.exp_button = W.Button(description="Run experiment", icon="flask", button_style="primary")
        self.exp_button.add_class("dl-run-experiment")
        self.exp_job = JobBar(sync=sync)
        self.exp_table = W.HTML("")
        self.exp_plot = LinePlot("accuracy vs training data", "share of the training set", "test accuracy", width=6, height=3.4)
        return W.VBox([W.HBox([self.exp_train, self.exp_test]), W.HBox([self.exp_seeds, self.exp_head, self.exp_button]),
                       self.exp_job, self.exp_table, self.exp_plot])

    # ------------------------------------------------------------------------------------------
    @property
    def guards(self) -> frozenset:
        return frozenset(g for g, b in self.guard_boxes.items() if b.value)

    def tagger(self):
        if self._tagger is None:
            from deletionlab.adverbs.tagger import Tagger

            self._tagger = Tagger()
        return self._tagger

    def load_data(self, name: str):
        if name not in self._data:
            from deletionlab.adverbs.data import load

            self._data[name] = (self._loader or load)(name)
        return self._data[name]

    def settings(self) -> Settings:
        return Settings(self.text.value, self.guards, int(self.seed.value))

    def start(self) -> None:
        """Tag and augment the text in the box (a bad text: a sentence on the error line, views cleared)."""
        s = self.job.attempt(lambda: validate(self.settings()))
        if s is None:
            self.tagged.value = self.methods.value = ""
            return
        self.job.run(self._explore, s, on_result=self._show, name="Tagging and augmenting")

    def _explore(self, s: Settings, progress=None, cancel=None) -> Exploration:
        return explore(s, tagger=self.tagger(), embed=self._embed, progress=progress, cancel=cancel)

    def _show(self, ex: Exploration) -> None:
        self.exploration = ex
        self.tagged.value = tagged_html(ex)
        self.methods.value = methods_html(ex)
        self.say(" ".join(ex.notices))

    def random_example(self) -> None:
        name = self.dataset.value
        self.job.run(lambda progress=None, cancel=None: self.load_data(name).random_text(),
                     on_result=lambda t: setattr(self.text, "value", t), name="Picking an example")

    def run_coverage(self) -> None:
        name, guards = self.dataset.value, self.guards
        n = self.data_job.attempt(check_coverage_texts, int(self.coverage_n.value))
        if n is None:
            return

        def work(progress=None, cancel=None) -> DatasetSummary:
            return summarize_dataset(self.load_data(name), n, guards, tagger=self.tagger(), progress=progress, cancel=cancel)

        self.data_job.run(work, on_result=self._show_coverage, name=f"Coverage of {n} texts")

    def _show_coverage(self, summary: DatasetSummary) -> None:
        self.dataset_coverage = summary.coverage
        self.coverage_view.value = coverage_html(summary)

    def experiment_config(self) -> ExperimentConfig:
        return ExperimentConfig(dataset=self.dataset.value, n_train=int(self.exp_train.value), n_test=int(self.exp_test.value),
                                seeds=int(self.exp_seeds.value), head=self.exp_head.value, guards=tuple(sorted(self.guards)))

    def run_experiment(self) -> None:
        cfg = self.exp_job.attempt(lambda: self.experiment_config().validate())
        if cfg is None:
            return

        def work(progress=None, cancel=None) -> ExperimentResult:
            data = self.load_data(cfg.dataset)
            return run_experiment(cfg, data=data, tagger=self.tagger(), embed=self._embed, progress=progress, cancel=cancel)

        self.exp_job.run(work, on_result=self._show_experiment, name="Experiment")

    def _show_experiment(self, res: ExperimentResult) -> None:
        self.experiment = res
        self.exp_table.value = experiment_html(res)
        draw_accuracy(self.exp_plot, res.table(), res.config.conditions)


def results_header(name: str, res: dict) -> str:
    cfg, cov = res["config"], res.get("coverage") or {}
    top = ", ".join(f"{escape(w)} ({c})" for w, c in (cov.get("top_deleted") or [])[:8])
    return (f"<h4>{escape(name)}: {cfg['n_train']} training / {cfg['n_test']} test texts, {cfg['seeds']} seeds, "
            f"head {escape(cfg['head'])}</h4>"
            f"<div class='dl-muted'>texts with an adverb deleted: {cov.get('share_with_adverb', 0):.0%}; adverbs per text "
            f"{cov.get('adverbs_per_text', 0):.2f}; most deleted: {top}</div>")


class AdverbResultsView(W.VBox):
    """The committed experiment results (``scripts/adverbs_experiment.py``) with the paper's claims."""

    def __init__(self, results: dict) -> None:
        from deletionlab.adverbs.report import by_dataset, compare_all

        self.rows = compare_all(results)
        children = [W.HTML(source_line(results.get("made_by")))]
        for name, res in by_dataset(results).items():
            plot = LinePlot(f"{name}: test accuracy (mean over seeds)", "share of the training set", "accuracy", width=6, height=3.2)
            draw_accuracy(plot, res["table"], res["config"]["conditions"])
            children += [W.HTML(results_header(name, res) + claims_table(self.rows[name])), plot]
        super().__init__(children)
        self.add_class("dl-adverb-results")
