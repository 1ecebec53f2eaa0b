"""Parts every study's widget is built from: a job bar, a root box, static views, claims tables.

* :class:`JobBar` -- progress bar, status line, cancel button and error line wired to a
  :class:`deletionlab.core.JobRunner` (one job at a time, the latest request wins); its ``state``
  mirrors :class:`deletionlab.core.JobStatus` ("idle" before the first job). ``JobBar.attempt``
  is the one place a widget turns bad input into a sentence on the error line.
* :class:`StudyRoot` -- base of each study's root widget; adds the CSS classes ``dl-root`` and
  ``dl-<study>`` (browser tests find dashboards by them) and a notice line.
* :class:`ImageStrip`, :class:`HeatmapGrid` and :class:`LinePlot` -- static views: HTML with PNG
  tiles, and matplotlib charts rendered to PNG (images, heat-map grids, and charts for export).
  Curves people explore (hover, zoom, legend toggling) use :class:`deletionlab.widgets.plots.InteractivePlot`.
* :func:`claims_table` and :func:`source_line` -- the "paper vs ours" table of every study's
  results view and the line that says which script made the numbers.
"""

from __future__ import annotations

import html
import logging
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.core.jobs import Job, JobRunner, JobStatus, UserError, user_message
from deletionlab.core.report import Row

from . import sync

sync.install()  # job threads' widget updates and a new page's state request in one order (see widgets/sync.py)

log = logging.getLogger("deletionlab.widgets")

CSS = """
<style>
.dl-root { font-family: var(--jp-ui-font-family, system-ui, sans-serif); }
.dl-error { color: #b00020; font-weight: 500; }
.dl-notice { color: #7a5b00; }
.dl-muted { color: #666; font-size: 0.9em; }
.dl-card { border: 1px solid #ddd; border-radius: 8px; padding: 10px 12px; margin: 6px; width: 300px;
           min-height: 190px; background: #fff; box-shadow: 0 1px 2px rgba(0,0,0,.06); }
.dl-card.dl-planned { background: #f7f7f7; color: #777; }
.dl-card h3 { margin: 4px 0 6px 0; font-size: 1.1em; }
.dl-card .dl-links a { margin-right: 12px; }
.dl-badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 0.8em; }
.dl-badge-ready { background: #d8f3dc; color: #1b4332; }
.dl-badge-planned { background: #eee; color: #555; }
</style>
"""


def escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def progress_text(done: float, total: float) -> str:
    """"3/10" for whole steps, "42 %" for fractional progress, "" when there is no total."""
    if not total:
        return ""
    if float(done).is_integer() and float(total).is_integer():
        return f"{int(done):,}/{int(total):,}"
    return f"{100 * done / total:.0f} %"


class JobBar(W.VBox):
    """Progress bar + status + cancel button + error line, running jobs in the background.

    ``bar.run(fn, *args, on_result=callback, **kwargs)`` starts ``fn(*args, progress=..., cancel=...,
    **kwargs)``; a job still running is cancelled first. ``on_result(result)`` is called when the
    job finishes, ``on_error(message)`` when it fails (both stored on the job). ``state`` is "idle"
    before the first job, then the :class:`JobStatus` value of the latest one (pending, running,
    finished, error, cancelled). ``sync=True`` runs jobs in the calling thread (tests).
    """

    state = T.Unicode("idle")
    message = T.Unicode("")
    error = T.Unicode("")

    def __init__(self, sync: bool = False, idle_text: str = "Ready.", **kwargs: Any) -> None:
        self.progress = W.FloatProgress(value=0.0, min=0.0, max=1.0, layout=W.Layout(width="260px"))
        self.progress.add_class("dl-progress")
        self.status = W.HTML(escape(idle_text))
        self.status.add_class("dl-status")
        self.cancel_button = W.Button(description="Cancel", icon="stop", disabled=True, layout=W.Layout(width="100px"))
        self.cancel_button.add_class("dl-cancel")
        self.error_line = W.HTML("")
        self.error_line.add_class("dl-error")
        self.last_traceback: str | None = None
        self.runner = JobRunner(on_progress=self._on_progress, on_done=self._on_done, sync=sync)
        self.cancel_button.on_click(lambda _: self.cancel())
        super().__init__(
            [W.HBox([self.progress, self.cancel_button, self.status], layout=W.Layout(align_items="center")), self.error_line],
            **kwargs,
        )
        self.add_class("dl-jobbar")

    # -- public API -----------------------------------------------------------------
    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        name: str = "",
        heavy: bool = False,
        threads: int | None = None,
        **kwargs: Any,
    ) -> Job:
        """Start a job (cancelling the one still running); see the class docstring. A ``heavy`` job
        waits for a slot of the machine-wide gate (the bar says "queued — position k") and runs on
        the Dask cluster when ``DELETIONLAB_DASK_SCHEDULER`` is set; ``threads`` caps its torch
        threads (1 for tiny models)."""
        self.clear_error()
        self.state = JobStatus.RUNNING.value
        self.progress.value = 0.0
        self.progress.bar_style = "info"
        self.cancel_button.disabled = False
        name = name or getattr(fn, "__name__", "job")
        self.status.value = escape(name + "…")
        return self.runner.submit(fn, *args, name=name, on_result=on_result, on_error=on_error, heavy=heavy, threads=threads, **kwargs)

    def attempt(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Clear the error line and call ``fn``; a :class:`UserError` it raises is shown as the
        error line (one sentence) and ``None`` is returned. The way widgets check their inputs::

            cfg = self.job.attempt(self.config)
            if cfg is None:
                return
        """
        self.clear_error()
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            self.show_error(str(exc))
            return None

    def cancel(self) -> None:
        """Ask the running job to stop (it stops at its next check, within a second)."""
        if self.runner.busy:
            self.status.value = "Cancelling…"
            self.runner.cancel()

    def wait(self, timeout: float | None = 60) -> bool:
        """Block until the current job has finished (tests and scripts)."""
        return self.runner.wait(timeout)

    def show_error(self, message: str) -> None:
        """Show a plain-sentence error (for bad input found before any job starts)."""
        self.error = message
        self.error_line.value = "⚠ " + escape(message) if message else ""
        if message:
            self.state = JobStatus.ERROR.value

    def clear_error(self) -> None:
        self.show_error("")

    # -- runner callbacks (worker thread) -------------------------------------------
    def _on_progress(self, job: Job) -> None:
        if job.status == JobStatus.PENDING:
            self.state = JobStatus.PENDING.value
            self.status.value = escape(f"{job.name}: queued — position {job.queue_position}")
            return
        if self.state == JobStatus.PENDING.value:
            self.state = JobStatus.RUNNING.value
        if job.total:
            self.progress.value = max(0.0, min(1.0, job.fraction))
        note = f" — {job.note}" if job.note else ""
        total = progress_text(job.done, job.total)
        self.status.value = escape(f"{job.name} {total}{note}".strip())

    def _call_view(self, cb: Callable[[Any], None], arg: Any) -> bool:
        """Call a job's view callback; a view that fails to draw shows a sentence, never kills the UI."""
        try:
            cb(arg)
            return True
        except Exception as exc:  # noqa: BLE001
            self.last_traceback = traceback.format_exc()
            log.error("%s failed:\n%s", getattr(cb, "__name__", "callback"), self.last_traceback)
            self.show_error(user_message(exc))
            return False

    def _on_done(self, job: Job) -> None:
        self.cancel_button.disabled = True
        secs = (job.finished or 0) - (job.started or 0)
        if job.status == JobStatus.FINISHED:
            self.progress.value = 1.0
            self.progress.bar_style = "success"
            self.status.value = escape(f"{job.name}: done in {secs:.1f} s")
            if job.on_result is None or self._call_view(job.on_result, job.result):
                self.state = JobStatus.FINISHED.value
        elif job.status == JobStatus.CANCELLED:
            self.progress.bar_style = "warning"
            self.status.value = escape(f"{job.name}: cancelled after {secs:.1f} s")
            self.state = JobStatus.CANCELLED.value
        elif job.status == JobStatus.ERROR:
            self.progress.bar_style = "danger"
            self.status.value = escape(f"{job.name}: failed")
            self.last_traceback = job.traceback
            self.show_error(job.error or "Something went wrong.")
            if job.on_error is not None:
                self._call_view(job.on_error, job.error or "")


class StudyRoot(W.VBox):
    """Base of every study's root widget: CSS classes ``dl-root`` + ``dl-<study>``, a notice line."""

    def __init__(self, study: str, children: Sequence[W.Widget] = (), **kwargs: Any) -> None:
        self.study = study
        self.notice = W.HTML("")
        self.notice.add_class("dl-notice")
        super().__init__([W.HTML(CSS), *children, self.notice], **kwargs)
        self.add_class("dl-root")
        self.add_class(f"dl-{study}")

    def set_children(self, children: Sequence[W.Widget]) -> None:
        self.children = (self.children[0], *children, self.notice)

    def say(self, text: str) -> None:
        """Show a notice (not an error) under the widget; empty text hides it."""
        self.notice.value = escape(text) if text else ""


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling of an (H, W[, C]) array (crisp pixels in the browser)."""
    if factor <= 1:
        return img
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


def png_data_uri(img: np.ndarray) -> str:
    """A uint8 (H, W[, 3]) array as a ``data:image/png;base64,...`` URI."""
    from base64 import b64encode
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(buf, format="PNG")
    return "data:image/png;base64," + b64encode(buf.getvalue()).decode()


def colorize(values: np.ndarray, vmin: float, vmax: float, cmap: str = "viridis") -> np.ndarray:
    """Map a 2-D array to uint8 RGB with a matplotlib colour map (NaN -> white)."""
    from matplotlib import colormaps

    v = np.asarray(values, dtype=float)
    t = np.clip((v - vmin) / ((vmax - vmin) or 1.0), 0, 1)
    rgb = (colormaps[cmap](np.nan_to_num(t))[..., :3] * 255).round().astype(np.uint8)
    rgb[~np.isfinite(v)] = 255
    return rgb


class ImageStrip(W.HTML):
    """A row of images with a label under each (e.g. the previews of the denoising steps).

    Plain HTML with PNG images: nothing to load in the browser, crisp pixels, any number of them.
    """

    def __init__(self, title: str = "", size: int = 84, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.title = title
        self.size = size
        self.images: list[np.ndarray] = []
        self.labels: list[str] = []
        self.add_class("dl-imagestrip")

    def set_images(self, images: Sequence[np.ndarray], labels: Sequence[str] = ()) -> None:
        """Show ``images`` (uint8 RGB) with ``labels`` under them."""
        self.images = [np.asarray(im, dtype=np.uint8) for im in images]
        self.labels = [str(x) for x in labels] + [""] * (len(self.images) - len(labels))
        figs = "".join(
            f'<figure style="margin:0 4px 0 0;text-align:center;display:inline-block">'
            f'<img src="{png_data_uri(upscale(im, max(1, self.size // im.shape[0])))}" '
            f'style="width:{self.size}px;image-rendering:pixelated;display:block">'
            f'<figcaption style="font-size:11px">{escape(lab)}</figcaption></figure>'
            for im, lab in zip(self.images, self.labels)
        )
        title = f"<div style='font-size:13px;margin:4px 0'>{escape(self.title)}</div>" if self.title else ""
        self.value = f"{title}<div style='display:flex;flex-wrap:wrap'>{figs}</div>"


class HeatmapGrid(W.HTML):
    """A grid of heat maps sharing one colour scale (rows x columns, e.g. tokens x steps),
    with row and column labels and a colour bar. Plain HTML with PNG tiles."""

    def __init__(self, title: str = "", size: int = 64, cmap: str = "viridis", **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.title = title
        self.size = size
        self.cmap = cmap
        self.maps: list[list[np.ndarray]] = []
        self.vmin = self.vmax = 0.0
        self.add_class("dl-heatmapgrid")

    def set_maps(
        self,
        maps: Sequence[Sequence[np.ndarray]],
        row_labels: Sequence[str] = (),
        col_labels: Sequence[str] = (),
        zmin: float | None = None,
        zmax: float | None = None,
        cmap: str | None = None,
    ) -> None:
        """``maps[r][c]`` is a 2-D array; the colour scale is [zmin, zmax] (default: data range)."""
        self.maps = [[np.asarray(m, dtype=float) for m in row] for row in maps]
        finite = [m[np.isfinite(m)] for row in self.maps for m in row]
        data = np.concatenate([f.ravel() for f in finite]) if finite else np.zeros(1)
        data = data if data.size else np.zeros(1)
        self.vmin = float(data.min()) if zmin is None else float(zmin)
        self.vmax = float(data.max()) if zmax is None else float(zmax)
        cm = cmap or self.cmap
        head = "<tr><td></td>" + "".join(f"<td style='text-align:center;font-size:11px'>{escape(c)}</td>" for c in col_labels) + "</tr>"
        body = ""
        for r, row in enumerate(self.maps):
            lab = escape(row_labels[r]) if r < len(row_labels) else ""
            cells = "".join(
                f"<td><img src=\"{png_data_uri(upscale(colorize(m, self.vmin, self.vmax, cm), max(1, self.size // m.shape[0])))}\" "
                f"style='width:{self.size}px;image-rendering:pixelated;display:block' "
                f"title='min {np.nanmin(m):.3g}, max {np.nanmax(m):.3g}'></td>"
                for m in row
            )
            body += f"<tr><td style='font-size:12px;padding-right:6px;text-align:right'>{lab}</td>{cells}</tr>"
        bar = colorize(np.linspace(self.vmin, self.vmax, 128)[None, :].repeat(8, 0), self.vmin, self.vmax, cm)
        legend = (f"<div style='font-size:11px;display:flex;align-items:center;gap:4px;margin-top:4px'>{self.vmin:.3g}"
                  f"<img src=\"{png_data_uri(bar)}\" style='width:160px;height:10px'>{self.vmax:.3g}</div>")
        title = f"<div style='font-size:13px;margin:4px 0'>{escape(self.title)}</div>" if self.title else ""
        self.value = f"{title}<table style='border-collapse:collapse'>{head}{body}</table>{legend}"


#: matplotlib's text layout (mathtext, font cache) is not thread-safe: background jobs and notebook
#: cells that draw at the same time take turns
DRAW_LOCK = threading.RLock()
#: static charts are rendered at twice the pixels they are shown at (crisp on high-DPI screens)
PIXEL_RATIO = 2


class LinePlot(W.Image):
    """A small matplotlib chart rendered to PNG (lines, markers, bars, error bars, bands, reference lines).

    It is shown at ``width`` x ``height`` inches x 100 px (never stretched to the column's width) and
    rendered at twice that many pixels. Series dicts: ``x``, ``y``, ``label``, ``style`` (``"o-"``,
    ``"--"``), ``color``, ``error`` (± bars), ``band`` ((lo, hi), shaded) — the same dicts
    :class:`deletionlab.widgets.plots.InteractivePlot` takes.
    """

    def __init__(self, title: str = "", xlabel: str = "", ylabel: str = "", width: float = 5.2, height: float = 3.0,
                 **kwargs: Any) -> None:
        super().__init__(format="png", **kwargs)
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.figsize = (width, height)
        self.layout.width = f"{round(width * 100)}px"
        self.layout.max_width = "100%"
        self.layout.height = "auto"
        self.series: list[dict] = []
        self.add_class("dl-lineplot")

    @staticmethod
    def _plot_series(ax, series: Sequence[dict]) -> None:
        for s in series:
            color = s.get("color")
            if s.get("band") is not None:
                lo, hi = s["band"]
                ax.fill_between(s["x"], lo, hi, color=color or "grey", alpha=0.15, linewidth=0)
            style = {"color": color} if color is not None else {}  # a colour in the style string ("kx") wins otherwise
            if s.get("error") is not None:
                ax.errorbar(s["x"], s["y"], yerr=s["error"], fmt=s.get("style", "o-"), label=s.get("label"),
                            markersize=s.get("markersize", 4), capsize=2, **style)
            else:
                ax.plot(s["x"], s["y"], s.get("style", "o-"), label=s.get("label"), markersize=s.get("markersize", 4), **style)

    @staticmethod
    def _plot_bars(ax, bars: dict) -> None:
        cats = list(bars["categories"])
        groups = bars["groups"]
        width = 0.8 / max(1, len(groups))
        for i, (name, (vals, errs)) in enumerate(groups.items()):
            xs = np.arange(len(cats)) + (i - (len(groups) - 1) / 2) * width
            ax.bar(xs, [np.nan if v is None else v for v in vals], width,
                   yerr=[0 if e is None else e for e in errs], label=name, capsize=3)
        ax.set_xticks(range(len(cats)), cats)

    def _axes(self, ax, ylim, xlim, xscale, yscale) -> None:
        if ylim:
            ax.set_ylim(*ylim)
        if xscale:
            ax.set_xscale(xscale)
            if xscale == "log":
                from matplotlib.ticker import NullFormatter

                ax.xaxis.set_minor_formatter(NullFormatter())
        if yscale:
            ax.set_yscale(yscale)
        if xlim:
            ax.set_xlim(*xlim)
        ax.set_title(self.title, fontsize=10)
        ax.set_xlabel(self.xlabel, fontsize=9)
        ax.set_ylabel(self.ylabel, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)

    def draw(self, series: Sequence[dict], hlines: Sequence[tuple[float, str]] = (), right: Sequence[dict] = (),
             bars: dict | None = None, ylim: tuple[float, float] | None = None, right_label: str = "",
             xscale: str | None = None, yscale: str | None = None, xlim: tuple[float, float] | None = None,
             legend_loc: str = "best", note: str = "") -> None:
        """``series``: dicts as in the class docstring; ``right``: series on a second y axis; ``bars``:
        {categories, groups: {name: (values, errors)}}; ``note``: a sentence written across the chart
        (e.g. "all zero: no scene showed it")."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        from io import BytesIO

        from matplotlib.figure import Figure

        self.series = [dict(s) for s in series]
        with DRAW_LOCK:
            fig = Figure(figsize=self.figsize, dpi=100 * PIXEL_RATIO)
            ax = fig.add_subplot(111)
            if bars:
                self._plot_bars(ax, bars)
            self._plot_series(ax, series)
            for y, lab in hlines:
                ax.axhline(y, color="grey", linestyle=":", linewidth=1)
                if lab:
                    ax.annotate(lab, (1.0, y), xycoords=("axes fraction", "data"), fontsize=8, color="grey", ha="right", va="bottom")
            handles, labels = ax.get_legend_handles_labels()
            if right:
                ax2 = ax.twinx()
                for s in right:
                    ax2.plot(s["x"], s["y"], s.get("style", "s--"), label=s.get("label"), color=s.get("color", "tab:red"), markersize=4)
                ax2.set_ylabel(right_label, fontsize=9)
                h2, l2 = ax2.get_legend_handles_labels()
                handles, labels = handles + h2, labels + l2
            if labels:
                ax.legend(handles, labels, fontsize=8, loc=legend_loc, framealpha=0.8)
            if note:
                ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", fontsize=9, color="#555",
                        wrap=True, bbox=dict(facecolor="white", edgecolor="#ccc", boxstyle="round"))
            self._axes(ax, ylim, xlim, xscale, yscale)
            fig.tight_layout()
            buf = BytesIO()
            fig.savefig(buf, format="png")
        self.value = buf.getvalue()


def claims_table(rows: Sequence[Row], css_class: str = "dl-results") -> str:
    """The "paper vs ours" table of a results view: one row per claim, the verdict in bold."""
    body = "".join(
        f"<tr><td style='text-align:left'>{escape(r.claim)}</td><td>{escape(r.paper)}</td><td>{escape(r.ours)}</td>"
        f"<td><b>{escape(r.verdict)}</b></td></tr>"
        for r in rows
    )
    return (f"<table class='{escape(css_class)}' style='border-collapse:collapse;margin-top:6px'>"
            "<tr><th style='text-align:left'>claim</th><th>paper</th><th>ours</th><th>verdict</th></tr>"
            + body + "</table>")


def source_line(made_by: dict | None, extra: str = "") -> str:
    """A muted line naming the script (and date) that made a results file; ``extra`` goes before it."""
    if made_by:
        src = f"Source: {escape(made_by.get('command', ''))}" + (f", {escape(made_by['date'])}" if made_by.get("date") else "") + "."
    else:
        src = "Source: a live run in this notebook."
    return f"<div class='dl-muted'>{escape(extra) + ' ' if extra else ''}{src}</div>"
