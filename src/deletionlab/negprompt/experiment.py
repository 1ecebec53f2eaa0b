"""The study's measurements over many scenes: critical steps, reverse activation, removal curves.

For each scene a two-object layout "A <relation> B" is drawn; B is what the negative prompt deletes.
A negative prompt cannot delete what the prompt itself demands (with "A above a blue square" and
the negative "a blue square", ε̂ = ε(neg) + w·(ε(pos) − ε(neg)) still carries the square with
weight 1); it deletes what the model *chose*. So the prompt leaves one attribute of B open:

* **noun design** -- prompt "A <rel> a blue shape": the model picks B's shape X; negatives
  "a X" (the noun) and "a blue X" (the whole object). Removed = no blue X any more.
* **adjective design** -- prompt "A <rel> a square": the model picks B's colour c; negative
  "a c shape" (the adjective). Removed = no c square any more.
* **named** (for contrast) -- prompt "A <rel> a blue square", negative "a blue square".

1. One recorded run *without* the negative prompt (the trunk) per design gives the image in which
   B is drawn (its detector mask is the ground truth) and, on the same latents x_t, the attention
   maps of B's words in the prompt and in the negative prompt "a <colour> <shape>" → *attention
   critical steps* (a): nouns from the adjective design (the noun is in both prompts), adjectives
   from the noun design (the adjective is in both prompts).
2. Delay sweeps from the cached trunk with the negative prompt starting at k ∈ starts (and at the
   per-image adaptive start: the step at which the negative prompt's noun settles on B) →
   removal, other object kept, background change per k, and the *outcome critical step* (b) =
   the latest start that still removes B.
3. Reverse activation: prompt "A" alone with the negative "B" only in an early window [0, k):
   how often B appears although nobody asked for it, against the run without negative prompt.

:func:`run_experiment` runs it all for an :class:`ExperimentConfig` and returns the JSON-able dict
that ``scripts/negprompt_experiment.py`` writes to ``results.json``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from deletionlab.core.jobs import CancelToken, Progress, check_cancel, no_progress
from deletionlab.negprompt import DEFAULT_GUIDANCE, DEFAULT_STARTS, DEFAULT_STEPS, analysis, detect, world
from deletionlab.negprompt.analysis import SETTLE_FRACTION
from deletionlab.negprompt.sampler import Run, Settings, run

NEGATIVE_KINDS = ("noun", "adjective", "object", "named")
#: ends k of the early-only windows [0, k) of the reverse-activation measurement (30 = always on)
REVERSE_ENDS = (2, 4, 6, 8, 10, 15, 30)
#: the reverse-activation prompts are drawn with ``seed + REVERSE_SEED_OFFSET``: other pairs than the scenes'
REVERSE_SEED_OFFSET = 1
#: the notebook's live mini-study draws its scenes with this seed, so they are not the committed run's (seed 0)
LIVE_SEED = 123


def negative_for(kind: str, colour: str, shape: str) -> tuple[str, tuple[str | None, str | None]]:
    """The negative prompt naming B by its noun / adjective / whole, and the object whose absence
    counts as "removed" (B's colour *and* shape as the model drew them)."""
    if kind in ("object", "named"):
        return world.describe(colour, shape), (colour, shape)
    if kind == "noun":
        return world.describe(None, shape), (colour, shape)
    if kind == "adjective":
        return world.describe(colour, None), (colour, shape)
    raise ValueError(kind)


@dataclass
class SceneResult:
    caption: str
    seed: int
    target: tuple[str, str]
    other: tuple[str, str]
    rendered: bool  # some design drew both objects without a negative prompt (else the scene is skipped)
    drawn: dict = field(default_factory=dict)  # design -> [colour, shape] of B as the model drew it
    attention: dict = field(default_factory=dict)  # e.g. {"pos_noun": step|None, ...}
    attention_curves: dict = field(default_factory=dict)  # same keys → overlap per step
    starts: list = field(default_factory=list)
    removed: dict = field(default_factory=dict)  # kind → [bool per start]
    other_kept: dict = field(default_factory=dict)
    background: dict = field(default_factory=dict)  # kind → [float per start]
    outcome_critical: dict = field(default_factory=dict)  # kind → int|None
    adaptive_start: int | None = None
    adaptive: dict = field(default_factory=dict)  # {"removed", "other_kept", "background"}


@dataclass
class ReverseResult:
    prompt: str
    negative: str
    seed: int
    ends: list
    appeared: list  # per end k: the named object appears with the negative only in [0, k)
    appeared_colour: list  # ... or at least its colour
    baseline: bool  # it appears without any negative prompt


@dataclass
class StudyResults:
    """Everything the notebook reports; ``summary()`` aggregates over scenes."""

    steps: int
    guidance: float
    threshold: float
    starts: list
    scenes: list = field(default_factory=list)
    reverse: list = field(default_factory=list)
    seconds: float = 0.0
    model: str = ""

    def summary(self) -> dict:
        ok = [s for s in self.scenes if s.rendered]
        out: dict = {"scenes": len(self.scenes), "rendered": len(ok), "steps": self.steps, "guidance": self.guidance,
                     "threshold": self.threshold}
        for key in ("pos_noun", "pos_adjective", "neg_noun", "neg_adjective"):
            vals = [s.attention.get(key) for s in ok if key in s.attention]
            ms = analysis.mean_std(vals)
            out[f"attention_{key}"] = {"mean": ms.mean, "std": ms.std, "n": ms.n, "never": sum(v is None for v in vals)}
        for kind in NEGATIVE_KINDS:
            have = [s for s in ok if kind in s.removed]
            vals = [s.outcome_critical.get(kind) for s in have]
            ms = analysis.mean_std(vals)
            out[f"outcome_{kind}"] = {"mean": ms.mean, "std": ms.std, "n": ms.n, "never": sum(v is None for v in vals), "scenes": len(have)}
            if have:
                rem = np.array([s.removed[kind] for s in have], dtype=float)
                kept = np.array([s.other_kept[kind] for s in have], dtype=float)
                bg = np.array([s.background[kind] for s in have], dtype=float)
                out[f"curve_{kind}"] = {"starts": list(self.starts), "removed": rem.mean(0).tolist(),
                                        "other_kept": kept.mean(0).tolist(), "background": bg.mean(0).tolist()}
        ad = [s for s in ok if s.adaptive]
        if ad:
            out["adaptive"] = {
                "kind": "object",
                "start": analysis.mean_std([s.adaptive_start for s in ad]).__dict__,
                "removed": float(np.mean([s.adaptive["removed"] for s in ad])),
                "other_kept": float(np.mean([s.adaptive["other_kept"] for s in ad])),
                "background": float(np.mean([s.adaptive["background"] for s in ad])),
                "n": len(ad),
            }
        if self.reverse:
            ends = self.reverse[0].ends
            out["reverse"] = {
                "ends": list(ends),
                "appeared": np.mean([r.appeared for r in self.reverse], axis=0).tolist(),
                "appeared_colour": np.mean([r.appeared_colour for r in self.reverse], axis=0).tolist(),
                "baseline": float(np.mean([r.baseline for r in self.reverse])),
                "n": len(self.reverse),
            }
        return out

    def to_json(self) -> dict:
        return {"summary": self.summary(), "scenes": [asdict(s) for s in self.scenes],
                "reverse": [asdict(r) for r in self.reverse], "seconds": self.seconds, "model": self.model,
                "starts": list(self.starts)}


def draw_scenes(n: int, seed: int = 0) -> list[tuple[str, tuple[str, str], tuple[str, str], int]]:
    """n two-object prompts (caption, target B, other A, image seed), reproducible."""
    rng = np.random.default_rng(seed)
    objs = world.all_objects()
    out = []
    for i in range(n):
        while True:
            a, b = (objs[j] for j in rng.choice(len(objs), 2, replace=False))
            if a[0] != b[0]:
                break
        rel = str(rng.choice(world.RELATIONS))
        caption = f"{world.describe(*a)} {rel} {world.describe(*b)}"
        out.append((caption, b, a, int(rng.integers(0, 2**31 - 1))))
    return out


def _sweep(pipe, prompt, negative, tgt, other, ref_img, mask, seed, steps, guidance, starts, trunk, extra=()):
    sw = run(pipe, Settings(prompt, negative, steps, guidance, seed), windows=[(k, steps) for k in [*starts, *extra]],
             record=False, previews=False, trunk=trunk)
    return [analysis.removal_score(b.image, ref_img, mask, tgt, [other]) for b in sw.branches]


@dataclass
class _Drawn:
    """B as the model drew it in one design's run without the negative prompt."""

    prompt: str
    colour: str
    shape: str
    mask: np.ndarray
    recorded: Run | None = None  # the recorded run of the attention measurement, if one was made


def scene_study(
    pipe, caption: str, target: tuple[str, str], other: tuple[str, str], seed: int, *,
    steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE, starts: Sequence[int] = DEFAULT_STARTS,
    threshold: float = SETTLE_FRACTION, kinds: Sequence[str] = NEGATIVE_KINDS, cancel: CancelToken | None = None,
) -> SceneResult:
    """All per-scene measurements (see the module docstring). ``caption`` is the fully named layout."""
    res = SceneResult(caption, seed, target, other, rendered=False, starts=list(starts))
    base = Settings(caption, "", steps, guidance, seed)  # the step count, guidance and seed of every run
    drawn = _draw_designs(pipe, base, target, other, kinds, cancel)
    res.drawn = {k: [d.colour, d.shape] for k, d in drawn.items()}
    res.rendered = bool(drawn)  # each measurement uses the scenes whose design drew B
    if not res.rendered:
        return res
    _attention_steps(pipe, res, drawn, base, threshold, cancel)
    _removal_sweeps(pipe, res, drawn, base, starts, kinds, cancel)
    return res


def _draw_designs(pipe, base: Settings, target, other, kinds, cancel) -> dict[str, _Drawn]:
    """Run each design's prompt without a negative prompt and find B (and A) with the detector."""
    bc, bs = target
    rel = next(r for r in world.RELATIONS if f" {r} " in base.prompt)
    A = world.describe(*other)
    designs = {
        "noun": f"{A} {rel} {world.describe(bc, None)}",  # B's shape left to the model
        "adjective": f"{A} {rel} {world.describe(None, bs)}",  # B's colour left to the model
        "named": base.prompt,
    }
    drawn = {}
    for design, prompt in designs.items():
        if design not in kinds and not (design == "noun" and "object" in kinds):
            continue
        check_cancel(cancel)
        rec = run(pipe, replace(base, prompt=prompt), windows=[], record=False, previews=False, cancel=cancel)
        dets = detect.detect(analysis._u8(rec.trunk.image))
        hit_o = detect.find(dets, *other)
        if design == "noun":
            hit = next((d for d in dets if d.colour == bc and d is not hit_o), None)
        elif design == "adjective":
            hit = next((d for d in dets if d.shape == bs and d.colour != other[0] and d is not hit_o), None)
        else:
            hit = detect.find(dets, bc, bs)
        if hit is None or hit_o is None:
            continue
        drawn[design] = _Drawn(prompt, hit.colour, hit.shape, hit.mask)
    return drawn


def _attention_steps(pipe, res: SceneResult, drawn: dict[str, _Drawn], base: Settings, threshold: float, cancel) -> None:
    """(a) Attention critical steps: same latents, the word in the prompt vs in the negative prompt
    (nouns from the adjective design, adjectives from the noun design), and the adaptive start."""
    for design, word_kind in (("adjective", "noun"), ("noun", "adjective")):
        if design not in drawn:
            continue
        d = drawn[design]
        neg = world.describe(d.colour, d.shape)
        rec = run(pipe, replace(base, prompt=d.prompt, negative_prompt=neg), windows=[], record=True, previews=False, cancel=cancel)
        d.recorded = rec
        word = d.shape if word_kind == "noun" else d.colour
        for branch, tokens in (("pos", rec.prompts.pos_tokens), ("neg", rec.prompts.neg_tokens)):
            ac = analysis.attention_critical_step(rec.trunk, tokens, word, d.mask, branch, threshold, after=None)
            res.attention[f"{branch}_{word_kind}"] = ac.step
            res.attention_curves[f"{branch}_{word_kind}"] = [round(float(v), 4) for v in ac.overlap]
        if design == "noun":  # the negative prompt's noun on this trunk gives the adaptive start
            ac = analysis.attention_critical_step(rec.trunk, rec.prompts.neg_tokens, d.shape, d.mask, "neg", threshold)
            res.adaptive_start = ac.step


def _removal_sweeps(pipe, res: SceneResult, drawn: dict[str, _Drawn], base: Settings, starts, kinds, cancel) -> None:
    """(b) Delay sweeps from the cached trunks: removal, other object kept, background change per start."""
    steps, guidance, seed = base.steps, base.guidance, base.seed
    for kind in kinds:
        check_cancel(cancel)
        design = "noun" if kind in ("noun", "object") else kind
        if design not in drawn:
            continue
        d = drawn[design]
        neg, tgt = negative_for(kind, d.colour, d.shape)
        if d.recorded is not None:
            trunk, ref = d.recorded.trunk, d.recorded.trunk.image
        else:
            trunk, ref = None, run(pipe, replace(base, prompt=d.prompt), windows=[], record=False, previews=False).trunk.image
        extra = [res.adaptive_start] if kind == "object" and res.adaptive_start is not None else []
        scores = _sweep(pipe, d.prompt, neg, tgt, res.other, ref, d.mask, seed, steps, guidance, starts, trunk, extra)
        n = len(starts)
        res.removed[kind] = [sc.removed for sc in scores[:n]]
        res.other_kept[kind] = [sc.other_kept for sc in scores[:n]]
        res.background[kind] = [round(sc.background_change, 5) for sc in scores[:n]]
        res.outcome_critical[kind] = analysis.outcome_critical_step(list(starts), res.removed[kind])
        if extra:
            sc = scores[-1]
            res.adaptive = {"removed": sc.removed, "other_kept": sc.other_kept, "background": round(sc.background_change, 5)}


def reverse_study(
    pipe, prompt: str, negative: str, named: tuple[str, str], seed: int, *, steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE,
    ends: Sequence[int] = REVERSE_ENDS, cancel: CancelToken | None = None,
) -> ReverseResult:
    """Reverse activation: the negative prompt only in [0, k) — does the object it names appear?"""
    s = Settings(prompt, negative, steps, guidance, seed)
    r = run(pipe, s, windows=[(0, k) for k in ends], record=False, previews=False, cancel=cancel)
    def seen(img, colour_only=False):
        dets = detect.detect(analysis._u8(img))
        return detect.present(dets, named[0], None if colour_only else named[1])
    return ReverseResult(prompt, negative, seed, list(ends), [seen(b.image) for b in r.branches],
                         [seen(b.image, True) for b in r.branches], seen(r.trunk.image))


def study(
    pipe, n_scenes: int = 50, seed: int = 0, *, steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE,
    starts: Sequence[int] = DEFAULT_STARTS, threshold: float = SETTLE_FRACTION,
    n_reverse: int | None = None, kinds: Sequence[str] = NEGATIVE_KINDS, model: str = "",
    progress: Progress = no_progress, cancel: CancelToken | None = None,
) -> StudyResults:
    """Run :func:`scene_study` on ``n_scenes`` scenes and :func:`reverse_study` on ``n_reverse``."""
    t0 = time.time()
    n_reverse = n_scenes if n_reverse is None else n_reverse
    out = StudyResults(steps, guidance, threshold, list(starts), model=model)
    scenes = draw_scenes(n_scenes, seed)
    total = n_scenes + n_reverse
    for i, (caption, b, a, s) in enumerate(scenes):
        check_cancel(cancel)
        out.scenes.append(scene_study(pipe, caption, b, a, s, steps=steps, guidance=guidance, starts=starts,
                                      threshold=threshold, kinds=kinds, cancel=cancel))
        progress(i + 1, total, f"scene {i + 1}/{n_scenes}: {caption}")
    for i, (caption, b, a, s) in enumerate(draw_scenes(n_reverse, seed + REVERSE_SEED_OFFSET)):
        check_cancel(cancel)
        out.reverse.append(reverse_study(pipe, world.describe(*a), world.describe(*b), b, s, steps=steps, guidance=guidance, cancel=cancel))
        progress(n_scenes + i + 1, total, f"reverse activation {i + 1}/{n_reverse}")
    out.seconds = time.time() - t0
    return out


@dataclass(frozen=True)
class ExperimentConfig:
    """What :func:`run_experiment` measures; the defaults are the committed run's."""

    scenes: int = 100
    reverse: int | None = None  # reverse-activation prompts (None: as many as scenes)
    seed: int = 0
    steps: int = DEFAULT_STEPS
    guidance: float = DEFAULT_GUIDANCE
    starts: tuple[int, ...] = DEFAULT_STARTS
    threshold: float = SETTLE_FRACTION
    kinds: tuple[str, ...] = NEGATIVE_KINDS
    model: str = "shipped tiny-shapes-sd"

    @classmethod
    def small(cls, scenes: int = 2) -> ExperimentConfig:
        """The notebook's live mini-study (and CI): a few scenes, whole-object negatives only."""
        return cls(scenes=scenes, reverse=scenes, seed=LIVE_SEED, kinds=("object",), model="")


def run_experiment(config: ExperimentConfig, pipe=None, *, progress: Progress = no_progress,
                   cancel: CancelToken | None = None) -> dict:
    """The study for ``config`` on ``pipe`` (default: the shipped model) as a JSON-able dict."""
    if pipe is None:
        from deletionlab.negprompt.models import load_pipeline

        pipe = load_pipeline()
    res = study(pipe, n_scenes=config.scenes, n_reverse=config.reverse, seed=config.seed, steps=config.steps,
                guidance=config.guidance, starts=config.starts, threshold=config.threshold, kinds=config.kinds,
                model=config.model, progress=progress, cancel=cancel)
    return res.to_json()
