"""Work units of an embedding job: the sorted input list cut into fixed runs of files, one shard each.

A unit is named by its place in the sorted list and the sha256 of its file list, so the same inputs always
give the same units and shard names, and a shard written for another list can never be mistaken for one of
this job: that is what makes an interrupted job resumable without duplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SHARD_PREFIX = "part-"
SHARD_SUFFIX = ".parquet"


@dataclass(frozen=True)
class WorkUnit:
    """Files ``files`` (in sorted order) of unit ``number``; ``digest`` is the sha256 of their list."""

    number: int
    files: tuple[str, ...]
    digest: str

    @property
    def shard_name(self) -> str:
        """The file name of this unit's shard: ``part-<number>-<digest prefix>.parquet``."""
        return f"{SHARD_PREFIX}{self.number:08d}-{self.digest[:16]}{SHARD_SUFFIX}"


def plan_units(files: Sequence[str | Path], files_per_unit: int) -> list[WorkUnit]:
    """Cut ``files`` (already sorted) into units of ``files_per_unit`` files; the last one may be shorter."""
    if files_per_unit < 1:
        raise ValueError("files_per_unit must be at least 1")
    names = [str(f) for f in files]
    units = []
    for number, start in enumerate(range(0, len(names), files_per_unit)):
        chunk = tuple(names[start : start + files_per_unit])
        digest = hashlib.sha256("\n".join(chunk).encode("utf-8", "surrogateescape")).hexdigest()
        units.append(WorkUnit(number, chunk, digest))
    return units
