"""What a compressed DICOM frame says about its own size, read from the stream before anything is decoded.

A decoder allocates what the compressed stream declares, not what the DICOM header says: a JPEG 2000
codestream's SIZ marker (ISO/IEC 15444-1 A.5.1), a JPEG or JPEG-LS frame header (ITU T.81 B.2.2, T.87 C.2.2).
RLE segments carry no size, but each 2 bytes decode to at most 128 (PS3.5 G.3), which bounds what they can
hold. A frame whose stream disagrees with Rows x Columns is refused here, so that a few-kilobyte file cannot
make a decoder allocate gigabytes.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import zlib
from pathlib import Path

from pydicom import Dataset, uid
from pydicom.encaps import generate_fragmented_frames
from pydicom.filereader import read_file_meta_info

from lcmem.errors import ImageReadError, ImageTooLargeError

logger = logging.getLogger(__name__)

J2K_SYNTAXES = frozenset({uid.JPEG2000Lossless, uid.JPEG2000, uid.HTJ2KLossless, uid.HTJ2KLosslessRPCL, uid.HTJ2K})
JPEG_SYNTAXES = frozenset(
    {uid.JPEGBaseline8Bit, uid.JPEGExtended12Bit, uid.JPEGLossless, uid.JPEGLosslessSV1}
    | {uid.JPEGLSLossless, uid.JPEGLSNearLossless}
)
J2K_SOC_SIZ = b"\xff\x4f\xff\x51"
JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}
"""SOF0-SOF15 (without DHT, JPG and DAC), and JPEG-LS SOF55."""
RLE_HEADER_BYTES = 64
RLE_BYTES_PER_PACKET = 128 / 2
DEFLATE_BYTES_PER_PIXEL = 2
"""A deflated data set may inflate to this many bytes per pixel of the limit (16-bit grey at the limit)."""
DEFLATE_CHUNK = 2**20
FILE_META_START = 128 + 4 + 12
"""Preamble, ``DICM`` and the File Meta Information Group Length element (PS3.10 7.1)."""
MAX_DATASET_READS = 500_000
"""pydicom reads a data element with one read (two for a long value): this allows some 300 000 elements. The
files of pydicom's test set and the shared DICOM set need at most 3 600; an enhanced multi-frame object of
5 000 frames with 30 per-frame attributes needs about 150 000."""


class DatasetTooLongError(Exception):
    """Raised by :class:`BoundedReader` when pydicom has read a file more times than any image needs."""


class BoundedReader(io.BufferedReader):
    """A buffered file whose reads are counted, to give up on a data set of millions of tiny elements.

    Parsing such a file (a damaged one, or zeros after a valid preamble) costs 10-20 s per 10 MB on a busy
    2-core machine and holds a decoding thread for minutes on a large one; real images stop far below
    :data:`MAX_DATASET_READS`.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(io.FileIO(os.fspath(path), "rb"))  # a str name: pydicom adds it to strings
        self.reads = 0
        self.limit = MAX_DATASET_READS

    def read(self, size: int | None = -1) -> bytes:
        """Read as a buffered file does, counting; raise :class:`DatasetTooLongError` past the bound."""
        self.reads += 1
        if self.reads > self.limit:
            raise DatasetTooLongError(f"more than {self.limit} reads")
        return super().read(size)


def check_frame_streams(path: str, ds: Dataset, tsyntax: uid.UID, n_frames: int) -> None:
    """Refuse a compressed frame whose stream declares a size other than Rows x Columns.

    Args:
        path: the file, for the message.
        ds: the dataset with encapsulated Pixel Data.
        tsyntax: its transfer syntax (other syntaxes are not checked).
        n_frames: Number of Frames.

    Raises:
        ImageReadError: a JPEG, JPEG-LS, JPEG 2000 or HTJ2K stream declares another size, or an RLE
            segment is too short for the pixels the header declares.
    """
    if tsyntax not in J2K_SYNTAXES | JPEG_SYNTAXES and tsyntax != uid.RLELossless:
        return
    rows, columns = int(ds.Rows), int(ds.Columns)
    try:
        frames = list(generate_fragmented_frames(ds.PixelData, number_of_frames=n_frames))
    except Exception as exc:  # a broken fragment table: the decoder reports it with its own words
        logger.debug("cannot split %s into frames before decoding: %s", path, exc)
        return
    for index, fragments in enumerate(frames):
        if not fragments:
            continue
        if tsyntax == uid.RLELossless:
            _check_rle(path, fragments, rows * columns, index)
            continue
        size = j2k_size(fragments[0]) if tsyntax in J2K_SYNTAXES else jpeg_size(fragments[0])
        if size is not None and size != (columns, rows):
            codec = "JPEG 2000" if tsyntax in J2K_SYNTAXES else "JPEG"
            raise ImageReadError(
                path,
                f"the {codec} stream of frame {index} declares {size[0]}x{size[1]} pixels but the DICOM header "
                f"says {columns}x{rows} (Columns x Rows): the file is corrupt or forged; not decoded",
            )


def j2k_size(stream: bytes) -> tuple[int, int] | None:
    """Return ``(width, height)`` from a JPEG 2000 codestream's SIZ marker (also inside a JP2 file), or
    ``None`` when there is none."""
    start = stream.find(J2K_SOC_SIZ, 0, 4096)
    if start < 0 or len(stream) < start + 24:
        return None
    xsiz, ysiz, xosiz, yosiz = struct.unpack(">IIII", stream[start + 8 : start + 24])
    return max(xsiz - xosiz, 0), max(ysiz - yosiz, 0)


def jpeg_size(stream: bytes) -> tuple[int, int] | None:
    """Return ``(width, height)`` from the first frame header (SOFn or JPEG-LS SOF55) of a JPEG stream, or
    ``None`` when the stream has none or defines its height later (a DNL marker)."""
    if stream[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(stream):
        if stream[i] != 0xFF:
            return None
        marker = stream[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = struct.unpack(">H", stream[i + 2 : i + 4])[0]
        if marker in JPEG_SOF_MARKERS:
            if i + 9 > len(stream):
                return None
            height, width = struct.unpack(">HH", stream[i + 5 : i + 9])
            return (width, height) if height else None
        i += 2 + length
    return None


def _check_rle(path: str, fragments: tuple[bytes, ...], pixels: int, index: int) -> None:
    """Refuse an RLE frame one of whose segments cannot decode to ``pixels`` bytes (PS3.5 G.3.1)."""
    data = b"".join(fragments)
    if len(data) < RLE_HEADER_BYTES:
        return
    count = struct.unpack("<I", data[:4])[0]
    offsets = list(struct.unpack("<15I", data[4:RLE_HEADER_BYTES]))[: min(count, 15)]
    ends = [*offsets[1:], len(data)]
    for number, (start, end) in enumerate(zip(offsets, ends, strict=True), start=1):
        length = end - start
        if length >= 0 and length * RLE_BYTES_PER_PACKET + 128 < pixels:
            raise ImageReadError(
                path,
                f"RLE segment {number} of frame {index} holds {length} bytes, which cannot hold the {pixels} "
                "pixels Rows x Columns declare: the file is truncated or its header is wrong; not decoded",
            )


def check_deflate(path: str | Path, max_pixels: int) -> None:
    """Refuse a Deflated Explicit VR Little Endian file whose data set inflates past what ``max_pixels`` allows.

    pydicom inflates the whole data set into memory before parsing even its header; this inflates it in
    chunks first, only counting, so that a few megabytes of deflate cannot become gigabytes (PS3.5 A.5).

    Raises:
        ImageTooLargeError: the data set inflates to more than ``DEFLATE_BYTES_PER_PIXEL * max_pixels`` bytes.
    """
    try:
        meta = read_file_meta_info(path)
    except Exception:  # no preamble or a broken file meta: the full read reports it
        return
    if (
        meta.get("TransferSyntaxUID") != uid.DeflatedExplicitVRLittleEndian
        or "FileMetaInformationGroupLength" not in meta
    ):
        return
    limit = DEFLATE_BYTES_PER_PIXEL * max_pixels
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    inflated = 0
    with open(path, "rb") as f:
        f.seek(FILE_META_START + int(meta.FileMetaInformationGroupLength))
        while chunk := f.read(DEFLATE_CHUNK):
            try:
                while chunk and inflated <= limit:
                    inflated += len(inflater.decompress(chunk, DEFLATE_CHUNK * 16))
                    chunk = inflater.unconsumed_tail
            except zlib.error:
                return  # corrupt: the full read reports it
            if inflated > limit:
                raise ImageTooLargeError(
                    path,
                    f"deflated DICOM data set inflates to more than {limit} bytes, more than the limit of "
                    f"{max_pixels} pixels allows (a possible decompression bomb); raise max_pixels if the file "
                    "is trusted",
                )
