"""A generated corpus of bad and odd input mixed with good images, for scans that must neither crash nor hang.

:func:`build_corpus` writes a ``real`` and a ``synthetic`` folder; every :class:`Case` says what a scan must do
with its file: ``"embedded"`` (good or odd but valid: its items are embedded), ``"problem"`` (recorded with a
reason matching ``reason``) or ``"skipped"`` (not an image by name: neither embedded nor reported). The faults
that happen while a scan runs (a file deleted or rewritten after hashing, unreadable files and folders when
running as root) are installed by :meth:`Corpus.live_faults`.
"""

from __future__ import annotations

import builtins
import io
import os
import re
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from pydicom import Dataset, dcmwrite
from pydicom.encaps import encapsulate
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, JPEGBaseline8Bit, RLELossless

import lcmem.embed.items as embed_items
from tests.conftest import make_image
from tests.io.conftest import make_dataset, save_dataset
from tests.reliability.bombs import write_bombs

PATIENT_NAME = "QUOKKA^ZEBEDEE"
PATIENT_ID = "PID-7741-XQ"
BIRTH_DATE = "19330517"
PATIENT_ADDRESS = "12 Wombat Lane, Dubbo"
OTHER_PATIENT_ID = "MRN-55120-ZZ"
BIRTH_DATE_INVALID = "1933-05-17"
IDENTIFIERS = ("QUOKKA", "ZEBEDEE", "PID-7741", BIRTH_DATE, BIRTH_DATE_INVALID, "Wombat", "MRN-55120")
"""Parts of the direct identifiers in every DICOM file of the corpus; none may leave the project database."""

NON_UTF8_NAME = b"caf\xe9-latin1.png"


@dataclass(frozen=True)
class Case:
    """One file (or folder) of the corpus and what a scan must do with it.

    ``path`` is as the walk reports it (``os.fsdecode`` of bytes names); ``items`` counts the embedded
    frames; ``reason`` is a regular expression the problem's reason must match.
    """

    kind: str
    path: str
    role: str
    expect: str
    reason: str = ""
    items: int = 1


@dataclass
class Corpus:
    """The two source folders and their cases."""

    real: Path
    synthetic: Path
    cases: list[Case] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)
    vanishing: Path | None = None
    rewritten: Path | None = None

    def expected(self, expect: str, role: str | None = None) -> list[Case]:
        """The cases with outcome ``expect`` (and ``role``)."""
        return [c for c in self.cases if c.expect == expect and role in (None, c.role)]

    def kinds(self, expect: str | None = None) -> set[str]:
        """The distinct kinds of input (of outcome ``expect``)."""
        return {c.kind for c in self.cases if expect in (None, c.expect)}

    @contextmanager
    def live_faults(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        """Delete and rewrite files right after the scan hashed them; make ``unreadable`` unreadable.

        As root, ``chmod 000`` does not stop reads, so opening or listing those paths is made to fail with
        ``EACCES`` (what a normal user would get) by wrapping ``open`` and ``os.scandir``.
        """
        hash_file = embed_items.sha256_file

        def hash_then_fault(path: str | Path) -> str:
            digest = hash_file(path)
            if self.vanishing is not None and Path(path) == self.vanishing:
                self.vanishing.unlink()
            if self.rewritten is not None and Path(path) == self.rewritten:
                make_image(999, (31, 29)).save(self.rewritten, format="PNG")
            return digest

        monkeypatch.setattr(embed_items, "sha256_file", hash_then_fault)
        modes = {path: path.stat().st_mode for path in self.unreadable}
        for path in self.unreadable:
            path.chmod(0)
        if os.geteuid() == 0:
            _deny(monkeypatch, set(self.unreadable))
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)


def _deny(monkeypatch: pytest.MonkeyPatch, blocked: set[Path]) -> None:
    """Make ``open`` and ``os.scandir`` raise ``PermissionError`` for ``blocked`` paths (root ignores modes)."""
    real_open, real_scandir = builtins.open, os.scandir

    def is_blocked(target: object) -> bool:
        return isinstance(target, (str, bytes, os.PathLike)) and Path(os.fsdecode(target)) in blocked

    def guarded_open(file: object, *args: object, **kwargs: object) -> object:
        if is_blocked(file):
            raise PermissionError(13, "Permission denied", os.fsdecode(file))  # type: ignore[arg-type]
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    def guarded_scandir(path: object = ".") -> object:
        if is_blocked(path):
            raise PermissionError(13, "Permission denied", os.fsdecode(path))  # type: ignore[arg-type]
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "scandir", guarded_scandir)


def patient_dataset(pixels: np.ndarray, photometric: str = "MONOCHROME2", **attrs: object) -> Dataset:
    """A Secondary Capture dataset holding ``pixels`` and the corpus's direct identifiers."""
    ds = make_dataset(pixels, photometric=photometric, attrs=dict(attrs))
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = BIRTH_DATE
    ds.PatientAddress = PATIENT_ADDRESS
    ds.OtherPatientIDs = OTHER_PATIENT_ID
    return ds


def ct_pixels(seed: int, shape: tuple[int, ...] = (24, 20)) -> np.ndarray:
    """Smooth 12-bit-like CT values (int16) distinct for every seed."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 3000, size=(4, 4)).astype(np.float32)
    grid = np.kron(small, np.ones((shape[-2] // 4 + 1, shape[-1] // 4 + 1)))[: shape[-2], : shape[-1]]
    return np.broadcast_to(grid, shape).astype(np.int16) + rng.integers(0, 30, shape).astype(np.int16)


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


class _Writer:
    """Writes files into a folder and records their cases."""

    def __init__(self, corpus: Corpus, role: str) -> None:
        self.corpus = corpus
        self.role = role
        self.folder = corpus.real if role == "real" else corpus.synthetic

    def add(
        self, kind: str, name: str | bytes, data: bytes | None, expect: str, reason: str = "", items: int = 1
    ) -> Path:
        """Write ``data`` (unless ``None``: the caller made the entry) and record the case; return the path."""
        path = os.path.join(os.fsencode(self.folder), name) if isinstance(name, bytes) else str(self.folder / name)
        if data is not None:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as stream:
                stream.write(data)
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")  # how a non-UTF-8 name is reported
        self.corpus.cases.append(Case(kind, shown, self.role, expect, reason, items))
        return Path(os.fsdecode(path))

    def dicom(
        self, kind: str, name: str, ds: Dataset, expect: str, reason: str = "", items: int = 1, **save: object
    ) -> Path:
        """Save a dataset and record it."""
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        save_dataset(ds, path, **save)
        return self.add(kind, name, None, expect, reason, items)


def build_corpus(root: Path) -> Corpus:
    """Write the corpus under ``root`` (``real/`` and ``synthetic/``) and return it."""
    corpus = Corpus(root / "real", root / "synthetic")
    corpus.real.mkdir(parents=True)
    corpus.synthetic.mkdir(parents=True)
    _write_real(_Writer(corpus, "real"))
    synthetic = _Writer(corpus, "synthetic")
    _write_odd_rasters(synthetic)
    _write_bad_rasters(synthetic)
    _write_good_dicom(synthetic)
    _write_bad_dicom(synthetic)
    _write_filesystem_cases(synthetic, corpus)
    _write_partial_reads(synthetic)
    _write_misleading(synthetic)
    _write_more_odd(synthetic)
    _write_more_bad(synthetic)
    _write_noisy(synthetic)
    _write_bombs(synthetic)
    return corpus


def _write_real(w: _Writer) -> None:
    for seed in range(4):
        w.add("good PNG", f"real_{seed}.png", _encode(make_image(seed), "PNG"), "embedded")
    w.add("good JPEG", "real_4.jpg", _encode(make_image(4), "JPEG", quality=95), "embedded")
    w.dicom("good multi-frame DICOM", "ct_series.dcm", patient_dataset(ct_pixels(5, (2, 24, 20))), "embedded", items=2)
    w.add("truncated JPEG", "cut.jpg", _encode(make_image(6), "JPEG")[:300], "problem", r"truncated or corrupt")
    w.add("zero-byte file", "empty.png", b"", "problem", r"file is empty")


def _write_odd_rasters(w: _Writer) -> None:
    png = _encode(make_image(20), "PNG")
    w.add("PNG named .jpg (wrong extension)", "really_png.jpg", png, "embedded")
    w.add("JPEG named .png (wrong extension)", "really_jpeg.png", _encode(make_image(21), "JPEG"), "embedded")
    w.add("PNG named .dcm (wrong extension)", "really_png.dcm", _encode(make_image(22), "PNG"), "embedded")
    w.add("1x1 image", "one_pixel.png", _encode(Image.new("L", (1, 1), 128), "PNG"), "embedded")
    grey16 = Image.fromarray((np.asarray(make_image(23).convert("L"), np.uint16) * 257).astype(np.uint16))
    w.add("16-bit grey PNG", "grey16.png", _encode(grey16, "PNG"), "embedded")
    w.add("16-bit grey TIFF", "grey16.tif", _encode(grey16, "TIFF"), "embedded")
    w.add("palette PNG", "palette.png", _encode(make_image(24).convert("P"), "PNG"), "embedded")
    w.add("CMYK JPEG", "cmyk.jpg", _encode(make_image(25).convert("CMYK"), "JPEG"), "embedded")
    frames = [make_image(26 + i) for i in range(3)]
    apng = _encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)
    w.add("animated PNG", "animated.png", apng, "embedded", items=3)
    webp = _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    w.add("animated WebP", "animated.webp", webp, "embedded", items=3)
    w.add("RGBA PNG", "alpha.png", _encode(make_image(29).convert("RGBA"), "PNG"), "embedded")
    w.add("1-bit BMP", "bilevel.bmp", _encode(make_image(30).convert("1"), "BMP"), "embedded")
    floats = np.asarray(make_image(31).convert("L"), np.float32) / 7.0
    w.add("32-bit float TIFF", "float.tiff", _encode(Image.fromarray(floats, "F"), "TIFF"), "embedded")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90°
    w.add("JPEG with EXIF rotation", "rotated.JPG", _encode(make_image(32), "JPEG", exif=exif), "embedded")
    w.add("path with comma, quotes and newline", 'we,ird "name"\nline.png', _encode(make_image(33), "PNG"), "embedded")
    w.add("name that looks like a formula", '=HYPERLINK("x").png', _encode(make_image(34), "PNG"), "embedded")
    w.add("folder named like an image", "looks_like.png/inside.png", _encode(make_image(35), "PNG"), "embedded")
    w.add("255-byte file name", "L" * 251 + ".png", _encode(make_image(36), "PNG"), "embedded")
    w.add("hidden file", ".hidden.png", png, "skipped")
    w.add("not an image by name", "notes.txt", b"a,b\n1,2\n", "skipped")


def _write_bad_rasters(w: _Writer) -> None:
    png, tif = _encode(make_image(40), "PNG"), _encode(make_image(41), "TIFF")
    w.add("truncated PNG", "cut.png", png[: len(png) // 2], "problem", r"truncated or corrupt")
    w.add("truncated TIFF", "cut.tif", tif[: len(tif) // 3], "problem", r"truncated or corrupt")
    crc = bytearray(png)
    crc[60] ^= 0xFF  # inside the first IDAT chunk: its CRC no longer matches
    w.add("PNG with a bad chunk CRC", "bad_crc.png", bytes(crc), "problem", r"truncated or corrupt")
    w.add("TIFF signature, then garbage", "header_only.tif", b"II*\x00garbage", "problem", r"starts like a TIFF")
    ihdr = bytearray(png)
    ihdr[29] ^= 0xFF  # the header chunk's CRC
    w.add("PNG with a bad header checksum", "bad_ihdr.png", bytes(ihdr), "problem", r"starts like a PNG.*corrupt")
    w.add("text file named .png", "readme.png", b"this is not an image\n", "problem", r"not an image.*text file")
    noise = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    w.add("random bytes named .tiff", "noise.tiff", noise, "problem", r"not an image")
    bomb = bytearray(_encode(Image.new("L", (8, 8)), "PNG"))
    bomb[16:24] = (200_000).to_bytes(4, "big") * 2  # IHDR width and height, then the chunk's CRC again
    bomb[29:33] = zlib.crc32(bytes(bomb[12:29])).to_bytes(4, "big")
    w.add("PNG declaring 200000x200000 pixels (bomb)", "bomb.png", bytes(bomb), "problem", r"decompression bomb")


def _write_good_dicom(w: _Writer) -> None:
    w.dicom("extensionless DICOM", "IM000001", patient_dataset(ct_pixels(50)), "embedded")
    w.dicom("DICOM named by its UID", "1.2.826.0.1.3680043.99.7", patient_dataset(ct_pixels(51)), "embedded")
    w.dicom("DICOM without preamble", "bare.dcm", patient_dataset(ct_pixels(52)), "embedded", preamble=False)
    mono1 = patient_dataset(ct_pixels(53), WindowCenter=1500, WindowWidth=3000)
    mono1.PhotometricInterpretation = "MONOCHROME1"
    w.dicom("MONOCHROME1 DICOM", "mono1.dcm", mono1, "embedded")
    lut = Dataset()
    lut.LUTDescriptor = [4096, 0, 16]
    lut.LUTData = np.arange(100, dtype="<u2").tobytes()  # 100 entries where 4096 are declared
    broken_lut = patient_dataset(ct_pixels(54), VOILUTSequence=[lut])
    w.dicom("DICOM with a broken VOI LUT", "bad_voi.dcm", broken_lut, "embedded")
    zero_width = patient_dataset(ct_pixels(55), WindowCenter=40, WindowWidth=0)
    w.dicom("DICOM with window width 0", "zero_width.dcm", zero_width, "embedded")
    narrow = patient_dataset(ct_pixels(60), Columns=3)
    w.dicom("DICOM with Columns smaller than its data", "columns.dcm", narrow, "embedded")
    invalid = patient_dataset(ct_pixels(67))
    with warnings.catch_warnings():  # pydicom warns, echoing the values; the corpus means them
        warnings.simplefilter("ignore")
        invalid.PatientID = f"{PATIENT_ID}-" + "9" * 70  # longer than LO allows
        invalid.PatientBirthDate = BIRTH_DATE_INVALID
        invalid.PatientName = PATIENT_NAME + "^" + "Q" * 70
    w.dicom("DICOM with invalid patient attribute values", "invalid_values.dcm", invalid, "embedded")


def _write_bad_dicom(w: _Writer) -> None:
    no_pixels = patient_dataset(ct_pixels(56))
    del no_pixels.PixelData
    for keyword in ("Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation"):
        delattr(no_pixels, keyword)
    w.dicom("DICOM without pixel data", "report.dcm", no_pixels, "problem", r"no pixel data")
    mpeg = patient_dataset(ct_pixels(57))
    mpeg.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 12])
    mpeg["PixelData"].VR = "OB"
    mpeg.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.100")
    w.dicom("DICOM with an unsupported transfer syntax", "mpeg2.dcm", mpeg, "problem", r"MPEG2.*no installed decoder")
    not_jpeg = patient_dataset((ct_pixels(58) % 256).astype(np.uint8))
    not_jpeg.PixelData = encapsulate([np.random.default_rng(1).bytes(480)])
    not_jpeg["PixelData"].VR = "OB"
    not_jpeg.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    w.dicom("DICOM declaring JPEG, holding no JPEG", "not_jpeg.dcm", not_jpeg, "problem", r"cannot decode|corrupt")
    big = w.dicom(
        "DICOM declaring big endian, written little", "big.dcm", patient_dataset(ct_pixels(66)), "problem", "pixel data"
    )
    little, big_endian = (ExplicitVRLittleEndian.encode() + b"\0", ExplicitVRBigEndian.encode() + b"\0")
    big.write_bytes(big.read_bytes().replace(little, big_endian, 1))
    wrong = "truncated or its header is wrong"
    w.dicom(
        "DICOM with Rows larger than its data", "rows.dcm", patient_dataset(ct_pixels(59), Rows=200), "problem", wrong
    )
    wide = patient_dataset(ct_pixels(61), BitsAllocated=32)
    w.dicom("DICOM with Bits Allocated 32 for 16-bit data", "bits.dcm", wide, "problem", wrong)
    odd_bits = patient_dataset(ct_pixels(62), BitsAllocated=12)
    w.dicom("DICOM with Bits Allocated 12", "bits12.dcm", odd_bits, "problem", r"Bits Allocated")
    missing = patient_dataset(ct_pixels(63))
    del missing.Rows
    w.dicom("DICOM without Rows", "no_rows.dcm", missing, "problem", r"lacks Rows")
    huge = patient_dataset(ct_pixels(64), Rows=40_000, Columns=40_000, NumberOfFrames=500)
    w.dicom("DICOM declaring 40000x40000x500 pixels (bomb)", "bomb.dcm", huge, "problem", r"decompression bomb")
    hsv = patient_dataset(ct_pixels(65))
    hsv.PhotometricInterpretation = "HSV"
    w.dicom("DICOM with photometric HSV", "hsv.dcm", hsv, "problem", r"HSV.*not supported")
    header = (w.folder / "IM000001").read_bytes()
    w.add("DICOM header cut after the preamble", "cut_header.dcm", header[:150], "problem", r"no pixel data.*cut short")
    w.add("DICOM cut in its pixel data", "cut_pixels.dcm", header[: len(header) - 200], "problem", r"truncated")
    w.add("zero-byte .dcm", "empty.dcm", b"", "problem", r"file is empty")


def _write_filesystem_cases(w: _Writer, corpus: Corpus) -> None:
    w.add("non-UTF-8 file name", NON_UTF8_NAME, _encode(make_image(70), "PNG"), "problem", r"not valid UTF-8")
    loop = w.folder / "loop"
    (loop / "deeper").mkdir(parents=True)
    (loop / "deeper" / "back").symlink_to(loop)
    w.add("good image beside a symlink loop", "loop/deeper/ok.png", _encode(make_image(71), "PNG"), "embedded")
    w.add("symlink loop", "loop/deeper/back", None, "problem", r"loops back")
    (w.folder / "dangling.png").symlink_to(w.folder / "gone.png")
    w.add("broken symlink", "dangling.png", None, "problem", r"broken symbolic link")
    (w.folder / "alias.png").symlink_to(corpus.real / "real_0.png")
    w.add("symlink to a real image", "alias.png", None, "embedded")
    os.mkfifo(w.folder / "pipe.png")
    w.add("named pipe called .png", "pipe.png", None, "problem", r"not a regular file")
    locked_file = w.add(
        "unreadable file", "locked.png", _encode(make_image(72), "PNG"), "problem", r"permission denied"
    )
    locked_folder = w.folder / "locked_folder"
    w.add("image in an unreadable folder", "locked_folder/hidden_away.png", _encode(make_image(73), "PNG"), "skipped")
    w.add("unreadable folder", "locked_folder", None, "problem", r"cannot open folder: permission denied")
    corpus.unreadable = [locked_file, locked_folder]
    corpus.vanishing = w.add(
        "file deleted during the scan", "vanishing.png", _encode(make_image(74), "PNG"), "problem", r"not found"
    )
    corpus.rewritten = w.add(
        "file rewritten during the scan",
        "rewritten.png",
        _encode(make_image(75), "PNG"),
        "problem",
        r"changed while it was being scanned",
    )


def _write_partial_reads(w: _Writer) -> None:
    """Issue 22, point 6: every page or frame is an item; degenerate pixel transforms are refused."""
    pages = [make_image(90 + i) for i in range(3)]
    tiff = _encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    w.add("multi-page TIFF", "pages.tif", tiff, "embedded", items=3)
    gif = _encode(pages[0], "GIF", save_all=True, append_images=pages[1:], duration=80)
    w.add("animated GIF", "clip.gif", gif, "embedded", items=3)
    w.add("animated GIF named .png", "clip_gif.png", gif, "embedded", items=3)
    w.add("still GIF", "still.GIF", _encode(make_image(93), "GIF"), "embedded")
    with warnings.catch_warnings():  # pydicom warns that NaN is no valid DS: the corpus means it
        warnings.simplefilter("ignore")
        slope_nan = patient_dataset(ct_pixels(94), RescaleSlope="NaN", RescaleIntercept=0)
    w.dicom("DICOM with Rescale Slope NaN", "slope_nan.dcm", slope_nan, "problem", r"Rescale Slope is nan")
    slope_zero = patient_dataset(ct_pixels(95), RescaleSlope=0, RescaleIntercept=-1024)
    w.dicom("DICOM with Rescale Slope 0", "slope_zero.dcm", slope_zero, "problem", r"Rescale Slope is 0")
    one_bit = patient_dataset(ct_pixels(96), BitsAllocated=1, BitsStored=1, HighBit=0)
    w.dicom("DICOM with Bits Allocated 1 on 16-bit data", "bits1.dcm", one_bit, "problem", r"Bits Allocated is 1")


def _write_misleading(w: _Writer) -> None:
    """Issue 22, point 7: reasons that used to name the wrong cause."""
    rle = _rle_dicom(97)
    cut = r"cut short: its header describes an image"
    w.add("compressed DICOM cut in its pixel data", "cut_rle.dcm", rle[: len(rle) - 500], "problem", cut)
    w.add("compressed DICOM cut halfway", "cut_rle_half.dcm", rle[: len(rle) // 2 + 400], "problem", cut)
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "A" * 20_000_000, zip=True)
    ztxt = _encode(Image.new("L", (8, 8)), "PNG", pnginfo=info)
    w.add("PNG zTXt text-chunk bomb", "ztxt_bomb.png", ztxt, "problem", r"text chunk .*decompression bomb")
    w.add("2-byte JPEG start (FF D8)", "soi.jpg", b"\xff\xd8", "problem", r"starts like a JPEG.*only 2 bytes")


def _write_more_odd(w: _Writer) -> None:
    """Valid but unusual files: all embedded."""
    w.add("16-bit RGB PNG", "rgb16.png", _png_rgb16(make_image(100)), "embedded")
    w.add("grey + alpha PNG", "grey_alpha.png", _encode(make_image(101).convert("LA"), "PNG"), "embedded")
    w.add("grey JPEG", "grey.jpg", _encode(make_image(102).convert("L"), "JPEG"), "embedded")
    w.add("progressive JPEG", "progressive.jpg", _encode(make_image(103), "JPEG", progressive=True), "embedded")
    w.add("interlaced PNG", "interlaced.png", _interlaced_png(make_image(104)), "embedded")
    w.add("1x2000 PNG (extreme aspect ratio)", "thin.png", _encode(make_image(105, (2000, 1)), "PNG"), "embedded")
    w.add("JPEG with bytes after its end", "trailing.jpg", _encode(make_image(106), "JPEG") + b"junk" * 50, "embedded")
    w.add("PNG with bytes after IEND", "trailing.png", _encode(make_image(107), "PNG") + b"junk" * 50, "embedded")
    w.add("flat black image", "black.png", _encode(Image.new("RGB", (40, 30)), "PNG"), "embedded")
    w.add("upper-case extension", "SHOUTING.PNG", _encode(make_image(108), "PNG"), "embedded")
    w.add("lossy WebP", "lossy.webp", _encode(make_image(109), "WEBP", quality=80), "embedded")
    w.add("TIFF with LZW compression", "lzw.tif", _encode(make_image(110), "TIFF", compression="tiff_lzw"), "embedded")
    rgb = patient_dataset(np.asarray(make_image(111), dtype=np.uint8), "RGB")
    w.dicom("RGB DICOM", "rgb.dcm", rgb, "embedded")
    rle = _rle_dicom(112)
    w.add("RLE-compressed DICOM", "rle.dcm", rle, "embedded")
    w.dicom(
        "DICOM with a negative Window Width",
        "neg_width.dcm",
        patient_dataset(ct_pixels(113), WindowCenter=40, WindowWidth=-5),
        "embedded",
    )


def _write_more_bad(w: _Writer) -> None:
    """Invented damage: each must be reported with a reason naming it."""
    corrupt = r"truncated or corrupt|cut short"
    w.add("GIF signature, then garbage", "header_only.gif", b"GIF89a" + b"\x07" * 20, "problem", corrupt)
    w.add(
        "WebP signature, then garbage", "header_only.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 garbage", "problem", corrupt
    )
    w.add(
        "PNG declaring 0x0 pixels",
        "zero_size.png",
        _png(0, 0, zlib.compress(b"")),
        "problem",
        r"starts like a PNG|corrupt",
    )
    w.add("PNG whose pixel data is not zlib", "bad_zlib.png", _png(16, 16, b"not zlib at all" * 4), "problem", corrupt)
    w.add(
        "PNG with too little pixel data", "short_idat.png", _png(64, 64, zlib.compress(bytes(100))), "problem", corrupt
    )
    jpeg = _encode(make_image(120), "JPEG")
    w.add("JPEG cut after its header", "header.jpg", jpeg[:200], "problem", corrupt)
    gif = _encode(make_image(121), "GIF")
    w.add("truncated GIF", "cut.gif", gif[: len(gif) // 2], "problem", corrupt)
    w.add("zero-byte .gif", "empty.gif", b"", "problem", r"file is empty")
    tif = bytearray(_encode(make_image(122), "TIFF"))
    tif[4:8] = (10**8).to_bytes(4, "little")  # the first IFD lies beyond the end of the file
    w.add("TIFF whose first directory is past its end", "bad_ifd.tif", bytes(tif), "problem", r"corrupt|not an image")
    noise = np.random.default_rng(3).integers(1, 256, 4096, dtype=np.uint8).tobytes()
    w.add("random bytes named .dcm", "noise.dcm", noise, "problem", r"not a DICOM file|not an image")
    w.add("text file named .dcm", "notes.dcm", b"patient list\n" * 20, "problem", r"not a DICOM file|not an image")
    frames = patient_dataset(ct_pixels(123), NumberOfFrames=5)
    w.dicom(
        "DICOM declaring more frames than it holds",
        "frames.dcm",
        frames,
        "problem",
        r"truncated or its header is wrong",
    )


def _write_noisy(w: _Writer) -> None:
    """Files that make the libraries log and warn (see :func:`noisy_files`)."""
    kinds = {
        "not_jpeg.dcm": "DICOM whose JPEG decoders all log errors",
        "cut_rle.dcm": "cut RLE DICOM that makes pydicom warn",
        "implicit.dcm": "DICOM declaring explicit VR, written implicit",
        "bad_exif.jpg": "JPEG with corrupt EXIF",
        "warned_giant.png": "PNG of 90 Mpixels holding almost no data",
    }
    for name, reason in noisy_files(w.folder / "noisy").items():
        w.add(kinds[name], f"noisy/{name}", None, "embedded" if reason is None else "problem", reason or "")


def _write_bombs(w: _Writer) -> None:
    """Issue 22's bombs (tests/reliability/bombs.py), without the honest giants that take seconds each."""
    for bomb in write_bombs(w.folder / "bombs", giants=False):
        w.add(bomb.kind, str(bomb.path.relative_to(w.folder)), None, bomb.expect, bomb.reason)


def _png_rgb16(image: Image.Image) -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one; written by hand)."""
    arr = np.asarray(image, dtype=np.uint16) * 257
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in arr)
    height, width = arr.shape[:2]
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([16, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b"")


def _interlaced_png(image: Image.Image) -> bytes:
    """An Adam7-interlaced PNG, written with OpenCV (Pillow writes none)."""
    import cv2

    ok, data = cv2.imencode(".png", np.asarray(image)[..., ::-1], [cv2.IMWRITE_PNG_STRATEGY, 0])
    assert ok
    return data.tobytes()


def noisy_files(folder: Path) -> dict[str, str | None]:
    """Write files that make pydicom and Pillow log errors (with tracebacks) or warn while they are read.

    Returns:
        File name → a regular expression its problem reason must match, or ``None`` for a file that must be
        embedded (it is valid, only odd).
    """
    folder.mkdir(parents=True, exist_ok=True)
    not_jpeg = patient_dataset((ct_pixels(80) % 256).astype(np.uint8))
    not_jpeg.PixelData = encapsulate([np.random.default_rng(8).bytes(480)])
    not_jpeg["PixelData"].VR = "OB"
    not_jpeg.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    save_dataset(not_jpeg, folder / "not_jpeg.dcm")  # pydicom logs an ERROR and a traceback per plugin
    (folder / "cut_rle.dcm").write_bytes(_rle_dicom(81)[:-300])  # "End of file reached before delimiter"
    dcmwrite(
        folder / "implicit.dcm",
        patient_dataset(ct_pixels(82)),
        implicit_vr=True,
        little_endian=True,
        force_encoding=True,
    )
    (folder / "bad_exif.jpg").write_bytes(_encode(make_image(83), "JPEG", exif=CORRUPT_EXIF))  # "Corrupt EXIF"
    (folder / "warned_giant.png").write_bytes(_png(10_000, 9_000, zlib.compress(bytes(1000))))
    return {
        "not_jpeg.dcm": r"cannot decode the DICOM pixel data",
        "cut_rle.dcm": r"cut short: its header describes an image",
        "implicit.dcm": None,  # "Expected explicit VR, but found implicit VR"
        "bad_exif.jpg": None,
        "warned_giant.png": r"truncated",  # 90 Mpixels: over Pillow's own warning limit; then no pixel data
    }


CORRUPT_EXIF = (
    b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"
    b"\x01\x0f\x00\x02\x00\x00\x00\x40\x00\x00\x00\x60"
)
"""An EXIF block whose IFD declares five entries and holds two, one pointing past its end."""


def _rle_dicom(seed: int) -> bytes:
    """An RLE Lossless DICOM of 64x64 CT-like values."""
    buffer = io.BytesIO()
    ds = patient_dataset(ct_pixels(seed, (64, 64)))
    ds.compress(RLELossless)
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _png(width: int, height: int, idat: bytes, color_type: int = 0) -> bytes:
    """A PNG declaring ``width`` x ``height`` 8-bit pixels with ``idat`` as its pixel data (valid CRCs)."""
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, color_type, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def reason_problems(reasons: dict[str, str], corpus: Corpus) -> list[str]:
    """Compare reported problems with the corpus; return what is wrong (empty when all is as expected)."""
    errors = []
    for case in corpus.expected("problem"):
        reason = reasons.get(case.path)
        if reason is None:
            errors.append(f"{case.kind}: not reported ({case.path!r})")
        elif not re.search(case.reason, reason, re.IGNORECASE):
            errors.append(f"{case.kind}: reason {reason!r} does not match {case.reason!r}")
    for case in corpus.cases:
        if case.expect != "problem" and case.path in reasons:
            errors.append(f"{case.kind}: reported as a problem: {reasons[case.path]!r}")
    return errors
