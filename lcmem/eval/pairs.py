"""The evaluation pairs of the official benchmarks, rebuilt from ``labels.csv`` records.

Re-identification (``benchmark.py``): for every image of an identity with at least two images, one positive
(the next image of that identity, cyclically) and one negative (the first image of a random other identity of
the same dataset), ``random.Random(42)``; a dataset with a single identity has no negatives and gives no
pairs. Copy detection (``benchmark_robustness.py``): one image per identity.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from lcmem.train.data import Record


@dataclass(frozen=True)
class Pair:
    """Two records (indices into the record list) and whether they show the same identity."""

    first: int
    second: int
    positive: bool
    dataset: str


def reid_pairs(records: list[Record], seed: int = 42) -> list[Pair]:
    """1:1 balanced re-identification pairs per dataset, intra-dataset negatives."""
    rng = random.Random(seed)
    pairs: list[Pair] = []
    by_dataset: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, record in enumerate(records):
        by_dataset[record.dataset][record.identity].append(index)
    for dataset in sorted(by_dataset):
        identities = by_dataset[dataset]
        names = sorted(identities)
        if len(names) < 2:
            continue
        for name in names:
            members = identities[name]
            if len(members) < 2:
                continue
            for position, index in enumerate(members):
                pairs.append(Pair(index, members[(position + 1) % len(members)], True, dataset))
                other = rng.choice([n for n in names if n != name])
                pairs.append(Pair(index, identities[other][0], False, dataset))
    return pairs


def copy_images(records: list[Record], per_dataset: int | None = None, seed: int = 0) -> list[int]:
    """One random image per identity (seeded), at most ``per_dataset`` identities per dataset."""
    rng = random.Random(seed)
    by_dataset: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, record in enumerate(records):
        by_dataset[record.dataset][record.identity].append(index)
    chosen = []
    for dataset in sorted(by_dataset):
        names = sorted(by_dataset[dataset])
        rng.shuffle(names)
        for name in names[:per_dataset]:
            chosen.append(rng.choice(by_dataset[dataset][name]))
    return sorted(chosen)
