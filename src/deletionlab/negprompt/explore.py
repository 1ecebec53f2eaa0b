"""What the explorer widget shows, computed in one place (no widgets here).

:func:`explore` runs (or re-runs from the explorer's :class:`TrunkCache`) one setting and derives
the views: images with and without the negative prompt and their difference, per-step previews,
the words one can pick with their attention maps, cancellation maps, critical-step curves and the
exports. :func:`removal_sweep` runs the delay sweep behind the removal panel. Settings are checked
by the sampler's :func:`validate` (and :func:`validate_sweep` for the sweep).

The dashboard runs them as :func:`explore_job` / :func:`sweep_job` (picklable: a Dask worker loads
the checkpoint itself); the default setting's run and sweep go through the machine-wide result
cache (:func:`shared_explore`, :func:`shared_sweep`), so a class computes them once.
:func:`attention_overlay` lays a word's attention map over the image, as DAAM does.

On the shipped shapes model, object masks come from the detector on the image without the
negative prompt (ground truth for the measurement). On other checkpoints there is no detector:
a word's "object" is where its own attention ends up at the last step (the top 20 % of its
positive-prompt map), in the spirit of DAAM, and the UI says so.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from deletionlab.core.cache import cached
from deletionlab.core.jobs import CancelToken, Progress, UserError, no_progress
from deletionlab.negprompt import analysis, detect, models, world
from deletionlab.negprompt.analysis import SETTLE_FRACTION
from deletionlab.negprompt.export import Export, export
from deletionlab.negprompt.sampler import Prompts, Run, Settings, Trajectory, encode, run, validate

__all__ = ["Exploration", "Settings", "SweepOutcome", "TrunkCache", "Word", "attention_overlay", "explore", "explore_job",
           "removal_sweep", "result_key", "shared_explore", "shared_sweep", "sweep_job", "sweep_settings", "validate", "validate_sweep"]

SKIP_TOKENS = {"<|startoftext|>", "<|endoftext|>", "a", "an", "the", ",", "of", "and", "."}
#: without a detector, a word's object is the top this-fraction of its own attention map at the last step
ATTENTION_MASK_TOP = 0.2
#: the removal panel sweeps at most this many start steps (spread over the run)
MAX_SWEEP_STARTS = 10
#: |Δpixel| is small; the difference picture multiplies it by this to make it visible
DIFFERENCE_GAIN = 3


def difference_image(a: np.ndarray, b: np.ndarray, gain: float = DIFFERENCE_GAIN) -> np.ndarray:
    """Where two uint8 RGB images differ, as a uint8 RGB picture: white = same, darker = more
    (mean |Δ| over the colour channels times ``gain``)."""
    diff = (np.abs(a.astype(float) - b.astype(float)).mean(-1) * gain).clip(0, 255).astype(np.uint8)
    return np.stack([255 - diff] * 3, -1)


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |Δpixel| of two uint8 images, as a fraction of the full range (0..1)."""
    return float(np.abs(a.astype(float) - b).mean() / 255)


class TrunkCache:
    """What the explorer keeps between runs so that a new window re-renders only the suffix after
    its start step, and switching the negative prompt off costs no denoising at all: the prompts'
    embeddings and the last few recorded trunks (one explorer, one model; :meth:`clear` on a model
    change). A trunk's records hold its negative prompt's ε and attention, so it is kept per
    (trunk settings, negative prompt); the run *without* a negative prompt can use any trunk of the
    same settings (its records only add the negative prompt's)."""

    #: trunks and prompt embeddings kept (a trunk of the shipped model is ~3 MB with its snapshots)
    KEEP = 4

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.clear()

    def __getstate__(self) -> dict:  # a job sent to a Dask worker carries its cache (the lock stays here)
        with self._lock:
            return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def clear(self) -> None:
        with self._lock:
            self._pipe: int | None = None
            self._prompts: OrderedDict[tuple, Prompts] = OrderedDict()
            self._trunks: OrderedDict[tuple, Trajectory] = OrderedDict()
            self.prompts: Prompts | None = None  # the latest
            self.trunk: Trajectory | None = None  # the latest

    def _bind(self, pipe) -> None:
        """Forget everything made with another pipeline (entries remembered from a stored run stay)."""
        if self._pipe is not None and self._pipe != id(pipe):
            self.clear()
        self._pipe = id(pipe)

    @staticmethod
    def _keep(store: OrderedDict, key: tuple, value) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > TrunkCache.KEEP:
            store.popitem(last=False)

    def prompts_for(self, pipe, settings: Settings) -> Prompts:
        """The embeddings of these prompts on this pipeline (encoded once)."""
        with self._lock:
            self._bind(pipe)
            key = (settings.prompt, settings.negative_prompt)
            if key not in self._prompts:
                self._keep(self._prompts, key, encode(pipe, settings.prompt, settings.negative_prompt))
            self.prompts = self._prompts[key]
            self._prompts.move_to_end(key)
            return self.prompts

    def trunk_for(self, settings: Settings) -> Trajectory | None:
        """A kept trunk these settings can branch from (same prompt, steps, guidance, seed; the same
        negative prompt, or any when there is none), else None."""
        with self._lock:
            tk = settings.trunk_key()
            hit = self._trunks.get((tk, settings.negative_prompt))
            if hit is None and not settings.has_negative:
                hit = next((t for (k, _), t in reversed(self._trunks.items()) if k == tk), None)
            return hit

    def remember(self, run: Run) -> None:
        """Keep a run's trunk and prompts (also for a run read from the shared result cache)."""
        with self._lock:
            if run.trunk.snapshots is None or run.trunk.key is None:
                return
            p = run.prompts
            self._keep(self._prompts, (p.prompt, p.negative_prompt), p)
            self._keep(self._trunks, (run.trunk.key, p.negative_prompt), run.trunk)
            self.prompts, self.trunk = p, run.trunk


@dataclass
class Word:
    """A pickable word: its text, which prompt(s) contain it and at which token index."""

    text: str
    pos_index: int | None
    neg_index: int | None

    @property
    def label(self) -> str:
        where = "+".join(w for w, i in (("pos", self.pos_index), ("neg", self.neg_index)) if i is not None)
        return f"{self.text} ({where})"


@dataclass
class Exploration:
    settings: Settings
    run: Run
    reference: np.ndarray  # uint8 image without the negative prompt
    result: np.ndarray  # uint8 image with the negative prompt in its window (= reference if none)
    words: list[Word]
    notices: list[str] = field(default_factory=list)
    shapes_world: bool = False
    cancellation: analysis.CancellationMaps | None = None
    exports: Export | None = None
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    mask_source: str = ""
    detections: list[str] = field(default_factory=list)

    @property
    def has_negative(self) -> bool:
        return bool(self.run.branches)

    @property
    def difference(self) -> np.ndarray:
        """The picture of where the negative prompt changed the image (:func:`difference_image`)."""
        return difference_image(self.result, self.reference)

    @property
    def mean_difference(self) -> float:
        return mean_difference(self.result, self.reference)

    def default_word(self) -> str | None:
        """The label to show first: the last word that is in both prompts, else the first word."""
        both = [w.label for w in self.words if w.pos_index is not None and w.neg_index is not None]
        return both[-1] if both else (self.words[0].label if self.words else None)

    def negative_noun(self) -> str | None:
        """The label of the negative prompt's noun (its last content word: "square" of "a blue square"),
        the word whose critical step the dashboard shows first; None without a negative prompt."""
        in_neg = sorted((w for w in self.words if w.neg_index is not None), key=lambda w: w.neg_index)
        shapes = [w for w in in_neg if w.text in world.SHAPES] if self.shapes_world else []
        candidates = shapes or in_neg
        with_mask = [w for w in candidates if w.text in self.masks]
        pick = (with_mask or candidates or [None])[-1]
        return pick.label if pick is not None else None

    def negated(self) -> tuple[str, bool, bool] | None:
        """On the shapes world: (the object the negative prompt names, whether the detector finds it
        without the negative prompt, whether it finds it with it); None when there is nothing to
        judge (no negative prompt, another model, or a negative prompt outside this world's grammar)."""
        neg = self.settings.negative_prompt
        if not self.has_negative or not self.shapes_world or world.words_not_understood(neg):
            return None
        spec = world.parse_caption(neg)
        if not spec:
            return None
        target = spec[0]
        return world.describe(*target), detect.present(self.reference, *target), detect.present(self.result, *target)

    def neutralization(self, word: Word) -> analysis.Neutralization | None:
        """:func:`analysis.neutralization` against the word's object (the committed study's measure: the
        run without the negative prompt, where all three predictions see the same x_t); None without
        a negative prompt, a mask, or a mask that covers all or nothing at latent resolution."""
        mask = self.masks.get(word.text)
        recs = self.run.trunk.records
        if mask is None or not self.has_negative or not recs or "neg" not in recs[0].eps:
            return None
        try:
            return analysis.neutralization(self.run.trunk, mask, self.settings.guidance)
        except ValueError:
            return None

    def word(self, label_or_text: str) -> Word | None:
        for w in self.words:
            if label_or_text in (w.label, w.text):
                return w
        return None

    def attention_maps(self, word: Word, branch: str, trajectory: str = "negative") -> np.ndarray | None:
        """(steps, h, w) maps of a word in the positive ("pos") or negative ("neg") prompt, on the
        run with the negative prompt ("negative") or without it ("reference")."""
        idx = word.pos_index if branch == "pos" else word.neg_index
        if idx is None:
            return None
        traj = self.run.main if trajectory == "negative" else self.run.trunk
        if not traj.records or branch not in traj.records[0].attention:
            return None
        return analysis.word_maps(traj, branch, idx)

    def critical(self, word: Word, threshold: float = SETTLE_FRACTION) -> dict[str, analysis.AttentionCritical]:
        """Attention critical steps of a word in both prompts, on the run without the negative prompt
        (both prompts see the same x_t there; this is the comparison the paper makes)."""
        mask = self.masks.get(word.text)
        out = {}
        if mask is None:
            return out
        for branch, idx in (("pos", word.pos_index), ("neg", word.neg_index)):
            if idx is None or branch not in self.run.trunk.records[0].attention:
                continue
            maps = analysis.word_maps(self.run.trunk, branch, idx)
            out[branch] = analysis.critical_from_maps(word.text, branch, maps, mask, threshold)
        return out


def pick_words(prompts: Prompts) -> list[Word]:
    """Content words of both prompts, merged by text (first occurrence in each prompt)."""
    words: dict[str, Word] = {}
    for branch, toks in (("pos", prompts.pos_tokens), ("neg", prompts.neg_tokens)):
        for i, tok in enumerate(toks):
            t = tok.strip().lower()
            if not t or t in SKIP_TOKENS:
                continue
            w = words.setdefault(t, Word(t, None, None))
            if branch == "pos" and w.pos_index is None:
                w.pos_index = i
            if branch == "neg" and w.neg_index is None:
                w.neg_index = i
    return list(words.values())


def is_shapes_model(pipe) -> bool:
    """Whether the pipeline is one of our shapes-world models (then the detector applies)."""
    info = models.training_info(pipe)
    return bool(info) and set(world.SHAPES) <= set(info.get("vocabulary", []))


def _find_word(dets, word: str, wanted: list[tuple[str | None, str | None]]):
    """The detected object a colour or shape word stands for: preferably the one the prompts ask
    for with that word (e.g. the *blue square* for "blue"), else any object with that attribute."""
    if word in world.COLOURS:
        asked = [(word, s) for c, s in wanted if c == word and s]
        fallback = (word, None)
    elif word in world.SHAPES:
        asked = [(c, word) for c, s in wanted if s == word and c]
        fallback = (None, word)
    else:
        return None
    return next((detect.find(dets, *cs) for cs in asked if detect.find(dets, *cs)), None) or detect.find(dets, *fallback)


def _masks_from_detector(image: np.ndarray, prompt: str, negative: str, words: list[Word]) -> tuple[dict, list[str]]:
    dets = detect.detect(image)
    wanted = world.parse_caption(prompt) + world.parse_caption(negative)
    masks: dict[str, np.ndarray] = {}
    for w in words:
        hit = _find_word(dets, w.text, wanted)
        if hit is not None:
            masks[w.text] = hit.mask
    return masks, [d.name for d in dets]


def _masks_from_attention(traj: Trajectory, words: list[Word], image_side: int, top: float = ATTENTION_MASK_TOP) -> dict:
    masks = {}
    for w in words:
        if w.pos_index is None:
            continue
        m = analysis.word_maps(Trajectory(None, traj.records[-1:]), "pos", w.pos_index)[0]
        up = F.interpolate(torch.from_numpy(m)[None, None], size=(image_side, image_side), mode="bilinear", align_corners=False)
        up = up[0, 0].numpy()
        masks[w.text] = up >= np.quantile(up, 1 - top)
    return masks


def explore(
    pipe, settings: Settings, *, cache: TrunkCache | None = None, model: str = "shipped",
    progress: Progress = no_progress, cancel: CancelToken | None = None,
) -> Exploration:
    """Run one setting with recordings; with the explorer's ``cache``, a setting that only moves the
    window branches from the kept trunk, so that only the suffix after the new start step is computed."""
    notices = list(validate(settings))
    unseen = models.unseen_words(pipe, settings.prompt + " " + settings.negative_prompt)
    if unseen:
        notices.append(f"The tiny model never saw the word(s) {', '.join(repr(u) for u in unseen[:8])} in training; "
                       "it runs anyway, but expect those words to be ignored or misread.")
    cache = cache if cache is not None else TrunkCache()
    prompts = cache.prompts_for(pipe, settings)
    r = run(pipe, settings, trunk=cache.trunk_for(settings), prompts=prompts, record=True, previews=True,
            progress=progress, cancel=cancel)
    cache.remember(r)
    words = pick_words(prompts)
    ref = r.trunk.image_uint8
    ex = Exploration(settings, r, ref, r.main.image_uint8, words, notices + [n for n in r.notices if n not in notices])
    ex.shapes_world = is_shapes_model(pipe)
    side = ref.shape[0]
    if ex.shapes_world:
        ex.masks, ex.detections = _masks_from_detector(ref, settings.prompt, settings.negative_prompt, words)
        ex.mask_source = "detector on the image without the negative prompt"
    else:
        ex.masks = _masks_from_attention(r.trunk, words, side)
        ex.mask_source = f"top {ATTENTION_MASK_TOP * 100:g} % of the word's own attention at the last step (no detector for this model)"
    if r.branches:
        ex.cancellation = analysis.cancellation_maps(r, 0)
        start, end = settings.window
        ex.exports = export(model, settings.prompt, settings.negative_prompt, start, end, settings.steps,
                            settings.guidance, settings.seed, r.timesteps, pipe.scheduler.config.num_train_timesteps)
    return ex


@dataclass
class SweepOutcome:
    """The removal panel: one image per start step, with removal and background change."""

    starts: list[int]
    images: list[np.ndarray]
    reference: np.ndarray
    background: list[float]
    removed: list[bool | None]  # None: no detector for this model
    other_kept: list[bool | None]
    target: str
    outcome_critical: int | None
    adaptive_start: int | None
    adaptive_removed: bool | None
    adaptive_background: float | None
    notices: list[str] = field(default_factory=list)  # e.g. a prompt the detector cannot judge


def validate_sweep(settings: Settings) -> Settings:
    """The sweep's settings: the sampler's :func:`validate`, and a negative prompt to sweep."""
    validate(settings)
    if not settings.has_negative:
        raise UserError("Type a negative prompt (and switch it on) to sweep its start step.")
    return settings


def _sweep_target(settings: Settings, exploration: Exploration | None) -> tuple[tuple | None, int | None]:
    """On the shapes world: the object the negative prompt names (colour, shape) and the adaptive
    start (the step at which the negative prompt's word for it settles on that object, found by the
    detector in the image without the negative prompt); else (None, None). A negative prompt with
    words the detector does not understand names no target."""
    if exploration is None or not exploration.shapes_world or world.words_not_understood(settings.negative_prompt):
        return None, None
    spec = world.parse_caption(settings.negative_prompt)
    if not spec:
        return None, None
    target = spec[0]
    hit = detect.find(detect.detect(exploration.reference), *target)
    trunk = exploration.run.trunk
    if hit is None or not trunk.records or "neg" not in trunk.records[0].attention:
        return target, None
    word = target[1] or target[0]
    idx = analysis.object_token_index(exploration.run.prompts.neg_tokens, word, (hit.colour, hit.shape))
    if idx is None:
        return target, None
    crit = analysis.critical_from_maps(word, "neg", analysis.word_maps(trunk, "neg", idx), hit.mask)
    return target, crit.step


def _other_objects(prompt: str, target: tuple) -> list[tuple[str, str]]:
    """The fully named objects of the prompt that the target does not cover (they should stay)."""
    def covered(c: str, s: str) -> bool:
        return target[0] in (None, c) and target[1] in (None, s)

    return [(c, s) for c, s in world.parse_caption(prompt) if c and s and (c, s) != target and not covered(c, s)]


def removal_sweep(
    pipe, settings: Settings, exploration: Exploration | None = None, starts: Sequence[int] | None = None,
    *, progress: Progress = no_progress, cancel: CancelToken | None = None,
) -> SweepOutcome:
    """Delay sweep over start steps from the cached trunk (plus the adaptive start), scored."""
    validate_sweep(settings)
    steps = settings.steps
    if starts is None:
        starts = np.linspace(0, steps - 1, min(steps, MAX_SWEEP_STARTS)).round().astype(int).tolist()
    starts = sorted(set(starts))
    trunk = exploration.run.trunk if exploration is not None and exploration.run.trunk.key == settings.trunk_key() else None
    prompts = exploration.run.prompts if exploration is not None and trunk is not None else None
    target, adaptive = _sweep_target(settings, exploration)
    windows = [(k, steps) for k in starts] + ([(adaptive, steps)] if adaptive is not None else [])
    r = run(pipe, settings, windows=windows, trunk=trunk, prompts=prompts, record=False, previews=False, progress=progress, cancel=cancel)
    ref = r.trunk.image_uint8
    imgs = [b.image_uint8 for b in r.branches]
    mask = None
    others: list = []
    notices = []
    if exploration is not None and exploration.shapes_world:
        notices = [n for n in (world.caption_notice(settings.negative_prompt, "negative prompt"),
                               world.caption_notice(settings.prompt, "prompt")) if n]
    prompt_ok = not world.words_not_understood(settings.prompt)
    if target is not None:
        hit = detect.find(detect.detect(ref), *target)
        mask = hit.mask if hit is not None else None
        others = _other_objects(settings.prompt, target) if prompt_ok else []
    if mask is None:
        mask = np.zeros(ref.shape[:2], bool)
    scores = [analysis.removal_score(im, ref, mask, target if target else (None, None), others) for im in imgs]
    known = target is not None
    removed = [s.removed if known else None for s in scores]
    kept = [s.other_kept if known and prompt_ok else None for s in scores]  # never "kept" for a prompt we could not read
    n = len(starts)
    crit = analysis.outcome_critical_step(starts, removed[:n]) if known else None
    return SweepOutcome(
        starts=list(starts), images=imgs[:n], reference=ref, background=[s.background_change for s in scores[:n]],
        removed=removed[:n], other_kept=kept[:n], target=world.describe(*target) if target else settings.negative_prompt,
        outcome_critical=crit, adaptive_start=adaptive,
        adaptive_removed=removed[n] if adaptive is not None and known else None,
        adaptive_background=scores[n].background_change if adaptive is not None else None, notices=notices,
    )


# ---------------------------------------------------------------------------------------------
# what the dashboard draws from an exploration: attention over the image (DAAM-style)
# ---------------------------------------------------------------------------------------------
#: overlays are drawn at this many pixels a side (shown at half that: crisp at device pixel ratio 2)
OVERLAY_SIDE = 128
#: weight of the heat map over the image in an overlay
OVERLAY_ALPHA = 0.55


def attention_overlay(image: np.ndarray, amap: np.ndarray, vmax: float, side: int = OVERLAY_SIDE,
                      alpha: float = OVERLAY_ALPHA, cmap: str = "inferno") -> np.ndarray:
    """A cross-attention map upsampled (bilinear) to ``side`` pixels and laid over the image (nearest
    neighbour, so the image's pixels stay crisp), as DAAM shows its heat maps: uint8 (side, side, 3).
    The colour scale is [0, ``vmax``], shared by every overlay of a grid so that maps compare; the
    heat's weight grows with the value (``alpha`` at ``vmax``), so the image stays readable where the
    word does not look."""
    from matplotlib import colormaps
    from PIL import Image

    img = np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((side, side), Image.NEAREST), dtype=float)
    up = F.interpolate(torch.as_tensor(np.asarray(amap, dtype=np.float32))[None, None], size=(side, side), mode="bilinear",
                       align_corners=False)[0, 0].numpy()
    t = np.clip(up / (vmax if vmax > 0 else 1.0), 0, 1)
    heat = colormaps[cmap](t)[..., :3] * 255
    a = (alpha * (0.2 + 0.8 * t))[..., None]  # where the word looks, the heat shows; elsewhere, mostly the image
    return (img * (1 - a) + heat * a).round().clip(0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# jobs: picklable (a Dask worker loads the model itself), the default run shared by every kernel
# ---------------------------------------------------------------------------------------------
def _pipe(source):
    """A pipeline object as is, or a checkpoint folder loaded once per process (``models.load_pipeline``)."""
    return models.load_pipeline(source) if isinstance(source, (str, Path)) else source


def explore_job(source, settings: Settings, cache: TrunkCache | None = None, model: str = "shipped", *,
                progress: Progress = no_progress, cancel: CancelToken | None = None) -> Exploration:
    """:func:`explore` on a pipeline or a checkpoint folder (the explorer's background job)."""
    return explore(_pipe(source), settings, cache=cache, model=model, progress=progress, cancel=cancel)


def sweep_job(source, settings: Settings, exploration: Exploration | None = None, *, progress: Progress = no_progress,
              cancel: CancelToken | None = None) -> SweepOutcome:
    """:func:`removal_sweep` on a pipeline or a checkpoint folder (the Removal tab's job)."""
    return removal_sweep(_pipe(source), settings, exploration, progress=progress, cancel=cancel)


def sweep_settings(settings: Settings) -> Settings:
    """What a sweep depends on: the settings without their window (it sweeps every start)."""
    return replace(settings, start=0, end=None)


def result_key(what: str, folder: str | Path, settings: Settings, model: str = "") -> dict:
    """The shared result cache's key of an explorer run (``what`` = "explore" or "sweep") on a checkpoint folder."""
    s = sweep_settings(settings) if what == "sweep" else settings
    return {"what": what, "folder": str(Path(folder).resolve()), "model": model, "settings": s}


def shared_explore(folder: str | Path, settings: Settings, model: str = "shipped", *, progress: Progress = no_progress,
                   cancel: CancelToken | None = None) -> Exploration:
    """:func:`explore_job` computed once per machine (``core.cache``): the dashboard's default run, which
    every visitor's kernel asks for when the page opens."""
    validate(settings)
    return cached("negprompt", result_key("explore", folder, settings, model),
                  lambda: explore_job(folder, settings, None, model, progress=progress, cancel=cancel), cancel=cancel, progress=progress)


def shared_sweep(folder: str | Path, settings: Settings, exploration: Exploration | None = None, *,
                 progress: Progress = no_progress, cancel: CancelToken | None = None) -> SweepOutcome:
    """:func:`sweep_job` computed once per machine (the default setting's sweep)."""
    validate_sweep(settings)
    return cached("negprompt", result_key("sweep", folder, settings),
                  lambda: sweep_job(folder, settings, exploration, progress=progress, cancel=cancel), cancel=cancel, progress=progress)
