"""What the explorer widget shows, computed in one place (no widgets here).

:func:`explore` runs (or re-runs from the cached trunk) one setting and derives the views: images
with and without the negative prompt, per-step previews, the words one can pick with their
attention maps, cancellation maps, critical-step curves and the exports. :func:`removal_sweep`
runs the delay sweep behind the removal panel.

On the shipped shapes model, object masks come from the detector on the image without the
negative prompt (ground truth for the measurement). On other checkpoints there is no detector:
a word's "object" is where its own attention ends up at the last step (the top 20 % of its
positive-prompt map), in the spirit of DAAM, and the UI says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from deletionlab.core.jobs import CancelToken, Progress, no_progress
from deletionlab.negprompt import analysis, detect, models, world
from deletionlab.negprompt.export import Export, export
from deletionlab.negprompt.sampler import Prompts, Run, Settings, Trajectory, encode, run, validate

SKIP_TOKENS = {"<|startoftext|>", "<|endoftext|>", "a", "an", "the", ",", "of", "and", "."}


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

    def critical(self, word: Word, threshold: float = 0.8) -> dict[str, analysis.AttentionCritical]:
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


def _masks_from_detector(image: np.ndarray, prompt: str, negative: str, words: list[Word]) -> tuple[dict, list[str]]:
    dets = detect.detect(image)
    masks: dict[str, np.ndarray] = {}
    wanted = world.parse_caption(prompt) + world.parse_caption(negative)
    for w in words:
        hit = None
        if w.text in world.COLOURS:
            # prefer the object of that colour the prompt asks for, else any of that colour
            shapes = [s for c, s in wanted if c == w.text]
            hit = next((detect.find(dets, w.text, s) for s in shapes if s and detect.find(dets, w.text, s)), None) or detect.find(dets, w.text)
        elif w.text in world.SHAPES:
            colours = [c for c, s in wanted if s == w.text]
            hit = next((detect.find(dets, c, w.text) for c in colours if c and detect.find(dets, c, w.text)), None) or detect.find(dets, None, w.text)
        if hit is not None:
            masks[w.text] = hit.mask
    return masks, [d.name for d in dets]


def _masks_from_attention(traj: Trajectory, words: list[Word], image_side: int, top: float = 0.2) -> dict:
    masks = {}
    for w in words:
        if w.pos_index is None:
            continue
        m = analysis.word_maps(Trajectory(None, traj.records[-1:]), "pos", w.pos_index)[0]
        up = F.interpolate(torch.from_numpy(m)[None, None], size=(image_side, image_side), mode="bilinear", align_corners=False)[0, 0].numpy()
        masks[w.text] = up >= np.quantile(up, 1 - top)
    return masks


def explore(
    pipe, settings: Settings, *, cache: dict | None = None, model: str = "shipped",
    progress: Progress = no_progress, cancel: CancelToken | None = None,
) -> Exploration:
    """Run one setting with recordings; reuse ``cache`` (a dict the caller keeps) when only the
    window changed, so that only the suffix after the new start step is computed."""
    notices = list(validate(settings))
    unseen = models.unseen_words(pipe, settings.prompt + " " + settings.negative_prompt)
    if unseen:
        notices.append(f"The tiny model never saw the word(s) {', '.join(repr(u) for u in unseen[:8])} in training; "
                       "it runs anyway, but expect those words to be ignored or misread.")
    cache = cache if cache is not None else {}
    pkey = (settings.prompt, settings.negative_prompt)
    prompts = cache.get("prompts") if cache.get("prompts_key") == pkey else None
    if prompts is None:
        prompts = encode(pipe, settings.prompt, settings.negative_prompt)
        cache.update(prompts=prompts, prompts_key=pkey, trunk=None)
    trunk = cache.get("trunk")
    if trunk is not None and trunk.key != settings.trunk_key():
        trunk = None
    r = run(pipe, settings, trunk=trunk, prompts=prompts, record=True, previews=True, progress=progress, cancel=cancel)
    cache["trunk"] = r.trunk
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
        ex.mask_source = "top 20 % of the word's own attention at the last step (no detector for this model)"
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


def removal_sweep(
    pipe, settings: Settings, exploration: Exploration | None = None, starts: Sequence[int] | None = None,
    *, progress: Progress = no_progress, cancel: CancelToken | None = None,
) -> SweepOutcome:
    """Delay sweep over start steps from the cached trunk (plus the adaptive start), scored."""
    if not settings.negative_prompt.strip():
        from deletionlab.core.jobs import UserError

        raise UserError("Type a negative prompt (and switch it on) to sweep its start step.")
    steps = settings.steps
    starts = sorted(set(starts if starts is not None else np.linspace(0, steps - 1, min(steps, 10)).round().astype(int).tolist()))
    trunk = exploration.run.trunk if exploration is not None and exploration.run.trunk.key == settings.trunk_key() else None
    prompts = exploration.run.prompts if exploration is not None and trunk is not None else None
    adaptive = None
    target = None
    if exploration is not None and exploration.shapes_world:
        spec = world.parse_caption(settings.negative_prompt)
        if spec:
            target = spec[0]
            shape_word = target[1] or target[0]
            w = exploration.word(shape_word)
            if w is not None:
                crit = exploration.critical(w).get("pos")
                adaptive = crit.step if crit else None
    windows = [(k, steps) for k in starts] + ([(adaptive, steps)] if adaptive is not None else [])
    r = run(pipe, settings, windows=windows, trunk=trunk, prompts=prompts, record=False, previews=False, progress=progress, cancel=cancel)
    ref = r.trunk.image_uint8
    imgs = [b.image_uint8 for b in r.branches]
    mask = None
    others: list = []
    if target is not None:
        dets = detect.detect(ref)
        hit = detect.find(dets, *target)
        mask = hit.mask if hit is not None else None
        others = [(c, s) for c, s in world.parse_caption(settings.prompt) if c and s and (c, s) != target and not (target[0] in (None, c) and target[1] in (None, s))]
    if mask is None:
        mask = np.zeros(ref.shape[:2], bool)
    scores = [analysis.removal_score(im, ref, mask, target if target else (None, None), others) for im in imgs]
    known = target is not None
    removed = [s.removed if known else None for s in scores]
    kept = [s.other_kept if known else None for s in scores]
    n = len(starts)
    crit = analysis.outcome_critical_step(starts, removed[:n]) if known else None
    return SweepOutcome(
        starts=list(starts), images=imgs[:n], reference=ref, background=[s.background_change for s in scores[:n]],
        removed=removed[:n], other_kept=kept[:n], target=world.describe(*target) if target else settings.negative_prompt,
        outcome_critical=crit, adaptive_start=adaptive,
        adaptive_removed=removed[n] if adaptive is not None and known else None,
        adaptive_background=scores[n].background_change if adaptive is not None else None,
    )
