"""Pre-scaled thumbnails of review images, cached on disk by content hash (Qt-free; safe from any thread).

A thumbnail is the image as :func:`lcmem.io.load_image` decodes it (a DICOM at its own window), shrunk to fit
a square and stored as an 8-bit PNG under ``<cache>/thumbnails``. The key is the file's sha256 and frame, so
moved or renamed files reuse their thumbnails and a changed file never shows a stale one.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

import lcmem.io
from lcmem.embed.cache import default_cache_dir

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = 96


def default_thumbnail_dir() -> Path:
    """``thumbnails`` inside the lcmem cache folder (``$LCMEM_CACHE_DIR`` or the platform's cache)."""
    return default_cache_dir() / "thumbnails"


def render_thumbnail(path: str | Path, frame: int = 0, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """Decode an image and shrink it to fit ``size`` × ``size`` (never enlarged).

    Returns:
        uint8 ``(h, w)`` for grey images or ``(h, w, 3)`` for colour.

    Raises:
        ImageReadError: the file cannot be read (see :func:`lcmem.io.load_image`).
    """
    return shrink(lcmem.io.load_image(path, frame).pixels, size)


def shrink(pixels: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """Decoded pixels (float in [0, 1]) as 8-bit, shrunk to fit ``size`` × ``size`` (never enlarged)."""
    image = Image.fromarray(np.rint(np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8))
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image)


class ThumbnailStore:
    """Thumbnails on disk, made on first request.

    Args:
        folder: where the PNGs go (created when needed).
        size: the longest side in pixels.
    """

    def __init__(self, folder: str | Path | None = None, size: int = THUMBNAIL_SIZE) -> None:
        self.folder = Path(folder) if folder is not None else default_thumbnail_dir()
        self.size = size

    def path_for(self, sha256: str, frame: int) -> Path:
        """Where the thumbnail of ``(sha256, frame)`` is stored."""
        return self.folder / sha256[:2] / f"{sha256}-{frame}-{self.size}.png"

    def get(self, path: str | Path, sha256: str, frame: int = 0) -> np.ndarray:
        """The thumbnail of a file: read from the store, or rendered and stored.

        A store that cannot be written (read-only disk) only costs the caching; the thumbnail is returned.

        Raises:
            ImageReadError: the image cannot be read.
        """
        cached = self.path_for(sha256, frame)
        if cached.is_file():
            try:
                with Image.open(cached) as image:
                    return np.asarray(image.convert("RGB" if image.mode == "RGB" else "L"))
            except OSError:
                logger.debug("damaged thumbnail %s is rendered again", cached.name)
        pixels = render_thumbnail(path, frame, self.size)
        self._write(cached, pixels)
        return pixels

    def _write(self, target: Path, pixels: np.ndarray) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".png.tmp")
        except OSError as exc:
            logger.warning("thumbnail cache not written (%s)", exc.strerror or exc)
            return
        try:
            with os.fdopen(handle, "wb") as out:
                Image.fromarray(pixels).save(out, format="PNG")
            os.replace(temporary, target)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            logger.warning("thumbnail cache not written (%s)", exc.strerror or exc)
