"""The DICOM grey-scale and colour pipelines, as pure functions: stored values in, float32 in [0, 1] out.

Monochrome: Modality LUT or Rescale Slope/Intercept (PS3.3 C.11.1), then the VOI transformation (PS3.3 C.11.2:
the VOI LUT Sequence, else Window Center/Width with its VOI LUT Function, else a 0.5-99.5 percentile window
of the frame), then MONOCHROME1 is inverted (PS3.3 C.7.6.3.1.2) so that 1.0 is always the brightest.
Colour: RGB or YBR_FULL(_422) (converted to RGB), or PALETTE COLOR through its lookup tables (PS3.3
C.7.6.3.1.5-6), scaled by the bit depth. The encoder and the viewer call the same functions, so a window
dragged in the viewer shows exactly what the model would see with that window.

Every function takes a dataset holding the Image Pixel, Modality LUT and VOI LUT modules (for one frame of an
enhanced multi-frame object, see :func:`lcmem.io.dicom_frames.frame_dataset`) and never modifies it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from pydicom import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi,
    apply_windowing,
    convert_color_space,
)

from lcmem.io.types import FileWindow

logger = logging.getLogger(__name__)

VOI_FUNCTIONS = frozenset({"LINEAR", "LINEAR_EXACT", "SIGMOID"})
PERCENTILES = (0.5, 99.5)
YBR_FULL_MODES = frozenset({"YBR_FULL", "YBR_FULL_422"})
_WINDOW_BITS = 16
_WINDOW_MAX = float(2**_WINDOW_BITS - 1)


@dataclass(frozen=True)
class VoiWindow:
    """A VOI window in modality units (after rescale), its VOI LUT Function, and where it came from.

    ``source`` is ``"voi_lut_sequence"``, ``"window"``, ``"override"``, ``"percentile"`` or ``"range"``.
    """

    center: float
    width: float
    function: str = "LINEAR"
    source: str = "window"


@dataclass(frozen=True)
class UnitFrame:
    """One frame mapped to [0, 1]: float32 ``(H, W)`` or ``(H, W, 3)``, the window used, and notes.

    ``notes`` records departures from the file's own instructions (e.g. ``voi_fallback``: why its VOI LUT
    or window was not used).
    """

    pixels: np.ndarray
    window: VoiWindow
    notes: dict[str, str]


def apply_modality(stored: np.ndarray, ds: Dataset) -> np.ndarray:
    """Map stored values to modality units (e.g. Hounsfield units) as PS3.3 C.11.1 says.

    Applies the Modality LUT Sequence, else Rescale Slope/Intercept, else nothing (pydicom's
    ``apply_modality_lut``).

    Args:
        stored: the decoded frame.
        ds: the dataset (or frame view) with the Modality LUT module.

    Returns:
        float64 values in modality units.
    """
    return np.asarray(apply_modality_lut(stored, ds), dtype=np.float64)


def degenerate_rescale(ds: Dataset) -> str | None:
    """Say why Rescale Slope cannot map stored values to modality units (NaN, infinite or 0), else ``None``.

    Such a slope turns every pixel into one value (NaN, or the intercept): a flat image that would still be
    embedded and matched, so the file is refused instead. A Modality LUT Sequence takes precedence over it.
    """
    if ds.get("ModalityLUTSequence") or ds.get("RescaleSlope") in (None, ""):
        return None
    try:
        slope = float(_first_value(ds.get("RescaleSlope")) or 0.0)
    except (TypeError, ValueError):
        return f"Rescale Slope {str(ds.get('RescaleSlope'))[:20]!r} is not a number"
    if not np.isfinite(slope):
        return f"Rescale Slope is {slope}, not a finite number"
    if slope == 0:
        return "Rescale Slope is 0, which maps every pixel to the Rescale Intercept (a flat image)"
    return None


def window_from_dataset(ds: Dataset) -> VoiWindow | None:
    """Return the first Window Center/Width pair and the VOI LUT Function (PS3.3 C.11.2.1.2), or ``None``.

    Raises:
        ValueError: the values are missing a partner, not numbers, or invalid for the function.
    """
    if "WindowCenter" not in ds and "WindowWidth" not in ds:
        return None
    center, width = _first_value(ds.get("WindowCenter")), _first_value(ds.get("WindowWidth"))
    if center is None or width is None:
        raise ValueError("Window Center and Window Width must both be present")
    return validate_window(VoiWindow(center, width, voi_function(ds), "window"))


def file_windows(ds: Dataset) -> tuple[FileWindow, ...]:
    """Every valid Window Center/Width pair of the file (PS3.3 C.11.2.1.2: the values are paired by position),
    with its Window Center & Width Explanation; invalid or unpaired values are left out."""
    centers, widths = _values(ds.get("WindowCenter")), _values(ds.get("WindowWidth"))
    names = _values(ds.get("WindowCenterWidthExplanation"))
    function = voi_function(ds)
    windows = []
    for number, (center, width) in enumerate(zip(centers, widths, strict=False), start=1):
        try:
            validate_window(VoiWindow(float(center), float(width), function))
        except (TypeError, ValueError):
            continue
        name = str(names[number - 1]).strip() if number <= len(names) else ""
        windows.append(FileWindow(float(center), float(width), name, number))
    return tuple(windows)


def _values(value: object) -> list[object]:
    """A possibly multi-valued attribute value as a list (empty when absent)."""
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple, MultiValue)) else [value]


def voi_function(ds: Dataset) -> str:
    """Return the VOI LUT Function (0028,1056) in upper case; ``"LINEAR"`` when absent (PS3.3 C.11.2.1.3)."""
    value = ds.get("VOILUTFunction")
    return str(value).strip().upper() if value else "LINEAR"


def validate_window(window: VoiWindow) -> VoiWindow:
    """Return ``window`` if PS3.3 C.11.2.1.2-3 allows it, else raise ``ValueError`` saying why."""
    if window.function not in VOI_FUNCTIONS:
        raise ValueError(f"unknown VOI LUT Function {window.function!r}")
    if not (np.isfinite(window.center) and np.isfinite(window.width)):
        raise ValueError("Window Center/Width is not a finite number")
    minimum = 1.0 if window.function == "LINEAR" else 0.0
    if window.width < minimum or window.width == 0:
        raise ValueError(f"Window Width {window.width:g} is invalid for {window.function}")
    return window


def apply_window(values: np.ndarray, window: VoiWindow) -> np.ndarray:
    """Apply a window (PS3.3 C.11.2.1.2 LINEAR, C.11.2.1.3.1 SIGMOID, C.11.2.1.3.2 LINEAR_EXACT) into [0, 1].

    pydicom's ``apply_windowing`` maps onto the output range of the dataset it is given; it is given a
    16-bit unsigned, un-rescaled one, so that range is exactly [0, 65535] and dividing by 65535 gives [0, 1].

    Args:
        values: modality values (after :func:`apply_modality`).
        window: a valid window.

    Returns:
        float64 in [0, 1].
    """
    spec = Dataset()
    spec.PhotometricInterpretation = "MONOCHROME2"
    spec.BitsStored = _WINDOW_BITS
    spec.PixelRepresentation = 0
    spec.WindowCenter = window.center
    spec.WindowWidth = window.width
    spec.VOILUTFunction = window.function
    return np.clip(apply_windowing(values, spec) / _WINDOW_MAX, 0.0, 1.0)


def apply_voi_lut_sequence(values: np.ndarray, ds: Dataset) -> tuple[np.ndarray, VoiWindow]:
    """Apply the first item of the VOI LUT Sequence (PS3.3 C.11.2.1.1, C.8.11.3.1.5) into [0, 1].

    The output is divided by ``2**n - 1``, where ``n`` is the LUT Descriptor's bit depth, or fewer bits when
    the LUT Data never needs them (a frequent encoder quirk: 12-bit entries declared as 16).

    Args:
        values: modality values.
        ds: the dataset with a VOI LUT Sequence.

    Returns:
        The mapped values and an equivalent window (the LUT's input range).

    Raises:
        ValueError: the LUT is missing or inconsistent (descriptor vs data).
    """
    item = ds.VOILUTSequence[0]
    descriptor = item.get("LUTDescriptor")
    if descriptor is None or "LUTData" not in item or len(descriptor) != 3:
        raise ValueError("VOI LUT Descriptor or LUT Data is missing or malformed")
    n_entries, first, depth = int(descriptor[0]) or 2**16, int(descriptor[1]), int(descriptor[2])
    n_data = _lut_length(item["LUTData"].value)
    if n_data != n_entries:
        raise ValueError(f"VOI LUT Descriptor declares {n_entries} entries but the LUT Data holds {n_data}")
    indices = np.clip(np.rint(values), first, first + n_entries - 1).astype(np.int64)
    try:
        mapped = np.asarray(apply_voi(indices, ds), dtype=np.float64)
    except Exception as exc:
        raise ValueError(f"VOI LUT cannot be applied ({type(exc).__name__}: {exc})") from exc
    top = float(mapped.max()) if mapped.size else 0.0
    if top >= 2**depth:
        raise ValueError(f"VOI LUT Data holds values above its declared {depth}-bit depth")
    bits = min(depth, max(8, int(top).bit_length()))
    window = VoiWindow(first + n_entries / 2, float(n_entries), "LUT", "voi_lut_sequence")
    return mapped / float(2**bits - 1), window


def percentile_window(values: np.ndarray) -> VoiWindow | None:
    """Return a LINEAR_EXACT window over the 0.5-99.5 percentiles of the finite values; ``None`` if flat."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    lo, hi = (float(v) for v in np.percentile(finite, PERCENTILES))
    if hi <= lo:
        return None
    return VoiWindow((lo + hi) / 2, hi - lo, "LINEAR_EXACT", "percentile")


def range_window(ds: Dataset) -> VoiWindow:
    """Return a LINEAR_EXACT window over every value the stored bits can hold, in modality units.

    The stored range comes from Bits Stored and Pixel Representation (PS3.3 C.7.6.3.1), mapped through
    Rescale Slope/Intercept, or [0, 2**n - 1] for a Modality LUT of ``n`` bits (PS3.3 C.11.1.1.1).
    """
    bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 16)
    if ds.get("ModalityLUTSequence"):
        lo, hi = 0.0, float(2 ** int(ds.ModalityLUTSequence[0].LUTDescriptor[2]) - 1)
    else:
        signed = ds.get("PixelRepresentation", 0) == 1
        lo, hi = (-(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1) if signed else (0.0, 2.0**bits - 1)
        slope, intercept = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
        if slope is not None and intercept is not None:
            lo, hi = sorted((lo * float(slope) + float(intercept), hi * float(slope) + float(intercept)))
    return VoiWindow((lo + hi) / 2, hi - lo if hi > lo else 1.0, "LINEAR_EXACT", "range")


def monochrome_to_unit(stored: np.ndarray, ds: Dataset, window: tuple[float, float] | None = None) -> UnitFrame:
    """Run the whole grey-scale pipeline on one frame: modality, VOI, MONOCHROME1 inversion.

    The VOI step uses, in order: ``window`` when given (a viewer's window/level, with the file's VOI LUT
    Function), the VOI LUT Sequence, Window Center/Width (the first pair), a percentile window, and the
    stored range for a flat frame. A broken LUT or window is skipped and the reason kept in
    ``notes["voi_fallback"]``; the file never fails because of it.

    Args:
        stored: the decoded frame, ``(H, W)``.
        ds: the dataset (or frame view).
        window: ``(center, width)`` in modality units, replacing the file's VOI.

    Returns:
        ``(H, W)`` float32 in [0, 1], 1.0 the brightest.
    """
    notes: dict[str, str] = {}
    try:
        values = apply_modality(stored, ds)
    except Exception as exc:
        notes["modality_fallback"] = f"Modality LUT ignored ({type(exc).__name__}: {exc})"
        values = stored.astype(np.float64)
    unit, used = _apply_voi(values, ds, window, notes)
    if str(ds.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1":
        unit = invert_monochrome1(unit)
    return UnitFrame(_as_unit_float32(unit), used, notes)


def _apply_voi(
    values: np.ndarray, ds: Dataset, override: tuple[float, float] | None, notes: dict[str, str]
) -> tuple[np.ndarray, VoiWindow]:
    """Try the VOI sources in order; record why a broken one was skipped."""
    problems: list[str] = []
    result = _override_voi(values, ds, override, problems) if override is not None else _file_voi(values, ds, problems)
    if problems:
        notes["voi_fallback"] = "; ".join(problems)
        logger.debug("VOI fallback: %s", notes["voi_fallback"])
    if result is not None:
        return result
    chosen = percentile_window(values) or range_window(ds)
    return apply_window(values, chosen), chosen


def _override_voi(
    values: np.ndarray, ds: Dataset, override: tuple[float, float], problems: list[str]
) -> tuple[np.ndarray, VoiWindow] | None:
    """Apply a caller's ``(center, width)`` with the file's VOI LUT Function (LINEAR if it has none)."""
    function = voi_function(ds) if voi_function(ds) in VOI_FUNCTIONS else "LINEAR"
    try:
        chosen = validate_window(VoiWindow(float(override[0]), float(override[1]), function, "override"))
    except ValueError as exc:
        problems.append(f"window override: {exc}")
        return None
    return apply_window(values, chosen), chosen


def _file_voi(values: np.ndarray, ds: Dataset, problems: list[str]) -> tuple[np.ndarray, VoiWindow] | None:
    """Apply the file's VOI LUT Sequence, else its first Window Center/Width; ``None`` if neither works."""
    if ds.get("VOILUTSequence"):
        try:
            return apply_voi_lut_sequence(values, ds)
        except (ValueError, TypeError, AttributeError) as exc:
            problems.append(f"VOI LUT Sequence: {exc}")
    try:
        file_window = window_from_dataset(ds)
    except (ValueError, TypeError) as exc:
        problems.append(f"Window Center/Width: {exc}")
        return None
    return None if file_window is None else (apply_window(values, file_window), file_window)


def invert_monochrome1(unit: np.ndarray) -> np.ndarray:
    """Invert [0, 1] values of a MONOCHROME1 image, whose minimum is white (PS3.3 C.7.6.3.1.2)."""
    return 1.0 - unit


def color_to_unit(arr: np.ndarray, ds: Dataset, photometric: str) -> UnitFrame:
    """Map one decoded colour frame to RGB in [0, 1].

    ``photometric`` is the interpretation of ``arr`` as decoded: pydicom usually returns YBR_FULL(_422) data
    already converted to RGB (then pass ``"RGB"``); data still in YBR_FULL is converted here. YBR_ICT and
    YBR_RCT come out of the JPEG 2000 decoder as RGB (PS3.5 8.2.4). PALETTE COLOR goes through the palette
    lookup tables (PS3.3 C.7.6.3.1.5-6) and is scaled by their bit depth; other data by Bits Stored.

    Args:
        arr: ``(H, W, 3)`` for RGB/YBR, ``(H, W)`` for PALETTE COLOR.
        ds: the dataset (or frame view).
        photometric: the photometric interpretation of ``arr``.

    Returns:
        ``(H, W, 3)`` float32 in [0, 1] and the stored range as the window.

    Raises:
        ValueError: the palette lookup tables are missing or malformed.
    """
    notes: dict[str, str] = {}
    if photometric == "PALETTE COLOR":
        rgb = np.asarray(apply_color_lut(arr, ds))[..., :3]
        bits = 8 * rgb.dtype.itemsize
        if bits == 16 and rgb.size and int(rgb.max()) <= 255:
            bits = 8
            notes["palette_bits"] = "8 (8-bit entries stored in 16-bit words)"
    else:
        rgb = convert_color_space(arr, "YBR_FULL", "RGB") if photometric in YBR_FULL_MODES else arr
        bits = int(ds.get("BitsStored") or 8 * arr.dtype.itemsize)
    top = float(2**bits - 1)
    unit = rgb.astype(np.float64) / top
    return UnitFrame(_as_unit_float32(unit), VoiWindow(top / 2, top, "LINEAR_EXACT", "range"), notes)


def _as_unit_float32(arr: np.ndarray) -> np.ndarray:
    """Return float32 in [0, 1] with NaN as 0 and infinities clipped."""
    return np.clip(np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0).astype(np.float32)


def _first_value(value: object) -> float | None:
    """Return the first of a possibly multi-valued DS/FD value as a float, ``None`` when empty."""
    if isinstance(value, (list, tuple, MultiValue)):
        value = value[0] if len(value) else None
    if value is None or value == "":
        return None
    return float(value)  # type: ignore[arg-type]


def _lut_length(data: object) -> int:
    """Return the number of entries in LUT Data: 16-bit words for OW bytes, items for a US/SS list."""
    if isinstance(data, (bytes, bytearray)):
        return len(data) // 2
    if isinstance(data, int):
        return 1
    return len(data)  # type: ignore[arg-type]
