"""``Verifier``: the features of an image (memory, disk cache, file) and the verdict on a pair of images.

Budget: features and verdicts are cached by content (:class:`~lcmem.verify.cache.FeatureCache`); the synthetic
image is tried mirrored only when its unmirrored inliers are not already decisive (``min_inliers`` and a fifth
of the smaller keypoint count); a pair of identical content is not matched at all (every keypoint is an
inlier of the identity).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable

from lcmem.embed.types import ImageRef
from lcmem.errors import ImageReadError
from lcmem.io import load_image
from lcmem.verify.cache import FeatureCache, PairKey
from lcmem.verify.features import Features, extract, no_features
from lcmem.verify.match import verify_pair
from lcmem.verify.settings import VerifySettings
from lcmem.verify.types import Transform, Verification

logger = logging.getLogger(__name__)

DECISIVE_FRACTION = 0.2
"""Unmirrored inliers above this fraction of the smaller keypoint count make the mirrored try pointless."""


class Verifier:
    """Verifies pairs of images; features are held in memory (the ``memory`` most recent) and in ``cache``."""

    def __init__(self, settings: VerifySettings, cache: FeatureCache | None = None, *, memory: int = 2048) -> None:
        self.settings = settings
        self.cache = cache
        self._memory: OrderedDict[tuple[str, int, bool], Features] = OrderedDict()
        self._limit = memory
        self._lock = threading.Lock()

    def features(self, ref: ImageRef, *, mirrored: bool = False) -> Features:
        """The features of ``ref`` (memory, then disk cache, then the file); an unreadable file has none."""
        key = (ref.sha256, ref.frame, mirrored)
        with self._lock:
            found = self._memory.get(key)
            if found is not None:
                self._memory.move_to_end(key)
                return found
        found = self.cache.get_features(key) if self.cache is not None else None
        if found is None:
            found = self._extract(ref, mirrored)
            if self.cache is not None:
                self.cache.put_features(key, found)
        with self._lock:
            self._memory[key] = found
            while len(self._memory) > self._limit:
                self._memory.popitem(last=False)
        return found

    def _extract(self, ref: ImageRef, mirrored: bool) -> Features:
        try:
            pixels = load_image(ref.path, ref.frame).pixels
        except ImageReadError as exc:
            logger.warning("no verification for %s: %s", ref.path, exc)
            return no_features(mirrored=mirrored)
        return extract(pixels, self.settings.features, mirrored=mirrored)

    def verify(self, synthetic: ImageRef, real: ImageRef, *, points: bool = False) -> Verification:
        """Verify one pair (``points``: with the inlier keypoints, for display)."""
        query = self.features(synthetic)
        reference = self.features(real)
        if (synthetic.sha256, synthetic.frame) == (real.sha256, real.frame) and not points:
            return Verification(len(query), Transform(1.0, 0.0, 0.0, 0.0, False) if len(query) else None)
        enough = max(self.settings.min_inliers, int(DECISIVE_FRACTION * min(len(query), len(reference))))
        return verify_pair(
            query,
            lambda: self.features(synthetic, mirrored=True),
            reference,
            self.settings.match,
            enough=enough,
            points=points,
        )

    def verify_pairs(self, pairs: Iterable[tuple[ImageRef, ImageRef]]) -> dict[PairKey, Verification]:
        """The verdicts of ``pairs`` (synthetic, real) by content key, cached ones read, new ones stored."""
        wanted = {(s.sha256, s.frame, r.sha256, r.frame): (s, r) for s, r in pairs}
        known = self.cache.get_verdicts(wanted) if self.cache is not None else {}
        fresh = {key: self.verify(*pair) for key, pair in wanted.items() if key not in known}
        if self.cache is not None:
            self.cache.put_verdicts(fresh)
        return known | fresh
