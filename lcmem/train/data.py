"""Labelled image datasets: folders with ``labels.csv`` (path, identity, split, domain).

Identities are namespaced by dataset folder, so ids never collide across datasets; an image without an
identity becomes its own identity. The sha256 of every ``labels.csv`` is recorded with each trained model.
"""

from __future__ import annotations

import csv
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lcmem.errors import LCMemError
from lcmem.io import sha256_file

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
REQUIRED_COLUMNS = ("path", "identity", "split", "domain")


@dataclass(frozen=True)
class Record:
    """One labelled image."""

    path: str
    identity: str
    split: str
    domain: str
    dataset: str


@dataclass(frozen=True)
class LabelledData:
    """The records of one or more dataset folders, with the checksums of their label files."""

    records: tuple[Record, ...]
    label_sha256: dict[str, str]

    def split(self, name: str) -> list[Record]:
        """The records of one split."""
        return [r for r in self.records if r.split == name]

    def summary(self) -> dict[str, dict[str, int]]:
        """Images per dataset and split (for model cards and ``lcmem.json``)."""
        counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SPLITS, 0))
        for record in self.records:
            counts[record.dataset][record.split] += 1
        return {name: dict(value) for name, value in sorted(counts.items())}


def read_labelled_folder(folder: str | Path) -> tuple[list[Record], str]:
    """Read ``folder/labels.csv``; return its records (absolute paths) and the file's sha256.

    Raises:
        LCMemError: the file is missing or lacks a required column, or a split is unknown.
    """
    root = Path(folder).resolve()
    labels = root / "labels.csv"
    try:
        with labels.open(newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise LCMemError(f"{labels}: missing columns {missing}; need {list(REQUIRED_COLUMNS)}")
            rows = list(reader)
    except OSError as exc:
        raise LCMemError(f"{labels}: cannot read ({exc.strerror or exc}); a dataset folder needs labels.csv") from exc
    records = []
    for number, row in enumerate(rows, start=2):
        split = row["split"].strip().lower()
        if split not in SPLITS:
            raise LCMemError(f"{labels}:{number}: split {row['split']!r} is not one of {SPLITS}")
        identity = row["identity"].strip() or f"__image_{number}"
        records.append(Record(str(root / row["path"]), f"{root.name}:{identity}", split, row["domain"], root.name))
    return records, sha256_file(labels)


def load_labelled(folders: list[str | Path]) -> LabelledData:
    """Read several dataset folders into one :class:`LabelledData`."""
    records: list[Record] = []
    checksums = {}
    for folder in folders:
        folder_records, checksum = read_labelled_folder(folder)
        records += folder_records
        checksums[Path(folder).resolve().name] = checksum
    logger.info("read %d labelled images from %d folders", len(records), len(folders))
    return LabelledData(tuple(records), checksums)


@dataclass(frozen=True)
class IdentityIndex:
    """Records grouped by identity, with each identity's domain: what pair sampling draws from."""

    identities: tuple[str, ...]
    members: dict[str, tuple[int, ...]]
    domain_of: dict[str, str]

    @classmethod
    def build(cls, records: list[Record]) -> IdentityIndex:
        """Group ``records`` (indices into that list) by identity."""
        members: dict[str, list[int]] = defaultdict(list)
        domain_of = {}
        for index, record in enumerate(records):
            members[record.identity].append(index)
            domain_of[record.identity] = record.domain
        identities = tuple(sorted(members))
        return cls(identities, {k: tuple(v) for k, v in members.items()}, domain_of)

    def draw_pair(self, identity: str, rng: np.random.Generator) -> tuple[int, int]:
        """Two independent draws, with replacement, from one identity (as the official dataset does)."""
        members = self.members[identity]
        return members[rng.integers(len(members))], members[rng.integers(len(members))]
