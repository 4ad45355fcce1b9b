"""The identifiers of a DICOM file, read from its header only (no pixel data is decoded)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from pydicom import Dataset

from lcmem.errors import ImageReadError
from lcmem.io.dicom import attribute_text, read_dataset
from lcmem.io.dicom_quiet import values_unechoed
from lcmem.io.formats import has_dicom_extension, is_dicom_file

logger = logging.getLogger(__name__)

IDENTIFIER_KEYWORDS = ("Modality", "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "PatientID")


@dataclass(frozen=True)
class DicomIdentifiers:
    """Modality, the SOP/Series/Study Instance UIDs and the raw PatientID of one file."""

    modality: str | None = None
    sop_instance_uid: str | None = None
    series_instance_uid: str | None = None
    study_instance_uid: str | None = None
    patient_id: str | None = None


def read_dicom_identifiers(path: str | Path) -> DicomIdentifiers | None:
    """Return the identifiers of a DICOM file, or ``None`` for other files and unreadable headers.

    An identifier whose element is corrupt (an unknown VR, a value that does not convert) is ``None``.
    """
    if not (has_dicom_extension(path) or is_dicom_file(path)):
        return None
    with values_unechoed():
        try:
            ds = read_dataset(path, header_only=True)
        except ImageReadError:
            return None
        return DicomIdentifiers(*(_identifier(ds, keyword) for keyword in IDENTIFIER_KEYWORDS))


def _identifier(ds: Dataset, keyword: str) -> str | None:
    try:
        return attribute_text(ds, keyword)
    except Exception:  # a corrupt element: pydicom raises what its converters raise
        logger.debug("DICOM element %s is corrupt; its identifier is left empty", keyword)
        return None
