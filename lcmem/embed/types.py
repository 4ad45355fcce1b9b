"""Records produced by the embedding tier."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lcmem.io.types import FileProblem


@dataclass(frozen=True)
class ImageRef:
    """One embedded item: a file, or one frame of a multi-frame DICOM (``frame`` counts from 0)."""

    path: str
    sha256: str
    frame: int = 0
    n_frames: int = 1


@dataclass(frozen=True)
class EmbeddedSet:
    """Embeddings of files: ``embeddings[i]`` belongs to ``refs[i]``; unreadable files are in ``problems``;
    ``views[i]`` ``(V, D)``, when asked for, are the embeddings of the item's query views (:mod:`lcmem.model.views`)."""

    refs: tuple[ImageRef, ...]
    embeddings: np.ndarray
    problems: tuple[FileProblem, ...]
    n_cached_files: int = 0
    n_computed_files: int = 0
    views: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.refs)


@dataclass(frozen=True)
class ItemRecord:
    """An item as an embeddings folder and a prebuilt index record it: its :class:`ImageRef` and DICOM UIDs.

    UIDs are ``None`` for other files; patient identifiers are never recorded.
    """

    path: str
    sha256: str
    frame: int = 0
    n_frames: int = 1
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None
    sop_instance_uid: str | None = None

    @property
    def ref(self) -> ImageRef:
        """The item as a scan refers to it."""
        return ImageRef(self.path, self.sha256, self.frame, self.n_frames)


@dataclass(frozen=True)
class ItemEmbeddings:
    """Items with their embeddings (``vectors[i]`` belongs to ``items[i]``) and the files that failed."""

    items: tuple[ItemRecord, ...]
    vectors: np.ndarray
    problems: tuple[FileProblem, ...]
