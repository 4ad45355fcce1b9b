"""The real side of a scan: folders of images embedded now, or a prebuilt index (``lcmem index build``).

Either way the search sees the same thing, a :class:`RealSet`: a :class:`CandidateIndex` in the pair head's
search space, the real embeddings by row (for the exact score) and the items by row. Folders hold every item in
memory; a prebuilt index memory-maps its vectors and looks items up in its row table, so it may hold 10^7.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from lcmem.embed.types import EmbeddedSet, ImageRef
from lcmem.errors import SearchIndexError
from lcmem.index.faiss_index import CandidateIndex, IndexSettings
from lcmem.index.prebuilt import PrebuiltIndex, is_index_dir
from lcmem.io import FileProblem, discover_images
from lcmem.model.bundle import Bundle
from lcmem.progress import Progress

EmbedFunction = Callable[[Sequence[Path], str], EmbeddedSet]
"""Embeds files under a label (``"real images"``), with the scan's cache, settings, progress and cancel."""


@dataclass
class RealSet:
    """The real side, ready to search.

    ``vectors[r]`` is the embedding of row ``r`` of ``index``; ``refs(rows)`` names rows. ``embedded`` holds every
    real item when they are in memory (folders), ``None`` for a prebuilt index (then the real→real null
    distribution, which needs them all, is not computed).
    """

    index: CandidateIndex
    vectors: np.ndarray
    refs: Callable[[Iterable[int]], dict[int, ImageRef]]
    n_files: int
    problems: tuple[FileProblem, ...]
    embedded: EmbeddedSet | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    close: Callable[[], None] = lambda: None

    def __len__(self) -> int:
        return len(self.index)


@runtime_checkable
class RealSide(Protocol):
    """Where a scan's real images come from."""

    def open(self, bundle: Bundle, settings: IndexSettings, embed: EmbedFunction, progress: Progress) -> RealSet:
        """Make the real side searchable with ``bundle``."""
        ...


@dataclass(frozen=True)
class RealFolders:
    """Folders (or files) of real images, walked, embedded (cached) and indexed by this scan."""

    roots: tuple[str | Path, ...]

    def open(self, bundle: Bundle, settings: IndexSettings, embed: EmbedFunction, progress: Progress) -> RealSet:
        """Discover and embed the images, then build the index over them."""
        clock = time.perf_counter()
        discovery = discover_images(self.roots)
        seconds = {"discover": time.perf_counter() - clock}
        reals = embed(list(discovery.files), "real images")
        clock = time.perf_counter()
        progress(0, 1, "building the search index")
        index = CandidateIndex(bundle.model.network.fc_end.weight.detach().cpu().numpy()[0], settings)
        index.build(reals.embeddings)
        progress(1, 1, "building the search index")
        seconds["index"] = time.perf_counter() - clock
        refs = reals.refs
        return RealSet(
            index,
            reals.embeddings,
            lambda rows: {int(r): refs[int(r)] for r in rows},
            len(discovery.files),
            (*discovery.problems, *reals.problems),
            reals,
            seconds,
        )


@dataclass(frozen=True)
class RealIndex:
    """A prebuilt index folder; ``nprobe`` ``None`` uses the default recorded when it was built."""

    folder: str | Path
    nprobe: int | None = None

    def open(self, bundle: Bundle, settings: IndexSettings, embed: EmbedFunction, progress: Progress) -> RealSet:
        """Open the index for ``bundle`` (refusing one built with another model); nothing is embedded."""
        clock = time.perf_counter()
        progress(0, 1, "opening the real-image index")
        prebuilt = PrebuiltIndex.open(self.folder, bundle.checksum, self.nprobe)
        progress(1, 1, "opening the real-image index")
        manifest = prebuilt.manifest
        problems = tuple(FileProblem(p["path"], p["reason"], p["kind"]) for p in manifest.get("problems", ()))
        rows = prebuilt.rows
        return RealSet(
            prebuilt.index,
            prebuilt.vectors,
            lambda wanted: {r: item.ref for r, item in rows.lookup(wanted).items()},
            int(manifest.get("files", 0)),
            problems,
            None,
            {"index": time.perf_counter() - clock},
            prebuilt.close,
        )


def real_side_for(roots: Sequence[str | Path]) -> RealSide:
    """The real side of some sources: one prebuilt index folder, or folders of images.

    Raises:
        SearchIndexError: a prebuilt index is given together with other sources.
    """
    indexes = [root for root in roots if is_index_dir(root)]
    if not indexes:
        return RealFolders(tuple(roots))
    if len(roots) > 1:
        raise SearchIndexError(
            f"{indexes[0]}: a prebuilt index must be the only real source; embed the other folders into it "
            "(lcmem embed, lcmem index build) or scan them separately"
        )
    return RealIndex(indexes[0])
