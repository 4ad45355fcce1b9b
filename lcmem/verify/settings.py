"""What the verification stage of a scan does (plain dataclasses: importing them loads no OpenCV)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FeatureSettings:
    """SIFT settings: ``max_side`` px working size, at most ``n_features`` keypoints, and OpenCV's contrast
    threshold (default 0.04 finds too few keypoints on low-texture images such as dermoscopy)."""

    max_side: int = 512
    n_features: int = 250
    contrast_threshold: float = 0.01

    def key(self) -> str:
        """A short text naming these settings (cache files are kept apart by it)."""
        return f"sift-{self.max_side}-{self.n_features}-{self.contrast_threshold:g}"


@dataclass(frozen=True)
class MatchSettings:
    """Lowe's ratio test, the RANSAC reprojection threshold in working pixels, the accepted scale range, and how
    many cells of an 8 × 8 grid over the synthetic or the real image a fit's inliers must fill at least (chosen on
    val: docs/VERIFY.md)."""

    ratio: float = 0.75
    ransac_px: float = 5.0
    min_scale: float = 0.2
    max_scale: float = 5.0
    ransac_iterations: int = 2000
    min_cells: int = 6

    def key(self) -> str:
        """A short text naming every setting a verdict depends on (cached verdicts are kept apart by it)."""
        return (
            f"{self.ratio:g}-{self.ransac_px:g}-{self.min_scale:g}-{self.max_scale:g}-{self.ransac_iterations}"
            f"-c{self.min_cells}"
        )


@dataclass(frozen=True)
class VerifySettings:
    """Verification in a scan: ``depth`` LCMem candidates per synthetic image verified, ``min_inliers`` to
    count as verified (chosen on val: docs/VERIFY.md), feature and match settings, ``threads`` at once, and the
    query ``views`` (:mod:`lcmem.model.views`) whose best score picks the candidates (``()``: the image alone)."""

    depth: int = 50
    min_inliers: int = 20
    features: FeatureSettings = field(default_factory=FeatureSettings)
    match: MatchSettings = field(default_factory=MatchSettings)
    threads: int = 2
    views: tuple[str, ...] = ("mirror", "rotate+8", "rotate-8", "zoom-out-88")


def verify_settings(
    enabled: bool, depth: int = VerifySettings.depth, threads: int | None = None, views: bool = True
) -> VerifySettings | None:
    """The verification a scan runs (``None`` when switched off), at ``depth`` with ``threads`` (default: every
    core), its candidates picked with the default query views or (``views=False``) by the image alone."""
    if not enabled:
        return None
    chosen = VerifySettings.views if views else ()
    return VerifySettings(depth=depth, threads=threads or os.cpu_count() or 1, views=chosen)
