"""``UnlearningExplorer``: publish a model, delete records release after release, attack every release.

Top: the service (data set, model, learners, who deletes, shadow models) and its parameters as
bounded inputs with their units. **Run releases** starts a heavy background job (machine-wide queue,
one torch thread) with progress and cancel; the run goes through the shared result cache, so the
default run a class opens the dashboard with is computed once. The widget shows at once, with
"computing…" in every chart until the first run arrives.

Tabs: the release timeline (LiRA AUC and TPR at 1 % FPR of the deleted records per release, per
learner, with 95 % bootstrap bands over records; clicking a release shows its ROC on log-log axes
next to it); utility and privacy (accuracy vs AUC with intervals, accuracy and cost per release,
what a record-pass is and why retraining is cheap here); the accounting curves (exact Rényi
divergence for Gaussian ridge releases next to the reconstructed bound); and the deleted records
with their scores. Every curve is an :class:`InteractivePlot` (hover, zoom, legend toggling,
PNG/SVG); the run and its ROC curves download as CSV.

Everything shown is computed in :mod:`deletionlab.unlearning` (:func:`.dashboard.shared_explore`,
:mod:`.export`, :func:`.accounting.accounting_curves`); this module turns controls into a
:class:`~deletionlab.unlearning.explore.Config` and draws. After an input error the charts of the
last run stay, dimmed and marked as belonging to the previous settings; the accounting tab clears.
``UnlearningResultsView`` shows the committed multi-seed results.
"""

from __future__ import annotations

import base64
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.core.jobs import UserError
from deletionlab.unlearning import LAMBDA_RANGE, MAX_RELEASES, MAX_SEED, MAX_SHARDS, MAX_SLICES, MAX_STEPS, SIGMA_RANGE
from deletionlab.unlearning.accounting import shared_accounting_curves
from deletionlab.unlearning.dashboard import Shown, check_accounting, is_shared, reference_learner, roc_at, shared_explore
from deletionlab.unlearning.data import DATASETS, class_name, raw_images
from deletionlab.unlearning.explore import MAX_DELETIONS, Config, validate
from deletionlab.unlearning.export import results_csv, roc_csv, timeline_csv
from deletionlab.unlearning.learners import LEARNERS, Hyper
from deletionlab.unlearning.report import Z_VERDICT, compare
from deletionlab.unlearning.requesters import REQUESTER_LABELS

from .common import JobBar, StudyRoot, claims_table, colorize, escape, png_data_uri, source_line, upscale
from .plots import InteractivePlot

COLORS = {"retrain": "tab:blue", "sisa": "tab:green", "caching": "tab:red", "noisy_gd": "tab:purple"}
ATTACK_LABELS = {"single_online": "one release (LiRA online)", "average_online": "average of the releases since deletion",
                 "difference": "difference of consecutive releases", "matched_online": "one release vs matched never-members",
                 "single_offline": "one release (LiRA offline)", "members_online": "current members, not the deleted"}
#: what each attack does, in a student's words (shown under the attack menu)
ATTACK_HELP = {
    "single_online": "LiRA on the latest release alone: does a deleted record still look like a member? AUC 0.5 = the attacker "
                     "does no better than a coin; below 0.5 is a signal too (an attacker who knows it flips the score).",
    "average_online": "The attacker keeps every release and averages those published since a record's deletion: fresh noise added "
                      "to each release cancels out in the average, so a learner that adds noise to a cached noise-free model leaks "
                      "more and more. A stateless learner has nothing to accumulate.",
    "difference": "The attacker compares consecutive releases: a record whose statistic drops when a new release comes out has "
                  "probably just left. Retraining from scratch is not protected against this: the change itself is the signal.",
    "matched_online": "Adaptive requesters pick particular records (the misclassified ones, say), which look unlike members under "
                      "any model. Against all never-members they stand out even after a perfect deletion; here the negatives are "
                      "never-members picked by the same rule, so a perfect unlearner scores 0.5 again.",
    "single_offline": "LiRA with shadow models that left the record out only: cheaper for the attacker, usually weaker.",
    "members_online": "For comparison, the ordinary membership attack on the records still in the data: how much these small "
                      "models reveal at all.",
}
#: who deletes, in a student's words (shown under the requester menu)
REQUESTER_HELP = {
    "random": "Random users delete: the non-adaptive baseline every adaptive requester is compared with.",
    "confident": "Users whose record the current release predicts most confidently delete: which records leave depends on "
                 "the published models.",
    "misclassified": "Users whose record the current release gets wrong delete (they are hard records).",
    "linked": "The paper's construction: records come in pairs (messenger, target). A messenger deletes when the current release "
              "makes its target look like a member, so which record left tells whether another record is in the data. The "
              "attacker reads the targets' membership from the messengers' drops between releases (\"AUC linked targets\" in "
              "the table), even when every release is retrained from scratch.",
}
#: the accounting tab draws the bound for the k-th request with k = releases, at most this (the
#: Rényi order doubles with every request, so later requests only push the bound off the chart)
MAX_ACCOUNTING_REQUESTS = 10
COMPUTING = "computing…"
ACCOUNTING_TAB = 2
NOT_RUN = "press Run releases"
CSS = """<style>
.dl-unlearning .dl-table, .dl-unlearning-results .dl-table { border-collapse: collapse; margin: 6px 0; font-size: 0.95em; }
.dl-unlearning .dl-table th, .dl-unlearning .dl-table td,
.dl-unlearning-results .dl-table th, .dl-unlearning-results .dl-table td { padding: 3px 10px; text-align: right; }
.dl-unlearning .dl-table th, .dl-unlearning-results .dl-table th { border-bottom: 1px solid #bbb; vertical-align: bottom;
  font-weight: 600; max-width: 130px; }
.dl-unlearning .dl-table td:first-child, .dl-unlearning .dl-table th:first-child,
.dl-unlearning-results .dl-table td:first-child, .dl-unlearning-results .dl-table th:first-child { text-align: left; }
.dl-unlearning .dl-help, .dl-unlearning-results .dl-help { color: #444; font-size: 0.92em; max-width: 1000px; line-height: 1.35; }
.dl-unlearning .dl-stale { opacity: 0.45; }
.dl-unlearning .dl-stale-note { color: #7a5b00; font-weight: 500; }
</style>"""
INTRO = ("<div class='dl-help'>Set up the service and the attacker, then <b>Run releases</b>. Charts: hover a point for its value, "
         "drag to zoom (double-click resets), click a legend entry to hide a curve, the camera icon saves a PNG. "
         "<b>Click a point of the timeline</b> to see that release's ROC next to it. Shaded bands are 95 % bootstrap intervals "
         "over records: one run deletes only a few records, and differences inside the bands are noise.</div>")


def _eta(w: W.Text) -> float | None:
    """Step size η from its text box: blank means 1/β; every range is checked by the science."""
    text = (w.value or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except (ValueError, OverflowError):
        raise UserError(f"Step size η must be a number above 0 (at most 2/β of the model), or blank for 1/β "
                        f"(got {text[:20]!r}).") from None


def _link(data: str, filename: str, text: str, mime: str = "text/csv") -> str:
    payload = base64.b64encode(data.encode()).decode()
    return (f"<a download='{escape(filename)}' href='data:{mime};base64,{payload}' class='dl-download-link'>"
            f"{escape(text)}</a>")


def _plot(title: str, xlabel: str, ylabel: str, css: str, **kwargs) -> InteractivePlot:
    plot = InteractivePlot(title, xlabel, ylabel, **kwargs)
    plot.add_class(css)
    return plot


def _labelled(widget: W.Widget, css: str) -> W.Widget:
    widget.style.description_width = "initial"
    widget.add_class(css)
    return widget


class UnlearningExplorer(StudyRoot):
    """The unlearning study's dashboard (``sync=True`` runs jobs in the calling thread, for tests)."""

    result = T.Any(None, allow_none=True)

    def __init__(self, sync: bool = False, autorun: bool = False, **defaults: Any) -> None:
        self.job = JobBar(sync=sync)
        self.account_job = JobBar(sync=sync)
        self.shown: Shown | None = None
        self.bands = None
        controls = self._build_controls(defaults)
        self.tabs = self._build_tabs()
        self.stale_note = W.HTML("")
        self.stale_note.add_class("dl-stale-note")
        super().__init__("unlearning", [W.HTML(CSS), W.HTML(INTRO), controls, self.stale_note, self.tabs])
        self._wire()
        self._blank(COMPUTING if autorun else NOT_RUN)
        self._blank_accounting("opens with this tab (or press Compute accounting)")
        if autorun:
            self.start(check_first=False)

    # -- building ---------------------------------------------------------------------------------
    def _build_controls(self, defaults: dict) -> W.VBox:
        h, cfg = Hyper(), Config()
        d = {"dataset": cfg.dataset, "model": cfg.model, "releases": cfg.releases, "per_release": cfg.per_release,
             "shadows": cfg.shadows, "requester": cfg.requester, "seed": cfg.seed, **defaults}
        self.dataset = _labelled(W.Dropdown(options=[(k.replace("_", " "), k) for k, v in DATASETS.items() if v[1] == "classification"],
                                            value=d["dataset"], description="data set", layout=W.Layout(width="260px")), "dl-dataset")
        self.dataset_about = W.HTML("")
        self.model = _labelled(W.Dropdown(options=[("logistic regression (convex)", "logistic"),
                                                   ("small MLP, 16 hidden units (non-convex, slower)", "mlp")],
                                          value=d["model"], description="model", layout=W.Layout(width="430px")), "dl-model")
        self.learner_boxes = {k: W.Checkbox(value=True, description=c.label, indent=False, layout=W.Layout(width="210px"))
                              for k, c in LEARNERS.items()}
        self.requester = _labelled(W.Dropdown(options=[(v, k) for k, v in REQUESTER_LABELS.items()], value=d["requester"],
                                              description="who deletes", layout=W.Layout(width="520px")), "dl-requester")
        self.requester_help = W.HTML("")
        self.shadows = _labelled(W.Dropdown(options=[8, 16, 32, 64], value=d["shadows"], description="attacker's shadow models",
                                            layout=W.Layout(width="250px")), "dl-shadows")
        self.releases = _labelled(W.IntSlider(value=d["releases"], min=1, max=MAX_RELEASES, description="releases after the first",
                                              continuous_update=False, layout=W.Layout(width="380px")), "dl-releases")
        self.per_release = _labelled(W.BoundedIntText(value=d["per_release"], min=1, max=MAX_DELETIONS,
                                                      description="deletions per release [records]", layout=W.Layout(width="290px")),
                                     "dl-per-release")
        self.seed = _labelled(W.BoundedIntText(value=d["seed"], min=0, max=MAX_SEED, description="seed", layout=W.Layout(width="170px")),
                              "dl-seed")
        self.sigma = _labelled(W.BoundedFloatText(value=h.sigma, min=0.0, max=SIGMA_RANGE[1], step=0.01, description="noise σ (0 = none)",
                                                  layout=W.Layout(width="230px")), "dl-sigma")
        self.lam = _labelled(W.BoundedFloatText(value=h.lam, min=LAMBDA_RANGE[0], max=LAMBDA_RANGE[1], step=0.01,
                                                description="L2 penalty λ", layout=W.Layout(width="210px")), "dl-lam")
        self.eta = _labelled(W.Text("", placeholder="blank: 1/β", description="step size η", layout=W.Layout(width="210px")), "dl-eta")
        self.k_learn = _labelled(W.BoundedIntText(value=h.k_learn, min=1, max=MAX_STEPS, description="K_A learning [steps]",
                                                  layout=W.Layout(width="230px")), "dl-k-learn")
        self.k_unlearn = _labelled(W.BoundedIntText(value=h.k_unlearn, min=0, max=MAX_STEPS, description="K_U per request [steps]",
                                                    layout=W.Layout(width="240px")), "dl-k-unlearn")
        self.shards = _labelled(W.IntSlider(value=h.shards, min=1, max=MAX_SHARDS, description="SISA shards", continuous_update=False,
                                            layout=W.Layout(width="330px")), "dl-shards")
        self.slices = _labelled(W.IntSlider(value=h.slices, min=1, max=MAX_SLICES, description="slices per shard", continuous_update=False,
                                            layout=W.Layout(width="330px")), "dl-slices")
        self.run_button = W.Button(description="Run releases", icon="play", button_style="primary")
        self.run_button.add_class("dl-run")
        self.downloads = self._build_downloads()
        params = W.VBox([
            W.HBox([self.releases, self.per_release, self.seed]),
            W.HBox([self.sigma, self.lam, self.eta, self.k_learn, self.k_unlearn]),
            W.HBox([self.shards, self.slices]),
            W.HTML("<div class='dl-help'>σ, K_A and K_U: Noisy-GD (σ also sets the caching unlearner's fresh noise, σ/√λ per "
                   "release); λ: every learner; η blank uses 1/β, the largest step the bound is proven for. A record-pass "
                   "(cost) is one record touched by one training iteration.</div>"),
        ])
        return W.VBox([
            W.HBox([self.dataset, self.dataset_about], layout=W.Layout(align_items="center")),
            self.model,
            W.HBox(list(self.learner_boxes.values())),
            W.HBox([self.requester, self.shadows]),
            self.requester_help,
            params,
            W.HBox([self.run_button, self.job]),
            self.downloads,
        ])

    def _build_downloads(self) -> W.HBox:
        self.csv_button = W.Button(description="CSV: timeline", icon="download", layout=W.Layout(width="150px"),
                                   tooltip="every release, learner and attack, with the bands")
        self.roc_csv_button = W.Button(description="CSV: ROC", icon="download", tooltip="the ROC curves of the release shown",
                                       layout=W.Layout(width="120px"))
        self.csv_button.add_class("dl-csv")
        self.roc_csv_button.add_class("dl-roc-csv")
        self.download_links = W.HTML("")
        self.download_links.add_class("dl-downloads")
        return W.HBox([W.HTML("<span class='dl-help'>For a report:&nbsp;</span>"), self.csv_button, self.roc_csv_button,
                       self.download_links], layout=W.Layout(align_items="center"))

    def _build_tabs(self) -> W.Tab:
        self.attack = _labelled(W.Dropdown(options=[(v, k) for k, v in ATTACK_LABELS.items()], value="single_online",
                                           description="attack on the deleted records", layout=W.Layout(width="520px")), "dl-attack")
        self.attack_help = W.HTML("")
        self.timeline_auc = _plot("deleted records: AUC per release", "release", "LiRA ROC AUC", "dl-timeline", width=560, height=360,
                                  xfmt="d", yfmt=".3f")
        self.roc = _plot("ROC", "false-positive rate", "true-positive rate", "dl-roc", xscale="log", yscale="log", width=500,
                         height=360, yfmt=".3f")
        self.roc_release = _labelled(W.IntSlider(value=1, min=1, max=1, description="ROC of release", continuous_update=False,
                                                 layout=W.Layout(width="360px")), "dl-roc-release")
        self.timeline_tpr = _plot("deleted records: TPR at 1 % FPR", "release", "true-positive rate", "dl-timeline-tpr", width=560,
                                  height=320, xfmt="d", yfmt=".3f")
        self.summary = W.HTML("")
        self.summary.add_class("dl-summary")
        self.tradeoff = _plot("utility vs privacy at the last release", "LiRA AUC on the deleted records", "accuracy (never-members)",
                              "dl-tradeoff", width=520, height=360, yfmt=".3f", xfmt=".3f")
        self.tradeoff_text = W.HTML("")
        self.tradeoff_text.add_class("dl-tradeoff-text")
        self.acc_plot = _plot("accuracy of each release", "release", "accuracy (never-members)", "dl-accuracy", width=520, height=320,
                              xfmt="d", yfmt=".3f")
        self.cost_plot = _plot("cost of each release", "release", "record-passes", "dl-cost", yunit="record-passes", width=520,
                               height=320, xfmt="d", yfmt=",.0f")
        self.cost_text = W.HTML("")
        self.cost_text.add_class("dl-cost-text")
        self.account_plot = _plot("Noisy-GD: divergence to retraining vs K_U", "unlearning steps K_U", "Rényi divergence (α = 2)",
                                  "dl-accounting", yscale="log", width=560, height=380, xfmt="d", xunit="steps")
        self.account_text = W.HTML("")
        self.account_text.add_class("dl-accounting-text")
        self.account_button = W.Button(description="Compute accounting", icon="calculator", layout=W.Layout(width="200px"))
        self.account_button.add_class("dl-account-button")
        self.deleted_list = W.Select(options=[], rows=14, layout=W.Layout(width="300px"), description="")
        self.deleted_list.add_class("dl-deleted")
        self.record_view = W.HTML("<i>Pick a deleted record.</i>")
        tabs = W.Tab([
            W.VBox([self.attack, self.attack_help, W.HBox([self.timeline_auc, W.VBox([self.roc_release, self.roc])]),
                    W.HBox([self.timeline_tpr, W.HTML(TPR_HELP)]), self.summary]),
            W.VBox([W.HBox([self.tradeoff, self.tradeoff_text]), W.HBox([self.acc_plot, self.cost_plot]), self.cost_text]),
            W.VBox([W.HBox([self.account_button, self.account_job]), W.HTML(ACCOUNTING_HELP),
                    W.HBox([self.account_plot, self.account_text])]),
            W.VBox([W.HTML("<div class='dl-help'>Every record deleted in this run (the first learner's requests; adaptive "
                           "requesters may pick others for other learners), with its attack score at the last release.</div>"),
                    W.HBox([self.deleted_list, self.record_view])]),
        ])
        for i, name in enumerate(["Release timeline", "Utility & privacy", "Accounting", "Deleted records"]):
            tabs.set_title(i, name)
        return tabs

    def _wire(self) -> None:
        self.run_button.on_click(lambda _: self.start())
        self.account_button.on_click(lambda _: self.start_accounting())
        self.attack.observe(lambda _: self._draw_attack(), "value")
        self.roc_release.observe(lambda _: self._draw_roc(), "value")
        self.deleted_list.observe(lambda ch: self._show_record(ch["new"]), "value")
        self.dataset.observe(lambda _: self._describe_inputs(), "value")
        self.requester.observe(lambda _: self._describe_inputs(), "value")
        self.timeline_auc.on_click(lambda x, _y, _label: self._select_release(x))
        self.timeline_tpr.on_click(lambda x, _y, _label: self._select_release(x))
        self.tabs.observe(lambda _: self._tab_opened(), "selected_index")
        self.csv_button.on_click(lambda _: self.offer_csv())
        self.roc_csv_button.on_click(lambda _: self.offer_roc_csv())
        for w in self._inputs():
            w.observe(lambda _: self._inputs_changed(), "value")
        self._describe_inputs()

    def _tab_opened(self) -> None:
        """The accounting tab computes its curves the first time it is opened (a second or two)."""
        if self.tabs.selected_index == ACCOUNTING_TAB and self.account_job.state == "idle":
            self.start_accounting()

    def _inputs(self) -> list[W.Widget]:
        return [self.dataset, self.model, self.requester, self.shadows, self.releases, self.per_release, self.seed, self.sigma,
                self.lam, self.eta, self.k_learn, self.k_unlearn, self.shards, self.slices, *self.learner_boxes.values()]

    def _describe_inputs(self) -> None:
        self.dataset_about.value = f"<span class='dl-help'>{escape(DATASETS[self.dataset.value][2])}</span>"
        self.requester_help.value = f"<div class='dl-help'>{escape(REQUESTER_HELP.get(self.requester.value, ''))}</div>"
        self.attack_help.value = f"<div class='dl-help dl-attack-help'>{escape(ATTACK_HELP[self.attack.value])}</div>"

    # -- input: the controls as a Config; every range is checked by the science's validate ---------
    def hyper(self) -> Hyper:
        return Hyper(sigma=float(self.sigma.value), lam=float(self.lam.value), eta=_eta(self.eta), k_learn=int(self.k_learn.value),
                     k_unlearn=int(self.k_unlearn.value), shards=int(self.shards.value), slices=int(self.slices.value))

    def config(self) -> Config:
        return Config(dataset=self.dataset.value, model=self.model.value, requester=self.requester.value,
                      learners=tuple(k for k, b in self.learner_boxes.items() if b.value), releases=int(self.releases.value),
                      per_release=int(self.per_release.value), shadows=int(self.shadows.value), seed=int(self.seed.value),
                      hyper=self.hyper())

    # -- running ------------------------------------------------------------------------------------
    def start(self, check_first: bool = True) -> None:
        """Validate the inputs and run the releases in the background: a heavy job (the machine-wide
        queue, one torch thread) unless the shared cache holds the run already. ``check_first=False``
        (the default run on open) leaves the check to the job, so the notebook cell returns at once."""
        cfg = self.job.attempt(lambda: validate(self.config()) if check_first else self.config())
        if cfg is None:
            self._mark_stale("the input named in the error line is not valid")
            self.job.runner.cancel()
            return
        self.job.run(shared_explore, cfg, on_result=self._show, on_error=lambda _: self._mark_stale("the last run failed"),
                     name="Releases", heavy=not is_shared(cfg), threads=1)

    def _inputs_changed(self) -> None:
        if self.result is not None and not self.stale_note.value:
            self.stale_note.value = ("<span class='dl-help'>The settings changed: the charts show the last run until you press "
                                     "Run releases.</span>")

    def _mark_stale(self, why: str) -> None:
        if self.result is None:
            self._blank(f"no run yet: {why}")
            return
        self.tabs.add_class("dl-stale")
        self.stale_note.value = (f"⚠ The charts below belong to the previous run ({escape(_settings_line(self.result.config))}), "
                                 f"not to the settings above: {escape(why)}.")

    def _blank(self, why: str) -> None:
        """Every run view empty with ``why`` written across it."""
        for plot in (self.timeline_auc, self.timeline_tpr, self.roc, self.tradeoff, self.acc_plot, self.cost_plot):
            plot.draw([], note=why)
        self.summary.value = self.tradeoff_text.value = self.cost_text.value = ""

    def _blank_accounting(self, why: str) -> None:
        self.account_plot.draw([], note=why)
        self.account_text.value = ""

    def _show(self, shown: Shown) -> None:
        self.shown, self.bands = shown, shown.bands
        self.result = res = shown.result
        self.tabs.remove_class("dl-stale")
        self.stale_note.value = ""
        self.notice.value = "".join(f"<div class='dl-note'>ℹ {escape(n)}</div>" for n in res.notes)
        self.download_links.value = ""
        T_ = res.config["releases"]
        self.roc_release.max = T_
        self.roc_release.value = T_
        for plot in (self.timeline_auc, self.timeline_tpr, self.acc_plot, self.cost_plot):
            plot.figure.layout.xaxis.dtick = 1 if T_ <= 20 else None
        self._draw_attack()
        self._draw_utility()
        self._fill_deleted()

    # -- drawing ------------------------------------------------------------------------------------
    def _draw_attack(self) -> None:
        """Everything that depends on the chosen attack: both timelines, the ROC, the summary, the trade-off."""
        self._describe_inputs()
        if self.result is None:
            return
        self._draw_timeline()
        self._draw_roc()
        self._draw_tradeoff()
        self.summary.value = _summary_html(self.shown, self.attack.value)

    def _draw_timeline(self) -> None:
        res, att, b = self.result, self.attack.value, self.bands
        auc, tpr = [], []
        for key, (xs, ys) in res.timeline(att).items():
            run_ = res.runs[key]
            lo, hi = b.auc[att][key]
            n_pos = [r["attacks"][att]["n_pos"] for r in run_.releases[1:]]
            what = "current members" if att == "members_online" else "deleted records"
            text = [f"bootstrap 95 %: {a:.2f}–{c:.2f} · {n} {what}" for a, c, n in zip(lo, hi, n_pos)]
            auc.append(dict(x=xs, y=ys, label=run_.label, color=COLORS.get(key), band=(lo, hi), text=text))
            tlo, thi = b.tpr[att][key]
            tys = res.timeline(att, 0.01)[key][1]
            tpr.append(dict(x=xs, y=tys, label=run_.label, color=COLORS.get(key), band=(tlo, thi),
                            text=[f"bootstrap 95 %: {a:.2f}–{c:.2f}" for a, c in zip(tlo, thi)]))
        self.timeline_auc.title = f"deleted records: {ATTACK_LABELS[att]}"
        self.timeline_auc.figure.layout.title.text = escape(self.timeline_auc.title)
        self.timeline_auc.draw(auc, hlines=[(0.5, "chance")], ylim=(0.0, 1.0))
        top = max([0.05] + [v for s in tpr for v in s["band"][1] if np.isfinite(v)])
        self.timeline_tpr.draw(tpr, hlines=[(0.01, "chance")], ylim=(0.0, min(1.0, top * 1.1)))

    def _select_release(self, x) -> None:
        """A click on the timeline: show that release's ROC."""
        try:
            t = int(round(float(x)))
        except (TypeError, ValueError):
            return
        if self.result is not None and 1 <= t <= self.roc_release.max:
            self.roc_release.value = t

    def _draw_roc(self) -> None:
        if self.result is None:
            return
        att, t = self.attack.value, int(self.roc_release.value)
        series = []
        n_neg = n_pos = 0
        for key, run_ in self.result.runs.items():
            sc = run_.scores[t].get(att) if t < len(run_.scores) else None
            if sc is None:
                continue
            n_neg, n_pos = max(n_neg, len(set(sc.neg_ids.tolist()))), max(n_pos, len(sc.pos))
            f, tp = roc_at(sc)
            ok = (f > 0) & (tp > 0)
            series.append(dict(x=f[ok].tolist(), y=tp[ok].tolist(), style="-", color=COLORS.get(key), label=run_.label))
        title = f"ROC at release {t} ({ATTACK_LABELS[att]}), log-log"
        self.roc.title = title
        self.roc.figure.layout.title.text = escape(title)
        # log axes from half the smallest step these records can resolve (one never-member, one positive)
        lo_x = 0.5 / n_neg if n_neg else 1e-3
        lo_y = 0.5 / max(n_pos, 1) if n_pos else 1e-3
        series.append(dict(x=[lo_x, 1], y=[lo_x, 1], style=":", color="grey", label="chance"))
        vlines = [(1 / n_neg, "one never-member")] if n_neg else []
        self.roc.draw(series, xlim=(lo_x, 1), ylim=(min(lo_x, lo_y), 1.05), vlines=vlines)

    def _draw_tradeoff(self) -> None:
        res, att, b = self.result, self.attack.value, self.bands
        pts = []
        for key, run_ in res.runs.items():
            last = run_.releases[-1]
            x = last["attacks"][att]["auc"]
            lo, hi = (v[-1] for v in b.auc[att][key])
            alo, ahi = (v[-1] for v in b.accuracy[key])
            pts.append(dict(x=[lo, hi], y=[last["accuracy"]] * 2, style="-", color=COLORS.get(key)))     # AUC: bootstrap
            pts.append(dict(x=[x, x], y=[alo, ahi], style="-", color=COLORS.get(key)))                    # accuracy: Wilson
            pts.append(dict(x=[x], y=[last["accuracy"]], style="o", markersize=11, label=run_.label, color=COLORS.get(key),
                            text=[f"AUC 95 % band {lo:.2f}–{hi:.2f}; accuracy {alo:.3f}–{ahi:.3f}"]))
        self.tradeoff.draw(pts, vlines=[(0.5, "chance")])
        self.tradeoff_text.value = _differences_html(self.shown, att)

    def _draw_utility(self) -> None:
        res, b = self.result, self.bands
        acc, cost = [], []
        for key, run_ in res.runs.items():
            xs = [r["t"] for r in run_.releases]
            acc.append(dict(x=xs, y=[r["accuracy"] for r in run_.releases], label=run_.label, color=COLORS.get(key),
                            band=b.accuracy[key]))
            cost.append(dict(x=xs[1:], y=[r["cost"] for r in run_.releases[1:]], label=run_.label, color=COLORS.get(key)))
        self.acc_plot.draw(acc)
        self.cost_plot.draw(cost)
        self.cost_text.value = _cost_html(res)

    def _fill_deleted(self) -> None:
        first = next(iter(self.result.runs.values()))
        opts = [(f"release {s['release']}: record {s['id']} (class {class_name(self.result.dataset, s['id'])})", s["id"])
                for s in first.deleted_scores]
        self.deleted_list.options = opts
        if opts:
            self.deleted_list.value = opts[0][1]

    def _show_record(self, rid) -> None:
        if rid is None or self.result is None:
            return
        rows = []
        for run_ in self.result.runs.values():
            s = next((x for x in run_.deleted_scores if x["id"] == rid), None)
            if s is None:
                rows.append(f"<tr><td>{escape(run_.label)}</td><td colspan=3>not deleted under this learner's requests</td></tr>")
                continue
            rows.append(f"<tr><td>{escape(run_.label)}</td><td>{s['release']}</td><td>{s['single']:+.2f}</td><td>{s['average']:+.2f}</td></tr>")
        self.record_view.value = (
            f"<h4>record {rid}</h4>{_digit_html(self.result.dataset, rid)}<table class='dl-table'><tr><th>learner</th>"
            "<th>deleted at release</th><th>LiRA score, last release</th><th>LiRA score, average since deletion</th></tr>"
            + "".join(rows) + "</table>"
            "<div class='dl-help'>LiRA score = log-likelihood ratio of the record's statistic under models trained with it vs "
            "without it; above 0 the record looks like a member, although it was deleted.</div>")

    # -- downloads ------------------------------------------------------------------------------------
    def offer_csv(self) -> None:
        if self.shown is None:
            self.download_links.value = "<span class='dl-help'>Run releases first.</span>"
            return
        self.download_links.value = _link(timeline_csv(self.shown), "unlearning-timeline.csv", "download unlearning-timeline.csv")

    def offer_roc_csv(self) -> None:
        if self.shown is None:
            self.download_links.value = "<span class='dl-help'>Run releases first.</span>"
            return
        t = int(self.roc_release.value)
        self.download_links.value = _link(roc_csv(self.shown, t, attacks=(self.attack.value,)), f"unlearning-roc-release-{t}.csv",
                                          f"download unlearning-roc-release-{t}.csv")

    # -- accounting ---------------------------------------------------------------------------------
    def start_accounting(self) -> None:
        """The exact divergence and the bound for the parameters above (the same checks as a run);
        an input error clears the previous curves."""
        h = self.account_job.attempt(lambda: check_accounting(self.hyper()))
        if h is None:
            self.account_job.runner.cancel()
            self._blank_accounting("fix the input named in the error line")
            return
        requests = max(1, min(int(self.releases.value), MAX_ACCOUNTING_REQUESTS))
        self._accounting_k_u = h.k_unlearn
        self._blank_accounting(COMPUTING)
        self.account_job.run(shared_accounting_curves, h, requests=requests, on_result=self._show_accounting,
                             on_error=lambda _: self._blank_accounting("fix the input named in the error line"), name="Accounting",
                             heavy=True, threads=1)

    def _show_accounting(self, out: dict) -> None:
        ks = out["k"]
        series = [dict(x=ks, y=out["exact"], label="exact (ridge, Gaussian releases)", style="-", color="tab:blue")]
        if out.get("bound") is not None:
            series.append(dict(x=ks, y=out["bound"], label="bound, 1st request (reconstructed)", style="--", color="tab:red"))
        if out.get("bound_requests") is not None and out["requests"] > 1:
            series.append(dict(x=ks, y=out["bound_requests"], label=f"bound, request {out['requests']}", style=":", color="tab:red"))
        pos = [v for s in series for v in s["y"] if v and v > 0 and np.isfinite(v)]
        ylim = (max(min(pos) / 2, 1e-12), max(pos) * 2) if pos else None
        k_u = self._accounting_k_u
        self.account_plot.draw(series, ylim=ylim, hlines=[(10.0, "ε = 10")], vlines=[(k_u, f"K_U = {k_u}")],
                               note="" if pos else "every divergence is 0 here")
        self.account_text.value = f"<div class='dl-help' style='max-width:420px'>{out['text']}</div>"


TPR_HELP = ("<div class='dl-help' style='max-width:420px;margin-top:30px'>TPR at 1 % FPR: the share of deleted records the "
            "attacker flags while it wrongly flags 1 % of never-members. LiRA's authors recommend reading this low-FPR end: an "
            "attack can sit near AUC 0.5 and still expose a few records confidently. With a couple of hundred never-members, "
            "1 % is two or three records, so this curve is noisier still (see its band).</div>")
ACCOUNTING_HELP = (
    "<div class='dl-help'>How fast does Noisy-GD forget? For ridge regression on the diabetes data every Noisy-GD release is "
    "Gaussian, so the Rényi divergence between “trained on all records, then K_U steps without one” and “trained without it "
    "from the start” has a closed form (blue). The dashed line is the reconstructed bound for the first request, the dotted one "
    "after the n-th request (n = releases, at most 10). The <b>certified ε</b> of a run is that bound at its K_U: about 1 or "
    "less means an attacker can hardly tell the release from a retrain; we call ε above 10 vacuous. It uses σ, λ, η, K_A and "
    "K_U from above.</div>")


def _settings_line(cfg: dict) -> str:
    h = cfg["hyper"]
    return (f"{cfg['dataset']}, {cfg['requester']} requests, {cfg['releases']} × {cfg['per_release']} deletions, "
            f"σ = {h['sigma']:g}, λ = {h['lam']:g}, K_U = {h['k_unlearn']}, seed {cfg['seed']}")


def _band(b, att: str, key: str) -> str:
    lo, hi = (v[-1] for v in b.auc[att][key])
    return f"<span class='dl-help'>[{lo:.2f}, {hi:.2f}]</span>"


def _summary_html(shown: Shown, att: str) -> str:
    """The last release of every learner in one table (AUCs with their 95 % bands), what the numbers can
    resolve, and Noisy-GD's certified ε explained."""
    res, b = shown.result, shown.bands
    last = {k: r.releases[-1] for k, r in res.runs.items()}

    def cell(k: str, a: str) -> str:
        return f"<td>{last[k]['attacks'][a]['auc']:.3f} {_band(b, a, k) if a in b.auc else ''}</td>"

    rows = "".join(
        f"<tr><td>{escape(res.runs[k].label)}</td><td>{r['accuracy']:.3f}</td>{cell(k, att)}"
        + ("" if att == "difference" else cell(k, "difference"))
        + f"<td>{r['attacks'][att]['tpr']['0.01']:.3f}</td><td>{r['attacks']['members_online']['auc']:.3f}</td>"
        f"<td>{res.runs[k].linked['auc'] if res.runs[k].linked else float('nan'):.3f}</td>"
        f"<td>{np.mean([x['cost'] for x in res.runs[k].releases[1:]]):,.0f}</td></tr>"
        for k, r in last.items())
    m = next(iter(last.values()))["attacks"][att]
    head = ("<tr><th>learner</th><th title='on the never-members'>accuracy</th>"
            f"<th title='{escape(ATTACK_LABELS[att])}'>AUC: {escape(ATTACK_LABELS[att])} [95 % band]</th>"
            + ("" if att == "difference" else "<th title='largest drop between consecutive releases'>AUC: difference of releases</th>")
            + "<th>TPR at 1 % FPR</th><th title='the ordinary attack on the records still in the data'>AUC on current members</th>"
            "<th title=\"the linked requester's targets, read from their messengers' drops\">AUC on linked targets</th>"
            "<th title='records touched by the training iterations of one release'>record-passes per release</th></tr>")
    return (
        f"<div class='dl-help'>Last release ({res.config['releases']}) of {escape(res.dataset)}: {res.n_members} records in the "
        f"service, {res.n_outsiders} never-members; this attack scores {m['n_pos']} "
        f"{'current members' if att == 'members_online' else 'deleted records'} against {m['n_neg']} never-members; "
        f"{res.config['shadows']} shadow models per learner; computed in {res.seconds:.1f} s. With {res.n_outsiders} negatives "
        f"the smallest false-positive rate that can be resolved is {1 / res.n_outsiders:.2%}.</div>"
        f"<table class='dl-table'>{head}{rows}</table>" + _certificate_html(res.certificate))


def _differences_html(shown: Shown, att: str) -> str:
    """Each learner against retraining at the last release, paired bootstrap, in words."""
    res, b = shown.result, shown.bands
    diffs = b.differences.get(att, [])
    if not diffs:
        return "<div class='dl-help'>Tick at least two learners to compare them.</div>"
    ref = res.runs[reference_learner(res)].label
    items = "".join(
        f"<li><b>{escape(res.runs[d.learner].label)}</b> − {escape(ref)}: {d.diff:+.3f} (95 % interval {d.lo:+.3f} to {d.hi:+.3f}) "
        f"— {'within' if d.within_noise else 'beyond'} the record-sampling noise of this run</li>" for d in diffs)
    return (f"<div class='dl-help dl-differences' style='max-width:440px'>Bars: 95 % intervals (AUC: bootstrap over records; "
            f"accuracy: Wilson). AUC at the last release ({escape(ATTACK_LABELS[att])}) against {escape(ref)}, bootstrapped "
            f"<i>paired</i> (the same records resampled for every learner):<ul>{items}</ul>One run is one member split and a few "
            "deleted records; the committed results below compare learners over 8 seeds, paired by seed, and decide the "
            "verdicts.</div>")


def _cost_html(res) -> str:
    """What a record-pass is and why retraining is cheap on these models, with this run's numbers."""
    h = res.config["hyper"]
    per = {k: (np.mean([r["cost"] for r in run.releases[1:]]), np.mean([r["n_present"] for r in run.releases[1:]]))
           for k, run in res.runs.items()}
    items = "".join(f"<li>{escape(res.runs[k].label)}: {c:,.0f} record-passes per release ≈ {c / max(n, 1):.1f} passes over the "
                    f"{n:.0f} records left</li>" for k, (c, n) in per.items())
    how = ("Retraining from scratch computes the exact minimiser: for a model of at most 160 parameters (logistic regression "
           "on two classes) that is Newton's method, which converges in a handful of iterations, each counted like one gradient "
           "step although it also solves a small linear system (the count leaves that out, which flatters retraining). "
           if res.config["model"] == "logistic" else
           "Retraining from scratch runs a fixed number of accelerated gradient steps on what is left. ")
    return (f"<div class='dl-help' style='max-width:1000px'><b>Cost</b> counts record-passes: one record touched by one training "
            f"iteration.<ul>{items}</ul>{how}The caching unlearner and Noisy-GD answer each request with K_U = {h['k_unlearn']} "
            "gradient steps over the records left, whatever the model; SISA retrains one shard from its last checkpoint before "
            "the deleted record. So on these tiny models retraining is cheap, and unlearning pays off only where a retrain "
            "costs far more passes than K_U — large models trained for many epochs. Curves that coincide hide each other "
            "(Noisy-GD and the caching unlearner both spend K_U steps per request): click a legend entry to hide one.</div>")


def _certificate_html(cert: dict | None) -> str:
    """Noisy-GD's certified ε after each request, explained ("" without Noisy-GD)."""
    if cert is None:
        return ""
    if cert["epsilon"] is None:
        return f"<div class='dl-certificate'>Noisy-GD: no certificate ({escape(cert['why'])}).</div>"
    eps = ", ".join(f"{e:.3g}" for e in cert["epsilon"])
    word = "meaningful" if cert["meaningful"] else f"vacuous (above {cert['target']:g})"
    return (f"<div class='dl-certificate'><b>Noisy-GD's certified ε</b> (Rényi, α = {cert['alpha']:g}; {cert['records']} records "
            f"per request) after each request: {eps} — {word}. The releases' own Rényi DP for one remaining record: "
            f"{cert['dp_epsilon']:.3g}.<div class='dl-help'>ε is the bound's promise for this run: how far the releases can be "
            "from what retraining without the deleted records would publish (about 1 or less: an attacker can hardly tell; "
            "we call more than 10 vacuous). It grows with every request because the bound's Rényi order doubles per request; "
            f"more noise σ, a larger λ or more steps K_U shrink it (Accounting tab). Bound: {escape(cert['source'])}.</div></div>")


def _digit_html(dataset: str, rid: int) -> str:
    """The record's raw 8×8 image and its class ("" for data sets that are not images)."""
    images = raw_images(dataset)
    if images is None:
        return ""
    rgb = colorize(images[rid], 0.0, 16.0, "gray_r")
    return (f"<img src='{png_data_uri(upscale(rgb, 8))}' width=64 height=64 style='image-rendering:pixelated'> "
            f"class {escape(class_name(dataset, rid))}")


# -- the committed results ---------------------------------------------------------------------------

RESULT_ATTACKS = {"single_online_auc": "one release", "average_online_auc": "average since deletion",
                  "difference_auc": "difference of releases", "matched_online_auc": "matched never-members",
                  "members_online_auc": "current members"}


class UnlearningResultsView(W.VBox):
    """The committed multi-seed results (``scripts/unlearning_experiment.py``): a claims table, the
    leakage timeline of any requester and attack (mean ± 2 s.e. over seeds), the accumulation and
    σ-sweep charts, utility tables and a CSV of every series."""

    def __init__(self, results: dict) -> None:
        self.results = results
        self.rows = compare(results)
        cfg, h = results["config"], results["config"]["hyper"]
        about = (f"{results['seeds']} seeds; {cfg['dataset']}; {cfg['releases']} releases × {cfg['per_release']} deletions; "
                 f"{cfg['shadows']} shadow models; λ = {h['lam']:g}, σ = {h['sigma']:g}, K_A = {h['k_learn']}, "
                 f"K_U = {h['k_unlearn']}. ± is one standard error over seeds; every comparison is paired by seed.")
        hc = (results.get("certified") or {}).get("hyper")
        if hc:
            about += (f" Certified run: λ = {hc['lam']:g}, σ = {hc['sigma']:g}, K_U = {hc['k_unlearn']} "
                      "(the smallest K_U with certified ε ≤ 10 after every request).")
        head = W.HTML(source_line(results.get("made_by"), extra=about) + claims_table(self.rows) + CSS)
        head.add_class("dl-results-table")
        self.requester = W.Dropdown(options=[(REQUESTER_LABELS.get(k, k), k) for k in results["requesters"]], description="who deleted",
                                    style={"description_width": "initial"}, layout=W.Layout(width="520px"))
        self.attack = W.Dropdown(options=[(v, k) for k, v in RESULT_ATTACKS.items()], description="attack",
                                 style={"description_width": "initial"}, layout=W.Layout(width="330px"))
        self.timeline = _plot("leakage of the deleted records", "release", "LiRA AUC (deleted records)", "dl-results-timeline",
                              width=620, height=380, xfmt="d", yfmt=".3f")
        self.requester.observe(lambda _: self.draw_timeline(), "value")
        self.attack.observe(lambda _: self.draw_timeline(), "value")
        self.draw_timeline()
        charts = [self.timeline]
        if results.get("accumulation"):
            charts.append(_accumulation_plot(results["accumulation"]))
        if results.get("sigma_sweep"):
            charts.append(_sigma_plot(results["sigma_sweep"]))
        self.csv_button = W.Button(description="CSV: every series", icon="download", layout=W.Layout(width="170px"))
        self.csv_link = W.HTML("")
        self.csv_button.on_click(lambda _: setattr(self.csv_link, "value", _link(results_csv(results), "unlearning-results.csv",
                                                                                   "download unlearning-results.csv")))
        tables = [_utility_table(results["requesters"])]
        if hc:
            tables.append(_utility_table(results["certified"]["requesters"], "the certified setting"))
        grid = [W.HBox(charts[i:i + 2]) for i in range(1, len(charts), 2)]
        super().__init__([head, W.HBox([self.requester, self.attack]), self.timeline, W.HTML(RESULTS_HELP), *grid,
                          *tables, W.HBox([self.csv_button, self.csv_link], layout=W.Layout(align_items="center"))])
        self.add_class("dl-unlearning-results")

    def draw_timeline(self) -> None:
        """One requester and attack: every learner's mean over seeds with a ±2 s.e. band."""
        entry, att = self.results["requesters"][self.requester.value], self.attack.value
        series = []
        for key, e in entry.items():
            if att not in e:
                continue
            m, sd, n = np.array(e[att]["mean"]), np.array(e[att]["std"]), e[att]["n"]
            se = sd / np.sqrt(n)
            series.append(dict(x=list(range(1, len(m) + 1)), y=m.tolist(), label=e["label"], color=COLORS.get(key),
                               band=((m - Z_VERDICT * se).tolist(), (m + Z_VERDICT * se).tolist()),
                               text=[f"± {Z_VERDICT * s:.3f} (2 s.e., {n} seeds)" for s in se]))
        title = f"{REQUESTER_LABELS.get(self.requester.value, self.requester.value)}: {RESULT_ATTACKS[att]}"
        self.timeline.title = title
        self.timeline.figure.layout.title.text = escape(title)
        self.timeline.draw(series, hlines=[(0.5, "chance")], note="" if series else "this attack was not recorded")


RESULTS_HELP = ("<div class='dl-help'>Shaded: mean ± 2 standard errors over the seeds (each learner on its own; the verdicts in "
                "the table compare learners and requesters paired by seed, which is tighter). Pick who deleted and the attack "
                "above the chart.</div>")


def _accumulation_plot(acc: dict) -> InteractivePlot:
    """One deleted batch, later releases: one release vs the average of releases, per learner (±2 s.e. bands
    around the averages; the single releases dotted)."""
    fig = _plot("one deleted batch, later releases: averaging accumulates", "releases since the deletion", "LiRA AUC (deleted batch)",
                "dl-accumulation", width=560, height=380, xfmt="d", yfmt=".3f")
    series = []
    for key, e in acc.items():
        same = np.allclose(e["average"]["mean"], e["single"]["mean"])
        parts = [("average", "-", "" if same else ": average of releases")] + ([] if same else [("single", ":", ": one release")])
        for name, style, suffix in parts:  # a learner whose releases repeat has one curve
            m, se = np.array(e[name]["mean"]), np.array(e[name]["std"]) / np.sqrt(e[name]["n"])
            band = ((m - Z_VERDICT * se).tolist(), (m + Z_VERDICT * se).tolist()) if name == "average" else None
            series.append(dict(x=list(range(1, len(m) + 1)), y=m.tolist(), color=COLORS.get(key), style=style,
                               label=f"{e['label']}{suffix}", band=band))
    fig.draw(series, hlines=[(0.5, "chance")])
    return fig


def _sigma_plot(sw: dict) -> InteractivePlot:
    """Noisy-GD's σ against the averaging attack's AUC (±2 s.e.) and accuracy (right axis), certified ε in the hover."""
    pts = sorted(sw["points"].items(), key=lambda kv: float(kv[0]))
    xs = [float(k) for k, _ in pts]

    def err(p: dict) -> float:
        return Z_VERDICT * p["std"] / np.sqrt(p["n"])

    eps = [f"certified ε {p['certified_epsilon'][-1]:.2g}; K_U for ε ≤ 10: {p.get('k_unlearn_needed')}"
           if p.get("certified_epsilon") else "no certificate" for _, p in pts]
    fig = _plot(f"Noisy-GD under {sw['requester']} requests: noise σ", "noise σ", "LiRA AUC (deleted)", "dl-sigma-sweep",
                xscale="log", width=560, height=380, right_label="accuracy", yfmt=".3f")
    series = [dict(x=xs, y=[p["average_online_auc"]["mean"] for _, p in pts], error=[err(p["average_online_auc"]) for _, p in pts],
                   label="AUC, average attack (all never-members)", color="tab:purple", text=eps)]
    if all("matched_average_auc" in p for _, p in pts):
        series.append(dict(x=xs, y=[p["matched_average_auc"]["mean"] for _, p in pts],
                           error=[err(p["matched_average_auc"]) for _, p in pts], label="AUC, average attack (matched never-members)",
                           color="tab:pink", style="s--", text=eps))
    series.append(dict(x=xs, y=[p["accuracy"]["mean"] for _, p in pts], label="accuracy", color="tab:gray", style="d:", right=True))
    fig.draw(series, hlines=[(0.5, "chance")])
    fig.figure.layout.xaxis.update(tickvals=xs, ticktext=[f"{x:g}" for x in xs])    # 0.02, 0.05, … (not "2", "5")
    return fig


def _eps_cell(e: dict) -> str:
    """Noisy-GD's certified ε after the last request ("" for the other learners)."""
    eps = e.get("certified_epsilon")
    if "certificate" not in e:
        return ""
    return f"{eps[-1]:.3g}" if eps else "none"


def _utility_table(requesters: dict, where: str = "the defaults") -> W.HTML:
    rows = "".join(
        f"<tr><td>{escape(req)}</td><td>{escape(e['label'])}</td><td>{e['accuracy']['mean'][0]:.3f}</td>"
        f"<td>{e['accuracy']['mean'][-1]:.3f}</td><td>{np.mean(e['cost']['mean'][1:]):,.0f}</td>"
        f"<td>{e['single_online_auc']['mean'][-1]:.3f}</td><td>{e['members_online_auc']['mean'][-1]:.3f}</td>"
        f"<td>{_eps_cell(e)}</td></tr>"
        for req, entry in requesters.items() for e in entry.values())
    table = W.HTML(f"<h4>Accuracy and cost of the releases at {where} (mean over seeds)</h4><table class='dl-table'><tr><th>requests</th>"
                   "<th>learner</th><th>accuracy, release 0</th><th>accuracy, last release</th><th>record-passes per release</th>"
                   "<th>AUC deleted, last</th><th>AUC current members, last</th><th>certified ε, last request</th></tr>"
                   + rows + "</table>")
    table.add_class("dl-utility-table")
    return table
