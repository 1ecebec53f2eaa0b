"""Parts every study's widget is built from: a job bar, a root box, an image strip, a heat-map grid.

* :class:`JobBar` -- progress bar, status line, cancel button and error line wired to a
  :class:`deletionlab.core.JobRunner` (one job at a time, the latest request wins).
* :class:`StudyRoot` -- base of each study's root widget; adds the CSS classes ``dl-root`` and
  ``dl-<study>`` (browser tests find dashboards by them) and a notice line.
* :class:`ImageStrip` and :class:`HeatmapGrid` -- plotly ``FigureWidget`` views (one trace each,
  so updates are cheap); plotly was chosen over ipympl after both were tried under Voila in the
  browser test (``tests/test_browser.py::test_plot_backends_render``; see ``docs/decisions.md``).
"""

from __future__ import annotations

import html
import logging
import traceback
from typing import Any, Callable, Sequence

import ipywidgets as W
import numpy as np
import traitlets as T

from deletionlab.core.jobs import CANCELLED, DONE, ERROR, Job, JobRunner, user_message

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


class JobBar(W.VBox):
    """Progress bar + status + cancel button + error line, running jobs in the background.

    ``bar.run(fn, *args, on_result=callback, **kwargs)`` starts ``fn(*args, progress=..., cancel=...,
    **kwargs)``; a job still running is cancelled first. ``on_result(result)`` is called when the
    job finishes, ``on_error(message)`` when it fails. ``state`` is one of idle / running / done /
    cancelled / error. ``sync=True`` runs jobs in the calling thread (tests).
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
        self._callbacks: dict[int, tuple[Callable | None, Callable | None]] = {}
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
        **kwargs: Any,
    ) -> Job:
        """Start a job (cancelling the one still running); see the class docstring."""
        self.error = ""
        self.error_line.value = ""
        self.state = "running"
        self.progress.value = 0.0
        self.progress.bar_style = "info"
        self.cancel_button.disabled = False
        self.status.value = escape((name or "Working") + "…")

        def job_fn(*a: Any, progress, cancel, **kw: Any):
            return fn(*a, progress=progress, cancel=cancel, **kw)

        job_fn.__name__ = name or getattr(fn, "__name__", "job")
        job_fn.callbacks = (on_result, on_error)  # read back in _on_done for this very job
        return self.runner.submit(job_fn, *args, name=job_fn.__name__, **kwargs)

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
            self.state = "error"

    def clear_error(self) -> None:
        self.show_error("")

    # -- runner callbacks (worker thread) -------------------------------------------
    def _on_progress(self, job: Job) -> None:
        if job.total:
            self.progress.value = max(0.0, min(1.0, job.fraction))
        note = f" — {job.note}" if job.note else ""
        total = f"{job.done:g}/{job.total:g}" if job.total else ""
        self.status.value = escape(f"{job.name} {total}{note}".strip())

    def _on_done(self, job: Job) -> None:
        on_result, on_error = getattr(job.fn, "callbacks", (None, None))
        self.cancel_button.disabled = True
        secs = (job.finished or 0) - (job.started or 0)
        if job.status == DONE:
            self.progress.value = 1.0
            self.progress.bar_style = "success"
            self.status.value = escape(f"{job.name}: done in {secs:.1f} s")
            if on_result is not None:
                try:
                    on_result(job.result)
                except Exception as exc:  # a view that fails to draw must not kill the UI
                    self.last_traceback = traceback.format_exc()
                    log.error("on_result failed:\n%s", self.last_traceback)
                    self.show_error(user_message(exc))
                    return
            self.state = "done"
        elif job.status == CANCELLED:
            self.progress.bar_style = "warning"
            self.status.value = escape(f"{job.name}: cancelled after {secs:.1f} s")
            self.state = "cancelled"
        elif job.status == ERROR:
            self.progress.bar_style = "danger"
            self.status.value = escape(f"{job.name}: failed")
            self.last_traceback = job.traceback
            self.show_error(job.error or "Something went wrong.")
            if on_error is not None:
                on_error(job.error or "")


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


class ImageStrip(W.VBox):
    """A row of images with a label under each (e.g. the previews of the denoising steps).

    Drawn as one plotly ``Image`` trace of the tiled strip, so a new strip costs one message.
    ``selected`` (an int trait) is set when the user clicks an image.
    """

    selected = T.Int(-1)

    def __init__(self, height: int = 130, scale: int = 3, title: str = "", **kwargs: Any) -> None:
        import plotly.graph_objects as go

        self.scale = scale
        self.gap = 2
        self._tile_w = 0
        self._n = 0
        self.figure = go.FigureWidget(
            data=[go.Image(z=np.full((4, 4, 3), 255, np.uint8))],
            layout=go.Layout(
                height=height,
                margin=dict(l=4, r=4, t=24 if title else 4, b=22),
                title=dict(text=title, font=dict(size=13)) if title else None,
                xaxis=dict(visible=False),
                yaxis=dict(visible=False, scaleanchor="x"),
                plot_bgcolor="white",
            ),
        )
        self.figure.data[0].on_click(self._clicked)
        super().__init__([self.figure], **kwargs)
        self.add_class("dl-imagestrip")

    def set_images(self, images: Sequence[np.ndarray], labels: Sequence[str] = ()) -> None:
        """Show ``images`` (uint8 RGB, same size) with ``labels`` under them."""
        if not len(images):
            return
        tiles = [upscale(np.asarray(im, dtype=np.uint8), self.scale) for im in images]
        h, w = tiles[0].shape[:2]
        gap = np.full((h, self.gap * self.scale, 3), 255, np.uint8)
        row = [t for im in tiles for t in (im, gap)][:-1]
        strip = np.concatenate(row, axis=1)
        self._tile_w = w + gap.shape[1]
        self._n = len(tiles)
        ann = [
            dict(x=i * self._tile_w + w / 2, y=h, yanchor="top", yshift=-2, text=escape(lab), showarrow=False, font=dict(size=11))
            for i, lab in enumerate(labels)
        ]
        with self.figure.batch_update():
            self.figure.data[0].z = strip
            self.figure.layout.annotations = ann

    def _clicked(self, trace, points, state) -> None:
        if points.xs and self._tile_w:
            self.selected = int(min(self._n - 1, max(0, points.xs[0] // self._tile_w)))


class HeatmapGrid(W.VBox):
    """A grid of heat maps sharing one colour scale (rows x columns, e.g. tokens x steps).

    One plotly ``Heatmap`` trace of the tiled grid (NaN gaps), with row and column labels.
    """

    def __init__(self, height: int = 300, colorscale: str = "Viridis", title: str = "", **kwargs: Any) -> None:
        import plotly.graph_objects as go

        self.colorscale = colorscale
        self.figure = go.FigureWidget(
            data=[go.Heatmap(z=[[0.0]], colorscale=colorscale, showscale=True, hoverongaps=False)],
            layout=go.Layout(
                height=height,
                margin=dict(l=90, r=10, t=30 if title else 8, b=24),
                title=dict(text=title, font=dict(size=13)) if title else None,
                xaxis=dict(visible=False),
                yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"),
                plot_bgcolor="white",
            ),
        )
        super().__init__([self.figure], **kwargs)
        self.add_class("dl-heatmapgrid")

    def set_maps(
        self,
        maps: Sequence[Sequence[np.ndarray]],
        row_labels: Sequence[str] = (),
        col_labels: Sequence[str] = (),
        zmin: float | None = None,
        zmax: float | None = None,
        colorscale: str | None = None,
        zmid: float | None = None,
    ) -> None:
        """``maps[r][c]`` is a 2-D array; all maps in the grid must have the same shape."""
        if not len(maps) or not len(maps[0]):
            return
        h, w = np.asarray(maps[0][0]).shape
        gap = max(1, w // 8)
        R, C = len(maps), len(maps[0])
        grid = np.full((R * (h + gap) - gap, C * (w + gap) - gap), np.nan)
        for r, row in enumerate(maps):
            for c, m in enumerate(row):
                grid[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = m
        ann = [
            dict(x=-gap, y=r * (h + gap) + h / 2, xanchor="right", text=escape(lab), showarrow=False, font=dict(size=11))
            for r, lab in enumerate(row_labels)
        ] + [
            dict(x=c * (w + gap) + w / 2, y=R * (h + gap), yanchor="top", text=escape(lab), showarrow=False, font=dict(size=10))
            for c, lab in enumerate(col_labels)
        ]
        with self.figure.batch_update():
            tr = self.figure.data[0]
            tr.z = grid
            tr.zmin, tr.zmax, tr.zmid = zmin, zmax, zmid
            tr.colorscale = colorscale or self.colorscale
            self.figure.layout.annotations = ann
