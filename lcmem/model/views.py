"""Query views: extra versions of a synthetic image whose embeddings widen the candidate search.

LCMem's score drops for a mild geometric edit of a training image (an 85 % crop, a 10° rotation), and among
look-alikes of one domain the source can then fall beyond the candidates that geometric verification checks
(faces: recall@50 0.967 on val). Searching also with the image mirrored, rotated by ±8° and zoomed out to 88 %
(edges repeated), and ranking candidates by the best score of any view, brings each source back into the top 50
on every val dataset (docs/VERIFY.md). The views choose *which* real images are verified; the pair score shown
and thresholded stays that of the image itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import functional as F

from lcmem.errors import LCMemError

ViewFn = Callable[[Tensor], Tensor]


def _rotate(images: Tensor, degrees: float) -> Tensor:
    """Rotate ``(B, C, S, S)`` about the centre, bilinear, corners black (as the retrieval edits rotate)."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=images.dtype).expand(len(images), 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _zoom_out(images: Tensor, fraction: float) -> Tensor:
    """Shrink ``(B, C, S, S)`` to ``fraction`` of its side, centred, the border filled by repeating the edge."""
    side = images.shape[-1]
    inner = max(1, round(side * fraction))
    small = F.interpolate(images, size=(inner, inner), mode="bilinear", antialias=True, align_corners=False)
    before = (side - inner) // 2
    after = side - inner - before
    return F.pad(small, (before, after, before, after), mode="replicate")


VIEWS: dict[str, ViewFn] = {
    "mirror": lambda x: x.flip(-1),
    "rotate+8": lambda x: _rotate(x, 8.0),
    "rotate-8": lambda x: _rotate(x, -8.0),
    "zoom-out-88": lambda x: _zoom_out(x, 0.88),
}
"""The query views by name, each a function of a batch ``(B, 3, S, S)`` in [0, 1] of the same shape."""

DEFAULT_VIEWS: tuple[str, ...] = tuple(VIEWS)


def apply_views(images: Tensor, names: tuple[str, ...]) -> Tensor:
    """``(B, V, 3, S, S)``: each image of ``images`` ``(B, 3, S, S)`` under each named view."""
    unknown = [n for n in names if n not in VIEWS]
    if unknown:
        raise LCMemError(f"unknown query views {unknown}; choose from {', '.join(VIEWS)}")
    if not names:
        return images.new_zeros((len(images), 0, *images.shape[1:]))
    return torch.stack([VIEWS[name](images).clamp(0, 1) for name in names], dim=1)
