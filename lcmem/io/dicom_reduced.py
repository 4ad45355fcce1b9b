"""JPEG 2000 DICOM frames decoded at a lower resolution level, for a model that needs few pixels.

A JPEG 2000 codestream is a wavelet pyramid: dropping its ``r`` finest levels gives the image at 1/2**r of its
size without computing the rest (ISO/IEC 15444-1 B.5), at a fraction of the time and memory. pydicom's
decoders always decode full size, so eligible frames (grey, unsigned, 8 or 16 bits allocated: the values are
then exactly what pydicom would give, at lower resolution) are decoded with Pillow's OpenJPEG at a reduction
level instead; any other frame, or any failure, falls back to pydicom.
"""

from __future__ import annotations

import io
import logging
import math

import numpy as np
from PIL import Jpeg2KImagePlugin
from pydicom import Dataset, uid

from lcmem.io.reduce import reduction_factor

logger = logging.getLogger(__name__)

REDUCIBLE_SYNTAXES = frozenset({uid.JPEG2000Lossless, uid.JPEG2000})
GREY_MODES = {"L": 8, "I;16": 16}
"""Pillow modes of a decoded grey codestream and the Bits Allocated they match."""


def j2k_reduction(ds: Dataset, tsyntax: uid.UID, target: int | None) -> int:
    """Return how many resolution levels a frame of ``ds`` may drop for a model of input size ``target``
    (0: decode it with pydicom, at full size)."""
    eligible = (
        tsyntax in REDUCIBLE_SYNTAXES
        and int(ds.get("SamplesPerPixel") or 1) == 1
        and str(ds.get("PhotometricInterpretation", "")).strip() in ("MONOCHROME1", "MONOCHROME2")
        and int(ds.get("PixelRepresentation") or 0) == 0
        and int(ds.BitsAllocated) in GREY_MODES.values()
    )
    if not eligible:
        return 0
    return int(math.log2(reduction_factor(int(ds.Columns), int(ds.Rows), target)))


def decode_reduced(stream: bytes, ds: Dataset, levels: int) -> np.ndarray | None:
    """Decode a grey JPEG 2000 codestream with ``levels`` resolution levels dropped; ``None`` when Pillow cannot
    (fewer levels in the stream, another mode than the header's Bits Allocated, a decoding error)."""
    try:
        image = Jpeg2KImagePlugin.Jpeg2KImageFile(io.BytesIO(stream))
        if GREY_MODES.get(image.mode) != int(ds.BitsAllocated):
            return None
        image.reduce = levels  # type: ignore[assignment, method-assign]
        image.load()
        arr = np.asarray(image)
    except Exception as exc:  # fall back to pydicom's full-size decoding, which reports a real error
        logger.debug("reduced JPEG 2000 decoding failed (%s); decoding at full size", exc)
        return None
    expected = (math.ceil(int(ds.Rows) / 2**levels), math.ceil(int(ds.Columns) / 2**levels))
    return arr if arr.shape == expected else None
