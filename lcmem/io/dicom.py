"""DICOM files to float32 pixels in [0, 1]: read, check, decode one frame at a time, and describe.

Each frame of a multi-frame object is its own item, with its index in ``meta.frame``. Frames are decoded one
by one from the dataset, so only the encoded file and one decoded frame are held in memory. Everything that
goes wrong becomes an :class:`~lcmem.errors.ImageReadError` subclass whose reason says what happened.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom import Dataset, dcmread, uid
from pydicom.dataset import FileMetaDataset
from pydicom.encaps import generate_frames
from pydicom.errors import InvalidDicomError
from pydicom.pixels.decoders.base import Decoder
from pydicom.pixels.utils import get_expected_length

from lcmem.errors import ImageReadError, ImageTooLargeError, UnsupportedImageError
from lcmem.io.budget import DECODE_BUDGET
from lcmem.io.dicom_codecs import decoder_for
from lcmem.io.dicom_frames import frame_dataset
from lcmem.io.dicom_pixels import UnitFrame, color_to_unit, degenerate_rescale, file_windows, monochrome_to_unit
from lcmem.io.dicom_quiet import values_unechoed
from lcmem.io.dicom_reduced import decode_reduced, j2k_reduction
from lcmem.io.dicom_streams import (
    J2K_SYNTAXES,
    BoundedReader,
    DatasetTooLongError,
    check_deflate,
    check_frame_streams,
)
from lcmem.io.reasons import describe_exception, describe_os_error
from lcmem.io.reduce import reduce_array, reduction_factor
from lcmem.io.types import DEFAULT_MAX_PIXELS, FileWindow, ImageMeta, LoadedImage

logger = logging.getLogger(__name__)

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
REQUIRED_KEYWORDS = ("Rows", "Columns", "BitsAllocated", "SamplesPerPixel", "PhotometricInterpretation")
COLOR_MODES = frozenset({"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT"})
DICOM_MARKER_TAGS = (0x00080016, 0x00080018, 0x0020000D, 0x00280010, 0x7FE00010)
"""SOP Class/Instance UID, Study Instance UID, Rows, Pixel Data: one of them makes a forced read credible."""

NO_PIXELS_REASON = "DICOM file has no pixel data (a structured report, RT plan or DICOMDIR, or a file cut short)"
CUT_PIXELS_REASON = (
    "DICOM file is cut short: its header describes an image (Rows, Columns) but the pixel data is missing or "
    "ends early; re-copy the file"
)
NOT_DICOM = "not a DICOM file"
DECODE_COPIES = 2
"""Copies of a frame's stored values a decoder holds at its peak (its output buffer and the array)."""
PIPELINE_BYTES_PER_SAMPLE = 32
"""What the float64 pixel pipeline holds per sample kept (values, windowed values, float32 output)."""
J2K_WORK_BYTES_PER_SAMPLE = 2
"""Half of OpenJPEG's int32 per sample (counted twice with the copies): a 12000x12000 8-bit frame peaks at
0.7 GB."""


@dataclass
class _Pixels:
    """A dataset checked for decoding, with what the checks learned."""

    path: str
    ds: Dataset
    decoder: Decoder
    n_frames: int
    extra: dict[str, str] = field(default_factory=dict)
    target: int | None = None
    j2k_levels: int = 0


def read_dataset(path: str | Path, *, header_only: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS) -> Dataset:
    """Read a DICOM file; a file without the 128-byte preamble and ``DICM`` is read again with ``force``.

    Args:
        path: the file.
        header_only: stop before the pixel data (cheap, except for a deflated file, inflated whole).
        max_pixels: refuse a deflated data set that inflates to more than this limit allows.

    Returns:
        The dataset.

    Raises:
        UnsupportedImageError: the file is not DICOM.
        ImageTooLargeError: a deflated data set inflates past the limit.
        ImageReadError: it cannot be opened or its header is corrupt.
    """
    check_deflate(path, max_pixels)
    try:
        return _bounded_read(path, header_only=header_only, force=False)
    except InvalidDicomError:
        logger.debug("no DICOM preamble in %s; reading with force", path)
    except ImageReadError:
        raise
    except OSError as exc:
        raise ImageReadError(path, f"cannot open file: {describe_os_error(exc)}") from exc
    except Exception as exc:
        raise ImageReadError(path, f"DICOM header is corrupt ({describe_exception(exc)})") from exc
    try:
        ds = _bounded_read(path, header_only=header_only, force=True)
        credible = any(tag in ds for tag in DICOM_MARKER_TAGS)
    except ImageReadError:
        raise
    except Exception as exc:
        raise UnsupportedImageError(
            path, f"{NOT_DICOM}: no 'DICM' preamble and the content does not parse ({type(exc).__name__})"
        ) from exc
    if not credible:
        raise UnsupportedImageError(path, f"{NOT_DICOM}: no 'DICM' preamble and no DICOM image attributes")
    return ds


def _bounded_read(path: str | Path, *, header_only: bool, force: bool) -> Dataset:
    """``dcmread`` through a :class:`BoundedReader`: a data set of millions of tiny elements is given up early."""
    with BoundedReader(path) as fp:
        try:
            return dcmread(fp, stop_before_pixels=header_only, force=force)
        except Exception as exc:
            if isinstance(exc, DatasetTooLongError) or isinstance(exc.__context__, DatasetTooLongError):
                raise ImageReadError(
                    path,
                    f"DICOM data set holds more than {fp.limit} elements, far more than an image has "
                    "(a damaged or fabricated file, e.g. zeros after the preamble); not read further",
                ) from exc
            raise


def is_not_dicom(exc: ImageReadError) -> bool:
    """Return whether an error from this module means "this file is not DICOM at all"."""
    return isinstance(exc, UnsupportedImageError) and exc.reason.startswith(NOT_DICOM)


def count_dicom_frames(path: str | Path) -> int:
    """Return the number of frames a DICOM file declares, reading only its header.

    Raises:
        ImageReadError: as :func:`read_dataset`, or no pixel module / an invalid Number of Frames.
    """
    with _translate_errors(path):
        ds = read_dataset(path, header_only=True)
        if "Rows" not in ds:
            raise UnsupportedImageError(path, NO_PIXELS_REASON)
        return _frame_count(str(path), ds)


def load_dicom(
    path: str | Path,
    frame: int | None = None,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    window: tuple[float, float] | None = None,
    target: int | None = None,
) -> LoadedImage:
    """Decode one frame of a DICOM file.

    Args:
        path: the file.
        frame: the frame index from 0 (``None``: the first).
        max_pixels: refuse files declaring more pixels (all frames together).
        window: ``(center, width)`` in modality units replacing the file's VOI (monochrome only).
        target: the side the caller resizes to (the model's input size): a large frame is then reduced in
            its stored type before the pixel pipeline; ``None``: full size.

    Returns:
        Float32 ``(H, W)`` (mode ``"L"``) or ``(H, W, 3)`` (mode ``"RGB"``) in [0, 1].

    Raises:
        ImageReadError: or a subclass, for every failure; ``frame`` out of range included.
    """
    index = 0 if frame is None else frame
    with _translate_errors(path):
        pixels = _prepare(path, max_pixels, target)
        if not 0 <= index < pixels.n_frames:
            raise ImageReadError(path, f"frame {index} does not exist: the file has {pixels.n_frames} frame(s)")
        with DECODE_BUDGET.reserve(frame_cost(pixels.ds, target)):
            arr, props = next(itertools.islice(_frame_arrays(pixels), index, None))
            return _to_loaded(pixels, arr, props, index, window)


def iter_dicom_frames(
    path: str | Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    window: tuple[float, float] | None = None,
    target: int | None = None,
) -> Iterator[LoadedImage]:
    """Yield every frame of a DICOM file, decoding one at a time.

    Args:
        path: the file.
        max_pixels: refuse files declaring more pixels (all frames together).
        window: ``(center, width)`` replacing the file's VOI (monochrome only).
        target: as for :func:`load_dicom`.

    Yields:
        One :class:`LoadedImage` per frame, ``meta.frame`` counting from 0.

    Raises:
        ImageReadError: or a subclass, for every failure (possibly after some frames were yielded).
    """
    with _translate_errors(path):
        pixels = _prepare(path, max_pixels, target)
        frames = _frame_arrays(pixels)
    cost = frame_cost(pixels.ds, target)
    for index in range(pixels.n_frames):
        with _translate_errors(path), DECODE_BUDGET.reserve(cost):
            arr, props = next(frames)
            loaded = _to_loaded(pixels, arr, props, index, window)
        yield loaded


def _frame_arrays(pixels: _Pixels) -> Iterator[tuple[np.ndarray, dict[str, str | int]]]:
    """Decode the frames one by one: eligible JPEG 2000 frames at a reduced resolution level
    (:mod:`lcmem.io.dicom_reduced`), the others (and any that fails) with pydicom's decoder."""
    levels = pixels.j2k_levels
    if not levels:
        yield from pixels.decoder.iter_array(pixels.ds, indices=range(pixels.n_frames))
        return
    frames = generate_frames(pixels.ds.PixelData, number_of_frames=pixels.n_frames)
    for index, stream in enumerate(frames):
        arr = decode_reduced(stream, pixels.ds, levels)
        yield (arr, {}) if arr is not None else pixels.decoder.as_array(pixels.ds, index=index)


def frame_cost(ds: Dataset, target: int | None) -> int:
    """Estimate the bytes decoding one frame holds at its peak: the decoder's copies of the stored values (and
    OpenJPEG's 32-bit work buffer for JPEG 2000), then the float pipeline over what is kept after reduction."""
    rows, columns = int(ds.Rows), int(ds.Columns)
    samples = int(ds.get("SamplesPerPixel") or 1)
    stored = rows * columns * samples * max(1, (int(ds.BitsAllocated) + 7) // 8)
    file_meta = getattr(ds, "file_meta", None)
    if file_meta is not None and file_meta.get("TransferSyntaxUID") in J2K_SYNTAXES:
        stored += rows * columns * samples * J2K_WORK_BYTES_PER_SAMPLE
    factor = reduction_factor(columns, rows, target)
    kept = (rows // factor) * (columns // factor) * samples
    return DECODE_COPIES * stored + kept * PIPELINE_BYTES_PER_SAMPLE


@contextmanager
def _translate_errors(path: str | Path) -> Iterator[None]:
    """Let ImageReadError through; wrap anything else a reader or decoder raises; never echo element values.

    Decoders written in Rust (pylibjpeg-rle) raise ``pyo3_runtime.PanicException``, which derives from
    ``BaseException``; it is wrapped too. Only the interpreter's control-flow exceptions pass.
    """
    try:
        with values_unechoed():
            yield
    except (ImageReadError, KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except MemoryError as exc:
        raise ImageReadError(path, "not enough memory to decode the pixel data") from exc
    except BaseException as exc:
        raise ImageReadError(
            path, f"cannot decode the DICOM pixel data ({describe_exception(exc)}); the file may be corrupt"
        ) from exc


def _prepare(path: str | Path, max_pixels: int, target: int | None = None) -> _Pixels:
    """Read the file and run every check that can fail before decoding."""
    name = str(path)
    ds = read_dataset(path, max_pixels=max_pixels)
    if not any(keyword in ds for keyword in PIXEL_KEYWORDS):
        raise UnsupportedImageError(path, _no_pixels_reason(path, ds))
    missing = [keyword for keyword in REQUIRED_KEYWORDS if ds.get(keyword) in (None, "")]
    if missing:
        raise ImageReadError(path, f"DICOM header lacks {', '.join(missing)}, needed to decode the pixel data")
    n_frames = _frame_count(name, ds)
    declared = int(ds.Rows) * int(ds.Columns) * n_frames
    if declared > max_pixels:
        raise ImageTooLargeError(
            path,
            f"DICOM declares {ds.Rows}x{ds.Columns} pixels x {n_frames} frame(s) = {declared}, more than the "
            f"limit of {max_pixels} (a possible decompression bomb); raise max_pixels if the file is trusted",
        )
    extra: dict[str, str] = {}
    tsyntax = _transfer_syntax(name, ds, extra)
    decoder = decoder_for(name, tsyntax)
    extra["transfer_syntax"] = tsyntax.name
    if decoder.is_native:
        _check_length(name, ds)
        _check_bit_packing(name, ds)
    else:
        check_frame_streams(name, ds, tsyntax, n_frames)
    levels = j2k_reduction(ds, tsyntax, target)
    if levels:
        extra["reduced"] = f"JPEG 2000 decoded at resolution level {levels} (1/{2**levels} of each side) for the model"
    return _Pixels(name, ds, decoder, n_frames, extra, target, levels)


def _no_pixels_reason(path: str | Path, ds: Dataset) -> str:
    """Why a dataset has no pixel data: cut short when its header (read again, stopping before the pixel data,
    since pydicom drops every element of a file cut inside encapsulated pixel data) describes an image."""
    if "Rows" in ds:
        return CUT_PIXELS_REASON
    try:
        header = dcmread(path, stop_before_pixels=True, force=True)
    except Exception:
        return NO_PIXELS_REASON
    return CUT_PIXELS_REASON if "Rows" in header else NO_PIXELS_REASON


def _frame_count(path: str, ds: Dataset) -> int:
    """Return Number of Frames (0 or absent counts as 1)."""
    value = ds.get("NumberOfFrames")
    if value in (None, ""):
        return 1
    try:
        count = int(value)
    except (TypeError, ValueError) as exc:
        raise ImageReadError(path, f"Number of Frames {value!r} is not a whole number") from exc
    if count < 0:
        raise ImageReadError(path, f"Number of Frames {count} is negative")
    return max(count, 1)


def _transfer_syntax(path: str, ds: Dataset, extra: dict[str, str]) -> uid.UID:
    """Return the Transfer Syntax UID; infer it from how the file was parsed when the file meta lacks it."""
    file_meta = getattr(ds, "file_meta", None)
    tsyntax = file_meta.get("TransferSyntaxUID") if file_meta is not None else None
    if tsyntax:
        return uid.UID(str(tsyntax))
    if ds[_pixel_keyword(ds)].is_undefined_length:
        raise UnsupportedImageError(
            path, "pixel data is compressed but the file meta has no Transfer Syntax UID naming the codec"
        )
    implicit, little = ds.original_encoding
    if implicit is None or little is None:
        raise ImageReadError(path, "the file meta has no Transfer Syntax UID and the encoding is unknown")
    if implicit:
        inferred = uid.ImplicitVRLittleEndian
    else:
        inferred = uid.ExplicitVRLittleEndian if little else uid.ExplicitVRBigEndian
    if file_meta is None:
        ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = inferred
    extra["transfer_syntax_inferred"] = "yes (missing from the file meta)"
    return inferred


def _check_length(path: str, ds: Dataset) -> None:
    """Refuse native pixel data shorter than Rows x Columns x Samples x Bits Allocated x frames declare."""
    actual = len(ds[_pixel_keyword(ds)].value)
    expected = get_expected_length(ds)
    if actual < expected:
        raise ImageReadError(
            path,
            f"pixel data holds {actual} bytes but Rows, Columns, Samples per Pixel, Bits Allocated and "
            f"Number of Frames require {expected}: the file is truncated or its header is wrong",
        )


def _check_bit_packing(path: str, ds: Dataset) -> None:
    """Refuse 1-bit pixel data that holds 8 or more times the bytes its header declares (wider data)."""
    if int(ds.BitsAllocated) != 1:
        return
    actual, expected = len(ds[_pixel_keyword(ds)].value), get_expected_length(ds)
    if actual >= 8 * max(expected, 1):
        raise ImageReadError(
            path,
            f"Bits Allocated is 1 but the pixel data holds {actual} bytes, {actual // max(expected, 1)} times the "
            f"{expected} one bit per pixel needs: the data is 8 or 16 bits per pixel and the header is wrong",
        )


def _pixel_keyword(ds: Dataset) -> str:
    """Return which of Pixel Data, Float Pixel Data and Double Float Pixel Data the dataset holds."""
    return next(keyword for keyword in PIXEL_KEYWORDS if keyword in ds)


def _to_loaded(
    pixels: _Pixels,
    arr: np.ndarray,
    props: dict[str, str | int],
    index: int,
    window: tuple[float, float] | None,
) -> LoadedImage:
    """Run the pixel pipeline on one decoded frame and describe it."""
    ds = pixels.ds
    stored_mode = str(ds.get("PhotometricInterpretation", "") or "").strip()
    decoded_mode = str(props.get("photometric_interpretation", stored_mode) or stored_mode).strip()
    view = frame_dataset(ds, index)
    arr, reduced = _reduced_frame(arr, pixels.target, decoded_mode)
    unit = _frame_to_unit(pixels.path, arr, view, decoded_mode, window)
    mode = "L" if unit.pixels.ndim == 2 else "RGB"
    meta = ImageMeta(
        path=pixels.path,
        format="DICOM",
        width=int(unit.pixels.shape[1]),
        height=int(unit.pixels.shape[0]),
        mode=mode,
        source_mode=stored_mode or decoded_mode,
        frame=index,
        n_frames=pixels.n_frames,
        modality=attribute_text(ds, "Modality"),
        sop_instance_uid=attribute_text(ds, "SOPInstanceUID"),
        series_instance_uid=attribute_text(ds, "SeriesInstanceUID"),
        study_instance_uid=attribute_text(ds, "StudyInstanceUID"),
        patient_id=attribute_text(ds, "PatientID"),
        window=(float(unit.window.center), float(unit.window.width)),
        window_source=unit.window.source,
        alternative_windows=_alternative_windows(view) if mode == "L" else (),
        extra={**pixels.extra, **reduced, **unit.notes},
    )
    return LoadedImage(pixels=unit.pixels, meta=meta)


def _reduced_frame(arr: np.ndarray, target: int | None, photometric: str) -> tuple[np.ndarray, dict[str, str]]:
    """Shrink a decoded frame in its stored type when ``target`` allows (palette indices: one pixel per block)."""
    if arr.ndim < 2:
        return arr, {}
    height, width = arr.shape[:2]
    factor = reduction_factor(width, height, target)
    if factor == 1:
        return arr, {}
    reduced = reduce_array(arr, factor, nearest=photometric == "PALETTE COLOR")
    note = f"decoded at {reduced.shape[1]}x{reduced.shape[0]} from {width}x{height} for the model's input size {target}"
    return reduced, {"reduced": note}


def _alternative_windows(view: Dataset) -> tuple[FileWindow, ...]:
    """The file's windows except the one it is shown with by default (its first pair, unless a VOI LUT
    Sequence takes precedence or that pair is invalid)."""
    windows = file_windows(view)
    default_is_first = not view.get("VOILUTSequence") and bool(windows) and windows[0].number == 1
    return windows[1:] if default_is_first else windows


def _frame_to_unit(
    path: str, arr: np.ndarray, view: Dataset, photometric: str, window: tuple[float, float] | None
) -> UnitFrame:
    """Send a frame through the monochrome or the colour pipeline, after checking its shape."""
    if photometric in COLOR_MODES or photometric == "PALETTE COLOR":
        expected_ndim = 2 if photometric == "PALETTE COLOR" else 3
        if arr.ndim != expected_ndim or (expected_ndim == 3 and arr.shape[2] != 3):
            raise ImageReadError(path, f"decoded {photometric} frame has an unexpected shape {arr.shape}")
        return color_to_unit(arr, view, photometric)
    if photometric and not photometric.startswith("MONOCHROME"):
        raise UnsupportedImageError(path, f"photometric interpretation {photometric!r} is not supported")
    if arr.ndim != 2:
        raise ImageReadError(path, f"decoded monochrome frame has an unexpected shape {arr.shape}")
    degenerate = degenerate_rescale(view)
    if degenerate is not None:
        raise ImageReadError(path, f"{degenerate}: the header is wrong; fix Rescale Slope or re-export the file")
    return monochrome_to_unit(arr, view, window)


def attribute_text(ds: Dataset, keyword: str) -> str | None:
    """Return an attribute as stripped text, ``None`` when absent or empty."""
    value = ds.get(keyword)
    if value is None:
        return None
    text = str(value).strip()
    return text or None
