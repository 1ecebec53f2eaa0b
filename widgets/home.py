"""The home dashboard: one card per study, with its question and links to its dashboard and notebook."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from typing import Any

import ipywidgets as W
import traitlets as T

from deletionlab.catalog import NOTEBOOKS, STUDIES, Study

from .common import StudyRoot, escape

#: JupyterLab started by ``make lab`` serves the notebooks folder here
LAB_URL = os.environ.get("DELETIONLAB_LAB_URL", "http://127.0.0.1:8888/lab/tree/")


def in_voila() -> bool:
    """Whether this kernel was started by Voila (it sets ``VOILA_*`` variables in the kernel)."""
    return "VOILA_BASE_URL" in os.environ or "VOILA_KERNEL_ID" in os.environ


def study_links(s: Study, voila: bool | None = None) -> tuple[str, str]:
    """(dashboard URL, notebook URL) of a study, right for where the home page is shown.

    Under Voila the page lives at ``<base>voila/render/index.ipynb``; in JupyterLab (``make lab``
    serves ``notebooks/``) Voila's server extension renders at ``/voila/render/`` too.
    """
    voila = in_voila() if voila is None else voila
    base = os.environ.get("VOILA_BASE_URL", "/") if voila else "/"
    dashboard = f"{base}voila/render/{s.notebook}"
    notebook = f"{LAB_URL}{s.notebook}" if voila else f"/lab/tree/{s.notebook}"
    return dashboard, notebook


def _thumbnail(s: Study) -> str:
    p = NOTEBOOKS / "thumbnails" / f"{s.key}.png"
    if s.available and p.exists():
        data = base64.b64encode(p.read_bytes()).decode()
        return (f'<img src="data:image/png;base64,{data}" alt="" '
                'style="width:100%;height:90px;object-fit:cover;border-radius:4px;image-rendering:pixelated">')
    return ('<div style="width:100%;height:90px;border-radius:4px;'
            'background:repeating-linear-gradient(45deg,#eee,#eee 8px,#f6f6f6 8px,#f6f6f6 16px)"></div>')


def card_html(s: Study, voila: bool | None = None) -> str:
    """The HTML of one study card (a planned study links nowhere and says so)."""
    if s.available:
        dash, nb = study_links(s, voila)
        badge = '<span class="dl-badge dl-badge-ready">ready</span>'
        voila = in_voila() if voila is None else voila
        hint = ('<div class="dl-muted dl-lab-hint" style="font-size:0.8em">The notebook link needs <code>make lab</code> '
                "running (log in with the link it prints).</div>") if voila else ""
        links = (
            f'<div class="dl-links"><a href="{escape(dash)}" target="_blank" class="dl-dashboard-link">Open dashboard</a>'
            f'<a href="{escape(nb)}" target="_blank" class="dl-notebook-link">Notebook in JupyterLab</a></div>{hint}'
        )
    else:
        badge = '<span class="dl-badge dl-badge-planned">planned</span>'
        links = '<div class="dl-muted">Not built yet: this study does not exist so far.</div>'
    return (
        f"{_thumbnail(s)}<h3>{escape(s.title)} {badge}</h3>"
        f"<div>{escape(s.question)}</div>"
        f'<div class="dl-muted" style="margin:4px 0">{escape(s.paper)}</div>{links}'
    )


class Home(StudyRoot):
    """The landing page: cards for the seven studies and a filter (all / ready / planned)."""

    filter = T.Unicode("all")

    def __init__(self, studies: Sequence[Study] = STUDIES, **kwargs: Any) -> None:
        self.studies = list(studies)
        self.cards = []
        for s in self.studies:
            card = W.HTML(card_html(s))
            card.add_class("dl-card")
            card.add_class(f"dl-card-{s.key}")
            if not s.available:
                card.add_class("dl-planned")
            self.cards.append(card)
        self.filter_buttons = W.ToggleButtons(options=[("All studies", "all"), ("Ready", "ready"), ("Planned", "planned")], value="all")
        self.filter_buttons.add_class("dl-filter")
        self.grid = W.Box(self.cards, layout=W.Layout(display="flex", flex_flow="row wrap"))
        n_ready = sum(s.available for s in self.studies)
        if n_ready == len(self.studies):
            summary = f"All {n_ready} studies are ready: open a dashboard, or its notebook to read how it works."
        else:
            summary = f"{n_ready} of {len(self.studies)} studies are ready; the others are planned and say so."
        intro = W.HTML(f"<div class='dl-muted'>{summary}</div>")
        super().__init__("home", [intro, self.filter_buttons, self.grid], **kwargs)
        T.link((self.filter_buttons, "value"), (self, "filter"))
        self.observe(self._apply_filter, names="filter")

    def visible_studies(self) -> list[str]:
        return [s.key for s, c in zip(self.studies, self.cards) if c.layout.display != "none"]

    def _apply_filter(self, change=None) -> None:
        for s, card in zip(self.studies, self.cards):
            show = self.filter == "all" or (self.filter == "ready") == s.available
            card.layout.display = None if show else "none"
