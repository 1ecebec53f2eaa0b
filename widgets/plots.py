"""Interactive charts: hover for values, zoom, legend toggling, click to select, PNG/SVG export.

:class:`InteractivePlot` wraps a plotly ``FigureWidget`` (plotly 5.24, whose ``jupyterlab-plotly``
extension carries plotly.js once per page, offline, in JupyterLab and Voilà alike: see
``docs/decisions.md``). It takes the same *series* dicts as :class:`deletionlab.widgets.LinePlot`,
so a study hands its data to either:

    {"x": [...], "y": [...], "label": "retrain", "style": "o-" | "--" | ":" | "s--",
     "color": "tab:blue", "error": [...] (± bar), "band": ([lo...], [hi...]) (shaded),
     "text": [...] (extra hover text per point), "right": True (second y axis),
     "visible": False (only in the legend, one click away), "legend": False (no legend entry),
     "hover": "text" (the tooltip is the point's ``text`` alone)}

``draw`` updates the figure in place (one message to the page); ``on_click(fn)`` calls
``fn(x, y, label)`` for a clicked point; the modebar's camera saves a PNG at twice the size shown and
the "SVG" button offers the same figure as an SVG file (drawn by matplotlib from the same data).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W
import numpy as np

from .common import escape

#: matplotlib's tab10, so that colours match the static LinePlot views
TAB10 = {"tab:blue": "#1f77b4", "tab:orange": "#ff7f0e", "tab:green": "#2ca02c", "tab:red": "#d62728",
         "tab:purple": "#9467bd", "tab:brown": "#8c564b", "tab:pink": "#e377c2", "tab:gray": "#7f7f7f",
         "tab:grey": "#7f7f7f", "tab:olive": "#bcbd22", "tab:cyan": "#17becf", "grey": "#808080", "gray": "#808080"}
CYCLE = list(TAB10.values())[:8] + ["#bcbd22", "#17becf"]
#: what plotly's modebar shows: zoom, pan, reset, camera (PNG); nothing that needs a network
MODEBAR_REMOVE = ["lasso2d", "select2d", "autoScale2d", "toggleSpikelines", "hoverCompareCartesian"]


def _color(c: str | None, i: int) -> str:
    if c is None:
        return CYCLE[i % len(CYCLE)]
    return TAB10.get(c, c)


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    if len(h) != 6:
        return hex_color
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _mode_and_dash(style: str) -> tuple[str, str | None, str | None]:
    """matplotlib-like style string -> (plotly mode, dash, marker symbol)."""
    marker = next((m for m in "osd^v*x" if m in style), None)
    line = "-" in style or ":" in style
    dash = "dot" if ":" in style else "dash" if "--" in style else "dashdot" if "-." in style else None
    mode = "lines+markers" if line and marker else "markers" if marker else "lines"
    symbol = {"o": "circle", "s": "square", "d": "diamond", "^": "triangle-up", "v": "triangle-down",
              "*": "star", "x": "x"}.get(marker) if marker else None
    return mode, dash, symbol


def _clean(values: Sequence[Any] | None) -> list:
    """Values for JSON: NaN/None -> None (a gap), NumPy scalars -> floats."""
    if values is None:
        return []
    out = []
    for v in np.asarray(values, dtype=object).ravel().tolist():
        try:
            f = float(v)
            out.append(f if np.isfinite(f) else None)
        except (TypeError, ValueError):
            out.append(v)
    return out


class InteractivePlot(W.VBox):
    """A chart with hover tooltips (values with units), zoom, legend toggling and click-to-select.

    ``xunit`` / ``yunit`` are appended to values in the tooltip; ``xscale`` / ``yscale`` are
    "linear" or "log". ``height`` and ``width`` are pixels (``width=None``: the width of the page
    column, up to ``max_width``).
    """

    def __init__(self, title: str = "", xlabel: str = "", ylabel: str = "", *, xunit: str = "", yunit: str = "",
                 xscale: str = "linear", yscale: str = "linear", height: int = 320, width: int | None = 520,
                 right_label: str = "", yfmt: str = ".3~g", xfmt: str = ".3~g", legend: str = "below", **kwargs: Any) -> None:
        import plotly.graph_objects as go

        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.xunit, self.yunit, self.xfmt, self.yfmt = xunit, yunit, xfmt, yfmt
        self.series: list[dict] = []
        self.references: dict = {"hlines": [], "vlines": [], "hbands": [], "note": ""}
        self._click_handlers: list[Callable[[float, float, str], None]] = []
        self.figure = go.FigureWidget(layout=self._layout(xscale, yscale, height, width, right_label, legend))
        self.figure._config = {"displaylogo": False, "modeBarButtonsToRemove": MODEBAR_REMOVE,
                               "toImageButtonOptions": {"format": "png", "scale": 2, "filename": self._filename()}}
        self.svg_button = W.Button(description="SVG", tooltip="Save this chart as an SVG file (for slides)",
                                   layout=W.Layout(width="60px", height="24px"))
        self.svg_button.add_class("dl-svg-button")
        self.svg_link = W.HTML("")
        self.svg_button.on_click(lambda _: self.offer_svg())
        tools = W.HBox([self.svg_button, self.svg_link], layout=W.Layout(align_items="center"))
        super().__init__([self.figure, tools], **kwargs)
        self.add_class("dl-interactive-plot")

    # -- layout ------------------------------------------------------------------------------
    def _filename(self) -> str:
        name = "".join(c if c.isalnum() else "-" for c in (self.title or "chart").lower()).strip("-")
        return "-".join(p for p in name.split("-") if p)[:60] or "chart"

    def _layout(self, xscale: str, yscale: str, height: int, width: int | None, right_label: str, legend: str = "below") -> dict:
        axis = dict(showgrid=True, gridcolor="rgba(0,0,0,0.08)", zeroline=False, linecolor="#888", ticks="outside",
                    title_font=dict(size=12), tickfont=dict(size=11))
        lay = dict(
            title=dict(text=escape(self.title), font=dict(size=13), x=0.02, xanchor="left"),
            height=height, margin=dict(l=60, r=20 if not right_label else 60, t=36 if self.title else 12, b=78),
            xaxis=dict(axis, title=dict(text=escape(self.xlabel)), type=xscale),
            yaxis=dict(axis, title=dict(text=escape(self.ylabel)), type=yscale),
            legend=dict(font=dict(size=11), bgcolor="rgba(255,255,255,0.7)", orientation="h", yref="container", yanchor="bottom", y=0, x=0),
            plot_bgcolor="white", paper_bgcolor="white", hovermode="closest",
            font=dict(family="system-ui, -apple-system, Segoe UI, sans-serif"),
        )
        if width:
            lay["width"] = width
        else:
            lay["autosize"] = True
        if legend == "right":  # beside the plot, one entry per line (many series)
            lay["legend"] = dict(font=dict(size=11), orientation="v", x=1.02, xanchor="left", y=1, yanchor="top")
            lay["margin"]["b"] = 48
            lay["margin"]["r"] = 160
        if right_label:
            lay["yaxis2"] = dict(axis, title=dict(text=escape(right_label)), overlaying="y", side="right", showgrid=False)
            lay["margin"]["r"] = 60
        return lay

    # -- drawing -----------------------------------------------------------------------------
    def _hover(self, label: str, has_text: bool, right: bool) -> str:
        yu = f" {self.yunit}" if self.yunit and not right else ""
        xu = f" {self.xunit}" if self.xunit else ""
        text = "<br>%{text}" if has_text else ""
        return (f"<b>{escape(label) or 'value'}</b><br>{escape(self.ylabel) if not right else ''} %{{y:{self.yfmt}}}{escape(yu)}"
                f"<br>{escape(self.xlabel)} %{{x:{self.xfmt}}}{escape(xu)}{text}<extra></extra>")

    def _traces(self, series: Sequence[dict]) -> list[dict]:
        """plotly traces for the series (a band is a trace of its own); ``self._trace_of[i]`` is the
        index of series i's main trace."""
        traces, self._trace_of = [], []
        for i, s in enumerate(series):
            color = _color(s.get("color"), i)
            mode, dash, symbol = _mode_and_dash(s.get("style", "o-"))
            label = str(s.get("label") or "")
            x, y = _clean(s["x"]), _clean(s["y"])
            right = bool(s.get("right"))
            if s.get("band") is not None:
                lo, hi = (_clean(v) for v in s["band"])
                traces.append(dict(type="scatter", x=x + x[::-1], y=hi + lo[::-1], fill="toself", mode="lines",
                                   line=dict(width=0), fillcolor=_rgba(color, 0.15), hoverinfo="skip", showlegend=False,
                                   legendgroup=label or f"s{i}", name=f"{label} band", yaxis="y2" if right else "y"))
            hover = "%{text}<extra></extra>" if s.get("hover") == "text" else self._hover(label, s.get("text") is not None, right)
            tr = dict(type="scatter", x=x, y=y, mode=mode, name=label or f"series {i + 1}", legendgroup=label or f"s{i}",
                      showlegend=bool(label) and s.get("legend", True) is not False, line=dict(color=color, dash=dash, width=2),
                      marker=dict(color=color, size=s.get("markersize", 6), symbol=symbol),
                      hovertemplate=hover, yaxis="y2" if right else "y")
            if s.get("text") is not None:
                tr["text"] = [str(t) for t in s["text"]]
            if s.get("error") is not None:
                tr["error_y"] = dict(type="data", array=_clean(s["error"]), visible=True, color=color, thickness=1.2, width=3)
            if s.get("visible") is False:  # in the legend, one click away
                tr["visible"] = "legendonly"
                if traces and traces[-1].get("fill") == "toself":
                    traces[-1]["visible"] = "legendonly"
            self._trace_of.append(len(traces))
            traces.append(tr)
        return traces

    def draw(self, series: Sequence[dict], hlines: Sequence[tuple[float, str]] = (), vlines: Sequence[tuple[float, str]] = (),
             ylim: tuple[float, float] | None = None, xlim: tuple[float, float] | None = None,
             hbands: Sequence[tuple[float, float, str]] = (), note: str = "", keep_view: bool = False) -> None:
        """Replace the chart's data in one update. ``hlines``/``vlines``: reference lines (value,
        label); ``hbands``: shaded horizontal bands (lo, hi, label), e.g. a measurement's 1σ range;
        ``note``: a sentence drawn in the empty chart when there is nothing to show; ``keep_view``:
        leave the axes as the user zoomed them (e.g. animation frames)."""
        self.series = [dict(s) for s in series]
        self.references = {"hlines": list(hlines), "vlines": list(vlines), "hbands": list(hbands), "note": note}
        traces = self._traces(series)
        lay = self.figure.layout
        shapes, annotations = self._references(hlines, vlines, hbands, lay.xaxis.type == "log", lay.yaxis.type == "log")
        if note:
            annotations.append(dict(text=escape(note), xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                                    font=dict(size=13, color="#666")))
        fig = self.figure
        with fig.batch_update():
            if len(fig.data) == len(traces) and all(d.type == t["type"] for d, t in zip(fig.data, traces)):
                for d, t in zip(fig.data, traces):
                    d.update(t, overwrite=True)
            else:
                fig.data = []
                fig.add_traces(traces)
                self._wire_clicks()
            fig.layout.shapes = shapes
            fig.layout.annotations = annotations
            if not keep_view:
                self._set_range(fig.layout.yaxis, ylim)
                self._set_range(fig.layout.xaxis, xlim)
        self.svg_link.value = ""

    @staticmethod
    def _set_range(axis, lim) -> None:
        """Fixed range ``lim`` (data units; log10 taken for a log axis), or autorange (keeping a reversed axis reversed)."""
        reversed_ = axis.autorange == "reversed" or (axis.range is not None and axis.range[0] > axis.range[1])
        if lim:
            lo, hi = (float(np.log10(v)) for v in lim) if axis.type == "log" else (float(v) for v in lim)
            axis.range = [hi, lo] if reversed_ else [lo, hi]
            axis.autorange = False
        else:
            axis.range = None
            axis.autorange = "reversed" if reversed_ else True

    @staticmethod
    def _references(hlines, vlines, hbands, xlog: bool = False, ylog: bool = False) -> tuple[list[dict], list[dict]]:
        """Reference lines and bands; annotations on a log axis are placed at log10 of the value
        (plotly's convention for annotations, unlike shapes)."""
        ax = (lambda v: float(np.log10(v)) if v > 0 else None) if xlog else float
        ay = (lambda v: float(np.log10(v)) if v > 0 else None) if ylog else float
        shapes, annotations = [], []
        for y, lab in hlines:
            shapes.append(dict(type="line", xref="paper", x0=0, x1=1, y0=y, y1=y, line=dict(color="grey", dash="dot", width=1)))
            if lab:
                annotations.append(dict(text=escape(lab), xref="paper", x=1, y=ay(y), xanchor="right", yanchor="bottom",
                                        showarrow=False, font=dict(size=10, color="grey")))
        for x, lab in vlines:
            shapes.append(dict(type="line", yref="paper", y0=0, y1=1, x0=x, x1=x, line=dict(color="grey", dash="dot", width=1)))
            if lab:
                annotations.append(dict(text=escape(lab), yref="paper", y=1, x=ax(x), xanchor="left", yanchor="top",
                                        showarrow=False, font=dict(size=10, color="grey")))
        for lo, hi, lab in hbands:
            shapes.append(dict(type="rect", xref="paper", x0=0, x1=1, y0=lo, y1=hi, fillcolor="rgba(46,139,87,0.12)",
                               line=dict(width=0), layer="below"))
            if lab:
                annotations.append(dict(text=escape(lab), xref="paper", x=0.01, y=ay(hi), xanchor="left", yanchor="bottom",
                                        showarrow=False, font=dict(size=10, color="seagreen")))
        return shapes, annotations

    # -- interaction ---------------------------------------------------------------------------
    def on_click(self, fn: Callable[[float, float, str], None]) -> None:
        """Call ``fn(x, y, label)`` when a point of a series is clicked."""
        self._click_handlers.append(fn)
        self._wire_clicks()

    def _wire_clicks(self) -> None:
        if not self._click_handlers:
            return
        for trace in self.figure.data:
            if getattr(trace, "hoverinfo", None) == "skip":
                continue
            trace.on_click(self._clicked, append=False)

    def _clicked(self, trace, points, _state) -> None:
        for idx in points.point_inds[:1]:
            x, y = trace.x[idx], trace.y[idx]
            for fn in self._click_handlers:
                fn(x, y, trace.name)

    def click(self, label: str, index: int) -> None:
        """Act as if point ``index`` of the series named ``label`` was clicked (tests, keyboard)."""
        s = next(s for s in self.series if s.get("label") == label)
        for fn in self._click_handlers:
            fn(s["x"][index], s["y"][index], label)

    def shown(self, i: int) -> bool:
        """Whether series ``i`` is drawn now (a legend click in the page hides or shows it)."""
        idx = getattr(self, "_trace_of", [])
        if i >= len(idx) or idx[i] >= len(self.figure.data):
            return True
        return self.figure.data[idx[i]].visible not in ("legendonly", False)

    # -- export ------------------------------------------------------------------------------
    def svg(self) -> bytes:
        """The chart as SVG, drawn by matplotlib from the same data (no browser needed): series, bands,
        error bars, reference lines and bands, log axes, the axis ranges on screen (zoom included),
        reversed axes and equal aspect."""
        from io import BytesIO

        from matplotlib.figure import Figure

        w = (self.figure.layout.width or 520) / 100
        h = (self.figure.layout.height or 320) / 100
        fig = Figure(figsize=(w, h))
        ax = fig.add_subplot(111)
        for i, s in enumerate(self.series):
            if self.shown(i):
                self._svg_series(ax, s, _color(s.get("color"), i))
        self._svg_references(ax)
        self._svg_axes(ax)
        ax.set_title(self.title, fontsize=10)
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        ax.grid(alpha=0.3)
        if any(s.get("label") for i, s in enumerate(self.series) if self.shown(i)):
            ax.legend(fontsize=8)
        fig.tight_layout()
        buf = BytesIO()
        import matplotlib

        with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text: editable in slides
            fig.savefig(buf, format="svg")
        return buf.getvalue()

    @staticmethod
    def _svg_series(ax, s: dict, color: str) -> None:
        x = np.asarray(_clean(s["x"]), dtype=float)
        y = np.asarray(_clean(s["y"]), dtype=float)
        if s.get("band") is not None:
            lo, hi = (np.asarray(_clean(v), dtype=float) for v in s["band"])
            ax.fill_between(x, lo, hi, color=color, alpha=0.15, linewidth=0)
        err = None if s.get("error") is None else np.asarray(_clean(s["error"]), dtype=float)
        ax.errorbar(x, y, yerr=err, fmt=s.get("style", "o-"), color=color, label=s.get("label") or None, markersize=4, capsize=2)

    def _svg_references(self, ax) -> None:
        ref = self.references
        for y, lab in ref["hlines"]:
            ax.axhline(y, color="grey", linestyle=":", linewidth=1, label=None)
            if lab:
                ax.annotate(lab, (1.0, y), xycoords=("axes fraction", "data"), fontsize=8, color="grey", ha="right", va="bottom")
        for x, lab in ref["vlines"]:
            ax.axvline(x, color="grey", linestyle=":", linewidth=1)
        for lo, hi, lab in ref["hbands"]:
            ax.axhspan(lo, hi, color="seagreen", alpha=0.12, linewidth=0)
        if ref["note"]:
            ax.text(0.5, 0.5, ref["note"], transform=ax.transAxes, ha="center", va="center", color="#555")

    def _svg_axes(self, ax) -> None:
        lay = self.figure.layout
        for axis, set_scale, set_lim, invert in ((lay.xaxis, ax.set_xscale, ax.set_xlim, ax.invert_xaxis),
                                                  (lay.yaxis, ax.set_yscale, ax.set_ylim, ax.invert_yaxis)):
            log = axis.type == "log"
            set_scale("log" if log else "linear")
            if axis.range is not None and axis.autorange in (False, None):
                lo, hi = (10 ** float(v) for v in axis.range) if log else (float(v) for v in axis.range)
                set_lim(lo, hi)  # a reversed range arrives as (hi, lo) and stays reversed
            elif axis.autorange == "reversed":
                invert()
        if lay.yaxis.scaleanchor == "x":
            ax.set_aspect("equal", adjustable="datalim")

    def offer_svg(self) -> None:
        """Put a download link for the SVG next to the button."""
        data = base64.b64encode(self.svg()).decode()
        self.svg_link.value = (f"<a download='{self._filename()}.svg' href='data:image/svg+xml;base64,{data}' "
                               "class='dl-svg-link'>download SVG</a>")
