"""One frame's view of a DICOM dataset: its pixel-module attributes, with enhanced functional groups applied.

Enhanced multi-frame objects (Enhanced CT/MR, ...) keep Rescale Slope/Intercept and Window Center/Width in
the Shared and Per-Frame Functional Groups Sequences (PS3.3 C.7.6.16) instead of the top level. The view
puts the values that apply to one frame where the pixel pipeline reads them, without touching the dataset.
"""

from __future__ import annotations

import logging

from pydicom import Dataset

logger = logging.getLogger(__name__)

IMAGE_PIXEL_GROUP = 0x0028

FRAME_MACROS = {
    "PixelValueTransformationSequence": ("RescaleSlope", "RescaleIntercept", "RescaleType"),
    "FrameVOILUTSequence": ("WindowCenter", "WindowWidth", "WindowCenterWidthExplanation", "VOILUTFunction"),
}
"""Functional group macros (PS3.3 C.7.6.16.2.9 and C.7.6.16.2.10) and the attributes taken from them."""


def frame_dataset(ds: Dataset, index: int) -> Dataset:
    """Return a new dataset with the group 0028 attributes of ``ds`` as they apply to frame ``index``.

    Elements are shared with ``ds`` (not copied); per-frame functional group values override shared ones,
    which override the top level.

    Args:
        ds: the whole dataset.
        index: the frame, from 0.

    Returns:
        A dataset for :mod:`lcmem.io.dicom_pixels`, carrying the file meta and encoding of ``ds``.
    """
    view = ds.group_dataset(IMAGE_PIXEL_GROUP)
    file_meta = getattr(ds, "file_meta", None)
    if file_meta is not None:
        view.file_meta = file_meta
    view.set_original_encoding(*ds.original_encoding)
    for group in _functional_groups(ds, index):
        for sequence, keywords in FRAME_MACROS.items():
            items = group.get(sequence)
            if not items:
                continue
            for keyword in keywords:
                if keyword in items[0]:
                    view.add(items[0][keyword])
    return view


def _functional_groups(ds: Dataset, index: int) -> list[Dataset]:
    """Return the shared functional group item, then the one for frame ``index``, where present."""
    groups: list[Dataset] = []
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        groups.append(shared[0])
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and index < len(per_frame):
        groups.append(per_frame[index])
    return groups
