"""``AdverbExplorer``: what deleting adverbs does to a text, next to EDA, AEDA and random deletion.

Top: a text box (or a random example from a data set) and the guard switches; the tagged text
with adverbs highlighted, deletions struck through and guard-kept adverbs underlined; every
augmenter's output with the meaning it keeps (MiniLM cosine) and its flags. Below: a data-set
panel (adverb coverage, most deleted adverbs, examples) and the classification experiment with
progress, cancel, a results table and a plot. All heavy work runs in background jobs.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.adverbs import augment
from deletionlab.adverbs.data import DATASETS
from deletionlab.adverbs.experiment import ExperimentConfig, ExperimentResult, coverage, run_experiment
from deletionlab.adverbs.inspect import Inspection, check_text, inspect
from deletionlab.core.jobs import UserError

from .common import JobBar, LinePlot, StudyRoot, escape

EXAMPLE = "Honestly, the new self-driving car is really not ready yet, but it will probably work quite well soon."
STYLE = """<style>
.dl-adverbs .dl-tok-adv { background: #fff3b0; border-radius: 3px; padding: 0 1px; }
.dl-adverbs .dl-tok-deleted { background: #ffd6d6; color: #a00; text-decoration: line-through; }
.dl-adverbs .dl-tok-kept { background: #d8f3dc; text-decoration: underline; }
.dl-adverbs table.dl-methods td, .dl-adverbs table.dl-methods th { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
.dl-adverbs .dl-flag { color: #b00020; font-size: 0.85em; }
</style>"""


def tagged_html(ins: Inspection) -> str:
    """The text with every token's POS in its tooltip, adverbs highlighted, deletions struck."""
    parts = []
    for t in ins.tokens:
        title = f"{t.pos} ({t.tag})" + (f": {t.reason}" if t.reason else "")
        cls = []
        if t.pos == "ADV":
            cls.append("dl-tok-adv")
        if t.status == "deleted":
            cls.append("dl-tok-deleted")
        elif t.status == "kept":
            cls.append("dl-tok-kept")
        tok = escape(t.text)
        parts.append((f'<span class="{" ".join(cls)}" title="{escape(title)}">{tok}</span>' if cls else f'<span title="{escape(title)}">{tok}</span>') + escape(t.whitespace))
    return f"<div class='dl-tagged' style='font-size:1.1em;line-height:1.8'>{''.join(parts)}</div>"


def methods_html(ins: Inspection) -> str:
    rows = "".join(
        f"<tr><td><b>{escape(m.method)}</b></td><td>{escape(m.text)}</td>"
        f"<td>{'' if m.similarity is None else f'{m.similarity:.3f}'}</td>"
        f"<td>{''.join(f'<div class=dl-flag>{escape(f)}</div>' for f in m.flags)}</td></tr>"
        for m in ins.methods
    )
    return ("<table class='dl-methods' style='border-collapse:collapse'><tr><th>method</th><th>augmented text</th>"
            f"<th>meaning kept (cosine)</th><th>flags</th></tr>{rows}</table>")


class AdverbExplorer(StudyRoot):
    """The adverb-deletion study's dashboard. ``tagger``/``embed``/``datasets`` can be injected."""

    inspection = T.Any(None, allow_none=True)
    experiment = T.Any(None, allow_none=True)
    dataset_coverage = T.Any(None, allow_none=True)

    def __init__(self, text: str = EXAMPLE, tagger=None, embed=None, loader=None, sync: bool = False,
                 experiment_defaults: dict | None = None, autorun: bool = True) -> None:
        self._tagger, self._embed = tagger, embed
        self._loader = loader
        self._data: dict = {}
        self.text = W.Textarea(text, placeholder="Type or paste English text…", continuous_update=False,
                               layout=W.Layout(width="720px", height="80px"))
        self.text.add_class("dl-text")
        self.dataset = W.Dropdown(options=[(v.split(":")[0], k) for k, v in DATASETS.items()], value="tweets", description="Data set")
        self.random_button = W.Button(description="Random example", icon="random")
        self.guard_boxes = {g: W.Checkbox(value=g in augment.DEFAULT_GUARDS, description=f"keep {lab}", indent=False,
                                          layout=W.Layout(width="210px"))
                            for g, lab in (("negation", "negations (not, never, hardly…)"), ("degree", "degree adverbs (very, too…)"),
                                           ("wh", "wh-adverbs (how, when…)"))}
        self.seed = W.IntText(0, description="Seed", layout=W.Layout(width="150px"))
        self.job = JobBar(sync=sync)
        self.tagged = W.HTML("")
        self.methods = W.HTML("")
        # data-set panel
        self.coverage_button = W.Button(description="Adverb coverage", icon="bar-chart")
        self.coverage_n = W.IntSlider(2000, min=100, max=20000, step=100, description="Texts", continuous_update=False)
        self.coverage_view = W.HTML("")
        self.data_job = JobBar(sync=sync)
        # experiment panel
        d = {**dict(n_train=3000, n_test=1000, seeds=5), **(experiment_defaults or {})}
        self.exp_train = W.IntSlider(d["n_train"], min=100, max=30000, step=100, description="Train texts", continuous_update=False)
        self.exp_test = W.IntSlider(d["n_test"], min=50, max=5000, step=50, description="Test texts", continuous_update=False)
        self.exp_seeds = W.IntSlider(d["seeds"], min=1, max=10, description="Seeds", continuous_update=False)
        self.exp_head = W.Dropdown(options=[("logistic regression", "logreg"), ("MLP (128)", "mlp")], value="logreg", description="Head")
        self.exp_button = W.Button(description="Run experiment", icon="flask", button_style="primary")
        self.exp_button.add_class("dl-run-experiment")
        self.exp_job = JobBar(sync=sync)
        self.exp_table = W.HTML("")
        self.exp_plot = LinePlot("accuracy vs training data", "share of the training set", "test accuracy", width=6, height=3.4)

        text_box = W.VBox([
            W.HBox([self.text]),
            W.HBox([self.dataset, self.random_button, self.seed]),
            W.HBox(list(self.guard_boxes.values())),
            self.job, self.tagged, self.methods,
        ])
        data_box = W.VBox([W.HBox([self.coverage_n, self.coverage_button]), self.data_job, self.coverage_view])
        exp_box = W.VBox([W.HBox([self.exp_train, self.exp_test]), W.HBox([self.exp_seeds, self.exp_head, self.exp_button]),
                          self.exp_job, self.exp_table, self.exp_plot])
        tabs = W.Tab([text_box, data_box, exp_box])
        for i, t in enumerate(["Text", "Data set", "Experiment"]):
            tabs.set_title(i, t)
        self.tabs = tabs
        super().__init__("adverbs", [W.HTML(STYLE), tabs])

        self.text.observe(lambda ch: self.analyse(), names="value")
        self.seed.observe(lambda ch: self.analyse(), names="value")
        for b in self.guard_boxes.values():
            b.observe(lambda ch: self.analyse(), names="value")
        self.random_button.on_click(lambda _: self.random_example())
        self.coverage_button.on_click(lambda _: self.run_coverage())
        self.exp_button.on_click(lambda _: self.run_experiment())
        if autorun:
            self.analyse()

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

    def analyse(self) -> None:
        self.job.clear_error()
        try:
            text = check_text(self.text.value)
        except UserError as exc:
            self.job.show_error(str(exc))
            self.tagged.value = ""
            return
        guards, seed = self.guards, int(self.seed.value)

        def work(progress=None, cancel=None):
            return inspect(text, guards, seed, tagger=self.tagger(), embed=self._embed, progress=progress, cancel=cancel)

        self.job.run(work, on_result=self._show, name="Tagging and augmenting")

    def _show(self, ins: Inspection) -> None:
        self.inspection = ins
        self.tagged.value = tagged_html(ins)
        self.methods.value = methods_html(ins)
        self.say(" ".join(ins.notices))

    def random_example(self) -> None:
        name = self.dataset.value

        def work(progress=None, cancel=None):
            ds = self.load_data(name)
            rng = np.random.default_rng()
            return ds.texts[int(rng.integers(len(ds)))]

        self.job.run(work, on_result=lambda t: setattr(self.text, "value", t), name="Picking an example")

    def run_coverage(self) -> None:
        name, n, guards = self.dataset.value, int(self.coverage_n.value), self.guards

        def work(progress=None, cancel=None):
            ds = self.load_data(name).sample(n, seed=0)
            progress(0, 2, "tagging")
            docs = list(self.tagger().iter(ds.texts))
            progress(1, 2, "counting")
            cov = coverage(docs, guards)
            adv = augment.AdverbDeletion(guards)
            examples = []
            for d in docs:
                a = adv(d)
                if a.changed and len(d.text) < 240:
                    examples.append((d.text, a.text))
                if len(examples) >= 5:
                    break
            return ds, cov, examples

        self.data_job.run(work, on_result=self._show_coverage, name=f"Coverage of {n} texts")

    def _show_coverage(self, out) -> None:
        ds, cov, examples = out
        self.dataset_coverage = cov
        top = ", ".join(f"{escape(w)} ({c})" for w, c in cov.top_deleted)
        kept = ", ".join(f"{escape(g)}: {c}" for g, c in cov.kept_by_guard.items()) or "none"
        ex = "".join(f"<li>{escape(a)}<br>→ <i>{escape(b)}</i></li>" for a, b in examples)
        self.coverage_view.value = (
            f"<div><b>{escape(ds.description)}</b>, {cov.n_texts:,} texts ({', '.join(escape(c) for c in ds.classes)})</div>"
            f"<ul><li>texts with at least one adverb deleted: <b>{cov.share_with_adverb:.1%}</b></li>"
            f"<li>adverbs per text: {cov.adverbs_per_text:.2f}; deleted per text: {cov.deleted_per_text:.2f}</li>"
            f"<li>kept by guards: {kept}</li><li>most deleted: {top}</li></ul><div>Examples:</div><ul>{ex}</ul>"
        )

    def run_experiment(self) -> None:
        cfg = ExperimentConfig(dataset=self.dataset.value, n_train=int(self.exp_train.value), n_test=int(self.exp_test.value),
                               seeds=int(self.exp_seeds.value), head=self.exp_head.value, guards=tuple(sorted(self.guards)))

        def work(progress=None, cancel=None):
            data = self.load_data(cfg.dataset)
            return run_experiment(cfg, data=data, tagger=self.tagger(), embed=self._embed, progress=progress, cancel=cancel)

        self.exp_job.run(work, on_result=self._show_experiment, name="Experiment")

    def _show_experiment(self, res: ExperimentResult) -> None:
        self.experiment = res
        table = res.table()
        rows = "".join(
            f"<tr><td>{escape(r['condition'])}</td><td>{r['fraction']:.0%}</td><td>{r['n_train']}</td>"
            f"<td>{r['accuracy']:.3f} ± {r['accuracy_std']:.3f}</td><td>{r['macro_f1']:.3f} ± {r['macro_f1_std']:.3f}</td>"
            f"<td>{r['gain']:+.3f}</td></tr>"
            for r in table
        )
        share = ", ".join(f"{escape(k)} {v:.0%}" for k, v in res.augmented_share.items())
        self.exp_table.value = (
            f"<div class='dl-muted'>{escape(res.config.dataset)}: {res.config.n_train} train / {res.config.n_test} test texts, "
            f"{res.config.seeds} seeds, head {escape(res.config.head)}; training texts that got an augmented copy: {share}; "
            f"{res.seconds.get('total', 0):.0f} s.</div>"
            "<table class='dl-methods'><tr><th>condition</th><th>train share</th><th>originals</th><th>accuracy</th>"
            f"<th>macro-F1</th><th>gain vs none</th></tr>{rows}</table>"
        )
        series = []
        for cond in res.config.conditions:
            rs = [r for r in table if r["condition"] == cond]
            series.append(dict(x=[r["fraction"] for r in rs], y=[r["accuracy"] for r in rs], label=cond,
                               style="o-" if cond in ("none", "adverb") else "s--"))
        self.exp_plot.draw(series, xscale="log")


class AdverbResultsView(W.VBox):
    """The committed experiment results (``scripts/adverbs_experiment.py``) with the paper's claims."""

    def __init__(self, results: dict) -> None:
        from deletionlab.adverbs.report import compare

        made = results.get("made_by", {})
        children = [W.HTML(f"<div class='dl-muted'>Source: {escape(made.get('command', ''))}, {escape(made.get('date', ''))}.</div>")]
        self.rows = {}
        for name, res in results.items():
            if name == "made_by":
                continue
            rows = compare(res)
            self.rows[name] = rows
            cfg, cov = res["config"], res.get("coverage") or {}
            body = "".join(f"<tr><td>{escape(r.claim)}</td><td>{escape(r.paper)}</td><td>{escape(r.ours)}</td><td><b>{escape(r.verdict)}</b></td></tr>" for r in rows)
            top = ", ".join(f"{escape(w)} ({c})" for w, c in (cov.get("top_deleted") or [])[:8])
            head = W.HTML(
                f"<h4>{escape(name)}: {cfg['n_train']} training / {cfg['n_test']} test texts, {cfg['seeds']} seeds, head {escape(cfg['head'])}</h4>"
                f"<div class='dl-muted'>texts with an adverb deleted: {cov.get('share_with_adverb', 0):.0%}; adverbs per text "
                f"{cov.get('adverbs_per_text', 0):.2f}; most deleted: {top}</div>"
                "<table class='dl-methods'><tr><th>claim</th><th>paper</th><th>ours</th><th>verdict</th></tr>" + body + "</table>"
            )
            plot = LinePlot(f"{name}: test accuracy (mean over seeds)", "share of the training set", "accuracy", width=6, height=3.2)
            series = []
            for cond in cfg["conditions"]:
                rs = [r for r in res["table"] if r["condition"] == cond]
                series.append(dict(x=[r["fraction"] for r in rs], y=[r["accuracy"] for r in rs], label=cond,
                                   style="o-" if cond in ("none", "adverb") else "s--"))
            plot.draw(series, xscale="log")
            children += [head, plot]
        super().__init__(children)
        self.add_class("dl-adverb-results")
