"""Decoding at reduced size: how much a large image may shrink before the model's resize, and the shrinking.

The model sees ``size`` x ``size`` (128 or 512). An image of more than :data:`REDUCE_ABOVE_PIXELS` pixels is
reduced by a whole factor that keeps both sides at least twice ``size`` (then the antialiased resize does the
rest, so the embedding hardly changes), in its stored integer type, before anything is converted to float:
a 16000 x 16000 image then costs its decoded bytes once, not eight times over in float64. Smaller images are
left as they are, so their embeddings do not change at all.
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

REDUCE_ABOVE_PIXELS = 4096 * 4096
"""Images up to this many pixels are decoded at full size."""
KEEP_SIDE_FACTOR = 2
"""A reduced image keeps at least this many times the model's input size on each side."""


def reduction_factor(width: int, height: int, target: int | None) -> int:
    """Return the whole factor by which a ``width`` x ``height`` image may shrink for a model of input size
    ``target`` (1: not at all; ``target`` ``None``: full size wanted, e.g. for a viewer)."""
    if target is None or width * height <= REDUCE_ABOVE_PIXELS:
        return 1
    keep = KEEP_SIDE_FACTOR * target
    return max(1, min(width // keep, height // keep))


def reduce_array(arr: np.ndarray, factor: int, *, nearest: bool = False) -> np.ndarray:
    """Shrink ``(H, W)`` or ``(H, W, C)`` pixels by ``factor`` on each side, keeping their dtype.

    Blocks of ``factor`` x ``factor`` are averaged (and rounded for integers); ``nearest`` keeps one pixel per
    block instead, for values that must not be mixed (palette indices). Edge rows and columns that do not
    fill a block are dropped.
    """
    if factor <= 1:
        return arr
    if nearest:
        return np.ascontiguousarray(arr[::factor, ::factor])
    height, width = arr.shape[0] // factor, arr.shape[1] // factor
    blocks = arr[: height * factor, : width * factor].reshape(height, factor, width, factor, *arr.shape[2:])
    mean = blocks.mean(axis=(1, 3), dtype=np.float64)
    if arr.dtype.kind in "iu":
        return np.rint(mean).astype(arr.dtype)
    return mean.astype(arr.dtype)
