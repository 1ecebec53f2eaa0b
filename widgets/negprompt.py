"""``NegativePromptExplorer``: toggle a negative prompt, choose when it starts and ends, and watch.

Views: the images without / with the negative prompt and their difference; the per-step previews
(x0 estimates) of both runs; a word picker with the word's cross-attention maps in the positive
and the negative prompt per step; cancellation maps of the noise predictions; the critical-step
curve; a removal panel (delay sweep from the cached trajectory); exports to AUTOMATIC1111,
ComfyUI and diffusers. All computing runs in the background with progress and cancel; moving the
start/end step re-renders from the cached run without the negative prompt (only the suffix).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.core.jobs import UserError
from deletionlab.negprompt import DEFAULT_GUIDANCE, DEFAULT_STEPS, models
from deletionlab.negprompt.experiment import ExperimentConfig, run_experiment
from deletionlab.negprompt.explore import (
    Exploration,
    Settings,
    SweepOutcome,
    TrunkCache,
    explore,
    removal_sweep,
    validate,
    validate_sweep,
)
from deletionlab.negprompt.report import (
    OVERLAP_CURVES,
    compare,
    definitions_table,
    mean_overlap_curves,
    paper_critical_steps,
    removal_table,
)
from deletionlab.negprompt.sampler import check_steps

from .common import HeatmapGrid, ImageStrip, JobBar, LinePlot, StudyRoot, claims_table, escape, png_data_uri, source_line, upscale

# the prompt leaves the shape open; with seed 28 the shipped model draws a blue square, which the
# negative prompt removes when it starts at step 15 or earlier (see the notebook)
DEFAULTS = dict(prompt="a red circle above a blue shape", negative="a blue square", steps=DEFAULT_STEPS,
                guidance=DEFAULT_GUIDANCE, seed=28, start=0)
MAX_COLUMNS = 10


def _columns(n_steps: int, k: int = MAX_COLUMNS) -> list[int]:
    """At most k step indices spread over 0..n_steps-1 (always including the last)."""
    if n_steps <= k:
        return list(range(n_steps))
    return sorted(set(np.linspace(0, n_steps - 1, k).round().astype(int).tolist()))


class NegativePromptExplorer(StudyRoot):
    """The negative-prompt study's dashboard. ``pipe`` / ``checkpoints`` can be injected (tests)."""

    result = T.Any(None, allow_none=True)  # the latest Exploration
    sweep = T.Any(None, allow_none=True)  # the latest SweepOutcome

    def __init__(
        self,
        pipe: Any = None,
        checkpoints: Sequence[models.Checkpoint] | None = None,
        sync: bool = False,
        autorun: bool = True,
        **defaults: Any,
    ) -> None:
        d = {**DEFAULTS, **defaults}
        self._pipe = pipe
        self._cache = TrunkCache()  # prompts' embeddings and the last trunk: a new window re-renders only the suffix
        self._suspend = False
        self.checkpoints = list(checkpoints) if checkpoints is not None else ([] if pipe is not None else models.list_checkpoints())
        self.job = JobBar(sync=sync)
        controls = self._build_controls(d, injected=pipe is not None)
        tabs = self._build_views()
        super().__init__("negprompt", [controls, self.images, tabs])
        self._wire()
        if autorun:
            self.generate()

    def _build_controls(self, d: dict, injected: bool) -> W.VBox:
        options = [(c.label, str(c.path)) for c in self.checkpoints] or [("injected pipeline", "")]
        self.model = W.Dropdown(options=options, description="Model", layout=W.Layout(width="420px"))
        self._pipe_label = self.model.value if injected else None
        self.prompt = W.Text(d["prompt"], description="Prompt", continuous_update=False, layout=W.Layout(width="520px"))
        self.negative = W.Text(d["negative"], description="Negative", continuous_update=False, layout=W.Layout(width="420px"))
        self.negative_on = W.ToggleButton(value=True, description="negative on", icon="check", layout=W.Layout(width="110px"))
        self.steps = W.IntText(d["steps"], description="Steps", continuous_update=False, layout=W.Layout(width="160px"))
        self.guidance = W.FloatSlider(d["guidance"], min=1.0, max=15.0, step=0.5, description="Guidance", continuous_update=False)
        self.seed = W.IntText(d["seed"], description="Seed", continuous_update=False, layout=W.Layout(width="160px"))
        self.start = W.IntSlider(d["start"], min=0, max=d["steps"], description="Start step", continuous_update=False)
        self.end = W.IntSlider(d["steps"], min=0, max=d["steps"], description="End step", continuous_update=False)
        self.start.add_class("dl-start")
        self.end.add_class("dl-end")
        self.run_button = W.Button(description="Generate", icon="play", button_style="primary")
        self.run_button.add_class("dl-generate")
        return W.VBox([
            W.HBox([self.model]),
            W.HBox([self.prompt]),
            W.HBox([self.negative, self.negative_on]),
            W.HBox([self.start, self.end]),
            W.HBox([self.guidance, self.steps, self.seed, self.run_button]),
            self.job,
        ])

    def _build_views(self) -> W.Tab:
        self.images = W.HTML("")
        self.images.add_class("dl-images")
        self.strip_neg = ImageStrip(title="with the negative prompt: x₀ estimate per step (• = negative acting)")
        self.strip_ref = ImageStrip(title="without it")
        self.word = W.Dropdown(description="Word", layout=W.Layout(width="300px"))
        self.attention_grid = HeatmapGrid(title="cross-attention of the word, per step")
        self.attention_note = W.HTML("")
        self.cancel_grid = HeatmapGrid(title="noise predictions per step", cmap="magma")
        self.cancel_note = W.HTML("")
        self.critical_fig = LinePlot("attention on the object (run without negative prompt)", "step", "share of attention on the object")
        self.critical_note = W.HTML("")
        self.sweep_button = W.Button(description="Sweep start steps", icon="sliders")
        self.sweep_button.add_class("dl-sweep")
        self.sweep_images = ImageStrip(title="final image for each start step (✓ removed, ✗ still there)")
        self.sweep_fig = LinePlot("removal vs start step", "start step of the negative prompt", "share / change")
        self.sweep_note = W.HTML("")
        self.export_box = W.HTML("")
        tabs = W.Tab(children=[
            W.VBox([self.strip_neg, self.strip_ref]),
            W.VBox([self.word, self.attention_grid, self.attention_note]),
            W.VBox([self.cancel_grid, self.cancel_note]),
            W.VBox([self.critical_fig, self.critical_note]),
            W.VBox([self.sweep_button, self.sweep_images, self.sweep_fig, self.sweep_note]),
            self.export_box,
        ])
        for i, t in enumerate(["Steps", "Attention", "Cancellation", "Critical step", "Removal", "Export"]):
            tabs.set_title(i, t)
        self.tabs = tabs
        return tabs

    def _wire(self) -> None:
        self.run_button.on_click(lambda _: self.generate())
        for w in (self.prompt, self.negative, self.negative_on, self.guidance, self.seed, self.model):
            w.observe(lambda ch: self.generate(), names="value")
        self.steps.observe(self._steps_changed, names="value")
        for w in (self.start, self.end):
            w.observe(lambda ch: self.generate(), names="value")
        self.negative_on.observe(self._toggle_icon, names="value")
        self.word.observe(lambda ch: self._draw_word(), names="value")
        self.sweep_button.on_click(lambda _: self.run_sweep())

    # ------------------------------------------------------------------------------------------
    def settings(self) -> Settings:
        neg = self.negative.value if self.negative_on.value else ""
        return Settings(self.prompt.value, neg, int(self.steps.value), float(self.guidance.value), int(self.seed.value),
                        int(self.start.value), int(self.end.value))

    def pipeline(self):
        if self._pipe is not None and self._pipe_label == self.model.value:
            return self._pipe
        path = self.model.value
        chosen = next((c for c in self.checkpoints if str(c.path) == path), None)
        if chosen is None:  # only listed checkpoints can be loaded (no free-text paths)
            raise UserError("Choose a model from the list.")
        self._pipe = models.load_pipeline(chosen.path)
        self._pipe_label = path
        self._cache.clear()
        return self._pipe

    def _toggle_icon(self, change) -> None:
        self.negative_on.icon = "check" if change["new"] else "times"
        self.negative_on.description = "negative on" if change["new"] else "negative off"

    def _steps_changed(self, change) -> None:
        n = change["new"]
        if self.job.attempt(check_steps, n) is not None:
            self._suspend = True  # adjust the sliders without starting a run per change
            try:
                at_end = self.end.value == self.end.max
                self.start.max = max(self.start.max, n)
                self.end.max = max(self.end.max, n)
                if at_end or self.end.value > n:
                    self.end.value = n
                self.start.value = min(self.start.value, n)
                self.start.max = n
                self.end.max = n
            finally:
                self._suspend = False
        self.generate()

    def generate(self) -> None:
        """Run the current setting in the background (cancelling a run still going)."""
        if self._suspend:
            return
        settings = self.settings()
        if self.job.attempt(validate, settings) is None:
            return  # the error line says why; the old views stay
        label = str(self.model.value)

        def work(progress=None, cancel=None):
            pipe = self.pipeline()
            return explore(pipe, settings, cache=self._cache, model=label or "shipped", progress=progress, cancel=cancel)

        self.job.run(work, on_result=self._show, name="Denoising")

    def run_sweep(self) -> None:
        """Sweep the start step of the negative prompt from the cached trunk (the Removal tab)."""
        settings = self.settings()
        if self.job.attempt(validate_sweep, settings) is None:
            return
        ex = self.result

        def work(progress=None, cancel=None):
            return removal_sweep(self.pipeline(), settings, ex, progress=progress, cancel=cancel)

        self.job.run(work, on_result=self._show_sweep, name="Sweeping start steps")

    # ------------------------------------------------------------------------------------------
    def _show(self, ex: Exploration) -> None:
        self.result = ex
        self.say(" ".join(ex.notices))
        self.images.value = self._images_html(ex)
        n = len(ex.run.trunk.records)
        cols = _columns(n)
        start, end = ex.settings.window
        if ex.run.main.previews is not None:
            self.strip_neg.set_images([ex.run.main.previews[i] for i in cols],
                                      [f"{i}{'•' if ex.has_negative and start <= i < end else ''}" for i in cols])
        if ex.run.trunk.previews is not None:
            self.strip_ref.set_images([ex.run.trunk.previews[i] for i in cols], [str(i) for i in cols])
        labels = [w.label for w in ex.words]
        current = self.word.value
        with self.hold_trait_notifications():
            self.word.options = labels
            if labels:
                self.word.value = current if current in labels else ex.default_word()
        self._draw_word()
        self._draw_cancellation(ex, cols)
        self._draw_export(ex)

    def _images_html(self, ex: Exploration) -> str:
        def tag(img: np.ndarray, caption: str, cls: str) -> str:
            return (f'<figure style="display:inline-block;margin:4px 10px 4px 0;text-align:center" class="{cls}">'
                    f'<img src="{png_data_uri(upscale(img, max(1, 192 // img.shape[0])))}" style="width:192px;image-rendering:pixelated">'
                    f"<figcaption>{escape(caption)}</figcaption></figure>")

        s, e = ex.settings.window
        parts = [tag(ex.reference, "without negative prompt", "dl-img-ref")]
        if ex.has_negative:
            parts.append(tag(ex.result, f"negative in steps [{s}, {e})", "dl-img-neg"))
            parts.append(tag(ex.difference, f"difference (mean {ex.mean_difference:.3f})", "dl-img-diff"))
        det = ""
        if ex.shapes_world:
            det = f"<div class='dl-muted'>detected without negative: {escape(', '.join(ex.detections) or 'nothing')}</div>"
        return "<div>" + "".join(parts) + "</div>" + det

    def _draw_word(self) -> None:
        ex = self.result
        if ex is None or not self.word.value:
            return
        w = next((x for x in ex.words if x.label == self.word.value), None)
        if w is None:
            return
        n = len(ex.run.trunk.records)
        cols = _columns(n)
        rows, labels = [], []
        for branch, name in (("pos", "in prompt"), ("neg", "in negative")):
            maps = ex.attention_maps(w, branch, "negative" if ex.has_negative else "reference")
            if maps is not None:
                rows.append([maps[i] for i in cols])
                labels.append(f"{w.text} {name}")
        if rows:
            self.attention_grid.set_maps(rows, labels, [str(i) for i in cols], zmin=0.0)
        src = "the run with the negative prompt" if ex.has_negative else "the run"
        self.attention_note.value = (f"<div class='dl-muted'>Softmax attention of the token '{escape(w.text)}' over the image, "
                                     f"averaged over heads and layers, on {src}; each map sums to 1.</div>")
        self._draw_critical(ex, w)

    def _draw_cancellation(self, ex: Exploration, cols: list[int]) -> None:
        cm = ex.cancellation
        if cm is None:
            self.cancel_note.value = "<div class='dl-muted'>Switch a negative prompt on to see where the noise predictions cancel.</div>"
            self.cancel_grid.set_maps([[np.zeros((2, 2))]], ["—"], [""])
            return
        rows = [[cm.pos_minus_neg[i] for i in cols], [cm.neg_minus_empty[i] for i in cols], [cm.latent_diff[i] for i in cols]]
        vmax = float(max(np.nanmax(r) for row in rows for r in row)) or 1.0
        self.cancel_grid.set_maps(rows, ["‖ε(pos)−ε(neg)‖", "‖ε(neg)−ε(∅)‖", "‖x_t − x_t(no neg)‖"], [str(i) for i in cols],
                                  zmin=0.0, zmax=vmax)
        opp = ", ".join(f"{cm.opposing[i]:.0%}" for i in cols)
        self.cancel_note.value = (
            "<div class='dl-muted'>Rows: how far the positive and negative predictions differ, how much the negative "
            "prompt moves the prediction away from the empty prompt, and how far the latent has drifted from the run "
            f"without the negative prompt. Share of pixels where ε(pos)−ε(neg) and ε(neg)−ε(∅) point in opposite "
            f"directions (cosine &lt; −0.5), per column: {opp}.</div>")

    def _draw_critical(self, ex: Exploration, w) -> None:
        crit = ex.critical(w)
        if not crit:
            self.critical_fig.draw([])
            self.critical_note.value = (f"<div class='dl-muted'>No object found for '{escape(w.text)}' in the image "
                                        "without the negative prompt.</div>")
            return
        c0 = next(iter(crit.values()))
        hl = [(c0.chance, "chance (object area)")] + [(c.level, f"settled ({'prompt' if b == 'pos' else 'negative'})")
                                                      for b, c in crit.items() if c.level is not None]
        self.critical_fig.draw(
            [dict(x=list(range(len(c.overlap))), y=c.overlap, label=f"'{w.text}' in {'prompt' if b == 'pos' else 'negative'}",
                  style="o-" if b == "pos" else "s--") for b, c in crit.items()],
            hlines=hl, ylim=(0, max(0.5, float(max(c.overlap.max() for c in crit.values())) + 0.05)),
        )
        txt = "; ".join(f"in the {'prompt' if b == 'pos' else 'negative prompt'}: {'never' if c.step is None else f'step {c.step}'}"
                        for b, c in crit.items())
        txt += f" (settled = {c0.threshold:.0%} of the way from chance to the final focus)"
        self.critical_note.value = (f"<div>Critical step of '{escape(w.text)}' (attention settles on its object): {escape(txt)}. "
                                    f"<span class='dl-muted'>Object mask: {escape(ex.mask_source)}.</span></div>")

    def _draw_export(self, ex: Exploration) -> None:
        e = ex.exports
        if e is None:
            self.export_box.value = "<div class='dl-muted'>Switch a negative prompt on to export its window.</div>"
            return
        self.export_box.value = (
            "<h4>AUTOMATIC1111 (negative prompt box)</h4>"
            f"<pre>{escape(e.a1111_negative)}</pre><div class='dl-muted'>for any step count: <code>{escape(e.a1111_fraction)}</code></div>"
            f"<h4>ComfyUI</h4><div>{escape(e.comfy_text)}</div>"
            "<h4>diffusers</h4>"
            f"<pre style='font-size:11px;white-space:pre-wrap'>{escape(e.diffusers_snippet)}</pre>"
        )

    def _show_sweep(self, sw: SweepOutcome) -> None:
        self.sweep = sw
        marks = ["" if r is None else (" ✓" if r else " ✗") for r in sw.removed]
        self.sweep_images.set_images(sw.images, [f"start {k}{m}" for k, m in zip(sw.starts, marks)])
        series = []
        if sw.removed[0] is not None:
            series = [dict(x=sw.starts, y=[float(r) for r in sw.removed], label=f"'{sw.target}' removed"),
                      dict(x=sw.starts, y=[float(k) for k in sw.other_kept], label="other objects kept", style="^:")]
        right = [dict(x=sw.starts, y=sw.background, label="background change (mean |Δ|)")]
        self.sweep_fig.draw(series, right=right, right_label="mean |Δ| outside the object")
        crit = "never" if sw.outcome_critical is None else f"step {sw.outcome_critical}"
        ad = ""
        if sw.adaptive_start is not None:
            ad = (f" Adaptive start (when the object's attention settles): step {sw.adaptive_start} → "
                  f"{'removed' if sw.adaptive_removed else 'not removed'}, background change {sw.adaptive_background:.3f}.")
        if sw.removed[0] is None:
            self.sweep_note.value = "<div class='dl-muted'>No detector for this model: only the background change is measured.</div>"
        else:
            self.sweep_note.value = f"<div>Latest start that still removes '{escape(sw.target)}': {escape(crit)}.{escape(ad)}</div>"


def _table(title: str, head: list[str], rows: list[list[str]]) -> str:
    """A plain HTML table of report rows (nothing when there are none)."""
    if not rows:
        return ""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<h4>{escape(title)}</h4><table class='dl-results' style='border-collapse:collapse'><tr>{th}</tr>{body}</table>"


class NegativePromptResultsView(W.VBox):
    """The measured results of ``scripts/negprompt_experiment.py`` (or a live mini-study) as a
    comparison table with the paper and four plots (numbers from :mod:`deletionlab.negprompt.report`)."""

    def __init__(self, results: dict, title: str = "") -> None:
        summary = results["summary"]
        rows = compare(results)
        about = (f"{summary['scenes']} scenes, {summary['rendered']} usable (the model drew both objects without a negative "
                 f"prompt in at least one design; each row's n counts its scenes); {summary['steps']} steps, guidance "
                 f"{summary['guidance']:g}, attention settled at {summary['threshold']:.0%} of the way to its final focus.")
        head = W.HTML((f"<h4>{escape(title)}</h4>" if title else "") + source_line(results.get("made_by"), extra=about)
                      + claims_table(rows))
        head.add_class("dl-results-table")
        tables = W.HTML(_table("Critical step of the noun under each definition (paired by scene)", *definitions_table(summary))
                        + _table("Whole-object negative: removal and background change by start step", *removal_table(summary)))
        tables.add_class("dl-results-extra")
        super().__init__([head, tables, W.HBox([self._attention_fig(summary), self._overlap_fig(results)]),
                          W.HBox([self._removal_fig(summary), self._reverse_fig(summary)])])
        self.rows = rows

    @staticmethod
    def _attention_fig(s: dict) -> LinePlot:
        fig = LinePlot("attention critical step (mean ± std)", "", "step", width=4.6, height=3.1)
        groups = {}
        for branch, name in (("pos", "in the prompt"), ("neg", "in the negative prompt")):
            ys = [s.get(f"attention_{branch}_{k}", {}) for k in ("noun", "adjective")]
            groups[name] = ([y.get("mean") if y.get("n") else None for y in ys], [y.get("std") if y.get("n") else None for y in ys])
        paper = paper_critical_steps(s["steps"])
        marks = dict(x=[0, 1], y=[paper["noun"], paper["adjective"]], label="paper (negative, SD 1.x)", style="x", color="k", markersize=10)
        fig.draw([marks], bars={"categories": ["noun (shape)", "adjective (colour)"], "groups": groups})
        return fig

    @staticmethod
    def _overlap_fig(results: dict) -> LinePlot:
        fig = LinePlot("attention on the object, mean over scenes", "step", "share of attention on the object", width=5.2, height=3.1)
        styles = {"pos_noun": "o-", "neg_noun": "o--", "pos_adjective": "s-", "neg_adjective": "s--"}
        series = [dict(x=list(range(len(m))), y=m, label=OVERLAP_CURVES[key], style=styles[key], markersize=3)
                  for key, m in mean_overlap_curves(results).items()]
        fig.draw(series, ylim=(0, 0.6))
        return fig

    @staticmethod
    def _removal_fig(s: dict) -> LinePlot:
        fig = LinePlot("removal vs start step", "start step of the negative prompt", "share of scenes", width=5.2, height=3.1)
        labels = {"noun": "noun negative", "adjective": "adjective negative", "object": "object negative",
                  "named": "object the prompt asks for"}
        series = [dict(x=s[f"curve_{k}"]["starts"], y=s[f"curve_{k}"]["removed"], label=f"removed: {labels[k]}")
                  for k in labels if s.get(f"curve_{k}")]
        right = []
        c = s.get("curve_object")
        if c:
            series.append(dict(x=c["starts"], y=c["other_kept"], label="other object kept", style="^:"))
            right = [dict(x=c["starts"], y=c["background"], label="background change")]
        ad = s.get("adaptive")
        if ad:
            series.append(dict(x=[ad["start"]["mean"]], y=[ad["removed"]], label="adaptive start", style="*", markersize=12))
        fig.draw(series, right=right, right_label="mean |Δ| outside the object", ylim=(0, 1.05))
        return fig

    @staticmethod
    def _reverse_fig(s: dict) -> LinePlot:
        fig = LinePlot("reverse activation", "negative prompt only in steps [0, k)", "share of prompts", width=4.6, height=3.1)
        r = s.get("reverse")
        if r:
            fig.draw([dict(x=r["ends"], y=r["appeared"], label="named object appears"),
                      dict(x=r["ends"], y=r["appeared_colour"], label="its colour appears", style="s--")],
                     hlines=[(r["baseline"], "without negative prompt")], ylim=(0, 1.05))
        else:
            fig.draw([])
        return fig


class LiveStudy(StudyRoot):
    """Run the study's measurement live on n scenes (background job with progress and cancel)."""

    def __init__(self, pipe: Any = None, n_scenes: int = 6, run_now: bool = False, sync: bool = False) -> None:
        self._pipe = pipe
        self.n = W.IntSlider(n_scenes, min=1, max=60, description="Scenes", continuous_update=False)
        self.button = W.Button(description="Measure", icon="flask", button_style="primary")
        self.button.add_class("dl-measure")
        self.job = JobBar(sync=sync or run_now)
        self.out = W.VBox([])
        self.results: dict | None = None
        super().__init__("negprompt-live", [W.HBox([self.n, self.button]), self.job, self.out])
        self.button.on_click(lambda _: self.measure())
        if run_now:
            self.measure()

    def measure(self) -> None:
        config = ExperimentConfig.small(int(self.n.value))
        self.job.run(run_experiment, config, self._pipe, on_result=self._show, name=f"Measuring {config.scenes} scenes")

    def _show(self, results: dict) -> None:
        self.results = results
        self.out.children = [NegativePromptResultsView(results, title=f"live: {results['summary']['scenes']} scenes")]
