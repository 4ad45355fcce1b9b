"""Batches of identity pairs, as the official LCMem dataset builds them, with balanced datasets.

Each batch holds B distinct identities; each gives two independent draws from its images (with replacement,
so a singleton gives an image and itself). Identities are drawn with weights that give every dataset a share
proportional to the square root of its size, so a small dataset (faces: 27 training identities) is not
drowned by a large one (dermoscopy: thousands); the official code samples identities uniformly.
With probability ``copy_p`` the second draw is the first image itself (copy-detection positives).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from lcmem.train.data import IdentityIndex, Record


@dataclass(frozen=True)
class PairBatch:
    """Indices (into the records) of the first and second images, and each pair's domain."""

    first: list[int]
    second: list[int]
    domains: list[str]


class PairSampler:
    """Draws :class:`PairBatch` es from ``records``."""

    def __init__(self, records: list[Record], copy_p: float = 0.0) -> None:
        self.records = records
        self.index = IdentityIndex.build(records)
        self.copy_p = copy_p
        images = Counter(r.dataset for r in records)
        identities = Counter(records[self.index.members[i][0]].dataset for i in self.index.identities)
        share = {name: np.sqrt(count) for name, count in images.items()}
        total = sum(share.values())
        weights = np.array(
            [
                share[d] / total / identities[d]
                for d in (records[self.index.members[i][0]].dataset for i in self.index.identities)
            ]
        )
        self.weights = weights / weights.sum()

    def batch(self, size: int, rng: np.random.Generator) -> PairBatch:
        """A batch of ``size`` distinct identities (fewer if the split has fewer)."""
        size = min(size, len(self.index.identities))
        chosen = rng.choice(len(self.index.identities), size=size, replace=False, p=self.weights)
        first, second, domains = [], [], []
        for position in chosen:
            identity = self.index.identities[position]
            a, b = self.index.draw_pair(identity, rng)
            if rng.random() < self.copy_p:
                b = a
            first.append(a)
            second.append(b)
            domains.append(self.index.domain_of[identity])
        return PairBatch(first, second, domains)
