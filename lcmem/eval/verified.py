"""LCMem + geometric verification as a detector of the retrieval protocol, exactly as the scan runs it.

The first stage (LCMem's scores, a :class:`~lcmem.eval.retrieval.FeatureRanker`) proposes each query's
``settings.depth`` best gallery images (the query itself, hidden from a re-identification query, is not among
them, as a synthetic image is not in the scan's real set). Each pair is verified by :mod:`lcmem.verify` with the
scan's settings and re-ranked and flagged by the scan's rule (:mod:`lcmem.verify.rule`). The null threshold is
LCMem's (the scan anchors on LCMem's real→real scores).

Verification needs pixels at its own size: the scan reads the file and works at its stored size, shrunk to a
long side of ``settings.features.max_side`` (512) at most (dermoscopy 200 px and faces 192 px as stored, chest
X-rays 512), while the protocol's images are squares at the working size (256): that would enlarge faces and
dermoscopy and halve the X-rays, and change what SIFT finds and what RANSAC's 5 px tolerance means. So the
verifier is given each image by ``load`` (:func:`file_loader`): the file read again, as a square of its stored
long side (at most 512), with the query's edit applied at that size.

With the settings' query ``views`` (:mod:`lcmem.model.views`, the scan's default) the candidates are the best
``depth`` by the highest first-stage score of the query or any of its views, as the scan picks them; the scores
and flags stay the query's own.

The matrix :meth:`VerifyRanker.scores` returns is the re-ranked order as a score (1 first, down in steps of
``1/G``; tied keys share a value), so rank-1, mAP and the margin are of that order (the margin in those steps),
and the flags are the scan's: score at or above the threshold, or at least ``min_inliers`` inliers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from lcmem.errors import ImageReadError
from lcmem.eval.retrieval import FeatureRanker, QuerySet
from lcmem.eval.transforms import EDITS, apply_edit
from lcmem.io import load_image
from lcmem.model.preprocess import to_model_input
from lcmem.model.views import apply_views
from lcmem.train.data import Record
from lcmem.train.pixels import to_float
from lcmem.verify.features import Features, extract, no_features
from lcmem.verify.rule import flagged, rank_key
from lcmem.verify.settings import VerifySettings
from lcmem.verify.verifier import verify_features

NAME = "lcmem+verify"
NO_VIEWS_NAME = "lcmem+verify:no-views"

Loader = Callable[[int, str], "np.ndarray | None"]
"""``(split row, kind)`` → float pixels ``(H, W, 3)`` in [0, 1] with the edit ``kind`` applied (``"reid"``,
``"unseen"`` and ``"gallery"``: as stored), or ``None`` when the file cannot be read."""


def file_loader(records: Sequence[Record], max_side: int) -> Loader:
    """Read a record's file as the scan does (long side at most ``max_side``, never enlarged), as a square of
    that side like the protocol's images, and apply the edit at that size."""

    def load(row: int, kind: str) -> np.ndarray | None:
        try:
            image = load_image(records[row].path)
        except ImageReadError:
            return None
        pixels = to_model_input(image, min(max_side, max(image.pixels.shape[:2])))
        if kind in EDITS:
            pixels = apply_edit(pixels, kind)
        return pixels.permute(1, 2, 0).numpy()

    return load


def best_view_scores(ranker: FeatureRanker, pixels: np.ndarray, views: tuple[str, ...], own: np.ndarray) -> np.ndarray:
    """What picks the candidates, as the scan picks them: each query's first-stage score of every gallery image
    (``own``, ``(Q, G)``), or with ``views`` the best of it and the scores of the query's views; ``pixels`` are the
    queries' uint8 images, embedded under the views batch by batch."""
    if not views or not len(own):
        return own
    best = own.copy()
    for start in range(0, len(own), ranker.batch_size):
        images = torch.from_numpy(to_float(np.asarray(pixels[start : start + ranker.batch_size])))
        viewed = apply_views(images, views)
        rows = slice(start, start + len(images))
        for v in range(viewed.shape[1]):
            best[rows] = np.maximum(best[rows], ranker.scores_of(viewed[:, v]))
    return best


class VerifyRanker:
    """The scan's second stage over a first-stage ranker (see the module docstring)."""

    def __init__(self, first: FeatureRanker, settings: VerifySettings, load: Loader, name: str = NAME) -> None:
        self.first = first
        self.settings = settings
        self.load = load
        self.name = name
        self._rows: list[int] = []
        self._gallery: dict[int, Features] = {}
        self._scores = np.zeros((0, 0))
        self._inliers = np.zeros((0, 0), dtype=np.int64)

    def prepare(self, gallery: np.ndarray, rows: Sequence[int]) -> None:
        self.first.prepare(gallery, rows)
        self._rows = list(rows)
        self._gallery = {}

    def gallery_scores(self) -> np.ndarray:
        return self.first.gallery_scores()

    def scores(self, queries: QuerySet) -> np.ndarray:
        first = self.first.scores(queries)
        proposed = best_view_scores(self.first, queries.pixels, self.settings.views, first)
        inliers = np.full(first.shape, -1, dtype=np.int64)
        for q, (origin, kind) in enumerate(zip(queries.origins, queries.kinds, strict=True)):
            row = proposed[q].copy()
            if queries.hidden[q] >= 0:
                row[queries.hidden[q]] = -np.inf
            pixels = self.load(origin, kind)
            query = self._extract(pixels)
            mirrored: list[Features] = []

            def flipped(pixels: np.ndarray | None = pixels, memo: list[Features] = mirrored) -> Features:
                if not memo:
                    memo.append(self._extract(pixels, mirrored=True))
                return memo[0]

            for g in np.argsort(-row, kind="stable")[: self.settings.depth]:
                inliers[q, g] = verify_features(self.settings, query, flipped, self._reference(int(g))).inliers
        self._scores, self._inliers = first, inliers
        return np.stack([self._order(first[q], inliers[q]) for q in range(len(first))]) if len(first) else first

    def flags(self, scores: np.ndarray, threshold: float) -> np.ndarray:
        rule = np.frompyfunc(
            lambda s, n: flagged(float(s), None if n < 0 else int(n), threshold, self.settings.min_inliers), 2, 1
        )
        return rule(self._scores, self._inliers).astype(bool)

    def _order(self, scores: np.ndarray, inliers: np.ndarray) -> np.ndarray:
        """The scan's order of one query's gallery as a score: 1 first, ``1/G`` less per distinct key."""
        keys = [
            rank_key(float(s), None if n < 0 else int(n), self.settings.min_inliers)
            for s, n in zip(scores, inliers, strict=True)
        ]
        order = sorted(range(len(keys)), key=keys.__getitem__)
        values = np.empty(len(keys))
        step = 0
        for position, index in enumerate(order):
            if position and keys[index] != keys[order[position - 1]]:
                step += 1
            values[index] = 1.0 - step / len(keys)
        return values

    def _reference(self, position: int) -> Features:
        if position not in self._gallery:
            self._gallery[position] = self._extract(self.load(self._rows[position], "gallery"))
        return self._gallery[position]

    def _extract(self, pixels: np.ndarray | None, *, mirrored: bool = False) -> Features:
        if pixels is None:
            return no_features(mirrored=mirrored)
        return extract(pixels, self.settings.features, mirrored=mirrored)
