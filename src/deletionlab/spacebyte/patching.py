"""Where SpaceByte runs its global blocks: the spacelike rule on UTF-8 bytes, fixed patches, statistics.

Slagle (2024), section 2: a byte is *spacelike* if it is not an ASCII letter, not an ASCII digit and
not a UTF-8 continuation byte (``10xxxxxx``)::

    b < '0'  or  '9' < b < 'A'  or  'Z' < b < 'a'  or  'z' < b < 0x80  or  b >= 0xC0

The global blocks run at every spacelike byte that does *not* follow another spacelike byte, and
always at the BOS position (byte 255, which never occurs in valid UTF-8). A patch is the span from
one global position up to the next; the global blocks see at most ``T_global`` of them, and the
targets from the ``T_global``-th global position onward are ignored in training. The "fixed-P"
variant runs the global blocks at every P-th position instead (positions 0, P, 2P, ...).

Everything here works on a ``uint8`` NumPy array or a PyTorch integer tensor of shape (..., T).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deletionlab.core.jobs import UserError

#: the beginning-of-sequence byte; 0xFF never occurs in valid UTF-8, so it is free for this use
BOS = 255
#: the longest text the explorer patches (about 1 MB pastes get a clear limit, not a frozen page)
MAX_TEXT_BYTES = 200_000


def spacelike(b):
    """True where a byte is spacelike (paper, section 2). Works on NumPy arrays and torch tensors."""
    return ((b < ord("0")) | ((b > ord("9")) & (b < ord("A"))) | ((b > ord("Z")) & (b < ord("a")))
            | ((b > ord("z")) & (b < 0x80)) | (b >= 0xC0))


def global_mask(b, bos: bool = True):
    """Positions where SpaceByte's global blocks run: a spacelike byte not preceded by another
    spacelike byte, plus every BOS byte (the first position of a sequence carries BOS)."""
    s = spacelike(b)
    first = s.clone() if hasattr(s, "clone") else s.copy()
    first[..., 1:] = s[..., 1:] & ~s[..., :-1]
    if bos:
        first = first | (b == BOS)
    return first


def word_starts(data: np.ndarray) -> np.ndarray:
    """For ``data`` = BOS + bytes: True at index k when ``data[k+1]`` is the first byte of a word, i.e. it
    follows a global position and is not spacelike itself (aligned with the predictions of ``data[1:]``)."""
    return global_mask(data)[:-1] & ~spacelike(data[1:])


def fixed_mask(length: int, patch: int) -> np.ndarray:
    """The fixed-P rule: the global blocks run at positions 0, P, 2P, ..."""
    if patch < 1:
        raise UserError(f"patch size P must be at least 1 (got {patch}).")
    return np.arange(length) % patch == 0


def to_bytes(text: str | bytes, *, limit: int = MAX_TEXT_BYTES, field: str = "text") -> np.ndarray:
    """UTF-8 bytes of a text as ``uint8``; bytes must be valid UTF-8. Empty, invalid or over-long
    input raises a :class:`UserError` naming ``field`` and the allowed range."""
    if isinstance(text, bytes):
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(f"The {field} is not valid UTF-8 (byte {exc.start} is 0x{text[exc.start]:02X}); "
                            "paste text, not binary data.") from None
        raw = text
    else:
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates from a broken paste
            raise UserError(f"The {field} holds characters that are not valid Unicode (lone surrogates); "
                            "paste it again.") from None
    if not raw:
        raise UserError(f"The {field} is empty: type or paste 1 to {limit:,} bytes of text.")
    if len(raw) > limit:
        raise UserError(f"The {field} is {len(raw):,} bytes long; the limit is {limit:,} bytes (about "
                        f"{limit // 1000} kB): paste a shorter piece.")
    return np.frombuffer(raw, dtype=np.uint8)


@dataclass
class Patches:
    """A text cut into patches: where the global blocks run and what that costs.

    ``data`` holds BOS followed by the text's bytes; ``starts`` the positions (in ``data``) where
    global blocks run, each starting a patch; ``t_global`` the most global positions a model sees.
    """

    data: np.ndarray
    starts: np.ndarray
    t_global: int
    rule: str

    @property
    def n_bytes(self) -> int:
        return len(self.data) - 1

    @property
    def n_patches(self) -> int:
        return len(self.starts)

    @property
    def mean_patch(self) -> float:
        """Bytes per patch (BOS not counted): text bytes / global positions."""
        return self.n_bytes / max(1, self.n_patches)

    @property
    def cutoff(self) -> int | None:
        """Position of the first global block past ``t_global`` (targets from there on are dropped)."""
        return int(self.starts[self.t_global]) if self.n_patches > self.t_global else None

    @property
    def bytes_past(self) -> int:
        """Text bytes after the ``t_global``-th global position: their targets are dropped (the
        prediction *at* that position, of the byte after it, already lacks a global block)."""
        c = self.cutoff
        return 0 if c is None else int(len(self.data) - 1 - c)

    def segments(self) -> list[tuple[int, int]]:
        """(start, stop) of each patch in ``data`` coordinates (the first holds BOS)."""
        ends = list(self.starts[1:]) + [len(self.data)]
        return [(int(a), int(b)) for a, b in zip(self.starts, ends)]


def patch(text: str | bytes, rule: str = "spacelike", patch_size: int = 6, t_global: int = 128,
          limit: int = MAX_TEXT_BYTES) -> Patches:
    """Cut a text (with BOS in front) into patches by the spacelike rule or every ``patch_size`` bytes."""
    if rule not in ("spacelike", "fixed"):
        raise UserError(f"rule must be 'spacelike' or 'fixed' (got {rule!r}).")
    if not 1 <= int(t_global) <= 100_000:
        raise UserError(f"T_global must be a whole number from 1 to 100,000 (got {t_global}).")
    if rule == "fixed" and not 1 <= int(patch_size) <= 64:
        raise UserError(f"patch size P must be a whole number from 1 to 64 (got {patch_size}).")
    raw = to_bytes(text, limit=limit)
    data = np.concatenate([[BOS], raw]).astype(np.uint8)
    mask = global_mask(data) if rule == "spacelike" else fixed_mask(len(data), int(patch_size))
    return Patches(data=data, starts=np.flatnonzero(mask), t_global=int(t_global), rule=rule)


def stats(p: Patches) -> dict:
    """Patch statistics of a text: bytes, patches, mean/median/max patch size, bytes past T_global."""
    sizes = np.diff(np.append(p.starts, len(p.data)))
    sizes[0] -= 1  # the first patch holds BOS, not a text byte
    sizes = sizes[sizes > 0]
    return {"bytes": p.n_bytes, "patches": p.n_patches, "mean_patch": p.mean_patch,
            "median_patch": float(np.median(sizes)) if sizes.size else 0.0,
            "max_patch": int(sizes.max()) if sizes.size else 0, "t_global": p.t_global,
            "bytes_past": p.bytes_past, "fraction_past": p.bytes_past / max(1, p.n_bytes),
            "chars": len(bytes(p.data[1:]).decode("utf-8", errors="replace"))}
