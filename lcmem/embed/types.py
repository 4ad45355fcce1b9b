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
    """Embeddings of files: ``embeddings[i]`` belongs to ``refs[i]``; unreadable files are in ``problems``."""

    refs: tuple[ImageRef, ...]
    embeddings: np.ndarray
    problems: tuple[FileProblem, ...]
    n_cached_files: int = 0
    n_computed_files: int = 0

    def __len__(self) -> int:
        return len(self.refs)
