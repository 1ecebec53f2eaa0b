"""Slicing schedules: how wide the residual stream stays, block by block (no torch needed).

The paper slices every block by the same fraction ``s`` of the width ``D`` and keeps
``int((1 − s)·D)`` dimensions, rounded down to a multiple of 8. A per-block schedule gives each
block its own fraction; block ``i`` then writes ``sliced_width(D, s_i)`` dimensions and the next
block reads them. The head is not sliced by default (the last block writes all ``D`` dimensions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: sliced widths are rounded down to a multiple of this (the reference code's choice: friendly to GEMM kernels)
ROUND_TO = 8


def sliced_width(hidden: int, fraction: float, round_to: int = ROUND_TO) -> int:
    """Width kept when slicing a fraction of ``hidden``: ``int((1 − s)·D)`` rounded down to a
    multiple of ``round_to`` (at least ``round_to``); ``s = 0`` keeps everything."""
    if fraction <= 0:
        return hidden
    d = int((1.0 - fraction) * hidden)
    return max(round_to, d - d % round_to)


@dataclass(frozen=True)
class Dims:
    """Widths of the residual stream: ``embedding`` (input of block 0), per block
    ``(d_in, d_mid, d_out)`` (``d_mid`` = between attention and MLP), and ``head`` (its input)."""

    embedding: int
    blocks: tuple[tuple[int, int, int], ...]
    head: int

    @classmethod
    def from_fractions(cls, hidden: int, fractions: Sequence[float], slice_head: bool = False) -> Dims:
        """Per-block slicing fractions → widths. Block i's attention and MLP outputs keep
        ``sliced_width(D, s_i)``; the last block writes the full width unless the head is sliced."""
        widths = [sliced_width(hidden, s) for s in fractions]
        blocks, d_in = [], widths[0]
        for i, w in enumerate(widths):
            d_out = w if (i < len(widths) - 1 or slice_head) else hidden
            blocks.append((d_in, w, d_out))
            d_in = d_out
        return cls(widths[0], tuple(blocks), blocks[-1][2])

    @classmethod
    def full(cls, hidden: int, n_blocks: int) -> Dims:
        """No slicing: rotation only (the computational-invariance check)."""
        return cls.from_fractions(hidden, [0.0] * n_blocks)
