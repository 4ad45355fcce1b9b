"""The identifiers of a DICOM file, read from its header only (no pixel data is decoded)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lcmem.errors import ImageReadError
from lcmem.io.dicom import read_dataset
from lcmem.io.formats import has_dicom_extension, is_dicom_file


@dataclass(frozen=True)
class DicomIdentifiers:
    """Modality, the SOP/Series/Study Instance UIDs and the raw PatientID of one file."""

    modality: str | None = None
    sop_instance_uid: str | None = None
    series_instance_uid: str | None = None
    study_instance_uid: str | None = None
    patient_id: str | None = None


def read_dicom_identifiers(path: str | Path) -> DicomIdentifiers | None:
    """Return the identifiers of a DICOM file, or ``None`` for other files and unreadable headers."""
    if not (has_dicom_extension(path) or is_dicom_file(path)):
        return None
    try:
        ds = read_dataset(path, header_only=True)
    except ImageReadError:
        return None

    def text(keyword: str) -> str | None:
        value = ds.get(keyword)
        return str(value).strip() or None if value is not None else None

    return DicomIdentifiers(
        text("Modality"),
        text("SOPInstanceUID"),
        text("SeriesInstanceUID"),
        text("StudyInstanceUID"),
        text("PatientID"),
    )
