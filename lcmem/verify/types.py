"""What verification says about a pair: the fitted transform and the inliers (plain data, no OpenCV)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Transform:
    """The fitted similarity from synthetic to real file pixels: ``scale``, ``rotation`` (degrees,
    counter-clockwise in image coordinates), translation ``(tx, ty)`` in real-file pixels, and whether the
    synthetic image was mirrored left–right first."""

    scale: float
    rotation: float
    tx: float
    ty: float
    mirrored: bool

    def summary(self) -> str:
        """E.g. ``"mirrored, rotated 10.2°, scale 1.05"`` (what the table, CSV and report show)."""
        parts = ["mirrored"] if self.mirrored else []
        parts.append(f"rotated {self.rotation:.1f}°")
        parts.append(f"scale {self.scale:.2f}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Verification:
    """A pair's verdict: ``inliers`` (0: no geometric agreement), the ``transform`` (``None`` without a fit) and,
    when asked for, the inlier keypoints in each file's pixel coordinates (``(n, 2)`` arrays, row i of one
    matching row i of the other)."""

    inliers: int
    transform: Transform | None = None
    synthetic_points: np.ndarray | None = None
    real_points: np.ndarray | None = None
