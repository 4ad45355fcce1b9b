"""Every DICOM file of the shared test set either loads cleanly or fails with an ImageReadError.

The set lives outside the repository, in ``../shared/data/dicom`` (or ``$LCMEM_SHARED_DATA/dicom``), with a
``manifest.csv`` describing each file as pydicom alone sees it. The module is skipped when it is absent.
"""

from __future__ import annotations

import csv
import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from lcmem.errors import ImageReadError, UnsupportedImageError
from lcmem.io import count_frames, iter_frames

pytestmark = pytest.mark.filterwarnings("ignore")  # pydicom warns about the many non-conformant files here

MAX_FRAMES = 16
"""Frames decoded per file: enough to cover every multi-frame layout, while the suite stays fast."""

EXPECTED_FAILURES: dict[str, str] = {}
"""Files the manifest says pydicom decodes, without a quirk flag, that we fail on (with the reason): none."""


def shared_dicom_folder() -> Path:
    """Return the shared DICOM folder: ``$LCMEM_SHARED_DATA/dicom``, else ``<repo>/../shared/data/dicom``."""
    env = os.environ.get("LCMEM_SHARED_DATA")
    if env:
        return Path(env) / "dicom"
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "dicom"


FOLDER = shared_dicom_folder()
MANIFEST = FOLDER / "manifest.csv"
if not MANIFEST.is_file():
    pytest.skip(f"shared DICOM set not found ({MANIFEST}); set LCMEM_SHARED_DATA", allow_module_level=True)

with MANIFEST.open(newline="", encoding="utf-8") as manifest_file:
    ROWS = list(csv.DictReader(manifest_file))


def must_decode(row: dict[str, str]) -> bool:
    """Files pydicom decodes by itself and that carry no quirk flag must load."""
    return row["decode_pydicom"].startswith("ok") and not row["quirk"] and row["file"] not in EXPECTED_FAILURES


def declared_shape(row: dict[str, str]) -> tuple[int, ...]:
    """The frame shape the manifest declares: colour (3 samples, or a palette) gives a third axis of 3."""
    rows, cols = int(row["rows"]), int(row["cols"])
    colour = row["samples"] == "3" or row["photometric"] == "PALETTE COLOR"
    return (rows, cols, 3) if colour else (rows, cols)


def test_manifest_is_not_empty() -> None:
    assert len(ROWS) > 100


@pytest.mark.parametrize("row", ROWS, ids=[row["file"] for row in ROWS])
def test_file_loads_or_fails_cleanly(row: dict[str, str]) -> None:
    path = FOLDER / row["file"]
    try:
        items = list(itertools.islice(iter_frames(path), MAX_FRAMES))
    except ImageReadError as exc:
        assert str(path) in str(exc)
        assert exc.reason
        assert not must_decode(row), f"required to decode: {exc.reason}"
        if row["has_pixels"] == "False" and row["decode_pydicom"] == "no pixel data":
            assert isinstance(exc, UnsupportedImageError)
        return
    frames = count_frames(path)
    assert items, "no frame yielded"
    assert frames == (int(row["frames"]) if row["frames"].isdigit() else 1)
    assert len(items) == min(frames, MAX_FRAMES)
    for index, item in enumerate(items):
        pixels = item.pixels
        assert pixels.dtype == np.float32
        assert np.isfinite(pixels).all()
        assert pixels.min() >= 0.0
        assert pixels.max() <= 1.0
        assert pixels.shape == declared_shape(row)
        assert item.meta.frame == index
        assert item.meta.format == "DICOM"
        assert item.meta.mode == ("RGB" if pixels.ndim == 3 else "L")
