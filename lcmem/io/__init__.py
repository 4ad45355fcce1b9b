"""Image I/O: find image files, read PNG/JPEG/TIFF/BMP/WebP and DICOM as float32 pixels in [0, 1], hash them.

Import from here, not from the submodules::

    from lcmem.io import discover_images, load_image, iter_frames

Every failure to read a file is an :class:`lcmem.errors.ImageReadError` (or subclass) naming the file and the
reason; folder walks record problems as :class:`FileProblem` data instead of raising.
"""

from lcmem.io.dicom_codecs import dicom_decoders
from lcmem.io.dicom_header import DicomIdentifiers, read_dicom_identifiers
from lcmem.io.discover import Discovery, discover_images
from lcmem.io.formats import IMAGE_EXTENSIONS, is_dicom_file
from lcmem.io.hashing import sha256_file
from lcmem.io.loader import count_frames, iter_frames, load_image
from lcmem.io.types import DEFAULT_MAX_PIXELS, FileProblem, ImageMeta, LoadedImage

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "DicomIdentifiers",
    "Discovery",
    "FileProblem",
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
