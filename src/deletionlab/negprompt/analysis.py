"""Analyses of negative-prompt runs: cancellation maps, critical steps, removal vs background change.

Each function takes the trajectories of :mod:`deletionlab.negprompt.sampler` (or plain arrays) and
returns a small dataclass. Claims of Ban et al. (2024) they measure:

* *neutralization* -- with P = ε(pos) − ε(∅) and N = ε(neg) − ε(∅), how far the negative prompt's
  push N cancels the positive push P inside an object's mask and outside it (:func:`neutralization`;
  the per-pixel maps of :func:`cancellation_maps` draw the same quantities);
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
#: the settle fractions every critical step is also reported at (the verdicts show how they move)
SETTLE_FRACTIONS = (0.5, 0.6, 0.7, 0.8, 0.9)
#: the second definition of the critical step: the step of the largest per-step rise of the overlap
RISE = "rise"
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


#: tokens that start a new object in a caption of the shapes world ("a red circle above a blue shape")
_ARTICLES = {"a", "an"}


def object_spans(tokens: Sequence[str]) -> list[dict]:
    """The objects a token list describes, in order: per object the token indices of its words and
    the colour and shape it names (None where the caption leaves one open: "a square", "a blue shape")."""
    from deletionlab.negprompt.world import COLOURS, SHAPES

    spans: list[dict] = []
    for i, tok in enumerate(t.lower() for t in tokens):
        if tok in _ARTICLES:
            spans.append({"colour": None, "shape": None, "index": {}})
        elif spans and (tok in COLOURS or tok in SHAPES or tok == "shape"):
            cur = spans[-1]
            if tok in COLOURS:
                cur["colour"] = tok
            elif tok in SHAPES:
                cur["shape"] = tok
            cur["index"].setdefault(tok, i)
    return spans


def object_token_index(tokens: Sequence[str], word: str, target: tuple[str | None, str | None]) -> int | None:
    """Index of ``word`` in the description of the object ``target`` = (colour, shape), e.g. the
    second "square" of "a red square above a square" when the target is the yellow square the model
    drew for "a square". Among the objects that contain the word and do not contradict the target,
    one naming it exactly wins, else the last (B of "A <relation> B"); without objects, the first match."""
    word = word.lower()
    fits = [sp for sp in object_spans(tokens) if word in sp["index"]
            and sp["colour"] in (None, target[0]) and sp["shape"] in (None, target[1])]
    exact = [sp for sp in fits if (sp["colour"], sp["shape"]) == tuple(target)]
    if exact or fits:
        return (exact or fits)[-1]["index"][word]
    return token_index(tokens, word) if not object_spans(tokens) else None


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


def rise_step(curve: Sequence[float], chance: float, min_lift: float = MIN_LIFT) -> int | None:
    """The second definition of the critical step: the step whose map shows the largest rise of the
    overlap over the step before (None if the word never localises, as for :func:`settle_level`)."""
    curve = np.asarray(curve, dtype=float)
    if len(curve) < 2 or curve[-1] < min_lift * chance:
        return None
    return int(np.argmax(np.diff(curve)) + 1)


def critical_steps(curve: Sequence[float], chance: float, fractions: Sequence[float] = SETTLE_FRACTIONS) -> dict[str, int | None]:
    """The critical step of one overlap curve under every definition: ``{"0.5": step, …, "rise": step}``."""
    out: dict[str, int | None] = {}
    for f in fractions:
        level = settle_level(curve, f, chance)
        out[f"{f:g}"] = None if level is None else settle_step(curve, level)
    out[RISE] = rise_step(curve, chance)
    return out


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
    threshold: float = SETTLE_FRACTION, target: tuple[str | None, str | None] | None = None,
) -> AttentionCritical:
    """(a) The first step from which ``word``'s map stays on its object: its attention mass on the
    object's mask stays above chance + ``threshold`` · (final − chance) until the last step.
    ``target`` (colour, shape) picks the token of *that* object's word (:func:`object_token_index`);
    without it, the word's first token.

    Maps at 8×8 and 4×4 (the tiny model) never put *all* their mass on a 10-pixel object, so an
    absolute level would measure resolution, not timing; this relative level measures when the
    map reaches (most of) its final focus."""
    idx = token_index(tokens, word) if target is None else object_token_index(tokens, word, target)
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

    With P = ε(pos) − ε(∅) and N = ε(neg) − ε(∅): ``pos_minus_neg`` = ‖P − N‖ = ‖ε(pos) − ε(neg)‖ and
    ``neg_minus_empty`` = ‖N‖ (norms over latent channels); ``cosine`` = cos(P − N, N) per pixel.
    A cosine of −1 does *not* mean cancellation: it says that N points along P and is longer than P
    there (the negative prompt pushes harder than the positive one). Cancellation is measured by
    ``pn_cosine`` = cos(P, N) (+1: the two pushes align) and ``residual`` = ‖w·P − (w−1)·N‖ / ‖w·P‖,
    what is left of the guided push w·P once the negative prompt takes the empty prompt's place
    (1: untouched, 0: cancelled); see :func:`neutralization`. ``latent_diff`` = ‖x_t(branch) − x_t(no
    negative)‖; ``opposing`` = fraction of pixels with cos(P − N, N) < ``OPPOSING_COSINE`` (−0.5).
    """

    steps: np.ndarray
    pos_minus_neg: np.ndarray
    neg_minus_empty: np.ndarray
    cosine: np.ndarray
    latent_diff: np.ndarray
    opposing: np.ndarray
    negative_active: np.ndarray
    pn_cosine: np.ndarray | None = None
    residual: np.ndarray | None = None

    def region_means(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        """Per-step means of each map inside and outside an (image-resolution) object mask."""
        soft = resize_mask(mask, self.cosine.shape[-1])
        inside, outside = soft > 0.5, soft <= 0.5
        out = {}
        for name in ("pos_minus_neg", "neg_minus_empty", "cosine", "latent_diff", "pn_cosine", "residual"):
            arr = getattr(self, name)
            if arr is None:
                continue
            out[f"{name}_in"] = arr[:, inside].mean(1) if inside.any() else np.full(len(arr), np.nan)
            out[f"{name}_out"] = arr[:, outside].mean(1)
        return out


def _pushes(rec) -> tuple[torch.Tensor, torch.Tensor]:
    """P = ε(pos) − ε(∅) and N = ε(neg) − ε(∅) of one step record, as (channels, h, w)."""
    if "neg" not in rec.eps or "empty" not in rec.eps:
        raise ValueError("the run has no negative prompt, or was not recorded (record=True)")
    return (rec.eps["pos"] - rec.eps["empty"])[0], (rec.eps["neg"] - rec.eps["empty"])[0]


def cancellation_maps(run: Run, branch: int = 0) -> CancellationMaps:
    """:class:`CancellationMaps` of one branch of a recorded run (needs a negative prompt)."""
    traj = run.branches[branch] if run.branches else run.trunk
    w = float(run.settings.guidance)
    pmn, nme, cos, pn, res, dif, act = [], [], [], [], [], [], []
    for rec, ref in zip(traj.records, run.trunk.records):
        p, n = _pushes(rec)
        pmn.append((p - n).norm(dim=0).numpy())
        nme.append(n.norm(dim=0).numpy())
        cos.append(F.cosine_similarity(p - n, n, dim=0, eps=1e-8).numpy())
        pn.append(F.cosine_similarity(p, n, dim=0, eps=1e-8).numpy())
        res.append(((w * p - (w - 1) * n).norm(dim=0) / (w * p).norm(dim=0).clamp_min(1e-8)).numpy())
        dif.append((rec.latent - ref.latent)[0].norm(dim=0).numpy())
        act.append(rec.negative_active)
    cos_a = np.stack(cos)
    return CancellationMaps(
        steps=np.array([r.index for r in traj.records]),
        pos_minus_neg=np.stack(pmn), neg_minus_empty=np.stack(nme), cosine=cos_a,
        latent_diff=np.stack(dif), opposing=(cos_a < OPPOSING_COSINE).mean(axis=(1, 2)), negative_active=np.array(act),
        pn_cosine=np.stack(pn), residual=np.stack(res),
    )


@dataclass
class Neutralization:
    """Per step, inside and outside an object's mask (latent resolution): cos(P, N) of the pushes
    P = ε(pos) − ε(∅) and N = ε(neg) − ε(∅) as vectors over the region's pixels and channels, and
    the residual ‖w·P − (w−1)·N‖ / ‖w·P‖ of the guided push (1: the negative prompt changed nothing,
    0: it cancelled the positive push). Deletion by neutralization predicts a higher cosine and a
    lower residual inside the object than outside."""

    cos_in: np.ndarray
    cos_out: np.ndarray
    residual_in: np.ndarray
    residual_out: np.ndarray

    def as_lists(self, digits: int = 4) -> dict[str, list[float]]:
        return {k: [round(float(v), digits) for v in getattr(self, k)] for k in ("cos_in", "cos_out", "residual_in", "residual_out")}


def neutralization(traj: Trajectory, mask: np.ndarray, guidance: float) -> Neutralization:
    """:class:`Neutralization` of a recorded trajectory (every step's ε(∅), ε(pos), ε(neg) at that
    step's x_t: the trunk of a run with a negative prompt and ``record=True``) against an
    image-resolution ``mask``."""
    side = traj.records[0].eps["pos"].shape[-1]
    inside = torch.from_numpy(resize_mask(mask, side) > 0.5)
    if not inside.any() or inside.all():
        raise ValueError("the mask must cover part of the image at latent resolution")
    w = float(guidance)
    out: dict[str, list[float]] = {k: [] for k in ("cos_in", "cos_out", "residual_in", "residual_out")}
    for rec in traj.records:
        p, n = _pushes(rec)
        for name, region in (("in", inside), ("out", ~inside)):
            pv, nv = p[:, region].flatten(), n[:, region].flatten()
            out[f"cos_{name}"].append(float(F.cosine_similarity(pv, nv, dim=0, eps=1e-12)))
            out[f"residual_{name}"].append(float((w * pv - (w - 1) * nv).norm() / (w * pv).norm().clamp_min(1e-12)))
    return Neutralization(**{k: np.array(v) for k, v in out.items()})


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
