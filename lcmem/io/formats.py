"""Which files are images: the known extensions and the DICOM preamble sniff."""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

RASTER_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"})
"""Extensions (lower case) of the formats read with Pillow."""

DICOM_EXTENSIONS = frozenset({".dcm", ".dicom", ".dic", ".ima"})
"""Extensions (lower case) that mark a DICOM file."""

IMAGE_EXTENSIONS = RASTER_EXTENSIONS | DICOM_EXTENSIONS
"""Every extension (lower case) the folder walk treats as an image; matching ignores case."""

DICOM_PREAMBLE_LENGTH = 128
DICOM_MAGIC = b"DICM"


def has_dicom_extension(path: str | Path) -> bool:
    """Return whether the file name ends in a DICOM extension (any case)."""
    return Path(path).suffix.lower() in DICOM_EXTENSIONS


def has_image_extension(path: str | Path) -> bool:
    """Return whether the file name ends in one of :data:`IMAGE_EXTENSIONS` (any case)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def read_dicom_magic(path: str | Path) -> bool:
    """Return whether bytes 128-131 of the file are ``b"DICM"`` (DICOM PS3.10 7.1).

    Raises:
        OSError: the file cannot be opened or read.
    """
    with open(path, "rb") as f:
        head = f.read(DICOM_PREAMBLE_LENGTH + len(DICOM_MAGIC))
    return head[DICOM_PREAMBLE_LENGTH:] == DICOM_MAGIC


def is_dicom_file(path: str | Path) -> bool:
    """Return whether a file carries the DICOM File Format preamble (128 bytes, then ``b"DICM"``).

    Only the first 132 bytes are read. A file that cannot be read is reported as not DICOM.

    Args:
        path: the file to test.

    Returns:
        ``True`` when the magic bytes are present.
    """
    try:
        return read_dicom_magic(path)
    except OSError as exc:
        logger.debug("cannot sniff %s: %s", path, exc)
        return False
