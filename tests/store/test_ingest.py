"""Scanning a project stores images, candidates and problems; rescans keep decisions and add no duplicates."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lcmem.errors import Cancelled, ProjectError
from lcmem.progress import CancelToken
from lcmem.scan.types import ScanSettings
from lcmem.store.ingest import scan_project
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter, count_images, count_pairs, list_pairs, list_problems
from tests.conftest import make_sources


def test_scan_stores_everything(scanned_project: Project) -> None:
    project = scanned_project
    assert count_images(project, "real") == 12 + 2
    assert count_images(project, "synthetic") == 3 + 2 + 2
    assert count_pairs(project) == 7 * 3
    assert [Path(p.path).name for p in list_problems(project)] == ["broken.tif"]
    top = {Path(r.synthetic_path).name: r for r in list_pairs(project) if r.rank == 1}
    assert Path(top["copy_2.png"].real_path).name == "img_0002.png"
    assert top["copy_2.png"].key.synthetic_sha256 == top["copy_2.png"].key.real_sha256


def test_dicom_patient_ids_are_pseudonymised(scanned_project: Project) -> None:
    rows = [r for r in list_pairs(scanned_project) if r.synthetic_path.endswith("ct_copy.dcm") and r.rank == 1]
    assert rows and rows[0].real_patient == rows[0].synthetic_patient
    assert rows[0].real_patient.startswith("P-") and "SECRET" not in rows[0].real_patient


def test_rescan_keeps_decisions_and_adds_no_duplicates(scanned_project: Project, tiny_bundle) -> None:
    project = scanned_project
    first = list_pairs(project)
    project.set_decision(first[0].key, "accept", "ana")
    project.set_decision(first[1].key, "reject", "ana")
    scan_project(project, tiny_bundle, ScanSettings(top_k=3))
    again = list_pairs(project)
    assert len(again) == len(first)
    decided = {r.key: r.decision for r in again if r.decision}
    assert decided == {first[0].key: "accept", first[1].key: "reject"}
    assert count_pairs(project, PairFilter(status="undecided")) == len(first) - 2
    with sqlite3.connect(project.path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM candidates").fetchone()[0] == len(first)
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_cancelled_scan_keeps_partial_results_and_the_next_scan_completes(tmp_path: Path, tiny_bundle) -> None:
    real, synthetic = make_sources(tmp_path)
    with Project.create(tmp_path / "p.lcmem", [real], [synthetic]) as project:
        token = CancelToken()

        def progress(done: int, total: int, text: str) -> None:
            if text.startswith("embedding synthetic"):
                token.cancel()

        with pytest.raises(Cancelled):
            scan_project(project, tiny_bundle, ScanSettings(top_k=3), progress=progress, cancel=token)
        assert [s.status for s in project.scans()] == ["cancelled"]
        scan_project(project, tiny_bundle, ScanSettings(top_k=3))
        assert [s.status for s in project.scans()] == ["cancelled", "done"]
        assert count_pairs(project) == 7 * 3


def test_scan_needs_both_kinds_of_source(tmp_path: Path, tiny_bundle) -> None:
    (tmp_path / "r").mkdir()
    with Project.create(tmp_path / "p.lcmem", [tmp_path / "r"]) as project, pytest.raises(ProjectError, match="synth"):
        scan_project(project, tiny_bundle)
