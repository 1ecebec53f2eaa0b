"""A procedurally generated world of coloured shapes with compositional captions.

This is the training and evaluation world of the shipped tiny text-to-image model. Because every
scene is generated, every object comes with its ground-truth mask, so the outcomes the paper
(Ban et al. 2024) could only judge by eye -- "is the object gone?", "did the background change?" --
can be *measured* here.

Scenes are 32x32 RGB on a plain white background with one to three objects of distinct colours:

* one object:    ``"a red circle"``
* two objects:   ``"a red circle above a blue square"`` (``left of``, ``right of``, ``above``, ``below``;
  the relation is true of the rendered positions)
* three objects: ``"a red circle, a blue square and a green triangle"``

With a small probability an object is described only partly -- ``"a square"`` (any colour) or
``"a blue shape"`` (any shape) -- so that a single noun or adjective is a prompt the model
understands; the study uses them as negative prompts that name only a noun or only an adjective.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

SIZE = 32
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 200, 30),
}
COLOUR_NAMES: tuple[str, ...] = tuple(COLOURS)
RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below")
BACKGROUND = (255, 255, 255)
#: every word a caption of this world can contain (the tiny model has seen no others)
VOCABULARY: frozenset[str] = frozenset(
    {"a", "and", ",", "left", "right", "of", "above", "below", "shape", *SHAPES, *COLOUR_NAMES}
)


@dataclass(frozen=True)
class WorldObject:
    """One object: its colour, shape, centre (x, y in pixels) and radius (half its extent)."""

    colour: str
    shape: str
    cx: float
    cy: float
    r: float

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"


@dataclass
class Scene:
    """A rendered scene: the image (H, W, 3 uint8), its caption, its objects and their masks.

    ``masks[i]`` is the boolean ground-truth mask of ``objects[i]`` (only the visible part, i.e.
    after later objects are drawn over it).
    """

    image: np.ndarray
    caption: str
    objects: list[WorldObject]
    masks: list[np.ndarray] = field(repr=False)
    relation: str | None = None

    def mask_of(self, word: str) -> np.ndarray:
        """Union of the masks of the objects a word (a colour or a shape) names."""
        out = np.zeros(self.image.shape[:2], dtype=bool)
        for obj, m in zip(self.objects, self.masks):
            if word in (obj.colour, obj.shape):
                out |= m
        return out


def _coverage(shape: str, cx: float, cy: float, r: float, size: int, ss: int = 4) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of a shape, by ``ss``x``ss`` supersampling."""
    n = size * ss
    coords = (np.arange(n) + 0.5) / ss
    x = coords[None, :]
    y = coords[:, None]
    if shape == "circle":
        inside = (x - cx) ** 2 + (y - cy) ** 2 <= r**2
    elif shape == "square":
        s = r * 0.86  # equal-area-ish with the circle so shapes have similar size
        inside = (np.abs(x - cx) <= s) & (np.abs(y - cy) <= s)
    elif shape == "triangle":
        # upright isosceles triangle inscribed in the box [cx-r, cx+r] x [cy-r, cy+r]
        top, bottom = cy - r, cy + r
        t = np.clip((y - top) / (2 * r), 0.0, 1.0)
        half = r * t
        inside = (y >= top) & (y <= bottom) & (np.abs(x - cx) <= half)
    else:  # pragma: no cover - guarded by callers
        raise ValueError(f"unknown shape {shape!r}")
    return inside.reshape(size, ss, size, ss).mean(axis=(1, 3))


def render(objects: Sequence[WorldObject], size: int = SIZE) -> tuple[np.ndarray, list[np.ndarray]]:
    """Draw objects in order on the background; return the image and each object's visible mask."""
    img = np.empty((size, size, 3), dtype=np.float32)
    img[:] = BACKGROUND
    covers = []
    for obj in objects:
        a = _coverage(obj.shape, obj.cx, obj.cy, obj.r, size)[..., None]
        img = img * (1 - a) + np.asarray(COLOURS[obj.colour], np.float32) * a
        covers.append(a[..., 0])
    masks = []
    for i, a in enumerate(covers):
        m = a > 0.5
        for later in covers[i + 1 :]:
            m &= ~(later > 0.5)
        masks.append(m)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), masks


def relation_of(a: WorldObject, b: WorldObject) -> str | None:
    """The relation word that is clearly true of ``a`` with respect to ``b`` (or None if ambiguous)."""
    dx, dy = a.cx - b.cx, a.cy - b.cy
    if abs(dx) >= 1.5 * abs(dy) and abs(dx) > 6:
        return "left of" if dx < 0 else "right of"
    if abs(dy) >= 1.5 * abs(dx) and abs(dy) > 6:
        return "above" if dy < 0 else "below"
    return None


def describe(colour: str | None, shape: str | None) -> str:
    """``"a red circle"``, ``"a circle"`` (colour left out) or ``"a red shape"`` (shape left out)."""
    if colour and shape:
        return f"a {colour} {shape}"
    if shape:
        return f"a {shape}"
    if colour:
        return f"a {colour} shape"
    raise ValueError("an object needs a colour or a shape")


def caption_for(objects: Sequence[WorldObject], relation: str | None = None, partial: Sequence[str | None] = ()) -> str:
    """The caption of a list of objects in this world's grammar.

    ``partial[i]`` = ``"colour"`` leaves object i's colour out, ``"shape"`` its shape.
    """
    partial = list(partial) + [None] * (len(objects) - len(partial))
    names = [describe(None if p == "colour" else o.colour, None if p == "shape" else o.shape) for o, p in zip(objects, partial)]
    if len(objects) == 1:
        return names[0]
    if len(objects) == 2:
        if relation is None:
            relation = relation_of(objects[0], objects[1])
        if relation is None:
            return f"{names[0]} and {names[1]}"
        return f"{names[0]} {relation} {names[1]}"
    return ", ".join(names[:-1]) + " and " + names[-1]


def parse_caption(caption: str) -> list[tuple[str | None, str | None]]:
    """The (colour, shape) pairs a caption asks for, in order; None where it leaves one out
    ("a square" → (None, "square"), "a blue shape" → ("blue", None)). Other words are ignored: check
    :func:`words_not_understood` before trusting the pairs of a caption that did not come from this world."""
    words = caption.lower().replace(",", " ").split()
    out: list[tuple[str | None, str | None]] = []
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        prev = words[i - 1] if i > 0 else ""
        if w in COLOURS:
            out.append((w, nxt if nxt in SHAPES else None))
        elif w in SHAPES and prev not in COLOURS:
            out.append((None, w))
    return out


#: punctuation that does not change what a caption asks for (the detector ignores it)
IGNORABLE: frozenset[str] = frozenset({"."})


def words_not_understood(caption: str) -> list[str]:
    """Words of ``caption`` outside this world's grammar, in order, each once: a negation ("no blue"),
    a number or a plural ("three red squares") would be misread by :func:`parse_caption`, which
    reads one object per colour or shape word; callers refuse to judge such captions."""
    out: list[str] = []
    for w in re.findall(r"[^\W\d_]+|\d+|[^\w\s]", caption.lower()):
        if w not in VOCABULARY and w not in IGNORABLE and w not in out:
            out.append(w)
    return out


def caption_notice(caption: str, field: str = "prompt") -> str | None:
    """One sentence saying that the detector does not judge ``caption`` (None if it can)."""
    bad = words_not_understood(caption)
    if not bad:
        return None
    shown = ", ".join(repr(w[:20]) for w in bad[:5]) + (", …" if len(bad) > 5 else "")
    return (f"The {field} has words the shapes detector does not understand ({shown}), so it is not judged: "
            "it reads only this world's captions, one object per 'a' (no numbers, plurals or negations).")


def _random_object(rng: np.random.Generator, colour: str, shape: str, r_range=(4.5, 7.0)) -> WorldObject:
    r = float(rng.uniform(*r_range))
    cx = float(rng.uniform(r + 1, SIZE - r - 1))
    cy = float(rng.uniform(r + 1, SIZE - r - 1))
    return WorldObject(colour, shape, cx, cy, r)


def _separated(objs: Sequence[WorldObject], min_gap: float = 1.0) -> bool:
    for i, a in enumerate(objs):
        for b in objs[i + 1 :]:
            if np.hypot(a.cx - b.cx, a.cy - b.cy) < a.r + b.r + min_gap:
                return False
    return True


def place_pair(rng: np.random.Generator, a: tuple[str, str], b: tuple[str, str], relation: str) -> list[WorldObject]:
    """Two objects placed so that ``relation`` is true of the first with respect to the second."""
    for _ in range(200):
        oa = _random_object(rng, *a)
        ob = _random_object(rng, *b)
        if _separated([oa, ob]) and relation_of(oa, ob) == relation:
            return [oa, ob]
    # constructive fallback: put them on opposite halves along the relation's axis
    r1, r2 = 5.5, 5.5
    lo, hi = 8.0, 24.0
    mid = float(rng.uniform(10, 22))
    pos = {"left of": ((lo, mid), (hi, mid)), "right of": ((hi, mid), (lo, mid)),
           "above": ((mid, lo), (mid, hi)), "below": ((mid, hi), (mid, lo))}[relation]
    return [WorldObject(a[0], a[1], *pos[0], r1), WorldObject(b[0], b[1], *pos[1], r2)]


def all_objects() -> list[tuple[str, str]]:
    return [(c, s) for c in COLOUR_NAMES for s in SHAPES]


def two_object_captions() -> list[tuple[tuple[str, str], str, tuple[str, str]]]:
    """Every (object, relation, object) triple with two different colours (432 of them)."""
    objs = all_objects()
    return [(a, rel, b) for a in objs for b in objs if a[0] != b[0] for rel in RELATIONS]


def held_out_pairs(fraction: float = 0.15, seed: int = 1234) -> set[str]:
    """A fixed set of two-object captions never shown in training (compositional hold-out)."""
    triples = two_object_captions()
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(triples), size=int(round(fraction * len(triples))), replace=False)
    return {f"a {triples[i][0][0]} {triples[i][0][1]} {triples[i][1]} a {triples[i][2][0]} {triples[i][2][1]}" for i in idx}


def sample_scene(
    rng: np.random.Generator,
    n_objects: int | None = None,
    p_objects: Sequence[float] = (0.4, 0.45, 0.15),
    exclude: Iterable[str] = (),
    p_partial: float = 0.0,
) -> Scene:
    """Draw one random scene. ``exclude`` lists captions that must not be produced (the hold-out);
    ``p_partial`` is the probability that an object's description leaves its colour or shape out."""
    exclude = set(exclude)
    for _ in range(100):
        k = int(n_objects) if n_objects else int(rng.choice([1, 2, 3], p=np.asarray(p_objects) / np.sum(p_objects)))
        colours = rng.choice(COLOUR_NAMES, size=k, replace=False)
        shapes = rng.choice(SHAPES, size=k, replace=True)
        spec = [(str(c), str(s)) for c, s in zip(colours, shapes)]
        relation = None
        if k == 1:
            objs = [_random_object(rng, *spec[0])]
        elif k == 2:
            relation = str(rng.choice(RELATIONS))
            objs = place_pair(rng, spec[0], spec[1], relation)
        else:
            for _ in range(200):
                objs = [_random_object(rng, *sp, r_range=(4.0, 6.0)) for sp in spec]
                if _separated(objs):
                    break
        if caption_for(objs, relation) in exclude:
            continue
        partial = [str(rng.choice(["colour", "shape"])) if rng.random() < p_partial else None for _ in objs]
        caption = caption_for(objs, relation, partial)
        image, masks = render(objs)
        return Scene(image=image, caption=caption, objects=list(objs), masks=masks, relation=relation)
    raise RuntimeError("could not draw a scene outside the excluded captions")


def scene_for_caption(caption: str, seed: int = 0) -> Scene:
    """A ground-truth rendering of a caption of this world (for masks and reference images)."""
    rng = np.random.default_rng(seed)
    spec = parse_caption(caption)
    if not spec:
        raise ValueError(f"the caption {caption!r} names no object of this world")
    spec = [(c or str(rng.choice(COLOUR_NAMES)), s or str(rng.choice(SHAPES))) for c, s in spec]
    rel = next((r for r in RELATIONS if f" {r} " in caption), None)
    if len(spec) == 2 and rel is not None:
        objs = place_pair(rng, spec[0], spec[1], rel)
    else:
        for _ in range(200):
            objs = [_random_object(rng, *sp, r_range=(4.0, 6.0)) for sp in spec]
            if _separated(objs):
                break
    image, masks = render(objs)
    return Scene(image=image, caption=caption, objects=objs, masks=masks, relation=rel)


def sample_batch(rng: np.random.Generator, n: int, exclude: Iterable[str] = (), **kw) -> list[Scene]:
    exclude = set(exclude)
    return [sample_scene(rng, exclude=exclude, **kw) for _ in range(n)]
