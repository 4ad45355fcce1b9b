"""Hostile and heavy input for the memory and time guards: lying compressed DICOMs, honest giants, placeholders.

Every writer takes a path and returns it, builds the file in little memory and time (giants are written row by
row, never held decoded), and documents what a scan must do with it. :func:`write_bombs` writes one of each
into a folder and returns :class:`Bomb` records (``expect`` ``"problem"`` with a ``reason`` pattern, or
``"embedded"``), the form :mod:`tests.reliability.corpus` and ``bench/bad_inputs.py`` consume.

Lying streams: the DICOM header says 64x64 but the compressed stream inside declares 40000x40000 (JPEG 2000,
HTJ2K: the SIZ marker; JPEG baseline, extended, lossless: the SOF marker; JPEG-LS: the SOF55 marker); for RLE,
whose segments carry no size, the header declares far more pixels than the segments can hold.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.filewriter import dcmwrite, write_file_meta_info
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    HTJ2KLossless,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from tests.io.conftest import make_dataset

LIE = 40000
"""The side a lying stream declares: 1.6 G pixels, 3.2 GB at 16 bits."""

HEADER_SIDE = 64
LYING_REASON = rf"declares {LIE}x{LIE} pixels but the DICOM header says {HEADER_SIDE}x{HEADER_SIDE}"
RLE_SHORT_REASON = r"RLE segment .* cannot hold"
ZERO_REASON = r"only zero bytes"
ELEMENTS_REASON = r"DICOM data set holds more than \d+ elements"
DEFLATE_REASON = r"deflated DICOM data set inflates to more than \d+ bytes"


@dataclass(frozen=True)
class Bomb:
    """One file and what a scan must do with it: ``expect`` is ``"problem"`` (with ``reason``, a regular
    expression the problem's reason must match) or ``"embedded"``."""

    kind: str
    path: Path
    expect: str
    reason: str = ""


def _dicom(path: Path, fragment: bytes, syntax: UID, *, rows: int, columns: int, bits: int = 8) -> Path:
    """Write a one-frame MONOCHROME2 DICOM whose encapsulated pixel data is ``fragment``."""
    ds = make_dataset(np.zeros((4, 4), np.uint8 if bits == 8 else np.uint16))
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = (8, 8, 7) if bits == 8 else (16, bits, bits - 1)
    ds.PixelData = encapsulate([fragment])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = syntax
    ds.save_as(path, enforce_file_format=True)
    return path


def _small_jpeg() -> bytes:
    """A real 64x64 grey baseline JPEG."""
    arr = (np.add.outer(np.arange(HEADER_SIDE), np.arange(HEADER_SIDE)) * 2 % 256).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr, "L").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _patch_sof(stream: bytes, width: int, height: int, marker: int | None = None) -> bytes:
    """Rewrite the frame size (and, if given, the SOF marker type) of the first SOF segment of a JPEG stream."""
    data = bytearray(stream)
    i = 2
    while i < len(data):
        kind = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):
            if marker is not None:
                data[i + 1] = marker
            struct.pack_into(">HH", data, i + 5, height, width)
            return bytes(data)
        i += 2 + length
    raise ValueError("no SOF marker")


def lying_jpeg_dicom(path: Path, syntax: UID = JPEGBaseline8Bit) -> Path:
    """A JPEG (baseline, extended or lossless) DICOM: header 64x64, SOF 40000x40000 (about 4 KB on disk)."""
    marker = {JPEGBaseline8Bit: 0xC0, JPEGExtended12Bit: 0xC1, JPEGLosslessSV1: 0xC3}[syntax]
    return _dicom(path, _patch_sof(_small_jpeg(), LIE, LIE, marker), syntax, rows=HEADER_SIDE, columns=HEADER_SIDE)


def lying_jpegls_dicom(path: Path) -> Path:
    """A JPEG-LS DICOM: header 64x64, SOF55 40000x40000, followed by a short scan (hand-built stream)."""
    sof55 = b"\xff\xf7" + struct.pack(">HBHHB", 11, 8, LIE, LIE, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x00\x00\x00"
    stream = b"\xff\xd8" + sof55 + sos + b"\x00" * 64 + b"\xff\xd9"
    return _dicom(path, stream, JPEGLSLossless, rows=HEADER_SIDE, columns=HEADER_SIDE)


def _small_j2k() -> bytes:
    """A real 64x64 grey JPEG 2000 codestream (Pillow's OpenJPEG)."""
    arr = (np.add.outer(np.arange(HEADER_SIDE), np.arange(HEADER_SIDE)) % 256).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr, "L").save(buffer, "JPEG2000", no_jp2=True, irreversible=False)
    return buffer.getvalue()


def _patch_siz(stream: bytes, width: int, height: int) -> bytes:
    """Rewrite the image and tile sizes of a J2K codestream's SIZ marker (right after SOC)."""
    data = bytearray(stream)
    if data[:4] != b"\xff\x4f\xff\x51":
        raise ValueError("not a J2K codestream")
    struct.pack_into(">IIII", data, 8, width, height, 0, 0)  # Xsiz, Ysiz, XOsiz, YOsiz
    struct.pack_into(">II", data, 24, width, height)  # XTsiz, YTsiz: one tile
    return bytes(data)


def lying_j2k_dicom(path: Path, syntax: UID = JPEG2000Lossless) -> Path:
    """A JPEG 2000 (or HTJ2K) DICOM: header 64x64, SIZ 40000x40000 (a few hundred bytes on disk)."""
    return _dicom(path, _patch_siz(_small_j2k(), LIE, LIE), syntax, rows=HEADER_SIDE, columns=HEADER_SIDE)


def _rle_bars(side: int) -> bytes:
    """One RLE segment of a ``side`` x ``side`` 8-bit image of vertical bars, 128 pixels wide (replicate runs)."""
    bars, rest = divmod(side, 128)
    rows: dict[int, bytes] = {}
    for value in range(256):
        row = b"".join(bytes((129, (value + 7 * b) % 256)) for b in range(bars))
        if rest:
            row += bytes((257 - rest, value)) if rest > 1 else bytes((0, value))
        rows[value] = row
    return b"".join(rows[(y // 97) % 256] for y in range(side))


def _rle_frame(segments: list[bytes]) -> bytes:
    """An RLE Lossless frame: the 64-byte header (segment count and offsets), then the even-padded segments."""
    offsets, body, position = [], b"", 64
    for segment in segments:
        padded = segment + (b"\x00" if len(segment) % 2 else b"")
        offsets.append(position)
        body += padded
        position += len(padded)
    header = struct.pack("<I", len(segments)) + b"".join(struct.pack("<I", o) for o in offsets)
    return header + b"\x00" * (64 - len(header)) + body


def honest_rle_dicom(path: Path, side: int = 16000, bits: int = 16) -> Path:
    """An honest RLE Lossless DICOM of ``side`` x ``side`` (16000, 16 bits: 8 MB on disk, 512 MB decoded)."""
    high = _rle_bars(side)
    segments = [high, _rle_bars(side)] if bits == 16 else [high]
    return _dicom(path, _rle_frame(segments), RLELossless, rows=side, columns=side, bits=bits)


def honest_j2k_dicom(path: Path, side: int = 12000) -> Path:
    """An honest JPEG 2000 Lossless DICOM of ``side`` x ``side`` 8-bit bars (12000: 0.3 MB on disk, 144 MB while
    encoding, about 0.7 GB to decode with OpenJPEG)."""
    arr = ((np.arange(side) // 97) * 5 % 256).astype(np.uint8)
    buffer = io.BytesIO()
    image = Image.fromarray(np.broadcast_to(arr, (side, side)).copy(), "L")
    image.save(buffer, "JPEG2000", no_jp2=True, irreversible=False, tile_size=(1024, 1024))
    return _dicom(path, buffer.getvalue(), JPEG2000Lossless, rows=side, columns=side)


def short_rle_dicom(path: Path, side: int = 16000) -> Path:
    """An RLE DICOM whose header declares ``side`` x ``side`` but whose one segment holds a few bytes."""
    return _dicom(path, _rle_frame([bytes((129, 0)) * 8]), RLELossless, rows=side, columns=side)


def deflate_bomb_dicom(path: Path, inflated: int = 3 * 2**30) -> Path:
    """A Deflated Explicit VR DICOM (64x64 header) whose Pixel Data inflates to ``inflated`` zero bytes (3 GB:
    about 3 MB on disk), one 16 MB block compressed and repeated, so that it is never held."""
    ds = make_dataset(np.zeros((HEADER_SIDE, HEADER_SIDE), np.uint8))
    del ds.PixelData
    body = io.BytesIO()
    dcmwrite(body, ds, implicit_vr=False, little_endian=True)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    meta = FileMetaDataset(ds.file_meta)
    meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    zeros = bytes(16 * 2**20)
    blocks, rest = divmod(inflated, len(zeros))
    with open(path, "wb") as f:
        f.write(b"\x00" * 128 + b"DICM")
        write_file_meta_info(f, meta, enforce_standard=True)
        f.write(deflater.compress(body.getvalue() + b"\xe0\x7f\x10\x00OB\x00\x00" + struct.pack("<I", inflated)))
        f.write(deflater.flush(zlib.Z_FULL_FLUSH))
        block = deflater.compress(zeros) + deflater.flush(zlib.Z_FULL_FLUSH)  # the same bytes for every block
        f.write(block * blocks)
        f.write(deflater.compress(zeros[:rest]))
        f.write(deflater.flush())
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def honest_png(path: Path, side: int = 12000, rgb: bool = True) -> Path:
    """A real ``side`` x ``side`` PNG (bars), written row by row (12000 RGB: about 420 KB, 432 MB decoded)."""
    channels = 3 if rgb else 1
    compressor = zlib.compressobj(9)
    row = np.zeros(side * channels, np.uint8)
    parts = []
    for y in range(side):
        row[:] = ((np.arange(side * channels) // (97 * channels)) * 5 + y // 101) % 256
        parts.append(compressor.compress(b"\x00" + row.tobytes()))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 2 if rgb else 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )
    path.write_bytes(data)
    return path


def declared_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares ``width`` x ``height`` grey pixels with one tiny IDAT (a header-only bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )
    path.write_bytes(data)
    return path


def honest_jpeg(path: Path, side: int = 12000) -> Path:
    """A real ``side`` x ``side`` grey JPEG (bars; 12000: 144 MB while encoding, a few MB on disk)."""
    arr = ((np.arange(side) // 97) * 5 % 256).astype(np.uint8)
    image = Image.fromarray(np.broadcast_to(arr, (side, side)).copy(), "L")
    image.save(path, "JPEG", quality=85)
    return path


def declared_tiff(path: Path, width: int = 100000, height: int = 100000) -> Path:
    """A TIFF whose header declares ``width`` x ``height`` grey pixels in one strip of 64 bytes."""
    entries = [
        (256, 4, 1, width),  # ImageWidth, LONG
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: BlackIsZero
        (273, 4, 1, 0),  # StripOffsets (patched below)
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, 64),  # StripByteCounts
    ]
    ifd_offset = 8
    data_offset = ifd_offset + 2 + 12 * len(entries) + 4
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = data_offset if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    path.write_bytes(b"II*\x00" + struct.pack("<I", ifd_offset) + ifd + b"\x00" * 4 + b"\x80" * 64)
    return path


def zero_filled(path: Path, size: int = 128 * 2**20) -> Path:
    """A file of ``size`` zero bytes (sparse: it takes no disk space), like an unfinished download or a stub."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def zeros_after_preamble(path: Path, size: int = 10 * 2**20) -> Path:
    """A DICOM preamble and ``DICM``, then zeros: pydicom reads them as a million empty elements (10 MB: 10-20 s)."""
    with open(path, "wb") as f:
        f.write(b"\x00" * 128 + b"DICM")
        f.truncate(size)
    return path


LYING_DICOMS = {
    "lying JPEG baseline DICOM": lambda p: lying_jpeg_dicom(p, JPEGBaseline8Bit),
    "lying JPEG extended DICOM": lambda p: lying_jpeg_dicom(p, JPEGExtended12Bit),
    "lying JPEG lossless DICOM": lambda p: lying_jpeg_dicom(p, JPEGLosslessSV1),
    "lying JPEG-LS DICOM": lying_jpegls_dicom,
    "lying JPEG 2000 DICOM": lambda p: lying_j2k_dicom(p, JPEG2000Lossless),
    "lying HTJ2K DICOM": lambda p: lying_j2k_dicom(p, HTJ2KLossless),
}
"""Kind -> writer of the DICOMs whose compressed stream declares far more pixels than their header."""


def write_bombs(folder: Path, *, giants: bool = True) -> list[Bomb]:
    """Write one file of every kind into ``folder``; ``giants=False`` leaves out the slow honest giants."""
    folder.mkdir(parents=True, exist_ok=True)
    bombs = [
        Bomb(kind, writer(folder / f"lying-{i}.dcm"), "problem", LYING_REASON)
        for i, (kind, writer) in enumerate(LYING_DICOMS.items())
    ]
    bombs += [
        Bomb("RLE DICOM shorter than its header", short_rle_dicom(folder / "rle.dcm"), "problem", RLE_SHORT_REASON),
        Bomb("deflated DICOM inflating to 3 GB", deflate_bomb_dicom(folder / "deflate.dcm"), "problem", DEFLATE_REASON),
        Bomb("zero-filled .dcm", zero_filled(folder / "zeros.dcm", 32 * 2**20), "problem", ZERO_REASON),
        Bomb("DICM preamble then zeros", zeros_after_preamble(folder / "dicm-zeros.dcm"), "problem", ELEMENTS_REASON),
        Bomb("zero-filled .png", zero_filled(folder / "zeros.png", 2**20), "problem", ZERO_REASON),
        Bomb("TIFF declaring 100000x100000", declared_tiff(folder / "huge.tiff"), "problem", r"more than the limit"),
    ]
    if giants:
        bombs += [
            Bomb("RLE DICOM 16000x16000, 16-bit", honest_rle_dicom(folder / "giant-rle.dcm"), "embedded"),
            Bomb("JPEG 2000 DICOM 12000x12000", honest_j2k_dicom(folder / "giant-j2k.dcm"), "embedded"),
            Bomb("RGB PNG 12000x12000", honest_png(folder / "giant.png"), "embedded"),
            Bomb("grey JPEG 12000x12000", honest_jpeg(folder / "giant.jpg"), "embedded"),
        ]
    return bombs
