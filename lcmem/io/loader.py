"""The public loader: one entry point for every image file, DICOM or raster, and the frames it holds.

Dispatch: DICOM when the extension says so or the file carries the ``DICM`` preamble; otherwise Pillow, and
DICOM (read with ``force``) when Pillow does not recognise the content. A DICOM-named file that is not DICOM
is tried with Pillow. Every failure is an :class:`~lcmem.errors.ImageReadError` (or subclass) whose message
holds the path and a reason; no other exception leaves this module.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from lcmem.errors import ImageReadError
from lcmem.io.dicom import count_dicom_frames, is_not_dicom, iter_dicom_frames, load_dicom
from lcmem.io.formats import has_dicom_extension, read_dicom_magic
from lcmem.io.raster import count_raster_frames, is_unrecognised, iter_raster_frames, load_raster
from lcmem.io.reasons import describe_os_error
from lcmem.io.types import DEFAULT_MAX_PIXELS, LoadedImage

logger = logging.getLogger(__name__)

T = TypeVar("T")

PLACEHOLDER_SNIFF_BYTES = 4096


def load_image(
    path: str | Path,
    frame: int | None = None,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    window: tuple[float, float] | None = None,
    target: int | None = None,
) -> LoadedImage:
    """Load one image (one frame of a multi-frame file) as float32 pixels in [0, 1].

    Args:
        path: a PNG, JPEG, TIFF, BMP, WebP, GIF... or DICOM file (the content decides, not the name).
        frame: the frame index from 0; ``None`` loads the first frame.
        max_pixels: refuse files declaring more pixels than this (all frames together), before decoding.
        window: ``(center, width)`` in modality units replacing a monochrome DICOM's own VOI window (the
            viewer's window/level); ignored for other images.
        target: the side the caller resizes to (the model's input size): a large image is then decoded at
            reduced size (``meta.extra["reduced"]``); ``None`` (a viewer): full size.

    Returns:
        Pixels ``(H, W)`` (mode ``"L"``) or ``(H, W, 3)`` (mode ``"RGB"``) and their :class:`ImageMeta`.

    Raises:
        ImageReadError: the file is missing, empty, unreadable, corrupt or truncated, or ``frame`` is out of
            range. Subclasses: :class:`~lcmem.errors.UnsupportedImageError` (not an image, no pixel data, no
            decoder installed) and :class:`~lcmem.errors.ImageTooLargeError` (over ``max_pixels``).
    """
    file = _check_file(path)
    if _looks_dicom(file):
        try:
            return load_dicom(file, frame, max_pixels=max_pixels, window=window, target=target)
        except ImageReadError as exc:
            if not is_not_dicom(exc):
                raise
            return _raster_or(exc, lambda: load_raster(file, frame, max_pixels=max_pixels, target=target))
    try:
        return load_raster(file, frame, max_pixels=max_pixels, target=target)
    except ImageReadError as exc:
        if not is_unrecognised(exc):
            raise
        return _dicom_or(exc, lambda: load_dicom(file, frame, max_pixels=max_pixels, window=window, target=target))


def iter_frames(
    path: str | Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    window: tuple[float, float] | None = None,
    target: int | None = None,
) -> Iterator[LoadedImage]:
    """Yield every item of a file: each frame of a DICOM, each page or frame of a multi-page TIFF or an animated
    GIF, PNG or WebP, the one image of any other file.

    Frames are decoded one at a time. The checks run when iteration starts.

    Args:
        path: the file.
        max_pixels: refuse files declaring more pixels (all frames together), before decoding.
        window: ``(center, width)`` replacing a monochrome DICOM's VOI window.
        target: as for :func:`load_image`.

    Yields:
        One :class:`LoadedImage` per frame, ``meta.frame`` its index (``None`` for a single-image raster file).

    Raises:
        ImageReadError: as :func:`load_image`; possibly after some frames of a damaged file were yielded.
    """
    file = _check_file(path)
    if _looks_dicom(file):
        frames = iter_dicom_frames(file, max_pixels=max_pixels, window=window, target=target)
        try:
            first = next(frames, None)
        except ImageReadError as exc:
            if not is_not_dicom(exc):
                raise
            named_dicom = iter_raster_frames(file, max_pixels=max_pixels, target=target)
            yield _raster_or(exc, lambda: next(named_dicom))
            yield from named_dicom
            return
        if first is not None:
            yield first
            yield from frames
        return
    raster = iter_raster_frames(file, max_pixels=max_pixels, target=target)
    try:
        first = next(raster)
    except ImageReadError as exc:
        if not is_unrecognised(exc):
            raise
        _dicom_or(exc, lambda: count_dicom_frames(file))
        yield from iter_dicom_frames(file, max_pixels=max_pixels, window=window, target=target)
        return
    yield first
    yield from raster


def count_frames(path: str | Path) -> int:
    """Return how many items :func:`iter_frames` yields for a file, reading only its header.

    Raises:
        ImageReadError: as :func:`load_image`, for what the header shows.
    """
    file = _check_file(path)
    if _looks_dicom(file):
        try:
            return count_dicom_frames(file)
        except ImageReadError as exc:
            if not is_not_dicom(exc):
                raise
            return _raster_or(exc, lambda: count_raster_frames(file))
    try:
        return count_raster_frames(file)
    except ImageReadError as exc:
        if not is_unrecognised(exc):
            raise
        return _dicom_or(exc, lambda: count_dicom_frames(file))


def _check_file(path: str | Path) -> str | Path:
    """Refuse what is not a non-empty regular file, with a reason, before any decoder sees it."""
    try:
        st = os.stat(path)
    except OSError as exc:
        reason = "file not found" if isinstance(exc, FileNotFoundError) else describe_os_error(exc)
        raise ImageReadError(path, f"cannot open: {reason}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise ImageReadError(path, "is a folder, not an image file")
    if not stat.S_ISREG(st.st_mode):
        raise ImageReadError(path, "is not a regular file")
    if st.st_size == 0:
        raise ImageReadError(path, "file is empty")
    _refuse_placeholder(path, st.st_size)
    return path


def _refuse_placeholder(path: str | Path, size: int) -> None:
    """Refuse a file whose first :data:`PLACEHOLDER_SNIFF_BYTES` are all zero, at once: every format read here
    starts with a signature (DICOM's ``DICM`` at byte 128), and parsing gigabytes of zeros takes minutes."""
    try:
        with open(path, "rb") as f:
            head = f.read(PLACEHOLDER_SNIFF_BYTES)
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file: {describe_os_error(exc)}") from exc
    if head.count(0) == len(head):
        whole = (
            "holds only zero bytes" if len(head) == size else f"holds only zero bytes in its first {len(head)} bytes"
        )
        raise ImageReadError(
            path,
            f"{whole} (a placeholder: an unfinished download or copy, or a cloud-storage stub not fetched); "
            "re-copy the file",
        )


def _looks_dicom(path: str | Path) -> bool:
    """Return whether the name or the preamble says DICOM."""
    if has_dicom_extension(path):
        return True
    try:
        return read_dicom_magic(path)
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file: {describe_os_error(exc)}") from exc


def _raster_or(dicom_error: ImageReadError, read: Callable[[], T]) -> T:
    """Read a DICOM-named file that is not DICOM with Pillow; if Pillow does not know it, say not DICOM."""
    try:
        return read()
    except ImageReadError as exc:
        if is_unrecognised(exc):
            raise dicom_error from None
        raise


def _dicom_or(raster_error: ImageReadError, read: Callable[[], T]) -> T:
    """Read a file Pillow does not recognise as DICOM; if it is not DICOM either, raise Pillow's error."""
    try:
        return read()
    except ImageReadError as exc:
        if is_not_dicom(exc):
            raise raster_error from None
        raise
