"""``NegativePromptExplorer``: toggle a negative prompt, choose when it starts and ends, and watch.

Views: the images without / with the negative prompt, their difference and whether the detector
still finds the object the negative prompt names; the per-step previews (x0 estimates) of both
runs; a word picker with the word's cross-attention over the image per step (DAAM-style overlays);
cancellation maps of the noise predictions (each row on its own colour scale) with the
neutralization numbers; the critical-step curve (interactive: hover, zoom, click a step to start
the negative prompt there); a removal panel (delay sweep from the cached trajectory, click a start
to try it); exports to AUTOMATIC1111, ComfyUI and diffusers (a code block with a copy button).

All computing runs in the background with progress and cancel, as heavy one-thread jobs through
the machine-wide gate. Moving the start/end step re-renders only the suffix after the new start
from the cached run without the negative prompt; switching the negative prompt off reuses that run;
settings seen before are shown again at once; the default setting's run and sweep come from the
result cache every kernel on the machine shares.
"""

from __future__ import annotations

import base64
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.core.cache import is_cached
from deletionlab.core.jobs import UserError
from deletionlab.negprompt import DEFAULT_GUIDANCE, DEFAULT_STEPS, models, world
from deletionlab.negprompt.experiment import ExperimentConfig, run_experiment
from deletionlab.negprompt.explore import (
    Exploration,
    Settings,
    SweepOutcome,
    TrunkCache,
    attention_overlay,
    explore_job,
    result_key,
    shared_explore,
    shared_sweep,
    sweep_job,
    sweep_settings,
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

from .common import ImageStrip, JobBar, LinePlot, StudyRoot, claims_table, colorize, escape, png_data_uri, source_line, upscale
from .plots import InteractivePlot

# the prompt leaves the shape open; with seed 28 the shipped model draws a blue square, which the
# negative prompt removes when it starts at step 15 or earlier (see the notebook)
DEFAULTS = dict(prompt="a red circle above a blue shape", negative="a blue square", steps=DEFAULT_STEPS,
                guidance=DEFAULT_GUIDANCE, seed=28, start=0)
MAX_COLUMNS = 10
#: explorations and sweeps kept per explorer (identical settings are shown again at once); an
#: exploration of the shipped model is ~3 MB, of a 512-pixel SD checkpoint ~20 MB
KEEP_RUNS = 6
#: picture cells of the attention and cancellation grids are shown this many pixels wide (drawn at 2x)
CELL = 64
#: a cancellation row's colour scale ends at this percentile of its values (a few hot pixels would wash the rest out)
ROW_SCALE_PERCENTILE = 99
#: colour maps: magnitudes from white (0) to dark; signed maps diverging around 0
SEQUENTIAL, DIVERGING, HEAT = "YlGnBu", "RdBu_r", "inferno"
COMPUTING = "<div class='dl-computing'>computing…</div>"
NO_NEGATIVE = "<div class='dl-muted'>Switch a negative prompt on to see {}.</div>"

CSS_NEG = """<style>
.dl-negprompt .dl-stale { opacity: 0.45; }
.dl-negprompt .dl-stale-note { color: #7a5b00; font-weight: 500; }
.dl-negprompt .dl-computing, .dl-negprompt-live .dl-computing { color: #666; font-style: italic; padding: 6px 0; }
.dl-np-grid { border-collapse: collapse; line-height: 1.2; }
.dl-np-grid td { padding: 1px 2px; vertical-align: middle; }
.dl-np-grid .dl-np-rowlabel { font-size: 12px; text-align: right; padding-right: 8px; white-space: nowrap; }
.dl-np-grid .dl-np-col { font-size: 11px; text-align: center; color: #555; }
.dl-np-legend { font-size: 11px; display: flex; align-items: center; gap: 4px; padding-left: 8px; white-space: nowrap; }
.dl-np-note { max-width: 820px; line-height: 1.45; margin: 6px 0; }
.dl-np-code { max-width: 860px; line-height: 1.4; }
.dl-np-code pre { font-family: var(--jp-code-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace);
  font-size: 12px; line-height: 1.4; white-space: pre; overflow-x: auto; background: #f6f8fa; border: 1px solid #ddd;
  border-radius: 6px; padding: 8px 10px; margin: 4px 0 10px 0; }
.dl-np-code button { font-size: 12px; padding: 2px 10px; margin-right: 10px; cursor: pointer; }
.dl-np-table { border-collapse: collapse; margin: 2px 0 12px 0; font-size: 12.5px; line-height: 1.35; }
.dl-np-table th { background: #f3f3f3; padding: 4px 8px; border-bottom: 1px solid #bbb; font-weight: 600; text-align: center; }
.dl-np-table td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
.dl-np-table td:first-child { text-align: left; }
.dl-np-caption { font-weight: 600; margin: 10px 0 2px 0; }
.dl-negprompt-results table.dl-results { font-size: 12.5px; line-height: 1.4; margin: 6px 0 12px 0; max-width: 1200px; }
.dl-negprompt-results table.dl-results th { background: #f3f3f3; padding: 4px 8px; border-bottom: 1px solid #bbb; text-align: left; }
.dl-negprompt-results table.dl-results td { padding: 5px 8px; border-bottom: 1px solid #e6e6e6; vertical-align: top; }
.dl-negprompt-results table.dl-results td:first-child { min-width: 220px; }
.dl-np-found { font-weight: 600; }
.dl-np-removed { color: #1b7a3a; font-weight: 600; }
.dl-np-kept { color: #b00020; font-weight: 600; }
</style>"""

COPY_JS = ("const c=this.closest('.dl-np-code').querySelector('code');const b=this;const done=()=>{b.textContent='Copied';"
           "setTimeout(()=>{b.textContent='Copy'},1500)};const old=()=>{const r=document.createRange();r.selectNodeContents(c);"
           "const s=window.getSelection();s.removeAllRanges();s.addRange(r);document.execCommand('copy');s.removeAllRanges();done()};"
           "if(navigator.clipboard){navigator.clipboard.writeText(c.innerText).then(done,old)}else{old()}")


def _columns(n_steps: int, k: int = MAX_COLUMNS) -> list[int]:
    """At most k step indices spread over 0..n_steps-1 (always including the last)."""
    if n_steps <= k:
        return list(range(n_steps))
    return sorted(set(np.linspace(0, n_steps - 1, k).round().astype(int).tolist()))


def _keep(store: OrderedDict, key: Any, value: Any) -> None:
    store[key] = value
    store.move_to_end(key)
    while len(store) > KEEP_RUNS:
        store.popitem(last=False)


def crisp(images: Sequence[np.ndarray], shown: int) -> list[np.ndarray]:
    """Small images upscaled (nearest neighbour) to at least twice the pixels they are shown at: sharp
    at device pixel ratio 2 (an ImageStrip shows a picture at ``shown`` pixels whatever its size)."""
    return [upscale(im, max(1, -(-2 * shown // im.shape[0]))) for im in images]


def _kept(value: Any, *, progress=None, cancel=None) -> Any:
    """A job that hands back what the explorer kept (identical settings: nothing to compute)."""
    return value


def model_reference(checkpoint: models.Checkpoint | None) -> tuple[str, str]:
    """How the exported script names a model of the chooser, and a comment saying where that name is
    valid: the shipped model by its folder in the repository, a Hugging Face cache snapshot by its
    repository id, a folder of ``DELETIONLAB_MODELS`` by its name. Never the server's absolute path."""
    if checkpoint is None:
        return "path/to/your/stable-diffusion-checkpoint", "# the folder of a Stable Diffusion checkpoint in diffusers format"
    path = Path(checkpoint.path).resolve()
    if "(HF cache)" in checkpoint.label:
        return checkpoint.label.replace("(HF cache)", "").strip(), "# from your Hugging Face cache (no download when it is there)"
    pkg = Path(models.__file__).resolve().parents[1]  # .../deletionlab
    for root, where in ((pkg.parents[1], "run it in the Deletion Lab folder"), (pkg.parent, "relative to site-packages")):
        try:
            return str(path.relative_to(root)), f"# {checkpoint.label}: {where}"
        except ValueError:
            pass
    mdir = models.models_dir()
    if mdir is not None:
        try:
            return str(path.relative_to(Path(mdir).resolve())), f"# {checkpoint.label}: run it in your $DELETIONLAB_MODELS folder"
        except ValueError:
            pass
    return path.name, f"# {checkpoint.label}: run it in the folder that holds this checkpoint"


# -- small HTML views --------------------------------------------------------------------------
def legend_html(vmin: float, vmax: float, cmap: str, unit: str = "") -> str:
    """A colour bar with its two ends (and a unit)."""
    bar = colorize(np.linspace(vmin, vmax, 128)[None, :].repeat(8, 0), vmin, vmax, cmap)
    return (f"<div class='dl-np-legend'>{vmin:.3g}<img src=\"{png_data_uri(bar)}\" style='width:110px;height:10px'>"
            f"{vmax:.3g}{(' ' + escape(unit)) if unit else ''}</div>")


def grid_html(rows: Sequence[dict], col_labels: Sequence[str], size: int = CELL) -> str:
    """One table of picture rows with aligned columns: each row ``{"label", "images" (uint8 RGB),
    "legend" (HTML, optional)}``; pictures are drawn at twice the size shown."""
    head = "<tr><td></td>" + "".join(f"<td class='dl-np-col'>{escape(c)}</td>" for c in col_labels) + "<td></td></tr>"
    body = ""
    for row in rows:
        cells = "".join(
            f"<td><img src=\"{png_data_uri(upscale(im, max(1, 2 * size // im.shape[0])))}\" "
            f"style='width:{size}px;height:{size}px;image-rendering:auto;display:block'></td>" for im in row["images"])
        body += f"<tr><td class='dl-np-rowlabel'>{escape(row['label'])}</td>{cells}<td>{row.get('legend', '')}</td></tr>"
    return f"<table class='dl-np-grid'>{head}{body}</table>"


def code_block(code: str, filename: str) -> str:
    """A code block in a monospace font with a Copy button and a download link."""
    data = base64.b64encode(code.encode()).decode()
    return (f"<div class='dl-np-code'><button class='dl-copy' title='Copy the script' onclick=\"{COPY_JS}\">Copy</button>"
            f"<a download='{escape(filename)}' href='data:text/x-python;base64,{data}'>download {escape(filename)}</a>"
            f"<pre><code>{escape(code)}</code></pre></div>")


def _pct(v: float | None) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.2f}"


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
        self._cache = TrunkCache()  # prompts' embeddings and recent trunks: a new window re-renders only the suffix
        self._explored: OrderedDict[tuple, Exploration] = OrderedDict()
        self._swept: OrderedDict[tuple, SweepOutcome] = OrderedDict()
        self._suspend = False
        self._defaults = Settings(d["prompt"], d["negative"], d["steps"], d["guidance"], d["seed"], d["start"], d["steps"])
        self.checkpoints = list(checkpoints) if checkpoints is not None else ([] if pipe is not None else models.list_checkpoints())
        self.job = JobBar(sync=sync)
        controls = self._build_controls(d, injected=pipe is not None)
        tabs = self._build_views()
        self.stale_note = W.HTML("")
        self.stale_note.add_class("dl-stale-note")
        self.views = W.VBox([self.images, tabs])
        super().__init__("negprompt", [W.HTML(CSS_NEG), controls, self.stale_note, self.views])
        self._clear_sweep()
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
        self.negative_on.add_class("dl-negative-on")
        self.steps = W.IntText(d["steps"], description="Steps", continuous_update=False, layout=W.Layout(width="160px"))
        self.guidance = W.FloatSlider(d["guidance"], min=1.0, max=15.0, step=0.5, description="Guidance", continuous_update=False)
        self.seed = W.IntText(d["seed"], description="Seed", continuous_update=False, layout=W.Layout(width="160px"))
        self.start = W.IntSlider(d["start"], min=0, max=d["steps"], description="Start step", continuous_update=False)
        self.end = W.IntSlider(d["steps"], min=0, max=d["steps"], description="End step", continuous_update=False)
        self.start.add_class("dl-start")
        self.end.add_class("dl-end")
        self.run_button = W.Button(description="Generate", icon="play", button_style="primary")
        self.run_button.add_class("dl-generate")
        ranges = W.HTML("<div class='dl-muted'>Steps 1–150, seed 0–4,294,967,295, guidance 1–15; the negative prompt acts "
                        "in steps [start, end).</div>")
        return W.VBox([
            W.HBox([self.model]),
            W.HBox([self.prompt]),
            W.HBox([self.negative, self.negative_on]),
            W.HBox([self.start, self.end]),
            W.HBox([self.guidance, self.steps, self.seed, self.run_button]),
            ranges,
            self.job,
        ])

    def _build_views(self) -> W.Tab:
        self.images = W.HTML(COMPUTING)
        self.images.add_class("dl-images")
        self.strip_neg = ImageStrip(title="with the negative prompt: x₀ estimate per step (• = negative acting)")
        self.strip_ref = ImageStrip(title="without it")
        self.word = W.Dropdown(description="Word", layout=W.Layout(width="300px"))
        self.word.add_class("dl-word")
        self.overlay_on = W.ToggleButtons(options=[("over the final image", "final"), ("over that step's x₀", "step")],
                                          value="final", style={"button_width": "150px"})
        self.attention_view = W.HTML(COMPUTING)
        self.attention_view.add_class("dl-attention")
        self.attention_note = W.HTML("")
        self.cancel_view = W.HTML(COMPUTING)
        self.cancel_view.add_class("dl-cancel-grid")
        self.cancel_note = W.HTML("")
        self.critical_word = W.Dropdown(description="Word", layout=W.Layout(width="300px"))
        self.critical_word.add_class("dl-critical-word")
        self.critical_fig = InteractivePlot("attention on the object, run without the negative prompt", "step",
                                            "share of attention on the object", yfmt=".1%", width=640, height=340)
        self.critical_fig.add_class("dl-critical-plot")
        self.critical_note = W.HTML("")
        self.critical_note.add_class("dl-critical-note")
        return self._build_tabs()

    def _build_tabs(self) -> W.Tab:
        self.sweep_button = W.Button(description="Sweep start steps", icon="sliders")
        self.sweep_button.add_class("dl-sweep")
        self.sweep_images = ImageStrip(title="")
        self.sweep_fig = InteractivePlot("removal vs start step", "start step of the negative prompt", "1 = yes, 0 = no",
                                         right_label="mean |Δ| outside the object", width=640, height=340)
        self.sweep_fig.add_class("dl-sweep-plot")
        self.sweep_note = W.HTML("")
        self.export_box = W.HTML(COMPUTING)
        self.export_box.add_class("dl-export")
        click = W.HTML("<div class='dl-muted'>Click a point to start the negative prompt at that step.</div>")
        tabs = W.Tab(children=[
            W.VBox([self.strip_neg, self.strip_ref]),
            W.VBox([W.HBox([self.word, self.overlay_on]), self.attention_view, self.attention_note]),
            W.VBox([self.cancel_view, self.cancel_note]),
            W.VBox([self.critical_word, self.critical_fig, click, self.critical_note]),
            W.VBox([self.sweep_button, self.sweep_images, self.sweep_fig, self.sweep_note]),
            self.export_box,
        ])
        for i, t in enumerate(["Steps", "Attention", "Cancellation", "Critical step", "Removal", "Export"]):
            tabs.set_title(i, t)
        self.tabs = tabs
        return tabs

    def _wire(self) -> None:
        self.run_button.on_click(lambda _: self.generate())
        for w in (self.prompt, self.negative, self.negative_on, self.guidance, self.seed):
            w.observe(lambda ch: self.generate(), names="value")
        self.model.observe(self._model_changed, names="value")
        self.steps.observe(self._steps_changed, names="value")
        for w in (self.start, self.end):
            w.observe(lambda ch: self.generate(), names="value")
        self.negative_on.observe(self._toggle_icon, names="value")
        self.word.observe(lambda ch: self._draw_word(), names="value")
        self.overlay_on.observe(lambda ch: self._draw_word(), names="value")
        self.critical_word.observe(lambda ch: self._draw_critical(), names="value")
        self.sweep_button.on_click(lambda _: self.run_sweep())
        self.sweep_fig.on_click(lambda x, y, label: self.use_start(x))
        self.critical_fig.on_click(lambda x, y, label: self.use_start(x))

    # ------------------------------------------------------------------------------------------
    def settings(self) -> Settings:
        neg = self.negative.value if self.negative_on.value else ""
        return Settings(self.prompt.value, neg, int(self.steps.value), float(self.guidance.value), int(self.seed.value),
                        int(self.start.value), int(self.end.value))

    def _checked(self) -> Settings:
        s = self.settings()
        validate(s)
        return s

    def _checkpoint(self) -> models.Checkpoint | None:
        return next((c for c in self.checkpoints if str(c.path) == self.model.value), None)

    def _source(self) -> tuple[Any, str]:
        """What the job loads (the injected pipeline, or the chosen checkpoint's folder: only listed
        ones, never a typed path) and how the export names it."""
        chosen = self._checkpoint()
        ref, comment = model_reference(chosen)
        self._model_comment = comment
        if self._pipe is not None and self._pipe_label == self.model.value:
            return self._pipe, ref
        if chosen is None:
            raise UserError("Choose a model from the list.")
        return chosen.path, ref

    def _model_changed(self, change) -> None:
        self._cache.clear()  # trunks and embeddings belong to one model
        self.generate()

    def _toggle_icon(self, change) -> None:
        self.negative_on.icon = "check" if change["new"] else "times"
        self.negative_on.description = "negative on" if change["new"] else "negative off"

    def _steps_changed(self, change) -> None:
        n = change["new"]
        if self.job.attempt(check_steps, n) is not None:
            was, self._suspend = self._suspend, True  # adjust the sliders without starting a run per change
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
                self._suspend = was
        self.generate()

    def use_start(self, k: float, of_steps: int | None = None) -> None:
        """Start the negative prompt at step ``k`` (of a run of ``of_steps`` steps, scaled to this
        explorer's step count), switching it on and widening the window as needed; a clicked chart calls it."""
        if self.job.attempt(check_steps, self.steps.value) is None:
            return
        n = int(self.steps.value)
        k = float(k) * n / of_steps if of_steps else float(k)
        k = int(min(max(round(k), 0), n))
        was, self._suspend = self._suspend, True
        try:
            if self.end.value < k:
                self.end.value = n
            self.start.value = k
            self.negative_on.value = True
        finally:
            self._suspend = was
        self.generate()

    # ------------------------------------------------------------------------------------------
    def generate(self) -> None:
        """Run the current setting in the background (cancelling a run still going); identical
        settings seen before come back at once, the default setting from the machine's result cache."""
        if self._suspend:
            return
        settings = self.job.attempt(self._checked)
        src = self.job.attempt(self._source) if settings is not None else None
        if settings is None or src is None:
            self._mark_stale()
            return
        source, ref = src
        key = (str(self.model.value), settings)
        hit = self._explored.get(key)
        show = lambda ex: self._show(ex, key)  # noqa: E731
        if hit is not None:
            self.job.run(_kept, hit, on_result=show, name="Denoising (seen before)")
        elif settings == self._defaults and isinstance(source, Path):
            shared = is_cached("negprompt", result_key("explore", source, settings, ref))
            self.job.run(shared_explore, source, settings, ref, on_result=show, name="Denoising" + " (shared result)" * shared,
                         heavy=not shared, threads=1)
        else:
            light = not settings.has_negative and self._cache.trunk_for(settings) is not None  # no denoising at all
            self.job.run(explore_job, source, settings, self._cache, ref, on_result=show, name="Denoising",
                         heavy=not light, threads=1)

    def run_sweep(self) -> None:
        """Sweep the start step of the negative prompt from the cached trunk (the Removal tab)."""
        settings = self.job.attempt(lambda: validate_sweep(self.settings()))
        src = self.job.attempt(self._source) if settings is not None else None
        if settings is None or src is None:
            self._clear_sweep("Nothing swept: fix the input above.")
            return
        source = src[0]
        key = (str(self.model.value), sweep_settings(settings))
        ex = self.result if self.result is not None and self.result.settings.trunk_key() == settings.trunk_key() else None
        show = lambda sw: self._show_sweep(sw, key)  # noqa: E731
        self.sweep_note.value = COMPUTING
        if key in self._swept:
            self.job.run(_kept, self._swept[key], on_result=show, name="Sweeping start steps (seen before)")
        elif sweep_settings(settings) == sweep_settings(self._defaults) and isinstance(source, Path):
            shared = is_cached("negprompt", result_key("sweep", source, settings))
            self.job.run(shared_sweep, source, settings, ex, on_result=show, name="Sweeping start steps",
                         heavy=not shared, threads=1)
        else:
            self.job.run(sweep_job, source, settings, ex, on_result=show, name="Sweeping start steps", heavy=True, threads=1)

    def _mark_stale(self) -> None:
        """An input error: the views no longer match the controls; say so and grey them out."""
        self.views.add_class("dl-stale")
        self.stale_note.value = ("The pictures below belong to the last valid setting, not to the controls above: fix the input "
                                 "to update them." if self.result is not None else "")
        self.job.progress.value = 0.0
        self.job.progress.bar_style = ""
        self.job.status.value = "Not run: fix the input above."

    # ------------------------------------------------------------------------------------------
    def _show(self, ex: Exploration, key: tuple | None = None) -> None:
        t0 = time.perf_counter()
        if key is not None:
            _keep(self._explored, key, ex)
        self._cache.remember(ex.run)
        self.result = ex
        self.views.remove_class("dl-stale")
        self.stale_note.value = ""
        self._notices = self._run_notices(ex)
        self.say(" ".join(self._notices))
        self.images.value = self._images_html(ex)
        self._draw_steps(ex)
        self._pick_words(ex)
        self._draw_word()
        self._draw_critical()
        self._draw_cancellation(ex)
        self._draw_export(ex)
        if self.sweep is not None and not self._sweep_matches(ex):
            self._clear_sweep("The setting changed: sweep again to see its removal curve.")
        self.draw_seconds = time.perf_counter() - t0

    def _run_notices(self, ex: Exploration) -> list[str]:
        notes = list(ex.notices)
        if ex.shapes_world:  # a caption outside the detector's grammar is never judged (issue 18, item 7)
            for text, name in ((ex.settings.prompt, "prompt"), (ex.settings.negative_prompt, "negative prompt")):
                n = world.caption_notice(text, name) if text.strip() else None
                if n and n not in notes:
                    notes.append(n)
        return notes

    def _sweep_matches(self, ex: Exploration) -> bool:
        sw_key = getattr(self, "_sweep_key", None)
        return sw_key == (str(self.model.value), sweep_settings(ex.settings))

    def _images_html(self, ex: Exploration) -> str:
        def tag(img: np.ndarray, caption: str, cls: str) -> str:
            return (f'<figure style="display:inline-block;margin:4px 10px 4px 0;text-align:center" class="{cls}">'
                    f'<img src="{png_data_uri(upscale(img, max(1, 384 // img.shape[0])))}" style="width:192px;image-rendering:pixelated">'
                    f"<figcaption>{escape(caption)}</figcaption></figure>")

        s, e = ex.settings.window
        parts = [tag(ex.reference, "without negative prompt", "dl-img-ref")]
        if ex.has_negative:
            parts.append(tag(ex.result, f"negative in steps [{s}, {e})", "dl-img-neg"))
            parts.append(tag(ex.difference, f"difference (mean {ex.mean_difference:.3f})", "dl-img-diff"))
        return "<div>" + "".join(parts) + "</div>" + self._detector_html(ex)

    @staticmethod
    def _detector_html(ex: Exploration) -> str:
        """What the detector finds: the negated object removed or still there (shapes world only)."""
        if not ex.shapes_world:
            return "<div class='dl-muted'>No detector for this model: judge the pictures yourself.</div>"
        found = escape(", ".join(ex.detections) or "nothing")
        line = f"<div class='dl-muted'>Detector, without the negative prompt: {found}.</div>"
        neg = ex.negated()
        if neg is None:
            return line
        target, before, after = neg
        if not before:
            verdict = f"'{escape(target)}' is not in the image without the negative prompt: nothing to remove."
        elif after:
            verdict = f"'{escape(target)}' is <span class='dl-np-kept'>still there</span> with the negative prompt."
        else:
            verdict = f"'{escape(target)}' is <span class='dl-np-removed'>removed</span> by the negative prompt."
        return line + f"<div class='dl-np-found dl-negated'>{verdict}</div>"

    def _draw_steps(self, ex: Exploration) -> None:
        cols = _columns(len(ex.run.trunk.records))
        start, end = ex.settings.window
        if ex.has_negative:
            self.strip_neg.title = "with the negative prompt: x₀ estimate per step (• = negative acting)"
            self.strip_ref.title = "without it"
            self.strip_ref.layout.display = None
        else:
            self.strip_neg.title = "no negative prompt: x₀ estimate per step"
            self.strip_ref.layout.display = "none"
        if ex.run.main.previews is not None:
            self.strip_neg.set_images(crisp([ex.run.main.previews[i] for i in cols], self.strip_neg.size),
                                      [f"{i}{'•' if ex.has_negative and start <= i < end else ''}" for i in cols])
        if ex.run.trunk.previews is not None and ex.has_negative:
            self.strip_ref.set_images(crisp([ex.run.trunk.previews[i] for i in cols], self.strip_ref.size), [str(i) for i in cols])

    def _pick_words(self, ex: Exploration) -> None:
        labels = [w.label for w in ex.words]
        critical = ex.negative_noun() or ex.default_word()
        for dropdown, default in ((self.word, ex.default_word()), (self.critical_word, critical)):
            current = dropdown.value
            keep = current in labels and self._same_words(ex)
            self._suspend_words = True  # one drawing per run, not one per trait change
            try:
                dropdown.options = labels
                if labels:
                    dropdown.value = current if keep else default
            finally:
                self._suspend_words = False
        self._words_of = (ex.settings.prompt, ex.settings.negative_prompt)

    def _same_words(self, ex: Exploration) -> bool:
        """Whether the prompts are the ones the pickers were filled for (then a user's choice stays)."""
        return getattr(self, "_words_of", None) == (ex.settings.prompt, ex.settings.negative_prompt)

    # -- attention ---------------------------------------------------------------------------------
    def _draw_word(self) -> None:
        ex = self.result
        if getattr(self, "_suspend_words", False):
            return
        w = ex.word(self.word.value) if ex is not None and self.word.value else None
        if w is None:
            return
        cols = _columns(len(ex.run.trunk.records))
        traj = ex.run.main if ex.has_negative else ex.run.trunk
        rows = []
        for branch, name in (("pos", "in the prompt"), ("neg", "in the negative prompt")):
            maps = ex.attention_maps(w, branch, "negative" if ex.has_negative else "reference")
            if maps is not None:
                rows.append((f"'{w.text}' {name}", [maps[i] for i in cols]))
        self.attention_data = rows
        if not rows:
            self.attention_view.value = "<div class='dl-muted'>No attention recorded for this word.</div>"
            return
        n_cells = rows[0][1][0].size
        vmax = max(float(m.max()) for _, maps in rows for m in maps)
        final = ex.result if ex.has_negative else ex.reference
        step = self.overlay_on.value == "step" and traj.previews is not None
        bases = [traj.previews[i] if step else final for i in cols]
        self.attention_images = [[attention_overlay(b, m, vmax, cmap=HEAT) for b, m in zip(bases, maps)] for _, maps in rows]
        legend = legend_html(0.0, vmax * n_cells, HEAT, "× uniform")
        self.attention_view.value = grid_html(
            [dict(label=label, images=imgs, legend=legend if i == 0 else "") for i, ((label, _), imgs) in
             enumerate(zip(rows, self.attention_images))], [f"step {i}" if j == 0 else str(i) for j, i in enumerate(cols)])
        src = "the run with the negative prompt" if ex.has_negative else "the run"
        over = "that step's x₀ estimate" if step else "the final image"
        self.attention_note.value = (
            f"<div class='dl-muted dl-np-note'>Cross-attention of the token '{escape(w.text)}' on {src}, averaged over heads and "
            f"layers ({int(round(np.sqrt(n_cells)))}×{int(round(np.sqrt(n_cells)))} maps, upsampled) and laid over {over}, as DAAM "
            "does. Each map sums to 1; the scale is shared by all maps, in multiples of a uniform map (1 = spread evenly, "
            f"{n_cells} = all on one cell).</div>")

    # -- critical step ------------------------------------------------------------------------------
    def _draw_critical(self) -> None:
        ex = self.result
        if getattr(self, "_suspend_words", False):
            return
        w = ex.word(self.critical_word.value) if ex is not None and self.critical_word.value else None
        if w is None:
            return
        crit = ex.critical(w)
        if not crit:
            self.critical_fig.draw([], note=f"no object found for '{w.text}' in the image without the negative prompt")
            self.critical_note.value = (f"<div class='dl-muted'>No object found for '{escape(w.text)}' in the image "
                                        "without the negative prompt.</div>")
            return
        c0 = next(iter(crit.values()))
        name = {"pos": "prompt", "neg": "negative prompt"}
        hl = [(c0.chance, "chance (object area)")] + [(c.level, f"settled ({name[b]})") for b, c in crit.items() if c.level is not None]
        vl = [(c.step, f"critical ({name[b]})") for b, c in crit.items() if c.step is not None]
        self.critical_fig.draw(
            [dict(x=list(range(len(c.overlap))), y=c.overlap, label=f"'{w.text}' in the {name[b]}", style="o-" if b == "pos" else "s--",
                  color="tab:blue" if b == "pos" else "tab:red") for b, c in crit.items()],
            hlines=hl, vlines=vl, ylim=(0, max(0.5, float(max(c.overlap.max() for c in crit.values())) + 0.05)))
        txt = "; ".join(f"in the {name[b]}: {'never' if c.step is None else f'step {c.step}'}" for b, c in crit.items())
        why = ""
        if ex.shapes_world and w.text in world.COLOURS:
            why = (" Colour words hardly ever settle in this tiny model: their attention on the object stays near chance (below "
                   "1.5× the object's area) to the last step. CLIP's text encoder reads left to right, so the shape word after "
                   "the colour ('blue square') already carries the colour, and the UNet finds the object through that token. "
                   "Pick the noun to see a critical step.")
        self.critical_note.value = (
            f"<div class='dl-np-note'>Critical step of '{escape(w.text)}' (its attention settles on its object, "
            f"{c0.threshold:.0%} of the way from chance to its final focus): <b class='dl-critical-steps'>{escape(txt)}</b>."
            f"{escape(why)} <span class='dl-muted'>Object mask: {escape(ex.mask_source)}.</span></div>")

    # -- cancellation ---------------------------------------------------------------------------------
    def _draw_cancellation(self, ex: Exploration) -> None:
        cm = ex.cancellation
        if cm is None:
            self.cancel_rows = []
            self.cancel_view.value = NO_NEGATIVE.format("where the noise predictions cancel")
            self.cancel_note.value = ""
            return
        cols = _columns(len(cm.steps))
        spec = [("‖ε(pos) − ε(neg)‖", cm.pos_minus_neg, SEQUENTIAL, False), ("‖ε(neg) − ε(∅)‖", cm.neg_minus_empty, SEQUENTIAL, False),
                ("cos(P, N)", cm.pn_cosine, DIVERGING, True), ("‖x_t − x_t(no negative)‖", cm.latent_diff, SEQUENTIAL, False)]
        self.cancel_rows = []
        for label, arr, cmap, signed in spec:
            if arr is None:
                continue
            maps = [arr[i] for i in cols]
            top = float(np.nanpercentile(np.abs(np.stack(maps)), ROW_SCALE_PERCENTILE)) or 1.0
            lo, hi = (-1.0, 1.0) if signed else (0.0, top)  # a cosine's scale is its whole range, centred on 0
            self.cancel_rows.append(dict(label=label, maps=maps, vmin=lo, vmax=hi, cmap=cmap,
                                         images=[colorize(m, lo, hi, cmap) for m in maps], legend=legend_html(lo, hi, cmap)))
        marks = [f"{i}{'•' if cm.negative_active[i] else ''}" for i in cols]
        self.cancel_view.value = grid_html(self.cancel_rows, marks)
        self.cancel_note.value = self._neutralization_html(ex, cols)

    def _neutralization_html(self, ex: Exploration, cols: list[int]) -> str:
        about = ("<div class='dl-muted dl-np-note'>With P = ε(pos) − ε(∅) and N = ε(neg) − ε(∅), guidance with a negative prompt "
                 "pushes by w·P − (w−1)·N instead of w·P. Rows: how far the positive and negative predictions differ, how far "
                 "the negative prompt moves the prediction from the empty prompt's, cos(P, N) per pixel (red: the two pushes "
                 "align, blue: they oppose), and how far the latent has drifted from the run without the negative prompt. Each "
                 "row has its own colour scale (magnitudes up to the row's 99th percentile, darker = larger; the cosine from −1 "
                 "to 1); • marks steps where the negative prompt acts.</div>")
        neg = ex.negated()
        w = ex.word(ex.negative_noun() or "")
        nz = ex.neutralization(w) if w is not None else None
        if nz is None:
            return about + "<div class='dl-muted'>No object to measure neutralization on (no mask for the negative prompt's noun).</div>"
        target = neg[0] if neg else w.text
        head = "<tr><th>step</th>" + "".join(f"<th>{i}</th>" for i in cols) + "</tr>"
        body = "".join(f"<tr><td>{escape(lab)}</td>" + "".join(f"<td>{_pct(arr[i])}</td>" for i in cols) + "</tr>"
                       for lab, arr in (("cos(P, N) inside", nz.cos_in), ("cos(P, N) outside", nz.cos_out),
                                        ("residual inside", nz.residual_in), ("residual outside", nz.residual_out)))
        mean_in, mean_out = float(np.mean(nz.residual_in)), float(np.mean(nz.residual_out))
        verdict = ("below 1: the negative prompt takes away part of the positive push there" if mean_in < 1 else
                   "above 1: the negative prompt redirects the push rather than cancelling it")
        return (about + f"<div class='dl-np-caption'>Neutralization on '{escape(target)}' (run without the negative prompt, where "
                "all three predictions see the same x_t, as in the committed study)</div>"
                f"<table class='dl-np-table dl-neutralization'>{head}{body}</table>"
                "<div class='dl-np-note'>The residual ‖w·P − (w−1)·N‖ / ‖w·P‖ is what is left of the guided push once the negative "
                "prompt takes the empty prompt's place: 1 = untouched, 0 = cancelled. Cancellation would need a residual below 1 "
                f"inside the object, lower than outside. Here, averaged over steps: {mean_in:.2f} inside, {mean_out:.2f} outside — "
                f"{verdict}.</div>")

    # -- export ----------------------------------------------------------------------------------------
    def _draw_export(self, ex: Exploration) -> None:
        e = ex.exports
        if e is None:
            self.export_box.value = NO_NEGATIVE.format("its window as AUTOMATIC1111, ComfyUI and diffusers settings")
            return
        comment = getattr(self, "_model_comment", "")
        script = (comment + "\n" if comment else "") + e.diffusers_snippet
        self.export_script = script
        self.export_box.value = (
            "<div class='dl-np-code'><div class='dl-np-caption'>AUTOMATIC1111 (negative prompt box)</div>"
            f"<pre><code>{escape(e.a1111_negative)}</code></pre>"
            f"<div class='dl-muted'>for any step count: <code>{escape(e.a1111_fraction)}</code></div>"
            f"<div class='dl-np-caption'>ComfyUI</div><div class='dl-np-note'>{escape(e.comfy_text)}</div>"
            "<div class='dl-np-caption'>diffusers</div></div>" + code_block(script, "negative_prompt_window.py"))

    # -- removal sweep ----------------------------------------------------------------------------------
    def _clear_sweep(self, why: str = "") -> None:
        self.sweep = None
        self._sweep_key = None
        self.sweep_images.title = ""
        self.sweep_images.set_images([])
        self.sweep_fig.draw([], note="press 'Sweep start steps' to draw the removal curve")
        why = why or ("Sweep the start step of the negative prompt: one image per start, and whether the detector still finds "
                      "the object it names.")
        self.sweep_note.value = f"<div class='dl-muted'>{escape(why)}</div>"

    def _show_sweep(self, sw: SweepOutcome, key: tuple | None = None) -> None:
        if key is not None:
            _keep(self._swept, key, sw)
        self.sweep, self._sweep_key = sw, key
        marks = ["" if r is None else (" ✓" if r else " ✗") for r in sw.removed]
        self.sweep_images.title = f"final image for each start step ('{sw.target}': ✓ removed, ✗ still there)"
        self.sweep_images.set_images(crisp(sw.images, self.sweep_images.size), [f"start {k}{m}" for k, m in zip(sw.starts, marks)])
        series = []
        if sw.removed[0] is not None:
            words = ["still there", "removed"]
            series = [dict(x=sw.starts, y=[float(r) for r in sw.removed], label=f"'{sw.target}' removed",
                           text=[words[bool(r)] for r in sw.removed], color="tab:green")]
            if sw.other_kept[0] is not None:
                series.append(dict(x=sw.starts, y=[float(k) for k in sw.other_kept], label="other objects kept", style="^:",
                                   text=["kept" if k else "lost" for k in sw.other_kept], color="tab:blue"))
        series.append(dict(x=sw.starts, y=sw.background, label="background change (mean |Δ|)", style="s--", right=True,
                           color="tab:red"))
        vl = [(sw.adaptive_start, "adaptive start")] if sw.adaptive_start is not None else []
        self.sweep_fig.draw(series, vlines=vl)
        crit = "never" if sw.outcome_critical is None else f"step {sw.outcome_critical}"
        ad = ""
        if sw.adaptive_start is not None:
            ad = (f" Adaptive start (when the object's attention settles): step {sw.adaptive_start} → "
                  f"{'removed' if sw.adaptive_removed else 'not removed'}, background change {sw.adaptive_background:.3f}.")
        if sw.removed[0] is None:
            text = "No detector for this model (or a negative prompt it cannot read): only the background change is measured."
        else:
            text = f"Latest start that still removes '{sw.target}': {crit}.{ad}"
        notes = "".join(f"<div class='dl-notice'>{escape(n)}</div>" for n in sw.notices)
        self.sweep_note.value = (f"<div class='dl-np-note'>{escape(text)} <span class='dl-muted'>Click a point of the curve to "
                                 f"start the negative prompt there.</span></div>{notes}")


# -- results view --------------------------------------------------------------------------------------
def _table(title: str, head: list[str], rows: list[list[str]], note: str = "") -> str:
    """A report table: a caption, a header row, numbers right-aligned in tabular figures (nothing without rows)."""
    if not rows:
        return ""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    foot = f"<div class='dl-muted dl-np-note'>{escape(note)}</div>" if note else ""
    return f"<div class='dl-np-caption'>{escape(title)}</div><table class='dl-np-table dl-results'><tr>{th}</tr>{body}</table>{foot}"


DEFINITIONS_NOTE = ("Settled at f: the step after which the word's attention on its object stays f of the way from chance to "
                    "its final focus. A lower f finds an earlier step; the paper's ≈ 5 of 30 matches the lowest.")
REMOVAL_NOTE = ("Whole-object negative started at each step (every step up to 9, then every third). Background change: mean "
                "|Δpixel| outside the object; × start 0 compares it with starting at step 0, scene by scene.")


class NegativePromptResultsView(W.VBox):
    """The measured results of ``scripts/negprompt_experiment.py`` (or a live mini-study): the comparison
    with the paper, the critical step under each definition, removal by start step, and four charts
    (numbers from :mod:`deletionlab.negprompt.report`). With ``explorer``, clicking a start step of the
    removal curve starts the explorer's negative prompt there."""

    def __init__(self, results: dict, title: str = "", explorer: NegativePromptExplorer | None = None) -> None:
        summary = results["summary"]
        rows = compare(results)
        about = (f"{summary['scenes']} scenes, {summary['rendered']} usable (the model drew both objects without a negative "
                 f"prompt in at least one design; each row's n counts its scenes); {summary['steps']} steps, guidance "
                 f"{summary['guidance']:g}, attention settled at {summary['threshold']:.0%} of the way to its final focus.")
        head = W.HTML(CSS_NEG + (f"<h4>{escape(title)}</h4>" if title else "") + source_line(results.get("made_by"), extra=about)
                      + claims_table(rows))
        head.add_class("dl-results-table")
        tables = W.HTML(_table("Critical step of the noun under each definition (paired by scene)", *definitions_table(summary),
                               note=DEFINITIONS_NOTE)
                        + _table("Whole-object negative: removal and background change by start step", *removal_table(summary),
                                 note=REMOVAL_NOTE))
        tables.add_class("dl-results-extra")
        self.removal_fig = self._removal_fig(summary, clickable=explorer is not None)
        self.overlap_fig = self._overlap_fig(results)
        self.reverse_fig = self._reverse_fig(summary)
        super().__init__([head, tables, W.HBox([self._attention_fig(summary), self.overlap_fig], layout=W.Layout(flex_flow="row wrap")),
                          W.HBox([self.removal_fig, self.reverse_fig], layout=W.Layout(flex_flow="row wrap"))])
        self.add_class("dl-negprompt-results")
        self.rows = rows
        if explorer is not None:
            self.removal_fig.on_click(lambda x, y, label: explorer.use_start(x, summary["steps"]))

    @staticmethod
    def _attention_fig(s: dict) -> LinePlot:
        fig = LinePlot("attention critical step (mean ± std)", "", "step", width=4.4, height=3.4)
        groups = {}
        for branch, name in (("pos", "in the prompt"), ("neg", "in the negative prompt")):
            ys = [s.get(f"attention_{branch}_{k}", {}) for k in ("noun", "adjective")]
            groups[name] = ([y.get("mean") if y.get("n") else None for y in ys], [y.get("std") if y.get("n") else None for y in ys])
        paper = paper_critical_steps(s["steps"])
        marks = dict(x=[0, 1], y=[paper["noun"], paper["adjective"]], label="paper (negative, SD 1.x)", style="x", color="k", markersize=10)
        never = not any(v is not None for vals, _ in groups.values() for v in vals[1:])
        fig.draw([marks], bars={"categories": ["noun (shape)", "adjective (colour)"], "groups": groups},
                 note="colour words never settle in this model" if never else "")
        return fig

    @staticmethod
    def _overlap_fig(results: dict) -> InteractivePlot:
        fig = InteractivePlot("attention on the object, mean over scenes", "step", "share of attention on the object", yfmt=".1%",
                              width=560, height=340)
        fig.add_class("dl-results-overlap")
        styles = {"pos_noun": "o-", "neg_noun": "o--", "pos_adjective": "s-", "neg_adjective": "s--"}
        colors = {"pos_noun": "tab:blue", "neg_noun": "tab:red", "pos_adjective": "tab:cyan", "neg_adjective": "tab:orange"}
        series = [dict(x=list(range(len(m))), y=m, label=OVERLAP_CURVES[key], style=styles[key], markersize=4, color=colors[key])
                  for key, m in mean_overlap_curves(results).items()]
        fig.draw(series, ylim=(0, 0.6), note="" if series else "no attention curves in these results")
        return fig

    @staticmethod
    def _removal_fig(s: dict, clickable: bool = False) -> InteractivePlot:
        title = "removal vs start step" + (" (click a start to try it above)" if clickable else "")
        fig = InteractivePlot(title, "start step of the negative prompt", "share of scenes",
                              yfmt=".0%", right_label="mean |Δ| outside the object", width=560, height=340)
        fig.add_class("dl-results-removal")
        labels = {"noun": "noun negative", "adjective": "adjective negative", "object": "object negative",
                  "named": "object the prompt asks for"}
        colors = {"noun": "tab:blue", "adjective": "tab:orange", "object": "tab:green", "named": "tab:purple"}
        series = [dict(x=s[f"curve_{k}"]["starts"], y=s[f"curve_{k}"]["removed"], label=f"removed: {labels[k]}", color=colors[k])
                  for k in labels if s.get(f"curve_{k}")]
        c = s.get("curve_object")
        if c:
            series.append(dict(x=c["starts"], y=c["other_kept"], label="other object kept", style="^:", color="tab:gray"))
            series.append(dict(x=c["starts"], y=c["background"], label="background change", style="s--", right=True, color="tab:red"))
        ad = s.get("adaptive")
        if ad:
            series.append(dict(x=[ad["start"]["mean"]], y=[ad["removed"]], label="adaptive start (mean)", style="*", markersize=12,
                               color="black"))
        fig.draw(series, ylim=(0, 1.05), note="" if series else "no removal curves in these results")
        return fig

    @staticmethod
    def _reverse_fig(s: dict) -> InteractivePlot:
        fig = InteractivePlot("reverse activation", "negative prompt only in steps [0, k): k", "share of prompts", yfmt=".0%",
                              width=480, height=340)
        fig.add_class("dl-results-reverse")
        r = s.get("reverse")
        if not r:
            fig.draw([], note="no reverse-activation prompts in these results")
            return fig
        zero = not any(r["appeared"]) and not any(r["appeared_colour"])
        fig.draw([dict(x=r["ends"], y=r["appeared"], label="named object appears", color="tab:purple"),
                  dict(x=r["ends"], y=r["appeared_colour"], label="its colour appears", style="s--", color="tab:orange")],
                 hlines=[(r["baseline"], "without negative prompt")], ylim=(-0.02, 1.05),
                 note="all zero: the named object never appeared (no reverse activation)" if zero else "")
        return fig


# -- the live study ---------------------------------------------------------------------------------------
#: measured with this widget on one torch thread of the shared 2-core machine (load ≈ 4): a scene
#: (design run, recorded run, delay sweep) and a reverse-activation prompt (one run with 7 windows)
SECONDS_PER_SCENE = 3.7
SECONDS_PER_REVERSE = 2.6


def _duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Eta:
    """A progress callback that adds the time left, estimated from the time measured per scene and
    per reverse-activation prompt so far (before the first prompt, a prompt costs
    ``SECONDS_PER_REVERSE / SECONDS_PER_SCENE`` of a scene)."""

    def __init__(self, progress: Callable[..., None], scenes: int, reverse: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.progress, self.scenes, self.reverse, self.clock = progress, scenes, reverse, clock
        self.last = clock()
        self.times: dict[str, list[float]] = {"scene": [], "reverse": []}

    def seconds_left(self, done: int) -> float | None:
        sc, rv = self.times["scene"], self.times["reverse"]
        if not sc and not rv:
            return None
        per_scene = float(np.mean(sc)) if sc else float(np.mean(rv)) * SECONDS_PER_SCENE / SECONDS_PER_REVERSE
        per_rev = float(np.mean(rv)) if rv else per_scene * SECONDS_PER_REVERSE / SECONDS_PER_SCENE
        scenes_left = max(0, self.scenes - done)
        rev_left = self.reverse - max(0, done - self.scenes)
        return scenes_left * per_scene + rev_left * per_rev

    def __call__(self, done: float, total: float, note: str = "") -> None:
        now = self.clock()
        if done > 0:
            self.times["scene" if done <= self.scenes else "reverse"].append(now - self.last)
        self.last = now
        left = self.seconds_left(int(done))
        sc = self.times["scene"]
        rate = f"{np.mean(sc):.1f} s per scene" if sc else ""
        eta = "" if left is None or done >= total else f"about {_duration(left)} left"
        self.progress(done, total, " — ".join(p for p in (note, rate, eta) if p))


def measure_job(config: ExperimentConfig, pipe: Any = None, *, progress: Callable[..., None], cancel: Any = None) -> dict:
    """The live study with an ETA in its progress notes (picklable: a Dask worker loads the shipped model)."""
    return run_experiment(config, pipe, progress=Eta(progress, config.scenes, config.n_reverse), cancel=cancel)


class LiveStudy(StudyRoot):
    """Run the study's measurement live on n scenes (background job with progress, time left and cancel)."""

    def __init__(self, pipe: Any = None, n_scenes: int = 6, run_now: bool = False, sync: bool = False,
                 explorer: NegativePromptExplorer | None = None) -> None:
        self._pipe = pipe
        self._explorer = explorer
        self.n = W.IntSlider(n_scenes, min=1, max=60, description="Scenes", continuous_update=False)
        self.button = W.Button(description="Measure", icon="flask", button_style="primary")
        self.button.add_class("dl-measure")
        self.estimate = W.HTML("")
        self.estimate.add_class("dl-estimate")
        self.job = JobBar(sync=sync or run_now)
        self.out = W.VBox([])
        self.results: dict | None = None
        super().__init__("negprompt-live", [W.HTML(CSS_NEG), W.HBox([self.n, self.button]), self.estimate, self.job, self.out])
        self.button.on_click(lambda _: self.measure())
        self.job.observe(lambda ch: self._clear() if ch["new"] in ("cancelled", "error") else None, names="state")
        self.n.observe(lambda ch: self._show_estimate(), names="value")
        self._show_estimate()
        if run_now:
            self.measure()

    def _show_estimate(self) -> None:
        n = int(self.n.value)
        secs = n * (SECONDS_PER_SCENE + SECONDS_PER_REVERSE)
        self.estimate.value = (f"<div class='dl-muted'>{n} scene{'s' * (n > 1)} and {n} reverse-activation prompt{'s' * (n > 1)}: "
                               f"about {_duration(secs)} at the speed measured here ({SECONDS_PER_SCENE:g} s per scene and "
                               f"{SECONDS_PER_REVERSE:g} s per prompt on one torch thread of a busy 2-core machine); the bar "
                               "shows the time left as measured on this machine.</div>")

    def measure(self) -> None:
        config = self.job.attempt(lambda: ExperimentConfig.small(int(self.n.value)).validate())
        if config is None:
            self.out.children = []
            return
        self.out.children = [W.HTML(COMPUTING)]
        self.job.run(measure_job, config, self._pipe, on_result=self._show, on_error=lambda _: self._clear(),
                     name=f"Measuring {config.scenes} scenes", heavy=True, threads=1)

    def _clear(self) -> None:
        self.out.children = []

    def _show(self, results: dict) -> None:
        self.results = results
        self.out.children = [NegativePromptResultsView(results, title=f"live: {results['summary']['scenes']} scenes",
                                                       explorer=self._explorer)]
