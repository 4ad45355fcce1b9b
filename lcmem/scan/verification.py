"""A scan's second stage: each synthetic image's LCMem candidates verified geometrically and re-ranked.

Rule (chosen on val, docs/VERIFY.md): a pair is *verified* when it has at least ``min_inliers`` inliers.
Verified pairs come first, by inlier count (ties by LCMem score); the others follow by LCMem score. The scan
searches ``depth`` candidates per synthetic image and keeps the first ``top_k`` of this order, so a geometric
copy that the search ranks low still comes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from itertools import groupby

from lcmem.progress import CancelToken
from lcmem.scan.types import Candidate
from lcmem.verify.verifier import Verifier


def rerank(candidates: Sequence[Candidate], min_inliers: int, top_k: int) -> list[Candidate]:
    """One synthetic image's candidates in the documented order, ranks renumbered from 1, the first ``top_k``."""

    def order(c: Candidate) -> tuple[bool, int, float]:
        verified = (c.inliers or 0) >= min_inliers
        return (not verified, -(c.inliers or 0) if verified else 0, -c.score)

    ranked = sorted(candidates, key=order)[:top_k]
    return [replace(c, rank=rank) for rank, c in enumerate(ranked, start=1)]


def verify_candidates(verifier: Verifier, candidates: Sequence[Candidate], top_k: int) -> list[Candidate]:
    """One synthetic image's candidates with their inliers and transforms, re-ranked by :func:`rerank`."""
    verdicts = verifier.verify_pairs((c.synthetic, c.real) for c in candidates)
    verified = []
    for c in candidates:
        found = verdicts[(c.synthetic.sha256, c.synthetic.frame, c.real.sha256, c.real.frame)]
        verified.append(replace(c, inliers=found.inliers, transform=found.transform))
    return rerank(verified, verifier.settings.min_inliers, top_k)


def verify_chunk(verifier: Verifier, chunk: list[Candidate], top_k: int, cancel: CancelToken) -> list[Candidate]:
    """A chunk of candidates (grouped by synthetic item, as the search emits them) verified in
    ``verifier.settings.threads`` threads (OpenCV releases the GIL)."""
    groups = [list(g) for _, g in groupby(chunk, key=lambda c: (c.synthetic.path, c.synthetic.frame))]

    def one(group: list[Candidate]) -> list[Candidate]:
        cancel.raise_if_cancelled()
        return verify_candidates(verifier, group, top_k)

    with ThreadPoolExecutor(max(1, verifier.settings.threads)) as pool:
        return [c for group in pool.map(one, groups) for c in group]
