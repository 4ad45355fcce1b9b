"""Scanning a project stores images, candidates and problems; rescans keep decisions and add no duplicates."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from lcmem.errors import Cancelled, ProjectError
from lcmem.progress import CancelToken
from lcmem.scan.types import ScanSettings
from lcmem.store.ingest import scan_project
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter, count_images, count_pairs, list_pairs, list_problems, real_null_scores
from tests.conftest import make_sources, write_multiframe_dicom


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


def test_scan_stores_the_real_null_without_same_content_or_same_patient(tmp_path: Path, tiny_bundle) -> None:
    real, synthetic = make_sources(tmp_path)
    near_copy = (np.random.default_rng(0).random((2, 24, 24)) * 3000).astype(np.uint16)[:1] + 1  # ct.dcm, frame 0
    write_multiframe_dicom(real / "ct_other_series.dcm", near_copy, patient_id="PAT-SECRET-1")
    with Project.create(tmp_path / "p.lcmem", [real], [synthetic]) as project:
        scan_project(project, tiny_bundle, ScanSettings(top_k=3))
        scores = real_null_scores(project)
        assert len(scores) == 12 + 2 + 1 and scores == sorted(scores)
        with sqlite3.connect(project.path) as raw:
            pairs = raw.execute(
                "SELECT a.sha256, b.sha256, a.patient_pseudo_id, b.patient_pseudo_id FROM null_scores n "
                "JOIN images a ON a.id = n.real_image_id JOIN images b ON b.id = n.nearest_image_id"
            ).fetchall()
        assert all(a != b for a, b, _, _ in pairs)
        assert all(pa is None or pa != pb for _, _, pa, pb in pairs)
        scan_project(project, tiny_bundle, ScanSettings(top_k=3))
        assert real_null_scores(project) == pytest.approx(scores)
        with sqlite3.connect(project.path) as raw:
            assert raw.execute("SELECT COUNT(DISTINCT scan_id), COUNT(*) FROM null_scores").fetchone() == (1, 15)


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
