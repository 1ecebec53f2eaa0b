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
   from the noun design (the adjective is in both prompts). The word is B's own token (in "a red
   square above a square" the second "square"), and the step is kept under every definition
   (settle fractions 0.5 … 0.9 and the largest per-step rise), so the report can pair the prompt's
   and the negative prompt's steps scene by scene under each.
   On the noun design's trunk the same record gives the *neutralization* measurement: the pushes
   P = ε(pos) − ε(∅) and N = ε(neg) − ε(∅) inside and outside B's mask, per step.
2. Delay sweeps from the cached trunk with the negative prompt starting at k ∈ starts (the
   whole-object negative at *every* step by default, so a fixed start at any mean step exists) →
   removal, other object kept, background change per k, the *outcome critical step* (b) = the
   latest start that still removes B, and the per-image adaptive start (the step at which the
   negative prompt's noun settles on B).
3. Reverse activation: prompt "A" alone with the negative "B" only in an early window [0, k):
   how often B appears although nobody asked for it, against the run without negative prompt.

:func:`run_experiment` runs it all for an :class:`ExperimentConfig` and returns the JSON-able dict
that ``scripts/negprompt_experiment.py`` writes to ``results.json``; the summary is computed by
:mod:`.aggregate`. With a checkpoint file it resumes after an interruption.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress
from deletionlab.negprompt import DEFAULT_GUIDANCE, DEFAULT_STARTS, DEFAULT_STEPS, aggregate, analysis, detect, world
from deletionlab.negprompt.analysis import SETTLE_FRACTION
from deletionlab.negprompt.sampler import Run, Settings, check_steps, run, shown

NEGATIVE_KINDS = ("noun", "adjective", "object", "named")
#: ends k of the early-only windows [0, k) of the reverse-activation measurement (30 = always on)
REVERSE_ENDS = (2, 4, 6, 8, 10, 15, 30)
#: the reverse-activation prompts are drawn with ``seed + REVERSE_SEED_OFFSET``: other pairs than the scenes'
REVERSE_SEED_OFFSET = 1
#: the notebook's live mini-study draws its scenes with this seed, so they are not the committed run's (seed 0)
LIVE_SEED = 123
#: more scenes than this is a typing mistake (the committed run has 100; each takes about half a minute)
MAX_SCENES = 10_000


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
    attention: dict = field(default_factory=dict)  # e.g. {"pos_noun": step|None, ...} at the config's threshold
    attention_curves: dict = field(default_factory=dict)  # same keys → overlap per step
    attention_chance: dict = field(default_factory=dict)  # same keys → overlap of a uniform map (B's area)
    attention_steps: dict = field(default_factory=dict)  # same keys → {"0.5": step, …, "0.9": step, "rise": step}
    starts: list = field(default_factory=list)
    object_starts: list = field(default_factory=list)  # the whole-object negative's starts (every step by default)
    removed: dict = field(default_factory=dict)  # kind → [bool per start]
    other_kept: dict = field(default_factory=dict)
    background: dict = field(default_factory=dict)  # kind → [float per start]
    outcome_critical: dict = field(default_factory=dict)  # kind → int|None
    adaptive_start: int | None = None
    adaptive: dict = field(default_factory=dict)  # {"removed", "other_kept", "background"}
    neutralization: dict = field(default_factory=dict)  # {"cos_in": [per step], "cos_out", "residual_in", "residual_out"}


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
    """Everything the notebook reports; ``summary()`` aggregates over scenes (:mod:`.aggregate`)."""

    steps: int
    guidance: float
    threshold: float
    starts: list
    scenes: list = field(default_factory=list)
    reverse: list = field(default_factory=list)
    seconds: float = 0.0
    model: str = ""

    def summary(self) -> dict:
        return aggregate.summarize([asdict(s) for s in self.scenes], [asdict(r) for r in self.reverse],
                                   steps=self.steps, guidance=self.guidance, threshold=self.threshold)

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
    object_starts: Sequence[int] | None = None, threshold: float = SETTLE_FRACTION, kinds: Sequence[str] = NEGATIVE_KINDS,
    cancel: CancelToken | None = None,
) -> SceneResult:
    """All per-scene measurements (see the module docstring). ``caption`` is the fully named layout;
    ``object_starts`` (default ``starts``) are the whole-object negative's start steps."""
    object_starts = list(starts if object_starts is None else object_starts)
    res = SceneResult(caption, seed, target, other, rendered=False, starts=list(starts), object_starts=object_starts)
    base = Settings(caption, "", steps, guidance, seed)  # the step count, guidance and seed of every run
    drawn = _draw_designs(pipe, base, target, other, kinds, cancel)
    res.drawn = {k: [d.colour, d.shape] for k, d in drawn.items()}
    res.rendered = bool(drawn)  # each measurement uses the scenes whose design drew B
    if not res.rendered:
        return res
    _attention_steps(pipe, res, drawn, base, threshold, cancel)
    _removal_sweeps(pipe, res, drawn, base, kinds, cancel)
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
    """(a) Attention critical steps: same latents, B's word in the prompt vs in the negative prompt
    (nouns from the adjective design, adjectives from the noun design) under every definition, the
    adaptive start, and the neutralization measurement (noun design: the whole-object negative)."""
    for design, word_kind in (("adjective", "noun"), ("noun", "adjective")):
        if design not in drawn:
            continue
        d = drawn[design]
        neg = world.describe(d.colour, d.shape)
        rec = run(pipe, replace(base, prompt=d.prompt, negative_prompt=neg), windows=[], record=True, previews=False, cancel=cancel)
        d.recorded = rec
        word = d.shape if word_kind == "noun" else d.colour
        for branch, tokens in (("pos", rec.prompts.pos_tokens), ("neg", rec.prompts.neg_tokens)):
            # B's own token: in "a red square above a square" the second "square" (issue 10, item 1)
            ac = analysis.attention_critical_step(rec.trunk, tokens, word, d.mask, branch, threshold, target=(d.colour, d.shape))
            key = f"{branch}_{word_kind}"
            res.attention[key] = ac.step
            res.attention_curves[key] = [round(float(v), 4) for v in ac.overlap]
            res.attention_chance[key] = round(ac.chance, 5)
            res.attention_steps[key] = analysis.critical_steps(ac.overlap, ac.chance)
        if design == "noun":  # the negative prompt's noun on this trunk gives the adaptive start
            ac = analysis.attention_critical_step(rec.trunk, rec.prompts.neg_tokens, d.shape, d.mask, "neg", threshold,
                                                  target=(d.colour, d.shape))
            res.adaptive_start = ac.step
            res.neutralization = analysis.neutralization(rec.trunk, d.mask, base.guidance).as_lists()


def _removal_sweeps(pipe, res: SceneResult, drawn: dict[str, _Drawn], base: Settings, kinds, cancel) -> None:
    """(b) Delay sweeps from the cached trunks: removal, other object kept, background change per start."""
    for kind in kinds:
        check_cancel(cancel)
        design = "noun" if kind in ("noun", "object") else kind
        if design not in drawn:
            continue
        d = drawn[design]
        neg, tgt = negative_for(kind, d.colour, d.shape)
        starts = res.object_starts if kind == "object" else res.starts
        if d.recorded is not None:
            trunk, ref = d.recorded.trunk, d.recorded.trunk.image
        else:
            trunk = run(pipe, replace(base, prompt=d.prompt, negative_prompt=neg), windows=[], record=False, previews=False,
                        cancel=cancel).trunk
            ref = trunk.image
        extra = []
        if kind == "object" and res.adaptive_start is not None and res.adaptive_start not in starts:
            extra = [res.adaptive_start]
        sw = run(pipe, replace(base, prompt=d.prompt, negative_prompt=neg), windows=[(k, base.steps) for k in [*starts, *extra]],
                 record=False, previews=False, trunk=trunk, cancel=cancel)
        check_cancel(cancel)
        scores = [analysis.removal_score(b.image, ref, d.mask, tgt, [res.other]) for b in sw.branches]
        n = len(starts)
        res.removed[kind] = [sc.removed for sc in scores[:n]]
        res.other_kept[kind] = [sc.other_kept for sc in scores[:n]]
        res.background[kind] = [round(sc.background_change, 5) for sc in scores[:n]]
        res.outcome_critical[kind] = analysis.outcome_critical_step(list(starts), res.removed[kind])
        if kind == "object" and res.adaptive_start is not None:
            sc = scores[-1] if extra else scores[list(starts).index(res.adaptive_start)]
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


@dataclass(frozen=True)
class ExperimentConfig:
    """What :func:`run_experiment` measures; the defaults are the committed run's."""

    scenes: int = 100
    reverse: int | None = None  # reverse-activation prompts (None: as many as scenes)
    seed: int = 0
    steps: int = DEFAULT_STEPS
    guidance: float = DEFAULT_GUIDANCE
    starts: tuple[int, ...] = DEFAULT_STARTS
    dense_object: bool = True  # the whole-object negative starts at every step (a fixed start at any mean step exists)
    threshold: float = SETTLE_FRACTION
    kinds: tuple[str, ...] = NEGATIVE_KINDS
    model: str = "shipped tiny-shapes-sd"

    @classmethod
    def small(cls, scenes: int = 2) -> ExperimentConfig:
        """The notebook's live mini-study (and CI): a few scenes, whole-object negatives only, every third start."""
        return cls(scenes=scenes, reverse=scenes, seed=LIVE_SEED, kinds=("object",), dense_object=False, model="")

    @property
    def object_starts(self) -> tuple[int, ...]:
        return tuple(range(self.steps)) if self.dense_object else tuple(self.starts)

    @property
    def n_reverse(self) -> int:
        return self.scenes if self.reverse is None else self.reverse

    def validate(self) -> ExperimentConfig:
        """:class:`UserError` for counts or steps outside their ranges (sampler settings are checked per run)."""
        for name, value in (("number of scenes", self.scenes), ("number of reverse-activation prompts", self.n_reverse)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= MAX_SCENES:
                raise UserError(f"The {name} must be a whole number between 0 and {MAX_SCENES} (got {shown(value)}).")
        steps = check_steps(self.steps)
        if any(not 0 <= k < steps for k in self.starts):
            raise UserError(f"Every start step must be between 0 and {steps - 1}.")
        return self


def study(pipe, config: ExperimentConfig, *, progress: Progress = no_progress, cancel: CancelToken | None = None,
          checkpoint: Path | None = None) -> StudyResults:
    """:func:`scene_study` on ``config.scenes`` scenes and :func:`reverse_study` on its reverse prompts.
    With ``checkpoint`` (a JSON-lines file) every finished scene is saved and a rerun resumes;
    ``seconds`` adds up the time spent on every scene, whichever run measured it."""
    config.validate()
    out = StudyResults(config.steps, config.guidance, config.threshold, list(config.starts), model=config.model)
    key = _config_key(config)
    done = _load_checkpoint(checkpoint, key)
    total = config.scenes + config.n_reverse
    for i, (caption, b, a, s) in enumerate(draw_scenes(config.scenes, config.seed)):
        check_cancel(cancel)
        if ("scene", i) not in done:
            t0 = time.time()
            res = scene_study(pipe, caption, b, a, s, steps=config.steps, guidance=config.guidance, starts=config.starts,
                              object_starts=config.object_starts, threshold=config.threshold, kinds=config.kinds, cancel=cancel)
            done[("scene", i)] = (asdict(res), time.time() - t0)
            _save_checkpoint(checkpoint, key, "scene", i, *done[("scene", i)])
        out.scenes.append(SceneResult(**done[("scene", i)][0]))
        progress(i + 1, total, f"scene {i + 1}/{config.scenes}: {caption}")
    for i, (caption, b, a, s) in enumerate(draw_scenes(config.n_reverse, config.seed + REVERSE_SEED_OFFSET)):
        check_cancel(cancel)
        if ("reverse", i) not in done:
            t0 = time.time()
            rev = reverse_study(pipe, world.describe(*a), world.describe(*b), b, s, steps=config.steps, guidance=config.guidance,
                                cancel=cancel)
            done[("reverse", i)] = (asdict(rev), time.time() - t0)
            _save_checkpoint(checkpoint, key, "reverse", i, *done[("reverse", i)])
        out.reverse.append(ReverseResult(**done[("reverse", i)][0]))
        progress(config.scenes + i + 1, total, f"reverse activation {i + 1}/{config.n_reverse}")
    out.seconds = round(sum(sec for _, sec in done.values()), 1)
    return out


#: the modules whose code makes a scene's record: a checkpoint made with other code is not reused
#: (the summary's modules, aggregate and stats, may change: a rerun recomputes the summary from the records)
SCENE_CODE = ("experiment.py", "sampler.py", "analysis.py", "world.py", "detect.py")


def _config_key(config: ExperimentConfig) -> str:
    """What a checkpoint must have been made with to be resumed: the configuration (except the
    counts: scenes are drawn in the same order, so a shorter run reuses the first scenes of a longer
    one) and the code that measures a scene."""
    code = hashlib.sha256(b"".join((Path(__file__).parent / name).read_bytes() for name in SCENE_CODE)).hexdigest()[:16]
    return json.dumps({**asdict(config), "scenes": None, "reverse": None, "code": code}, sort_keys=True)


def _load_checkpoint(path: Path | None, key: str) -> dict:
    """Finished scenes of an earlier run with the same ``key``: {(kind, i): (data, seconds)}; a file
    made with another configuration is set aside (renamed ``*.old``) and the run starts afresh."""
    if path is None or not Path(path).exists():
        return {}
    path = Path(path)
    lines = path.read_text().splitlines()
    try:
        same = bool(lines) and json.loads(lines[0]).get("config") == key
    except json.JSONDecodeError:
        same = False
    if not same:
        path.replace(path.with_suffix(path.suffix + ".old"))
        return {}
    out = {}
    for line in lines[1:]:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill: that scene runs again
            continue
        out[(rec["kind"], rec["i"])] = (rec["data"], rec.get("seconds", 0.0))
    return out


def _save_checkpoint(path: Path | None, key: str, kind: str, i: int, data: dict, seconds: float) -> None:
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a") as f:
        if new:
            f.write(json.dumps({"config": key}) + "\n")
        f.write(json.dumps({"kind": kind, "i": i, "seconds": round(seconds, 2), "data": data}, default=_plain) + "\n")


def _plain(o):
    """NumPy values in a checkpoint line as plain JSON."""
    return o.tolist() if hasattr(o, "tolist") else str(o)


def run_experiment(config: ExperimentConfig, pipe=None, *, progress: Progress = no_progress,
                   cancel: CancelToken | None = None, checkpoint: Path | None = None) -> dict:
    """The study for ``config`` on ``pipe`` (default: the shipped model) as a JSON-able dict, with
    the configuration it ran (``config``: scene count, starts, …) next to the summary."""
    config.validate()
    if pipe is None:
        from deletionlab.negprompt.models import load_pipeline

        pipe = load_pipeline()
    out = study(pipe, config, progress=progress, cancel=cancel, checkpoint=checkpoint).to_json()
    out["config"] = {**asdict(config), "object_starts": list(config.object_starts), "reverse": config.n_reverse}
    return out
