"""Analyses of negative-prompt runs: cancellation maps, critical steps, removal vs background change.

Each function takes the trajectories of :mod:`deletionlab.negprompt.sampler` (or plain arrays) and
returns a small dataclass. Claims of Ban et al. (2024) they measure:

* *neutralization* -- ε(pos) − ε(neg) and ε(neg) − ε(∅) per pixel and where they oppose
  (:func:`cancellation_maps`);
* *delayed effect* -- the step at which a word's cross-attention map settles on its object, for
  the word in the positive vs the negative prompt (:func:`attention_critical_step`), and the
  latest start step that still removes the object (:func:`outcome_critical_step`);
* *object removal with little background change* (:func:`removal_score`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from deletionlab.negprompt import detect
from deletionlab.negprompt.sampler import Run, Trajectory

#: a word's map has "settled" on its object once its overlap stays this fraction of the way from chance
#: to its final overlap (a relative level: 8x8 and 4x4 maps never put all their mass on a small object)
SETTLE_FRACTION = 0.8
#: a word whose final overlap stays below this multiple of chance never localises on its object
MIN_LIFT = 1.5
#: ε(pos) − ε(neg) and ε(neg) − ε(∅) "oppose" at a pixel when their cosine is below this
OPPOSING_COSINE = -0.5


# ---------------------------------------------------------------------------------------------
# tokens and attention maps
# ---------------------------------------------------------------------------------------------
def token_index(tokens: Sequence[str], word: str, after: str | None = None) -> int | None:
    """Index of ``word`` in a token list (first match; with ``after``, the first match that follows
    that word directly, e.g. the shape of "blue square" in "a red square above a blue square")."""
    word = word.lower()
    for i, tok in enumerate(tokens):
        if tok.lower() == word and (after is None or (i > 0 and tokens[i - 1].lower() == after.lower())):
            return i
    return None


def word_maps(traj: Trajectory, branch: str, index: int, side: int | None = None) -> np.ndarray:
    """(steps, side, side) attention maps of one token, averaged over resolutions (each map is
    bilinearly resized to ``side``, default the finest recorded resolution) and normalised to sum 1."""
    out = []
    for rec in traj.records:
        maps = rec.attention.get(branch)
        if not maps:
            raise ValueError(f"no '{branch}' attention was recorded at step {rec.index} (run with record=True)")
        s = side or max(maps)
        acc = None
        for m in maps.values():
            a = m[index][None, None].float()
            a = F.interpolate(a, size=(s, s), mode="bilinear", align_corners=False)[0, 0]
            a = a / a.sum().clamp_min(1e-12)
            acc = a if acc is None else acc + a
        acc = acc / acc.sum().clamp_min(1e-12)
        out.append(acc.numpy())
    return np.stack(out)


def resize_mask(mask: np.ndarray, side: int) -> np.ndarray:
    """Area-average a boolean (H, W) mask to (side, side): the fraction of each cell covered."""
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    return F.adaptive_avg_pool2d(m, side)[0, 0].numpy()


def mask_overlap(maps: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fraction of each map's attention mass that falls on the object (soft mask at map resolution)."""
    soft = resize_mask(mask, maps.shape[-1])
    return (maps * soft[None]).sum(axis=(1, 2)) / np.maximum(maps.sum(axis=(1, 2)), 1e-12)


def settle_level(curve: Sequence[float], fraction: float, chance: float, min_lift: float = MIN_LIFT) -> float | None:
    """The overlap a word must reach to count as "on its object": ``fraction`` of the way from
    chance (a uniform map) to where the curve ends; None if it ends below ``min_lift`` × chance
    (the word never localises on the object, e.g. colour words in a tiny model)."""
    final = float(np.asarray(curve)[-1])
    if final < min_lift * chance:
        return None
    return chance + fraction * (final - chance)


def settle_step(curve: Sequence[float], threshold: float) -> int | None:
    """First step from which the curve stays at or above ``threshold`` until the end (None: never)."""
    curve = np.asarray(curve)
    ok = curve >= threshold
    if not ok[-1]:
        return None
    below = np.nonzero(~ok)[0]
    return int(below[-1] + 1) if len(below) else 0


@dataclass
class AttentionCritical:
    """Attention critical step of one word in one branch: overlap curve and where it settles."""

    word: str
    branch: str  # "pos" or "neg"
    overlap: np.ndarray  # (steps,)
    chance: float  # overlap of a uniform map = the object's area fraction
    threshold: float  # fraction of the way from chance to the final overlap
    level: float | None  # the overlap that counts as settled (None: never localises)
    step: int | None


def attention_critical_step(
    traj: Trajectory, tokens: Sequence[str], word: str, mask: np.ndarray, branch: str = "pos",
    threshold: float = SETTLE_FRACTION, after: str | None = None,
) -> AttentionCritical:
    """(a) The first step from which ``word``'s map stays on its object: its attention mass on the
    object's mask stays above chance + ``threshold`` · (final − chance) until the last step.

    Maps at 8×8 and 4×4 (the tiny model) never put *all* their mass on a 10-pixel object, so an
    absolute level would measure resolution, not timing; this relative level measures when the
    map reaches (most of) its final focus."""
    idx = token_index(tokens, word, after)
    if idx is None:
        raise ValueError(f"'{word}' is not a token of the {branch} prompt ({' '.join(tokens)})")
    return critical_from_maps(word, branch, word_maps(traj, branch, idx), mask, threshold)


def critical_from_maps(word: str, branch: str, maps: np.ndarray, mask: np.ndarray,
                       threshold: float = SETTLE_FRACTION) -> AttentionCritical:
    """:class:`AttentionCritical` of a stack of (steps, h, w) attention maps against a mask."""
    ov = mask_overlap(maps, mask)
    chance = float(resize_mask(mask, maps.shape[-1]).mean())
    level = settle_level(ov, threshold, chance)
    return AttentionCritical(word, branch, ov, chance, threshold, level, None if level is None else settle_step(ov, level))


# ---------------------------------------------------------------------------------------------
# cancellation maps
# ---------------------------------------------------------------------------------------------
@dataclass
class CancellationMaps:
    """Per step (axis 0) maps at latent resolution for one branch of a run.

    ``pos_minus_neg`` = ‖ε(pos) − ε(neg)‖ and ``neg_minus_empty`` = ‖ε(neg) − ε(∅)‖ (norms over
    latent channels); ``cosine`` = cos(ε(pos) − ε(neg), ε(neg) − ε(∅)) per pixel (−1: they point
    in opposite directions, the negative prompt cancels what the positive adds); ``latent_diff`` =
    ‖x_t(branch) − x_t(no negative)‖; ``opposing`` = fraction of pixels with cosine < ``OPPOSING_COSINE`` (−0.5).
    """

    steps: np.ndarray
    pos_minus_neg: np.ndarray
    neg_minus_empty: np.ndarray
    cosine: np.ndarray
    latent_diff: np.ndarray
    opposing: np.ndarray
    negative_active: np.ndarray

    def region_means(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        """Per-step means of each map inside and outside an (image-resolution) object mask."""
        soft = resize_mask(mask, self.cosine.shape[-1])
        inside, outside = soft > 0.5, soft <= 0.5
        out = {}
        for name in ("pos_minus_neg", "neg_minus_empty", "cosine", "latent_diff"):
            arr = getattr(self, name)
            out[f"{name}_in"] = arr[:, inside].mean(1) if inside.any() else np.full(len(arr), np.nan)
            out[f"{name}_out"] = arr[:, outside].mean(1)
        return out


def cancellation_maps(run: Run, branch: int = 0) -> CancellationMaps:
    """:class:`CancellationMaps` of one branch of a recorded run (needs a negative prompt)."""
    traj = run.branches[branch] if run.branches else run.trunk
    pmn, nme, cos, dif, act = [], [], [], [], []
    for rec, ref in zip(traj.records, run.trunk.records):
        if "neg" not in rec.eps:
            raise ValueError("the run has no negative prompt, or was not recorded (record=True)")
        a = (rec.eps["pos"] - rec.eps["neg"])[0]
        b = (rec.eps["neg"] - rec.eps["empty"])[0]
        pmn.append(a.norm(dim=0).numpy())
        nme.append(b.norm(dim=0).numpy())
        cos.append(F.cosine_similarity(a, b, dim=0, eps=1e-8).numpy())
        dif.append((rec.latent - ref.latent)[0].norm(dim=0).numpy())
        act.append(rec.negative_active)
    cos_a = np.stack(cos)
    return CancellationMaps(
        steps=np.array([r.index for r in traj.records]),
        pos_minus_neg=np.stack(pmn), neg_minus_empty=np.stack(nme), cosine=cos_a,
        latent_diff=np.stack(dif), opposing=(cos_a < OPPOSING_COSINE).mean(axis=(1, 2)), negative_active=np.array(act),
    )


# ---------------------------------------------------------------------------------------------
# outcomes: removal, background change, critical start step
# ---------------------------------------------------------------------------------------------
@dataclass
class RemovalScore:
    """Outcome of one run with the negative prompt against the run without it."""

    removed: bool  # the target is no longer detected
    other_kept: bool  # every other requested object is still detected
    background_change: float  # mean |Δpixel| (0..1) outside the target's (dilated) mask
    target_change: float  # mean |Δpixel| inside it


def removal_score(
    image: np.ndarray, reference: np.ndarray, mask: np.ndarray, target: tuple[str | None, str | None],
    others: Sequence[tuple[str, str]] = (), dilate: int = 1,
) -> RemovalScore:
    """Score one image: is ``target`` (colour, shape) gone, are ``others`` kept, how much did the
    rest of the picture change relative to ``reference`` (the run without the negative prompt)."""
    img, ref = _f01(image), _f01(reference)
    dets = detect.detect(_u8(img))
    removed = not detect.present(dets, *target)
    other_kept = all(detect.present(dets, c, s) for c, s in others)
    big = ndimage.binary_dilation(mask, iterations=dilate) if dilate else mask
    diff = np.abs(img - ref).mean(-1)
    bg = float(diff[~big].mean()) if (~big).any() else 0.0
    fg = float(diff[mask].mean()) if mask.any() else 0.0
    return RemovalScore(removed, other_kept, bg, fg)


def outcome_critical_step(starts: Sequence[int], removed: Sequence[bool]) -> int | None:
    """(b) The latest start step that still removes the object, counting only starts up to which
    every earlier start removed it too (None: even starting at the first step fails)."""
    order = np.argsort(starts)
    last = None
    for i in order:
        if not removed[i]:
            break
        last = int(starts[i])
    return last


def _f01(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    return img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img.astype(np.float32)


def _u8(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    return img if img.dtype == np.uint8 else (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


@dataclass
class MeanStd:
    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.1f} ± {self.std:.1f} (n={self.n})" if self.n else "n/a"


def mean_std(values: Sequence[float | None]) -> MeanStd:
    v = np.array([x for x in values if x is not None], dtype=float)
    if not len(v):
        return MeanStd(float("nan"), float("nan"), 0)
    return MeanStd(float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, len(v))
