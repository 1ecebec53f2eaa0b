"""A shape and colour detector for images of the shapes world, so outcomes are *measured*.

Colour segmentation (hue of saturated pixels → the nearest of the world's four colours), connected
components per colour, then simple geometry: which corners of its bounding box a component fills
(a square all four, an upright triangle the two bottom ones, a circle none). On ground-truth renderings it is exact
(a test checks this on hundreds of scenes); on generated images it is what the model card's quality
numbers and the study's removal scores are measured with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from deletionlab.negprompt.world import COLOURS, RELATIONS, parse_caption, words_not_understood

#: hue (degrees) of each world colour
_HUES = {}
for _name, _rgb in COLOURS.items():
    _r, _g, _b = (c / 255 for c in _rgb)
    _mx, _mn = max(_r, _g, _b), min(_r, _g, _b)
    if _mx == _r:
        _h = (60 * ((_g - _b) / (_mx - _mn))) % 360
    elif _mx == _g:
        _h = 60 * ((_b - _r) / (_mx - _mn)) + 120
    else:
        _h = 60 * ((_r - _g) / (_mx - _mn)) + 240
    _HUES[_name] = _h


@dataclass
class Detection:
    """One detected object: its colour, shape, boolean mask, area (pixels) and fill ratio."""

    colour: str
    shape: str
    mask: np.ndarray
    area: int
    fill: float

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"


def hsv(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue (degrees), saturation and value of an RGB image (uint8 or float in [0, 1])."""
    x = image.astype(np.float32)
    if image.dtype == np.uint8 or x.max() > 1.5:
        x = x / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    mx, mn = x.max(-1), x.min(-1)
    d = mx - mn + 1e-8
    h = np.where(mx == r, (60 * (g - b) / d) % 360, np.where(mx == g, 60 * (b - r) / d + 120, 60 * (r - g) / d + 240))
    s = np.where(mx > 1e-6, (mx - mn) / (mx + 1e-8), 0.0)
    return h, s, mx


def colour_labels(image: np.ndarray, min_saturation: float = 0.35, min_value: float = 0.25) -> np.ndarray:
    """Per pixel the index of the nearest world colour by hue, or -1 for background/unsaturated."""
    h, s, v = hsv(image)
    names = list(_HUES)
    hues = np.array([_HUES[n] for n in names])
    dist = np.abs(((h[..., None] - hues) + 180) % 360 - 180)
    lab = dist.argmin(-1)
    lab[(s < min_saturation) | (v < min_value)] = -1
    return lab


def classify_shape(mask: np.ndarray) -> tuple[str, float]:
    """Shape of a blob from which corners of its bounding box it fills.

    A square fills all four corners, an (upright) triangle only the two bottom ones, a circle none.
    Returns the shape and the fill ratio of the blob in its bounding box (≈1, ≈0.5, ≈π/4).
    """
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box = mask[y0:y1, x0:x1].astype(np.float32)
    h, w = box.shape
    fill = float(box.mean())
    k = max(2, min(h, w) // 5)
    top = (box[:k, :k].mean() + box[:k, -k:].mean()) / 2
    bottom = (box[-k:, :k].mean() + box[-k:, -k:].mean()) / 2
    if top > 0.5 and bottom > 0.5:
        return "square", fill
    if bottom - top > 0.4:
        return "triangle", fill
    return "circle", fill


def detect(image: np.ndarray, min_area: int = 12) -> list[Detection]:
    """Objects in an image of the shapes world, largest first."""
    lab = colour_labels(image)
    names = list(_HUES)
    out = []
    for ci, cname in enumerate(names):
        comp, n = ndimage.label(lab == ci)
        for k in range(1, n + 1):
            m = comp == k
            area = int(m.sum())
            if area < min_area:
                continue
            # fill small holes (anti-aliasing, noise) before measuring geometry
            mf = ndimage.binary_fill_holes(m)
            shape, fill = classify_shape(mf)
            out.append(Detection(cname, shape, mf, int(mf.sum()), fill))
    out.sort(key=lambda d: -d.area)
    return out


def present(image_or_dets, colour: str | None = None, shape: str | None = None) -> bool:
    """Whether an object of that colour and/or shape is in the image."""
    dets = image_or_dets if isinstance(image_or_dets, list) else detect(image_or_dets)
    return any((colour is None or d.colour == colour) and (shape is None or d.shape == shape) for d in dets)


def find(dets: list[Detection], colour: str | None = None, shape: str | None = None) -> Detection | None:
    """The largest detection matching colour and/or shape, or None."""
    for d in dets:
        if (colour is None or d.colour == colour) and (shape is None or d.shape == shape):
            return d
    return None


def caption_satisfied(image: np.ndarray, caption: str) -> bool:
    """All objects a caption asks for are present (colour *and* shape, where the caption names
    them), each a different blob. False for a caption with words outside this world's grammar
    (:func:`~deletionlab.negprompt.world.words_not_understood`): never "satisfied" unread."""
    if words_not_understood(caption):
        return False
    dets = detect(image)
    used: set[int] = set()
    for colour, shape in parse_caption(caption):
        hit = next((i for i, d in enumerate(dets) if i not in used and colour in (None, d.colour) and shape in (None, d.shape)), None)
        if hit is None:
            return False
        used.add(hit)
    return True


def relation_correct(image: np.ndarray, caption: str) -> bool:
    """For "A <relation> B": both objects are detected and the main direction from B's centre to
    A's is the caption's (left of / right of / above / below). Two identical objects ("a red circle
    left of a red circle") must be two different blobs. False for captions outside the grammar."""
    rel = next((r for r in RELATIONS if f" {r} " in caption), None)
    spec = parse_caption(caption)
    if rel is None or len(spec) != 2 or words_not_understood(caption):
        return False
    dets = detect(image)
    found: list[Detection] = []
    for colour, shape in spec:  # identity, not ==: a Detection holds an array
        d = next((d for d in dets if colour in (None, d.colour) and shape in (None, d.shape)
                  and all(d is not f for f in found)), None)
        if d is None:
            return False
        found.append(d)
    (ya, xa), (yb, xb) = (np.argwhere(d.mask).mean(0) for d in found)
    dx, dy = xa - xb, ya - yb
    if abs(dx) >= abs(dy):
        return rel == ("left of" if dx < 0 else "right of")
    return rel == ("above" if dy < 0 else "below")
