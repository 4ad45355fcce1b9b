"""Geometric verification of one pair: ratio-tested SIFT matches, one per reference keypoint, and a RANSAC
similarity (rotation, uniform scale, translation) fitted to them; the mirrored image is tried too.

The inliers of a fit are the evidence a reviewer can look at: keypoints of the synthetic image that land, under
one rotation, scale and shift, on keypoints of the real image with the same local appearance. Three guards keep
a fit honest. Several query keypoints matched to one reference keypoint are cut to the closest one (many-to-one
matches let RANSAC collapse the whole image onto a point, where every match "is an inlier"); a fit whose scale is
outside ``[min_scale, max_scale]`` counts as no fit; and so does a fit whose inliers sit in only a few places:
fewer than ``min_cells`` of the :data:`SPREAD_GRID` × :data:`SPREAD_GRID` cells of the synthetic image, and of the
real image, hold an inlier. Radiographs of different patients from one department share the side marker ("R"),
whose letter alone gave 20 inliers in 3 of 64 cells on val chest X-rays, and burned-in exposure text in other
corners; an edited copy's inliers fill 11 cells or more (docs/VERIFY.md). A patch of a training image enlarged
into a synthetic image still counts: its inliers spread over the synthetic image.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from lcmem.verify.features import Features
from lcmem.verify.settings import MatchSettings
from lcmem.verify.types import Transform, Verification

NO_MATCH = Verification(0)
SPREAD_GRID = 8
"""The grid (cells per side) in which a fit's inliers must fill at least ``MatchSettings.min_cells`` cells."""


def mutual_matches(query: Features, reference: Features, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(q, r)`` of ratio-tested matches, at most one per reference keypoint (its closest query)."""
    if len(query) < 2 or len(reference) < 2:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    q = query.descriptors.astype(np.float32)
    r = reference.descriptors.astype(np.float32)
    # OpenCV's gemm, not NumPy's: a threaded BLAS is 10-25x slower on these small products under load.
    products = cv2.gemm(q, r, 1.0, None, 0.0, flags=cv2.GEMM_2_T)
    squared = (q * q).sum(1)[:, None] + (r * r).sum(1)[None, :] - 2.0 * products
    rows = np.arange(len(q))
    best = squared.argmin(axis=1)
    best_d = np.sqrt(np.maximum(squared[rows, best], 0.0))
    squared[rows, best] = np.inf
    second_d = np.sqrt(np.maximum(squared.min(axis=1), 0.0))
    keep = best_d < ratio * second_d
    q_idx, r_idx, dist = rows[keep], best[keep], best_d[keep]
    order = np.lexsort((dist, r_idx))
    q_idx, r_idx = q_idx[order], r_idx[order]
    first_of_r = np.ones(len(r_idx), bool)
    first_of_r[1:] = r_idx[1:] != r_idx[:-1]
    return q_idx[first_of_r], r_idx[first_of_r]


def inlier_cells(points: np.ndarray, size: tuple[int, int], grid: int = SPREAD_GRID) -> int:
    """How many cells of a ``grid`` × ``grid`` partition of an image of ``size`` (width, height) hold at least
    one of ``points`` (x, y); 0 for an empty image."""
    if len(points) == 0 or size[0] <= 0 or size[1] <= 0:
        return 0
    column = np.clip((np.asarray(points)[:, 0] * grid / size[0]).astype(np.int64), 0, grid - 1)
    row = np.clip((np.asarray(points)[:, 1] * grid / size[1]).astype(np.int64), 0, grid - 1)
    return int(np.unique(row * grid + column).size)


def match_features(
    query: Features, reference: Features, settings: MatchSettings, *, points: bool = False
) -> Verification:
    """Verify ``query`` (a synthetic image, perhaps mirrored) against ``reference`` (a real image)."""
    q_idx, r_idx = mutual_matches(query, reference, settings.ratio)
    if len(q_idx) < 3:
        return NO_MATCH
    matrix, mask = cv2.estimateAffinePartial2D(
        query.points[q_idx],
        reference.points[r_idx],
        method=cv2.RANSAC,
        ransacReprojThreshold=settings.ransac_px,
        maxIters=settings.ransac_iterations,
        confidence=0.995,
    )
    if matrix is None or mask is None:
        return NO_MATCH
    scale = math.hypot(matrix[0, 0], matrix[1, 0])
    if not settings.min_scale <= scale <= settings.max_scale:
        return NO_MATCH
    inlier = mask.ravel().astype(bool)
    spread = max(
        inlier_cells(query.points[q_idx[inlier]], query.size),
        inlier_cells(reference.points[r_idx[inlier]], reference.size),
    )
    if spread < settings.min_cells:
        return NO_MATCH
    rotation = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    transform = Transform(
        scale=scale * reference.to_file / query.to_file,
        rotation=rotation,
        tx=float(matrix[0, 2]) * reference.to_file,
        ty=float(matrix[1, 2]) * reference.to_file,
        mirrored=query.mirrored,
    )
    if not points:
        return Verification(int(inlier.sum()), transform)
    return Verification(
        int(inlier.sum()),
        transform,
        query.file_points(q_idx[inlier]),
        reference.file_points(r_idx[inlier]),
    )


def verify_pair(
    synthetic: Features,
    mirrored: Callable[[], Features],
    real: Features,
    settings: MatchSettings,
    *,
    enough: int,
    points: bool = False,
) -> Verification:
    """The better of the synthetic image as it is and mirrored against ``real``; the mirrored image (computed
    by ``mirrored`` only when needed) is not tried once the first orientation has ``enough`` inliers."""
    found = match_features(synthetic, real, settings, points=points)
    if found.inliers >= enough:
        return found
    flipped = match_features(mirrored(), real, settings, points=points)
    return flipped if flipped.inliers > found.inliers else found
