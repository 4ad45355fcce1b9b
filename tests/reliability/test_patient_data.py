"""Direct identifiers (PatientName, PatientID, BirthDate, address, other IDs) never leave the project database.

Every DICOM file of the bad-input corpus carries the identifiers of :mod:`tests.reliability.corpus`, some of
them with invalid values (pydicom's validation warnings would echo those). Scans, exports, logs at DEBUG,
warnings, console output, the run record and the problems CSV are searched for any part of them; corrupt
DICOM files with patient data are fuzzed and their error messages searched too.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sqlite3
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.uid import generate_uid

from lcmem.cli.main import main
from lcmem.errors import ImageReadError
from lcmem.io import count_frames, iter_frames, read_dicom_identifiers
from lcmem.model.bundle import Bundle
from lcmem.scan.types import ScanSettings
from lcmem.store.ingest import scan_project
from lcmem.store.project import Project
from tests.io.conftest import save_dataset
from tests.reliability.corpus import IDENTIFIERS, PATIENT_ID, build_corpus, ct_pixels, patient_dataset

FUZZ_EXAMPLES = 300


def leaks(text: str) -> list[str]:
    """The identifier parts found in ``text``."""
    return [part for part in IDENTIFIERS if part.lower() in text.lower()]


def test_identifiers_stay_in_the_project(
    tiny_bundle_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    corpus = build_corpus(tmp_path / "corpus")
    out, project = tmp_path / "out", tmp_path / "audit.lcmem"
    options = ["--model", str(tiny_bundle_dir), "--top-k", "3", "--threads", "1", "--cache-dir", str(tmp_path / "c")]
    sources = ["--real", str(corpus.real), "--synthetic", str(corpus.synthetic)]
    caplog.clear()  # writing the corpus warned about its invalid values: that is the test's doing, not lcmem's
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["-v", "scan", *sources, "--out", str(out / "matches.csv"), *options]) == 0
        assert main(["-v", "project", "new", str(project), *sources]) == 0
        assert main(["-v", "project", "scan", str(project), *options]) == 0
        assert main(["-v", "project", "export", str(project), "--all", "--out", str(out / "pairs.csv")]) == 0
        assert main(["-v", "project", "status", str(project)]) == 0
    console = capsys.readouterr()
    texts = {
        "logs": caplog.text,
        "warnings": "\n".join(str(w.message) for w in caught),
        "stdout": console.out,
        "stderr": console.err,
        **{path.name: path.read_text(encoding="utf-8") for path in sorted(out.iterdir())},
    }
    outputs = {"matches.csv", "matches.problems.csv", "matches.run.json", "pairs.csv", "pairs.threshold.json"}
    assert outputs <= set(texts)
    assert {name: leaks(text) for name, text in texts.items() if leaks(text)} == {}
    with sqlite3.connect(project) as db:
        stored = db.execute("SELECT DISTINCT patient_id FROM images WHERE patient_id IS NOT NULL").fetchall()
    assert (PATIENT_ID,) in stored  # kept inside the project, for the opt-in export only

    opt_in = ["project", "export", str(project), "--all", "--include-patient-ids", "--out", str(tmp_path / "o.csv")]
    assert main(opt_in) == 0
    opted_in = (tmp_path / "o.csv").read_text(encoding="utf-8")
    assert PATIENT_ID in opted_in
    assert leaks(opted_in.replace(PATIENT_ID, "")) == []  # the PatientID only: names and dates are never stored


def test_pseudonyms_are_keyed_per_project(scanned_template: Path, tiny_bundle: Bundle, tmp_path: Path) -> None:
    """One patient has one pseudonym within a project and another in a second project: a keyed hash."""
    second = tmp_path / "second.lcmem"
    folders = [scanned_template.parent / "real"], [scanned_template.parent / "synthetic"]
    with Project.create(second, *folders) as project:
        scan_project(project, tiny_bundle, ScanSettings(top_k=1))
    seen = []
    for path in (scanned_template, second):
        with sqlite3.connect(path) as db:
            secret = db.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0]
            rows = db.execute("SELECT DISTINCT patient_id, patient_pseudo_id FROM images WHERE patient_id IS NOT NULL")
            (patient, pseudonym), *others = rows.fetchall()
        assert others == [] and patient == "PAT-SECRET-1"  # the DICOM in both folders: one pseudonym
        keyed = hmac.new(bytes.fromhex(secret), patient.encode(), hashlib.sha256).hexdigest()
        assert pseudonym == f"P-{keyed[:16]}"
        assert hashlib.sha256(patient.encode()).hexdigest()[:16] not in pseudonym
        seen.append(pseudonym)
    assert seen[0] != seen[1]


@pytest.fixture(scope="module")
def patient_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a valid DICOM file holding the corpus's identifiers (and an invalid birth date)."""
    path = tmp_path_factory.mktemp("dicom") / "patient.dcm"
    ds = patient_dataset(ct_pixels(3))
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):  # fixed, so the fuzzing repeats
        setattr(ds, keyword, generate_uid(entropy_srcs=[keyword]))
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    save_dataset(ds, path)
    return path.read_bytes()


def _messages_of_every_reader(path: Path, caplog: pytest.LogCaptureFixture) -> list[str]:
    """What reading ``path`` every way says: error messages, warnings and logs at DEBUG."""
    messages: list[str] = []
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for read in (lambda: list(iter_frames(path)), lambda: count_frames(path), lambda: read_dicom_identifiers(path)):
            try:
                read()
            except ImageReadError as exc:
                messages.append(str(exc))
    return messages + [str(w.message) for w in caught] + [caplog.text]


def _sop_instance_uid_at(data: bytes) -> int:
    """Offset of the explicit-VR SOP Instance UID element (tag, VR, 2-byte length) in the dataset."""
    return data.index(b"\x08\x00\x18\x00UI", 132 + 12)


def test_an_element_that_runs_over_the_patient_data_is_not_echoed(
    patient_file: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A corrupt length makes the SOP Instance UID swallow the names after it; pydicom's warning would quote it."""
    data = bytearray(patient_file)
    at = _sop_instance_uid_at(data)
    data[at + 6 : at + 8] = (data.index(b"Dubbo") - at).to_bytes(2, "little")
    path = tmp_path / "overrun.dcm"
    path.write_bytes(bytes(data))
    assert [m for m in _messages_of_every_reader(path, caplog) if leaks(m)] == []
    assert leaks(str(read_dicom_identifiers(path))) != []  # the over-long value was read: it held patient data


def test_an_unknown_value_representation_leaves_that_identifier_empty(
    patient_file: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = bytearray(patient_file)
    data[_sop_instance_uid_at(data) + 4] = ord("A")  # VR "AI": pydicom cannot convert the value
    path = tmp_path / "unknown_vr.dcm"
    path.write_bytes(bytes(data))
    identifiers = read_dicom_identifiers(path)
    assert identifiers is not None and identifiers.sop_instance_uid is None
    assert identifiers.patient_id == PATIENT_ID and identifiers.modality == "OT"
    assert [m for m in _messages_of_every_reader(path, caplog) if leaks(m)] == []


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.none() | st.floats(0.3, 1),
)
def test_corrupt_dicom_messages_hold_no_patient_data(
    patient_file: bytes,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    edits: list[tuple[float, float]],
    cut: float | None,
) -> None:
    data = bytearray(patient_file)
    for position, value in edits:
        data[int(position * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = tmp_path / "fuzzed.dcm"
    path.write_bytes(bytes(data))
    assert [m for m in _messages_of_every_reader(path, caplog) if leaks(m)] == []
