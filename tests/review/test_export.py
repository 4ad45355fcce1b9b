"""Export: flagged rows, pseudonymised ids unless asked, formula-safe cells, the threshold card beside."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lcmem.csv_cells import safe_cell
from lcmem.review.calibrate import ThresholdCard
from lcmem.review.export import export_pairs
from lcmem.store.project import Project
from lcmem.store.queries import list_pairs, real_null_scores


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_flagged_rows_follow_decisions_and_threshold(scanned_project: Project, tmp_path: Path) -> None:
    rows = list_pairs(scanned_project)
    threshold = sorted(r.score for r in rows)[len(rows) // 2]
    card = ThresholdCard("m", "target_recall", 0.99, threshold, 10, 10, 0.8, 0.99, (0.7, 0.9), (0.9, 1.0), "now")
    above = [r for r in rows if r.score >= threshold]
    scanned_project.set_decision(above[0].key, "reject", "ana", score_hidden=False)
    scanned_project.set_decision(above[1].key, "unsure", "cli")
    below = [r for r in rows if r.score < threshold]
    scanned_project.set_decision(below[0].key, "accept", "ana", note='=HYPERLINK("x")', score_hidden=True)
    scanned_project.set_second_read(below[0].key, "ben", "reject")
    scanned_project.set_second_read(below[0].key, "cy", "accept")
    count = export_pairs(scanned_project, tmp_path / "flagged.csv", card, "m")
    exported = read(tmp_path / "flagged.csv")
    assert count == len(exported) == len(above) - 1 + 1
    flags = {(r["synthetic_sha256"], r["real_sha256"], r["flag"]) for r in exported}
    assert (below[0].key.synthetic_sha256, below[0].key.real_sha256, "accepted") in flags
    assert all(r["threshold_rule"] == "threshold card" for r in exported)
    assert any(r["note"] == '\'=HYPERLINK("x")' for r in exported)
    written = json.loads((tmp_path / "flagged.threshold.json").read_text())
    assert (written["value"], written["rule"], written["card"]["rule"]) == (
        threshold,
        "threshold card",
        "target_recall",
    )
    everything = export_pairs(scanned_project, tmp_path / "all.csv", None, "m", include_all=True)
    uncalibrated = json.loads((tmp_path / "all.threshold.json").read_text())
    assert uncalibrated["rule"] in ("real→real null", "LCMem default") and uncalibrated["card"] is None
    assert uncalibrated["n_null"] == len(real_null_scores(scanned_project)) and uncalibrated["text"]
    assert everything == len(rows)
    hidden = {(r["synthetic_sha256"], r["real_sha256"]): r["score_hidden"] for r in read(tmp_path / "all.csv")}
    assert hidden[(below[0].key.synthetic_sha256, below[0].key.real_sha256)] == "yes"
    assert hidden[(above[0].key.synthetic_sha256, above[0].key.real_sha256)] == "no"
    assert hidden[(above[1].key.synthetic_sha256, above[1].key.real_sha256)] == ""
    assert set(hidden.values()) == {"yes", "no", ""}
    second = {(r["synthetic_sha256"], r["real_sha256"]): r["second_reads"] for r in read(tmp_path / "all.csv")}
    assert second[(below[0].key.synthetic_sha256, below[0].key.real_sha256)] == "ben: reject; cy: accept"
    assert sum(bool(v) for v in second.values()) == 1
    assert all(r["decision"] == "accept" for r in exported if r["second_reads"])


def test_patient_ids_only_on_request(scanned_project: Project, tmp_path: Path) -> None:
    export_pairs(scanned_project, tmp_path / "a.csv", None, "m", include_all=True)
    text = (tmp_path / "a.csv").read_text()
    assert "PAT-SECRET-1" not in text
    assert "P-" in text and "synthetic_patient_id" not in text
    export_pairs(scanned_project, tmp_path / "b.csv", None, "m", include_all=True, include_patient_ids=True)
    assert "PAT-SECRET-1" in (tmp_path / "b.csv").read_text()


def test_safe_cell_defuses_formulas_only() -> None:
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("+A1") == "'+A1"
    assert safe_cell("-2") == "'-2"
    assert safe_cell("@SUM") == "'@SUM"
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell('a,b"c\nd') == 'a,b"c\nd'
    assert safe_cell(-2) == -2
    assert safe_cell(None) == ""


def test_each_row_is_placed_against_the_real_to_real_null_scores(scanned_project: Project, tmp_path: Path) -> None:
    null = sorted(real_null_scores(scanned_project))
    assert null, "the fixture scan records real→real null scores"
    export_pairs(scanned_project, tmp_path / "all.csv", None, "m", include_all=True)
    exported = read(tmp_path / "all.csv")
    pairs = list_pairs(scanned_project)
    assert len(exported) == len(pairs)
    for row, pair in zip(exported, pairs, strict=True):
        assert row["synthetic_sha256"] == pair.key.synthetic_sha256 and row["real_sha256"] == pair.key.real_sha256
        below = sum(1 for s in null if s < pair.score)
        assert float(row["null_fraction_below"]) == pytest.approx(below / len(null), abs=1e-4)
    assert {row["null_fraction_below"] for row in exported} != {"1.0000"}


def full_key(row: dict[str, str]) -> tuple[str, int, str, int]:
    """A CSV row's content key, as a :class:`PairKey` tuple."""
    return (row["synthetic_sha256"], int(row["synthetic_frame"]), row["real_sha256"], int(row["real_frame"]))


def test_inliers_are_exported_and_enough_of_them_flag_a_pair_below_the_threshold(
    scanned_project: Project, tmp_path: Path
) -> None:
    from dataclasses import astuple

    from sqlalchemy import update

    from lcmem.scan.threshold import MIN_INLIERS
    from lcmem.store.schema import candidates

    rows = list_pairs(scanned_project)
    assert all(r.inliers is not None for r in rows)  # the scan verified every pair
    lowest = min(rows, key=lambda r: r.score)
    with scanned_project.transaction() as conn:
        conn.execute(
            update(candidates)
            .where(candidates.c.id == lowest.candidate_id)
            .values(inliers=MIN_INLIERS + 5, transform="mirrored, rotated 10.0°, scale 1.00")
        )
    above_all = ThresholdCard("m", "target_recall", 0.99, 2.0, 10, 10, 0.8, 0.99, (0.7, 0.9), (0.9, 1.0), "now")
    export_pairs(scanned_project, tmp_path / "all.csv", above_all, "m", include_all=True)
    exported = {full_key(r): r for r in read(tmp_path / "all.csv")}
    row = exported[astuple(lowest.key)]
    assert row["inliers"] == str(MIN_INLIERS + 5) and row["transform"].startswith("mirrored")
    assert row["flag"] == "verified" and float(row["score"]) < float(row["threshold"])
    assert all(exported[astuple(r.key)]["inliers"] == str(r.inliers) for r in rows if r is not lowest)
    export_pairs(scanned_project, tmp_path / "flagged.csv", above_all, "m")
    flagged = read(tmp_path / "flagged.csv")
    assert astuple(lowest.key) in {full_key(r) for r in flagged}
    assert all(int(r["inliers"]) >= MIN_INLIERS for r in flagged if r["flag"] == "verified")
    assert all(float(r["score"]) >= float(r["threshold"]) for r in flagged if r["flag"] == "above_threshold")
