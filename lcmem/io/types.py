"""Records produced by the image I/O tier."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_MAX_PIXELS = 256 * 1024 * 1024
"""Default decompression-bomb guard: images (all frames together) above this many pixels are refused."""


@dataclass(frozen=True)
class FileWindow:
    """One Window Center/Width pair of a DICOM file (these attributes may hold several), with its explanation.

    ``number`` counts from 1 in the file's order; ``explanation`` is the matching Window Center & Width
    Explanation (0028,1055) value, ``""`` when the file gives none.
    """

    center: float
    width: float
    explanation: str
    number: int


@dataclass(frozen=True)
class ImageMeta:
    """What the loader knows about one image (one frame of a multi-frame DICOM).

    ``width``/``height`` are of the decoded pixels; ``mode`` is ``"L"`` (one channel) or ``"RGB"``.
    ``source_mode`` is the stored representation (a Pillow mode such as ``"I;16"`` or ``"P"``, or a DICOM
    photometric interpretation such as ``"MONOCHROME1"``). DICOM fields are ``None`` for other formats.
    ``window`` is the ``(center, width)`` actually applied after the modality LUT, and ``window_source`` says
    where it came from: ``"voi_lut_sequence"`` (``window`` is then the LUT's input range), ``"window"``
    (Window Center/Width), ``"override"`` (the caller's ``window=`` argument), ``"percentile"`` (0.5-99.5 %
    fallback), ``"range"`` (the stored bit range: colour images and flat frames) or ``None``.
    ``frame`` is the frame index of a DICOM item, ``None`` for other formats unless a frame was asked for.
    ``alternative_windows`` are the file's other valid Window Center/Width pairs (a monochrome DICOM's values
    beyond the one it is shown with by default), which a viewer can offer as presets.
    ``extra`` holds notes such as ``transfer_syntax``, ``voi_fallback`` (why the file's VOI was not used)
    or ``scaling`` (min/max scaling of wide raster data).
    """

    path: str
    format: str
    width: int
    height: int
    mode: str
    source_mode: str
    frame: int | None = None
    n_frames: int = 1
    modality: str | None = None
    sop_instance_uid: str | None = None
    series_instance_uid: str | None = None
    study_instance_uid: str | None = None
    patient_id: str | None = None
    window: tuple[float, float] | None = None
    window_source: str | None = None
    alternative_windows: tuple[FileWindow, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedImage:
    """Decoded pixels: float32 in [0, 1], shape ``(H, W)`` for ``mode == "L"`` or ``(H, W, 3)`` for RGB."""

    pixels: np.ndarray
    meta: ImageMeta


@dataclass(frozen=True)
class FileProblem:
    """A file or folder that could not be read, with a reason a person understands.

    ``kind`` is the name of the :mod:`lcmem.errors` class (or ``"FolderError"`` for a folder the walk could
    not enter, ``"SymlinkLoop"`` for a link cycle).
    """

    path: str
    reason: str
    kind: str
