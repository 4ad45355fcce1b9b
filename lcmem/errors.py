"""The one exception hierarchy of the library.

Every error a caller of the public API can see derives from :class:`LCMemError`. Each message says
which file or object is concerned, what happened and, where there is one, what the user can do.
Per-file failures during a folder walk or a scan are caught and recorded as data
(:class:`lcmem.io.FileProblem`), never raised to the caller.
"""

from __future__ import annotations

from pathlib import Path


class LCMemError(Exception):
    """Base class of every error raised by ``lcmem``."""


class ImageReadError(LCMemError):
    """A file could not be read as an image (missing, unreadable, truncated or corrupt)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        """Pickle with the constructor's arguments (errors cross into and out of worker processes)."""
        return type(self), (self.path, self.reason)


class UnsupportedImageError(ImageReadError):
    """A file is readable but of a kind or encoding this version cannot decode."""


class ImageTooLargeError(ImageReadError):
    """An image declares more pixels than the configured limit (a possible decompression bomb)."""


class BundleError(LCMemError):
    """A model bundle is missing, malformed, or does not match its recorded checksums."""


class SearchIndexError(LCMemError):
    """A FAISS index could not be built, loaded or searched."""


class CacheError(LCMemError):
    """The embedding cache could not be opened or written."""


class EmbeddingsError(LCMemError):
    """An embeddings folder (``lcmem embed``) could not be written, resumed or read."""


class MissingExtraError(LCMemError):
    """A feature needs an optional dependency that is not installed (an extra such as ``lcmem[cluster]``)."""


class ProjectError(LCMemError):
    """A review project could not be created, opened or updated."""


class Cancelled(LCMemError):
    """Raised inside long work when its cancel token is set; finished work is kept."""

    def __init__(self, message: str = "cancelled by the user") -> None:
        super().__init__(message)
