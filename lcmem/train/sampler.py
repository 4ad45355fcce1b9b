"""Batches of identity pairs, as the official LCMem dataset builds them, with balanced datasets.

Each batch holds B distinct identities. Identities are drawn with weights that give every dataset a share
proportional to the square root of its size, so a small dataset (faces: 27 training identities) is not
drowned by a large one (dermoscopy: thousands); the official code samples identities uniformly.

Two ways to make the positive pair of an identity:

- ``draws`` (the official dataset): two independent draws from its images, with replacement, so a singleton
  (most dermoscopy lesions, every natural image) gives an image and itself;
- ``distinct``: only identities with at least two images, and two *different* images of them, so every
  positive teaches re-identification rather than the trivial ``f(x) = f(x)``.

With probability ``copy_p`` a row is instead a copy pair: an identity drawn from all of them and its
image paired with itself (stage 2 augments the second). :attr:`PairBatch.copies` marks those rows.

With ``neighbours`` (each identity's nearest other identities of its dataset, :mod:`lcmem.train.hard_negatives`)
a batch is built of groups: a seed identity and up to ``group_size − 1`` of its neighbours. With probability ``copy_p``
a group is of copy pairs (its seed drawn from every identity), else of identity pairs (its seed drawn from those
with a second image, neighbours with a second image first; one without is a copy pair), so the share of identity
pairs stays that of ungrouped batches. :attr:`PairBatch.groups` numbers the groups, so the loss pairs its
negatives within them: a copy must then outscore the images the network finds most like its source.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from lcmem.errors import LCMemError
from lcmem.train.data import IdentityIndex, Record

POSITIVES = ("draws", "distinct")


@dataclass(frozen=True)
class PairBatch:
    """Indices (into the records) of the first and second images, each pair's domain, copy flag and dataset."""

    first: list[int]
    second: list[int]
    domains: list[str]
    copies: list[bool]
    datasets: list[str]
    groups: list[int] | None = None


class PairSampler:
    """Draws :class:`PairBatch` es from ``records``."""

    def __init__(self, records: list[Record], copy_p: float = 0.0, positives: str = "draws",
                 neighbours: dict[str, list[str]] | None = None, group_size: int = 4) -> None:  # fmt: skip
        if positives not in POSITIVES:
            raise LCMemError(f"unknown positives mode {positives!r}; use one of {', '.join(POSITIVES)}")
        self.records = records
        self.index = IdentityIndex.build(records)
        self.copy_p = copy_p
        self.positives = positives
        self.neighbours = neighbours
        self.group_size = max(1, group_size)
        self.all_ids = list(self.index.identities)
        self.all_weights = self._weights(self.all_ids)
        if positives == "distinct":
            self.pair_ids = [i for i in self.all_ids if len(self.index.members[i]) >= 2]
            if not self.pair_ids:
                raise LCMemError(
                    "no identity in this split has two images: 'distinct' positives need re-identification data; "
                    "add a dataset with repeated identities or use positives='draws'"
                )
            self.pair_weights = self._weights(self.pair_ids)
        else:
            self.pair_ids, self.pair_weights = self.all_ids, self.all_weights

    def _weights(self, identities: list[str]) -> np.ndarray:
        dataset_of = [self.records[self.index.members[i][0]].dataset for i in identities]
        images = Counter(self.records[m].dataset for i in identities for m in self.index.members[i])
        per_dataset = Counter(dataset_of)
        share = {name: np.sqrt(count) for name, count in images.items()}
        total = sum(share.values())
        weights = np.array([share[d] / total / per_dataset[d] for d in dataset_of])
        return weights / weights.sum()

    def batch(self, size: int, rng: np.random.Generator) -> PairBatch:
        """A batch of ``size`` identity rows (fewer if the split has fewer), copy rows mixed in at random."""
        if self.neighbours is not None:
            return self._grouped_batch(size, rng)
        copies = int(rng.binomial(size, self.copy_p)) if self.copy_p > 0 else 0
        copies = min(copies, len(self.all_ids))
        pairs = min(size - copies, len(self.pair_ids))
        rows: list[tuple[int, int, str, bool]] = []
        for position in rng.choice(len(self.pair_ids), size=pairs, replace=False, p=self.pair_weights):
            identity = self.pair_ids[position]
            a, b = self._pair(identity, rng)
            rows.append((a, b, self.index.domain_of[identity], False))
        for position in rng.choice(len(self.all_ids), size=copies, replace=False, p=self.all_weights):
            identity = self.all_ids[position]
            members = self.index.members[identity]
            a = members[rng.integers(len(members))]
            rows.append((a, a, self.index.domain_of[identity], True))
        order = rng.permutation(len(rows))
        first, second, domains, flags = ([rows[i][k] for i in order] for k in range(4))
        return PairBatch(first, second, domains, flags, [self.records[a].dataset for a in first])

    def _grouped_batch(self, size: int, rng: np.random.Generator) -> PairBatch:
        size = min(size, len(self.all_ids))
        used: set[str] = set()
        rows: list[tuple[int, int, bool, str, int]] = []
        pools = {True: self._seed_order(self.all_ids, self.all_weights, rng),
                 False: self._seed_order(self.pair_ids, self.pair_weights, rng)}  # fmt: skip
        while len(rows) < size and (pools[True] or pools[False]):
            copy_group = not pools[False] or (bool(pools[True]) and rng.random() < self.copy_p)
            seed = pools[copy_group].pop()
            if seed in used:
                continue
            candidates = [n for n in self.neighbours.get(seed, []) if n not in used and n in self.index.members]
            if not copy_group:
                candidates.sort(key=lambda n: len(self.index.members[n]) < 2)
            room = min(self.group_size, size - len(rows)) - 1
            group = len({row[4] for row in rows})
            for identity in (seed, *candidates[: max(room, 0)]):
                used.add(identity)
                rows.append((*self._row(identity, copy_group, rng), self.index.domain_of[identity], group))
        order = rng.permutation(len(rows))
        first, second, copies, domains, groups = ([rows[i][k] for i in order] for k in (0, 1, 2, 3, 4))
        return PairBatch(first, second, domains, copies, [self.records[a].dataset for a in first], groups)

    @staticmethod
    def _seed_order(identities: list[str], weights: np.ndarray, rng: np.random.Generator) -> list[str]:
        """``identities`` in a weighted random order, the next seed last (for ``pop``)."""
        order = rng.choice(len(identities), size=len(identities), replace=False, p=weights)
        return [identities[i] for i in order[::-1]]

    def _row(self, identity: str, copy: bool, rng: np.random.Generator) -> tuple[int, int, bool]:
        """An identity pair (two images, ``False``), or a copy pair (an image and itself, ``True``) when ``copy``
        or when ``distinct`` positives find no second image."""
        members = self.index.members[identity]
        if not copy and (len(members) >= 2 or self.positives == "draws"):
            a, b = self._pair(identity, rng)
            return a, b, False
        a = members[rng.integers(len(members))]
        return a, a, True

    def _pair(self, identity: str, rng: np.random.Generator) -> tuple[int, int]:
        if self.positives == "distinct":
            members = self.index.members[identity]
            a, b = rng.choice(len(members), size=2, replace=False)
            return members[int(a)], members[int(b)]
        return self.index.draw_pair(identity, rng)
