"""Image I/O: find image files, read PNG/JPEG/TIFF/BMP/WebP and DICOM as float32 pixels in [0, 1], hash them.

Import from here, not from the submodules::

    from lcmem.io import discover_images, load_image, iter_frames

Every failure to read a file is an :class:`lcmem.errors.ImageReadError` (or subclass) naming the file and the
reason; folder walks record problems as :class:`FileProblem` data instead of raising.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lcmem.io.dicom_codecs import dicom_decoders
    from lcmem.io.dicom_header import DicomIdentifiers, read_dicom_identifiers
    from lcmem.io.discover import Discovery, discover_images
    from lcmem.io.formats import IMAGE_EXTENSIONS, is_dicom_file
    from lcmem.io.hashing import sha256_file
    from lcmem.io.loader import count_frames, iter_frames, load_image
    from lcmem.io.types import DEFAULT_MAX_PIXELS, FileProblem, FileWindow, ImageMeta, LoadedImage

_HOMES = {
    "dicom_decoders": "dicom_codecs",
    "DicomIdentifiers": "dicom_header",
    "read_dicom_identifiers": "dicom_header",
    "Discovery": "discover",
    "discover_images": "discover",
    "IMAGE_EXTENSIONS": "formats",
    "is_dicom_file": "formats",
    "sha256_file": "hashing",
    "count_frames": "loader",
    "iter_frames": "loader",
    "load_image": "loader",
    "DEFAULT_MAX_PIXELS": "types",
    "FileProblem": "types",
    "FileWindow": "types",
    "ImageMeta": "types",
    "LoadedImage": "types",
}


def __getattr__(name: str) -> object:
    """Import a name's submodule on first use, so that importing ``lcmem.io`` does not load pydicom (≈1 s)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'lcmem.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"lcmem.io.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "DicomIdentifiers",
    "Discovery",
    "FileProblem",
    "FileWindow",
    "ImageMeta",
    "LoadedImage",
    "count_frames",
    "dicom_decoders",
    "discover_images",
    "is_dicom_file",
    "iter_frames",
    "load_image",
    "read_dicom_identifiers",
    "sha256_file",
]
