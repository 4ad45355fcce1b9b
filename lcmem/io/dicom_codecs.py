"""Which DICOM transfer syntaxes can be decoded here, and what to install for the others.

Decoders are pydicom's (native, deflate, RLE) and its plugins for pylibjpeg (+ pylibjpeg-libjpeg,
pylibjpeg-openjpeg, pylibjpeg-rle), Pillow, pyjpegls and GDCM; each answers ``is_available``.
"""

from __future__ import annotations

import logging

from pydicom import uid
from pydicom.pixels import get_decoder
from pydicom.pixels.decoders.base import Decoder

from lcmem.errors import UnsupportedImageError

logger = logging.getLogger(__name__)

FAMILIES: dict[str, tuple[tuple[uid.UID, ...], str]] = {
    "uncompressed": (
        (uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian, uid.ExplicitVRBigEndian),
        "pydicom (built in)",
    ),
    "deflate": ((uid.DeflatedExplicitVRLittleEndian,), "pydicom (built in)"),
    "rle": ((uid.RLELossless,), "pydicom (built in) or pylibjpeg-rle"),
    "jpeg_baseline": ((uid.JPEGBaseline8Bit,), "Pillow, or pylibjpeg with pylibjpeg-libjpeg"),
    "jpeg_extended": ((uid.JPEGExtended12Bit,), "pylibjpeg with pylibjpeg-libjpeg (Pillow reads 8-bit only)"),
    "jpeg_lossless": ((uid.JPEGLossless, uid.JPEGLosslessSV1), "pylibjpeg with pylibjpeg-libjpeg"),
    "jpeg_ls": (
        (uid.JPEGLSLossless, uid.JPEGLSNearLossless),
        "pylibjpeg with pylibjpeg-libjpeg, or pyjpegls",
    ),
    "jpeg_2000": ((uid.JPEG2000Lossless, uid.JPEG2000), "pylibjpeg with pylibjpeg-openjpeg, or Pillow"),
    "htj2k": (
        (uid.HTJ2KLossless, uid.HTJ2KLosslessRPCL, uid.HTJ2K),
        "pylibjpeg with pylibjpeg-openjpeg 2 or later",
    ),
}
"""Transfer-syntax families: their UIDs, and the packages that decode them."""

CONVERT_HINT = "convert the file to an uncompressed transfer syntax (e.g. dcmtk's dcmdjpeg, or gdcmconv --raw)"


def dicom_decoders() -> dict[str, bool]:
    """Report, per transfer-syntax family, whether every syntax in it can be decoded here.

    Returns:
        ``{"uncompressed": True, "jpeg_ls": False, ...}`` for the families of :data:`FAMILIES`.
    """
    return {name: all(_is_available(u) for u in uids) for name, (uids, _) in FAMILIES.items()}


def decoder_plugins() -> dict[str, list[str]]:
    """Per transfer-syntax family, the pydicom decoder plugins that can run here for its first syntax.

    Returns:
        e.g. ``{"rle": ["pydicom", "pylibjpeg"], "jpeg_ls": [], ...}``; ``pylibjpeg`` stands for pylibjpeg with
        the plugin package of that family (pylibjpeg-libjpeg, -openjpeg or -rle); pydicom decodes the
        uncompressed families itself.
    """
    plugins = {}
    for name, (uids, _) in FAMILIES.items():
        decoder = get_decoder(uids[0])
        plugins[name] = ["pydicom"] if decoder.is_native else sorted(decoder.available_plugins)
    return plugins


def decoder_for(path: str, tsyntax: uid.UID) -> Decoder:
    """Return pydicom's decoder for a transfer syntax, if it can run here.

    Args:
        path: the file, for the error message.
        tsyntax: its Transfer Syntax UID.

    Returns:
        An available decoder.

    Raises:
        UnsupportedImageError: no decoder exists for the syntax, or its packages are not installed; the
            message names the syntax and what would decode it.
    """
    name = f"'{tsyntax.name}' ({tsyntax})" if tsyntax.is_transfer_syntax else f"'{tsyntax}'"
    try:
        decoder = get_decoder(tsyntax)
    except NotImplementedError as exc:
        raise UnsupportedImageError(
            path,
            f"pixel data uses transfer syntax {name}, which no installed decoder supports; {CONVERT_HINT}",
        ) from exc
    if not decoder.is_available:
        raise UnsupportedImageError(
            path,
            f"pixel data uses transfer syntax {name} and no decoder for it is installed: "
            f"install {package_hint(tsyntax)}, or {CONVERT_HINT}",
        )
    return decoder


def package_hint(tsyntax: uid.UID) -> str:
    """Return the packages that decode a transfer syntax, or a generic hint when none is known."""
    for uids, packages in FAMILIES.values():
        if tsyntax in uids:
            return packages
    return "a decoder for it (none is known to pydicom)"


def _is_available(tsyntax: uid.UID) -> bool:
    try:
        return bool(get_decoder(tsyntax).is_available)
    except NotImplementedError:
        return False
