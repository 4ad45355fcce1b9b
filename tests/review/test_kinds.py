"""What kind of memorization an accepted pair is (a copy, or the same patient): stored, undone, exported."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from lcmem.cli.main import main
from lcmem.errors import ProjectError
from lcmem.review.export import export_pairs
from lcmem.review.queue import ReviewQueue
from lcmem.review.report import collect_findings, describe_findings
from lcmem.scan.threshold import calibrated_threshold
from lcmem.store.project import Project


def test_a_kind_goes_only_with_accept(scanned_project: Project) -> None:
    key = ReviewQueue(scanned_project, "ana").current.key
    for decision, kind in (("reject", "copy"), ("unsure", "patient"), ("accept", "twin")):
        with pytest.raises(ProjectError, match="goes only with accept"):
            scanned_project.set_decision(key, decision, "ana", kind=kind)
    assert scanned_project.decision(key) is None and scanned_project.decision_log_size() == 0
    scanned_project.set_decision(key, "accept", "ana", kind="copy")
    assert scanned_project.decision(key).kind == "copy"


def test_the_queue_records_keeps_and_undoes_the_kind(scanned_project: Project) -> None:
    queue = ReviewQueue(scanned_project, "ana")
    key = queue.current.key
    queue.decide("accept", kind="patient")
    assert queue.rows[0].kind == "patient"
    queue.go_to(0)
    queue.decide("accept", kind="copy")
    queue.go_to(0)
    queue.annotate("same scanner artefact")
    assert scanned_project.decision(key).kind == "copy" and scanned_project.decision(key).note
    queue.undo()
    assert scanned_project.decision(key).kind == "patient" and queue.current.kind == "patient"
    queue.decide("reject")
    assert scanned_project.decision(key).kind is None and queue.rows[0].kind is None
    queue.undo()
    assert scanned_project.decision(key).kind == "patient"


def test_export_report_and_cli_carry_the_kind(scanned_project: Project, tmp_path: Path, capsys) -> None:
    queue = ReviewQueue(scanned_project, "ana")
    first, second, third = (queue.rows[i] for i in range(3))
    queue.decide("accept", kind="copy")
    queue.decide("accept", kind="patient")
    queue.decide("accept")
    export_pairs(scanned_project, tmp_path / "f.csv", None, "m")
    with (tmp_path / "f.csv").open(newline="", encoding="utf-8") as stream:
        kinds = {(r["synthetic_sha256"], r["real_sha256"]): r["memorized_kind"] for r in csv.DictReader(stream)}
    assert [kinds[(r.key.synthetic_sha256, r.key.real_sha256)] for r in (first, second, third)] == [
        "copy",
        "patient",
        "",
    ]
    findings, _ = collect_findings(scanned_project, calibrated_threshold(1.1, "above every score", [], None))
    assert (findings.accepted, findings.accepted_copies, findings.accepted_same_patient) == (3, 1, 1)
    assert "(3 judged memorized: 1 copy, 1 same patient," in describe_findings(findings)

    path = scanned_project.path
    scanned_project.close()
    label = ["project", "label", str(path), "--synthetic", first.synthetic_path, "--real", first.real_path]
    assert main([*label, "--decision", "reject", "--kind", "copy"]) == 1
    assert main([*label, "--decision", "accept", "--kind", "patient"]) == 0
    assert main([*label, "--decision", "accept", "--kind", "copy", "--second-read", "--reviewer", "ben"]) == 1
    with Project.open(path, read_only=True) as reader:
        assert reader.decision(first.key).kind == "patient" and reader.second_reads() == []
