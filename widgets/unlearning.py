"""``UnlearningExplorer``: publish a model, delete records release after release, attack every release.

Left: the service (data set, learners and their parameters, requester, number of releases,
deletions per release, noise σ, shadow models). Run starts a background job with progress and
cancel. Tabs: the release timeline (LiRA AUC and TPR at 1 % FPR on the deleted records per
release, per learner; single release or the average of the releases since deletion); ROC curves
on log-log axes at the last release; the accounting curves (exact Rényi divergence for Gaussian
ridge releases next to the paper's bound); utility vs privacy and cost per release; and the
records deleted at each release, pickable, with their attack scores.

Everything shown is computed in :mod:`deletionlab.unlearning` (:func:`.explore.explore`,
:func:`.accounting.accounting_curves`); this module turns controls into a
:class:`~deletionlab.unlearning.explore.Config` and draws. ``UnlearningResultsView`` shows the
committed multi-seed results.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.core.jobs import UserError
from deletionlab.unlearning.accounting import accounting_curves
from deletionlab.unlearning.data import DATASETS, class_name, raw_images
from deletionlab.unlearning.explore import Config, Result, explore, validate
from deletionlab.unlearning.learners import LEARNERS, Hyper
from deletionlab.unlearning.report import Z_VERDICT, compare
from deletionlab.unlearning.requesters import REQUESTER_LABELS

from .common import JobBar, LinePlot, StudyRoot, claims_table, colorize, escape, png_data_uri, source_line, upscale

COLORS = {"retrain": "tab:blue", "sisa": "tab:green", "caching": "tab:red", "noisy_gd": "tab:purple"}
ATTACK_LABELS = {"single_online": "single release (LiRA online)", "single_offline": "single release (LiRA offline)",
                 "average_online": "average of releases since deletion (LiRA online)",
                 "difference": "largest drop between consecutive releases",
                 "matched_online": "single release vs never-members the requester's rule picks",
                 "members_online": "current members, not the deleted (LiRA online)"}
#: the accounting tab draws the bound for the k-th request with k = releases, at most this (the
#: Rényi order doubles with every request, so later requests only push the bound off the chart)
MAX_ACCOUNTING_REQUESTS = 10


def _num(w: W.Text, name: str, kind=float, allow_blank: bool = False):
    """The number in a text box (what only the UI can check: that it is a number at all); every
    range -- also for nan, inf, 1e308 or a fraction in a whole-number field -- is checked by the
    science, whose message names the field and its range."""
    text = (w.value or "").strip()
    if not text and allow_blank:
        return None
    try:
        return int(text) if kind is int else float(text)
    except (ValueError, OverflowError):
        pass
    try:
        v = float(text)
    except (ValueError, OverflowError):
        raise UserError(f"{name} must be a number, not {text[:30]!r}.") from None
    return int(v) if kind is int and np.isfinite(v) and v == int(v) else v


class UnlearningExplorer(StudyRoot):
    """The unlearning study's dashboard (``sync=True`` runs jobs in the calling thread, for tests)."""

    result = T.Any(None, allow_none=True)

    def __init__(self, sync: bool = False, autorun: bool = False, **defaults: Any) -> None:
        self.job = JobBar(sync=sync)
        self.account_job = JobBar(sync=sync)
        controls = self._build_controls(defaults)
        self.tabs = self._build_tabs()
        super().__init__("unlearning", [controls, self.tabs])
        self.run_button.on_click(lambda _: self.start())
        self.account_button.on_click(lambda _: self.start_accounting())
        self.attack.observe(lambda _: self._draw_timeline(), "value")
        self.deleted_list.observe(lambda ch: self._show_record(ch["new"]), "value")
        if autorun:
            self.start()

    def _build_controls(self, defaults: dict) -> W.VBox:
        h, cfg = Hyper(), Config()
        d = {"dataset": cfg.dataset, "model": cfg.model, "releases": cfg.releases, "per_release": cfg.per_release,
             "shadows": cfg.shadows, "requester": cfg.requester, **defaults}
        lay = W.Layout(width="250px")
        self.dataset = W.Dropdown(options=[(f"{k} — {v[2]}", k) for k, v in DATASETS.items() if v[1] == "classification"],
                                  value=d["dataset"], description="Data", layout=W.Layout(width="520px"))
        self.model = W.Dropdown(options=[("logistic regression (convex)", "logistic"),
                                         ("small MLP, 16 hidden units (non-convex, slower)", "mlp")],
                                value=d["model"], description="Model", layout=W.Layout(width="420px"))
        self.learner_boxes = {k: W.Checkbox(value=True, description=c.label, indent=False, layout=W.Layout(width="200px"))
                              for k, c in LEARNERS.items()}
        self.requester = W.Dropdown(options=[(v, k) for k, v in REQUESTER_LABELS.items()],
                                    value=d["requester"], description="Requests", layout=W.Layout(width="380px"))
        self.releases = W.Text(str(d["releases"]), description="Releases", layout=lay)
        self.releases.add_class("dl-releases")
        self.per_release = W.Text(str(d["per_release"]), description="Deletions/rel.", layout=lay)
        self.shadows = W.Dropdown(options=[8, 16, 32, 64], value=d["shadows"], description="Shadows", layout=lay)
        self.sigma = W.Text(f"{h.sigma:g}", description="noise σ", layout=lay)
        self.lam = W.Text(f"{h.lam:g}", description="λ (L2)", layout=lay)
        self.eta = W.Text("", placeholder="auto: 1/β", description="step η", layout=lay)
        self.k_learn = W.Text(str(h.k_learn), description="K_A", layout=lay)
        self.k_unlearn = W.Text(str(h.k_unlearn), description="K_U", layout=lay)
        self.shards = W.Text(str(h.shards), description="SISA shards", layout=lay)
        self.slices = W.Text(str(h.slices), description="SISA slices", layout=lay)
        self.seed = W.Text("0", description="seed", layout=lay)
        self.run_button = W.Button(description="Run releases", icon="play", button_style="primary")
        self.run_button.add_class("dl-run")
        return W.VBox([
            self.dataset,
            self.model,
            W.HBox(list(self.learner_boxes.values())),
            W.HBox([self.requester, self.shadows]),
            W.HBox([self.releases, self.per_release, self.seed]),
            W.HBox([self.sigma, self.lam, self.eta]),
            W.HBox([self.k_learn, self.k_unlearn]),
            W.HBox([self.shards, self.slices]),
            W.HBox([self.run_button, self.job]),
        ])

    def _build_tabs(self) -> W.Tab:
        self.attack = W.ToggleButtons(options=[("single release", "single_online"), ("average since deletion", "average_online"),
                                               ("difference of releases", "difference"), ("matched negatives", "matched_online"),
                                               ("offline LiRA", "single_offline"),
                                               ("current members", "members_online")],
                                      value="single_online", style={"button_width": "150px"})
        self.timeline_auc = LinePlot("leakage of deleted records per release", "release", "LiRA ROC AUC", width=5.4, height=3.2)
        self.timeline_tpr = LinePlot("TPR at 1 % FPR", "release", "TPR", width=5.4, height=3.2)
        self.timeline_auc.add_class("dl-timeline")
        self.roc = LinePlot("ROC at the last release (log-log)", "false-positive rate", "true-positive rate", width=5.4, height=3.8)
        self.acc_plot = LinePlot("accuracy of each release (never-members)", "release", "accuracy", width=5.4, height=3.2)
        self.cost_plot = LinePlot("cost of each release", "release", "record-passes", width=5.4, height=3.2)
        self.tradeoff = LinePlot("utility vs privacy (last release)", "LiRA AUC on deleted records", "accuracy", width=5.4, height=3.2)
        self.account_plot = LinePlot("Noisy-GD: divergence to retraining vs K_U", "unlearning steps K_U", "Rényi divergence (α = 2)",
                                     width=5.6, height=3.6)
        self.account_text = W.HTML("")
        self.account_button = W.Button(description="Compute accounting", icon="calculator")
        self.deleted_list = W.Select(options=[], rows=12, layout=W.Layout(width="300px"), description="")
        self.deleted_list.add_class("dl-deleted")
        self.record_view = W.HTML("<i>Pick a deleted record.</i>")
        self.summary = W.HTML("")
        self.summary.add_class("dl-summary")
        tabs = W.Tab([
            W.VBox([self.attack, W.HBox([self.timeline_auc, self.timeline_tpr]), self.summary]),
            W.VBox([self.roc]),
            W.VBox([W.HBox([self.account_button, self.account_job]), W.HBox([self.account_plot, self.account_text])]),
            W.VBox([W.HBox([self.acc_plot, self.cost_plot]), self.tradeoff]),
            W.HBox([self.deleted_list, self.record_view]),
        ])
        for i, name in enumerate(["Release timeline", "ROC", "Accounting", "Utility & cost", "Deleted records"]):
            tabs.set_title(i, name)
        return tabs

    # -- input: numbers out of text boxes; every range is checked by the science's validate ---------
    def hyper(self) -> Hyper:
        return Hyper(sigma=_num(self.sigma, "σ"), lam=_num(self.lam, "λ"), eta=_num(self.eta, "η", allow_blank=True),
                     k_learn=_num(self.k_learn, "K_A", int), k_unlearn=_num(self.k_unlearn, "K_U", int),
                     shards=_num(self.shards, "shards", int), slices=_num(self.slices, "slices", int))

    def config(self) -> Config:
        return Config(dataset=self.dataset.value, model=self.model.value, requester=self.requester.value,
                      learners=tuple(k for k, b in self.learner_boxes.items() if b.value),
                      releases=_num(self.releases, "Releases", int), per_release=_num(self.per_release, "Deletions per release", int),
                      shadows=int(self.shadows.value), seed=_num(self.seed, "seed", int), hyper=self.hyper())

    # -- running --------------------------------------------------------------------------------
    def start(self) -> None:
        """Validate the inputs and run the releases in the background (previous results stay)."""
        cfg = self.job.attempt(lambda: validate(self.config()))
        if cfg is not None:
            self.job.run(explore, cfg, on_result=self._show, name="Releases")

    def _show(self, res: Result) -> None:
        self.result = res
        self.notice.value = "".join(f"<div class='dl-note'>ℹ {escape(n)}</div>" for n in res.notes)
        self._draw_timeline()
        self._draw_roc()
        self._draw_utility()
        self._fill_deleted()

    def _draw_timeline(self) -> None:
        res = self.result
        if res is None:
            return
        att = self.attack.value

        def series(metric):
            return [dict(x=xs, y=ys, label=res.runs[key].label, color=COLORS.get(key))
                    for key, (xs, ys) in res.timeline(att, metric).items()]

        auc, tpr = series("auc"), series(0.01)
        self.timeline_auc.title = f"deleted records: {ATTACK_LABELS[att]}"
        self.timeline_auc.draw(auc, hlines=[(0.5, "chance")], ylim=(0.3, 1.0))
        self.timeline_tpr.draw(tpr, hlines=[(0.01, "chance")], ylim=(0.0, max(0.1, max(max(s["y"]) for s in tpr) * 1.2)))
        self.summary.value = _summary_html(res)

    def _draw_roc(self) -> None:
        series = []
        for key, run_ in self.result.runs.items():
            for att, style in (("single_online", "-"), ("average_online", "--")):
                r = run_.roc.get(att)
                if r:
                    f, t = np.asarray(r["fpr"]), np.asarray(r["tpr"])
                    ok = (f > 0) & (t > 0)
                    series.append(dict(x=f[ok].tolist(), y=t[ok].tolist(), style=style, color=COLORS.get(key),
                                       label=f"{run_.label} ({'avg' if 'average' in att else 'single'})"))
        series.append(dict(x=[1e-3, 1], y=[1e-3, 1], style=":", color="grey", label="chance"))
        self.roc.draw(series, xscale="log", yscale="log", xlim=(1e-3, 1), ylim=(1e-3, 1.05), legend_loc="lower right")

    def _draw_utility(self) -> None:
        acc, cost, pts = [], [], []
        for key, run_ in self.result.runs.items():
            xs = [r["t"] for r in run_.releases]
            acc.append(dict(x=xs, y=[r["accuracy"] for r in run_.releases], label=run_.label, color=COLORS.get(key)))
            cost.append(dict(x=xs[1:], y=[r["cost"] for r in run_.releases[1:]], label=run_.label, color=COLORS.get(key)))
            last = run_.releases[-1]
            pts.append(dict(x=[last["attacks"]["single_online"]["auc"]], y=[last["accuracy"]], style="o", markersize=9,
                            label=run_.label, color=COLORS.get(key)))
        self.acc_plot.draw(acc)
        self.cost_plot.draw(cost)
        self.tradeoff.draw(pts)

    def _fill_deleted(self) -> None:
        first = next(iter(self.result.runs.values()))
        opts = [(f"release {s['release']}: record {s['id']}", s["id"]) for s in first.deleted_scores]
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
            "<th>deleted at</th><th>LiRA score, last release</th><th>LiRA score, average since deletion</th></tr>"
            + "".join(rows) + "</table>"
            "<div class='dl-muted'>LiRA score = log-likelihood ratio IN vs OUT; above 0 looks like a member.</div>")

    # -- accounting -------------------------------------------------------------------------------
    def start_accounting(self) -> None:
        h = self.account_job.attempt(self.hyper)
        if h is None:
            return
        try:
            requests = max(1, min(int(self.releases.value), MAX_ACCOUNTING_REQUESTS))
        except ValueError:
            requests = 1
        self.account_job.run(accounting_curves, h, requests=requests, on_result=self._show_accounting, name="Accounting")

    def _show_accounting(self, out: dict) -> None:
        ks = out["k"]
        series = [dict(x=ks, y=out["exact"], label="exact (ridge, Gaussian releases)", style="-", color="tab:blue")]
        if out.get("bound") is not None:
            series.append(dict(x=ks, y=out["bound"], label="bound, 1st request (reconstructed constants)", style="--", color="tab:red"))
        if out.get("bound_requests") is not None and out["requests"] > 1:
            series.append(dict(x=ks, y=out["bound_requests"], label=f"bound, request {out['requests']}", style=":", color="tab:red"))
        pos = [v for s in series for v in s["y"] if v and v > 0 and np.isfinite(v)]
        self.account_plot.draw(series, yscale="log", ylim=(max(min(pos) / 2, 1e-12), max(pos) * 2) if pos else None)
        self.account_text.value = out["text"]


def _summary_html(res: Result) -> str:
    """The last release of every learner in one table, with what the numbers can resolve and
    Noisy-GD's certified ε."""
    last = {k: r.releases[-1] for k, r in res.runs.items()}
    rows = "".join(
        f"<tr><td>{escape(res.runs[k].label)}</td><td>{r['accuracy']:.3f}</td>"
        f"<td>{r['attacks']['single_online']['auc']:.3f}</td><td>{r['attacks']['average_online']['auc']:.3f}</td>"
        f"<td>{r['attacks']['difference']['auc']:.3f}</td>"
        f"<td>{r['attacks']['single_online']['tpr']['0.001']:.3f}</td>"
        f"<td>{r['attacks']['single_online']['tpr']['0.01']:.3f}</td><td>{r['attacks']['members_online']['auc']:.3f}</td>"
        f"<td>{res.runs[k].linked['auc'] if res.runs[k].linked else float('nan'):.3f}</td>"
        f"<td>{np.mean([x['cost'] for x in res.runs[k].releases[1:]]):,.0f}</td></tr>"
        for k, r in last.items()
    )
    n_pos = next(iter(last.values()))["attacks"]["single_online"]["n_pos"]
    return (
        f"<div class='dl-muted'>{escape(res.dataset)}: {res.n_members} records in the service, {res.n_outsiders} never-members; "
        f"{n_pos} deleted by release {res.config['releases']}; {res.config['shadows']} shadow models per learner; "
        f"{res.seconds:.1f} s. With {res.n_outsiders} negatives the smallest resolvable FPR is {1 / res.n_outsiders:.2%}"
        f"{' (so TPR@0.1% is the TPR at zero false positives)' if res.n_outsiders < 1000 else ''}.</div>"
        "<table class='dl-table'><tr><th>learner</th><th>accuracy</th><th>AUC single</th><th>AUC average</th>"
        "<th>AUC difference</th><th>TPR@0.1%</th><th>TPR@1%</th><th>AUC members</th><th>AUC linked targets</th>"
        "<th>cost/release</th></tr>" + rows + "</table>" + _certificate_html(res.certificate))


def _certificate_html(cert: dict | None) -> str:
    """Noisy-GD's certified ε after each request, in one line ("" without Noisy-GD)."""
    if cert is None:
        return ""
    if cert["epsilon"] is None:
        return f"<div class='dl-certificate'>Noisy-GD: no certificate ({escape(cert['why'])}).</div>"
    eps = ", ".join(f"{e:.3g}" for e in cert["epsilon"])
    word = "meaningful" if cert["meaningful"] else f"vacuous (above {cert['target']:g})"
    return (f"<div class='dl-certificate'>Noisy-GD's certified ε (Rényi, α = {cert['alpha']:g}; {cert['records']} records "
            f"per request) after each request: {eps} — {word}. The releases' own Rényi DP for one remaining record: "
            f"{cert['dp_epsilon']:.3g}.<div class='dl-muted'>Bound: {escape(cert['source'])}.</div></div>")


def _digit_html(dataset: str, rid: int) -> str:
    """The record's raw 8×8 image and its class ("" for data sets that are not images)."""
    images = raw_images(dataset)
    if images is None:
        return ""
    rgb = colorize(images[rid], 0.0, 16.0, "gray_r")
    return (f"<img src='{png_data_uri(upscale(rgb, 8))}' width=64 height=64 style='image-rendering:pixelated'> "
            f"class {escape(class_name(dataset, rid))}")


# -- the committed results ---------------------------------------------------------------------------


class UnlearningResultsView(W.VBox):
    """The committed multi-seed results (``scripts/unlearning_experiment.py``): a claims table and
    the leakage timelines (mean ± s.e. over seeds) per requester."""

    def __init__(self, results: dict) -> None:
        self.rows = compare(results)
        cfg, h = results["config"], results["config"]["hyper"]
        about = (f"{results['seeds']} seeds; {cfg['dataset']}; {cfg['releases']} releases × {cfg['per_release']} deletions; "
                 f"{cfg['shadows']} shadow models; λ = {h['lam']:g}, σ = {h['sigma']:g}, K_A = {h['k_learn']}, "
                 f"K_U = {h['k_unlearn']}. ± is one standard error over seeds; every comparison is paired by seed.")
        hc = (results.get("certified") or {}).get("hyper")
        if hc:
            about += (f" Certified run: λ = {hc['lam']:g}, σ = {hc['sigma']:g}, K_U = {hc['k_unlearn']} "
                      "(the smallest K_U with certified ε ≤ 10 after every request).")
        head = W.HTML(source_line(results.get("made_by"), extra=about) + claims_table(self.rows))
        head.add_class("dl-results-table")
        plots = _timeline_plots(results["requesters"])
        if results.get("accumulation"):
            plots.insert(0, _accumulation_plot(results["accumulation"]))
        if results.get("sigma_sweep"):
            plots.insert(1, _sigma_plot(results["sigma_sweep"]))
        grid = [W.HBox(plots[i:i + 2]) for i in range(0, len(plots), 2)]
        tables = [_utility_table(results["requesters"])]
        if hc:
            tables.append(_utility_table(results["certified"]["requesters"], "the certified setting"))
        super().__init__([head, *grid, *tables])


def _timeline_plots(requesters: dict) -> list[LinePlot]:
    """Per requester and attack: AUC on the deleted records per release, mean and mean + 2 s.e. (dotted)."""
    plots = []
    for req, entry in requesters.items():
        for att, name in (("single_online_auc", "one release"), ("average_online_auc", "average since deletion")):
            fig = LinePlot(f"{req} requests: {name}", "release", "LiRA AUC (deleted)", width=4.4, height=3.0)
            series = []
            for key, e in entry.items():
                m, sd, n = np.array(e[att]["mean"]), np.array(e[att]["std"]), e[att]["n"]
                xs = list(range(1, len(m) + 1))
                series.append(dict(x=xs, y=m.tolist(), label=e["label"], color=COLORS.get(key)))
                series.append(dict(x=xs, y=(m + Z_VERDICT * sd / np.sqrt(n)).tolist(), style=":", color=COLORS.get(key)))
            fig.draw(series, hlines=[(0.5, "chance")], ylim=(0.35, 0.9))
            plots.append(fig)
    return plots


def _accumulation_plot(acc: dict) -> LinePlot:
    """One deleted batch, later releases: one release vs the average of releases, per learner."""
    fig = LinePlot("one deleted batch, later releases: averaging accumulates", "releases since the deletion",
                   "LiRA AUC (deleted batch)", width=6.0, height=3.8)
    series = []
    for key, e in acc.items():
        xs = list(range(1, len(e["average"]["mean"]) + 1))
        same = np.allclose(e["average"]["mean"], e["single"]["mean"])
        series.append(dict(x=xs, y=e["average"]["mean"], color=COLORS.get(key), style="-",
                           label=f"{e['label']}" + ("" if same else ": average of releases")))
        if not same:  # a learner whose releases repeat has one curve
            series.append(dict(x=xs, y=e["single"]["mean"], label=f"{e['label']}: one release", color=COLORS.get(key), style=":"))
    ys = [v for ser in series for v in ser["y"]]
    lo, hi = min(ys), max(ys)
    fig.draw(series, hlines=[(0.5, "chance")], legend_loc="lower right", ylim=(min(lo, 0.5) - 0.5 * (hi - min(lo, 0.5)), hi + 0.01))
    fig.add_class("dl-accumulation")
    return fig


def _sigma_plot(sw: dict) -> LinePlot:
    """Noisy-GD's σ against the average attack's AUC (left) and accuracy (right)."""
    pts = sorted(sw["points"].items(), key=lambda kv: float(kv[0]))
    xs = [float(k) for k, _ in pts]
    eps = ", ".join(f"{float(k):g}: {p['certified_epsilon'][-1]:.2g}" for k, p in pts if p.get("certified_epsilon"))
    fig = LinePlot(f"Noisy-GD, {sw['requester']} requests: noise σ\ncertified ε by σ — {eps}", "σ", "LiRA AUC (deleted)",
                   width=4.4, height=3.0)
    fig.draw([dict(x=xs, y=[p["average_online_auc"]["mean"] for _, p in pts], label="AUC (average attack)", color="tab:purple")],
             hlines=[(0.5, "chance")], right=[dict(x=xs, y=[p["accuracy"]["mean"] for _, p in pts], label="accuracy")],
             right_label="accuracy", legend_loc="lower center")
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
