"""The rule that combines the LCMem score with geometric verification (chosen on val, docs/VERIFY.md).

A pair is *verified* when it has at least ``min_inliers`` inliers. Verified pairs rank first, by inlier count
(ties by score); the others follow by score. A pair is *flagged* when its score is at or above the threshold
in force or it is verified. The scan and the evaluation both import these functions, so what the evaluation
measures is what the scan does.
"""

from __future__ import annotations


def is_verified(inliers: int | None, min_inliers: int | None) -> bool:
    """Whether a pair counts as verified (``inliers`` ``None``: not verified; ``min_inliers`` ``None``:
    verification does not count)."""
    return inliers is not None and min_inliers is not None and inliers >= min_inliers


def rank_key(score: float, inliers: int | None, min_inliers: int | None) -> tuple[bool, int, float]:
    """Sort key of one query's candidates (ascending = best first): verified pairs by inliers, then by score."""
    verified = is_verified(inliers, min_inliers)
    return (not verified, -(inliers or 0) if verified else 0, -score)


def flagged(score: float, inliers: int | None, threshold: float, min_inliers: int | None) -> bool:
    """Whether a pair is flagged: its score is at or above ``threshold`` or it is verified."""
    return score >= threshold or is_verified(inliers, min_inliers)
