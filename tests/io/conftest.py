"""Fixtures for the image I/O tests: small DICOM and raster files written in ``tmp_path``."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
PATIENT_ID = "TEST-PATIENT-42"


def make_dataset(
    pixels: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    attrs: dict[str, Any] | None = None,
) -> Dataset:
    """Return a Secondary Capture dataset holding ``pixels`` (frames first when 3-D monochrome)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = PATIENT_ID
    ds.Modality = "OT"
    bits = bits_stored if bits_stored is not None else 8 * pixels.dtype.itemsize
    ds.set_pixel_data(pixels, photometric, bits)
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    for keyword, value in (attrs or {}).items():
        setattr(ds, keyword, value)
    return ds


def save_dataset(ds: Dataset, path: Path, *, transfer_syntax: UID | None = None, preamble: bool = True) -> Path:
    """Write ``ds`` (compressed to ``transfer_syntax`` if given); without ``preamble``, as a bare dataset."""
    if transfer_syntax is not None:
        ds.compress(transfer_syntax)
    if preamble:
        ds.save_as(path, enforce_file_format=True)
    else:
        bare = Dataset()
        bare.update(ds)
        bare.save_as(path, implicit_vr=False, little_endian=True)
    return path


@pytest.fixture
def write_dicom(tmp_path: Path) -> Callable[..., Path]:
    """Return ``write(name, pixels, **options)``: make_dataset, then save_dataset into tmp_path."""

    def write(
        name: str,
        pixels: np.ndarray,
        *,
        photometric: str = "MONOCHROME2",
        bits_stored: int | None = None,
        attrs: dict[str, Any] | None = None,
        transfer_syntax: UID | None = None,
        preamble: bool = True,
    ) -> Path:
        ds = make_dataset(pixels, photometric=photometric, bits_stored=bits_stored, attrs=attrs)
        return save_dataset(ds, tmp_path / name, transfer_syntax=transfer_syntax, preamble=preamble)

    return write


@pytest.fixture(scope="session")
def new_dataset() -> Callable[..., Dataset]:
    """Return :func:`make_dataset`: ``make(pixels, photometric=..., bits_stored=..., attrs=...)``."""
    return make_dataset


@pytest.fixture
def png_bytes() -> Callable[[np.ndarray], bytes]:
    """Return ``encode(arr) -> bytes`` writing an array as PNG."""

    def encode(arr: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(arr).save(buffer, format="PNG")
        return buffer.getvalue()

    return encode
