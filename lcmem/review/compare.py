"""What the compare view shows beside the pixels, Qt-free: window presets, W/L drags, metadata diffs, differences.

The pixels themselves always come from :func:`lcmem.io.load_image` (a new window is a new load with
``window=``), so the viewer shows exactly what the encoder would see with that window.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from lcmem.io.types import ImageMeta
from lcmem.store.types import PairRow

if TYPE_CHECKING:
    from lcmem.verify.types import Verification

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowPreset:
    """A named CT window: ``width`` and ``level`` (the centre) in Hounsfield units."""

    name: str
    width: float
    level: float

    @property
    def window(self) -> tuple[float, float]:
        """``(center, width)`` as :func:`lcmem.io.load_image` takes it."""
        return (self.level, self.width)


WINDOW_PRESETS = (
    WindowPreset("Soft tissue", 400, 40),
    WindowPreset("Lung", 1500, -600),
    WindowPreset("Liver", 150, 90),
    WindowPreset("Bone", 2500, 480),
    WindowPreset("Brain", 80, 40),
)
"""OHIF's default presets, on keys 1-5 (ANCHORS §3.2)."""

MIN_WIDTH = 1.0


@dataclass(frozen=True)
class MetaField:
    """One line of the metadata comparison: a label, the real and the synthetic value, whether they differ."""

    label: str
    real: str
    synthetic: str

    @property
    def differs(self) -> bool:
        """Whether the two values differ (the view highlights these)."""
        return self.real != self.synthetic


def has_window(meta: ImageMeta) -> bool:
    """Whether window/level applies: a monochrome DICOM (rasters and colour images ignore ``window=``)."""
    return meta.format == "DICOM" and meta.mode == "L"


def drag_window(window: tuple[float, float], dx: float, dy: float) -> tuple[float, float]:
    """The window after a right-drag of ``(dx, dy)`` screen pixels: right widens, down raises the level.

    The step scales with the width (1/200 of it per pixel, at least 0.5), so narrow brain windows and wide
    bone windows both move at a usable speed.

    Args:
        window: ``(center, width)`` in modality units.
        dx: horizontal drag in pixels.
        dy: vertical drag in pixels.

    Returns:
        The new ``(center, width)``; the width never drops below 1.
    """
    center, width = window
    step = max(width / 200.0, 0.5)
    return (center + dy * step, max(MIN_WIDTH, width + dx * step))


def describe_window(meta: ImageMeta, preset: str | None = None) -> str:
    """The window of a loaded image as a line of text: ``W 400 L 40 · Soft tissue`` or why there is none."""
    if not has_window(meta):
        if meta.format == "DICOM":
            return "colour DICOM · no window/level"
        return f"{meta.format} · no window/level (display range)"
    if meta.window is None:
        return "no window"
    center, width = meta.window
    source = preset or window_source_text(meta.window_source)
    return f"W {width:.0f} L {center:.0f} · {source}"


WINDOW_SOURCES = {
    "voi_lut_sequence": "file VOI LUT",
    "window": "file window",
    "override": "viewer",
    "percentile": "auto (0.5-99.5 %)",
    "range": "full range",
}


def window_source_text(source: str | None) -> str:
    """Where a window came from, in words (``ImageMeta.window_source`` → ``"file window"``...)."""
    return WINDOW_SOURCES.get(source or "", source or "—")


def metadata_fields(
    real: ImageMeta,
    synthetic: ImageMeta,
    *,
    real_sha256: str = "",
    synthetic_sha256: str = "",
    real_patient: str | None = None,
    synthetic_patient: str | None = None,
) -> list[MetaField]:
    """The metadata of a pair side by side. Patients appear only as the project's pseudonyms, never raw.

    Args:
        real: the real image's metadata.
        synthetic: the synthetic image's metadata.
        real_sha256: content hash of the real file (shown shortened).
        synthetic_sha256: content hash of the synthetic file.
        real_patient: the real image's pseudonymised patient id.
        synthetic_patient: the synthetic image's pseudonymised patient id.
    """

    def both(label: str, value: Callable[[ImageMeta], object]) -> MetaField:
        return MetaField(label, _text(value(real)), _text(value(synthetic)))

    return [
        MetaField("File", Path(real.path).name, Path(synthetic.path).name),
        MetaField("Content sha256", real_sha256[:12], synthetic_sha256[:12]),
        MetaField("Patient (pseudonym)", real_patient or "—", synthetic_patient or "—"),
        both("Format", lambda m: m.format),
        both("Size", lambda m: f"{m.width} × {m.height}"),
        both("Pixels", lambda m: f"{m.mode} (stored {m.source_mode})"),
        both("Frame", lambda m: "—" if m.frame is None else f"{m.frame + 1} of {m.n_frames}"),
        both("Modality", lambda m: m.modality),
        both("Window", lambda m: "—" if m.window is None else f"W {m.window[1]:.0f} L {m.window[0]:.0f}"),
        both("Window from", lambda m: window_source_text(m.window_source)),
        both("Transfer syntax", lambda m: m.extra.get("transfer_syntax")),
        both("Study UID", lambda m: m.study_instance_uid),
        both("Series UID", lambda m: m.series_instance_uid),
        both("SOP instance UID", lambda m: m.sop_instance_uid),
    ]


def _text(value: object) -> str:
    return "—" if value is None or value == "" else str(value)


def unshown_text(path: str, reason: str) -> str:
    """What a pane says when its image cannot be shown.

    A file that is not there at all is most often one recorded on another machine (a real image of a prebuilt
    index, embedded where the archive lives), so the text says where it was and how to reach it.
    """
    if not os.path.lexists(path):
        return (
            f"Not reachable from this workstation:\n{path}\nThe path was recorded where the images were embedded "
            "(a prebuilt index or another machine); mount that storage at the same path to see the image."
        )
    return f"Cannot show this image:\n{reason}"


def to_grey(pixels: np.ndarray) -> np.ndarray:
    """Luma (ITU-R BT.601) of RGB pixels in [0, 1]; grey pixels are returned as float32."""
    if pixels.ndim == 3:
        return (pixels[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.float32)
    return pixels.astype(np.float32, copy=False)


def difference_image(real: np.ndarray, synthetic: np.ndarray) -> np.ndarray:
    """``|synthetic − real|`` in grey, at the synthetic image's size (the real one resized bilinearly).

    Args:
        real: pixels in [0, 1], ``(H, W)`` or ``(H, W, 3)``.
        synthetic: pixels in [0, 1].

    Returns:
        float32 ``(H, W)`` in [0, 1] at the synthetic image's height and width.
    """
    target = to_grey(synthetic)
    source = to_grey(real)
    if source.shape != target.shape:
        resized = Image.fromarray(source, mode="F").resize(
            (target.shape[1], target.shape[0]), Image.Resampling.BILINEAR
        )
        source = np.asarray(resized, dtype=np.float32)
    return np.clip(np.abs(target - source), 0.0, 1.0)


def pair_matches(pair: PairRow, cache_dir: str | Path | None = None) -> Verification:
    """The geometric verification of a pair with its inlier keypoints (each file's pixel coordinates), as the
    compare view draws them on ``G``; features are read from (and kept in) the feature cache of ``cache_dir``
    (default: the lcmem cache folder). A file that cannot be read gives 0 inliers. OpenCV, pydicom and the
    embedding tier are imported here, not at the top: the app imports this module at start-up."""
    from lcmem.embed.cache import default_cache_dir
    from lcmem.embed.types import ImageRef
    from lcmem.verify.cache import FeatureCache
    from lcmem.verify.settings import VerifySettings
    from lcmem.verify.verifier import Verifier

    settings = VerifySettings()
    synthetic = ImageRef(pair.synthetic_path, pair.key.synthetic_sha256, pair.key.synthetic_frame)
    real = ImageRef(pair.real_path, pair.key.real_sha256, pair.key.real_frame)
    with FeatureCache.for_settings(cache_dir or default_cache_dir(), settings) as cache:
        return Verifier(settings, cache).verify(synthetic, real, points=True)
