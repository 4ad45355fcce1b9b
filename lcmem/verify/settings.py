"""What the verification stage of a scan does."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from lcmem.verify.features import FeatureSettings
from lcmem.verify.match import MatchSettings


@dataclass(frozen=True)
class VerifySettings:
    """Verification in a scan: ``depth`` LCMem candidates per synthetic image verified, ``min_inliers`` to
    count as verified (chosen on val: docs/VERIFY.md), feature and match settings, ``threads`` at once."""

    depth: int = 50
    min_inliers: int = 20
    features: FeatureSettings = field(default_factory=FeatureSettings)
    match: MatchSettings = field(default_factory=MatchSettings)
    threads: int = 2


def verify_settings(
    enabled: bool, depth: int = VerifySettings.depth, threads: int | None = None
) -> VerifySettings | None:
    """The verification a scan runs (``None`` when switched off), at ``depth`` with ``threads`` (default: every
    core)."""
    if not enabled:
        return None
    return VerifySettings(depth=depth, threads=threads or os.cpu_count() or 1)
