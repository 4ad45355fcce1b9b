"""Calibration and export on a fixture with known labels: the expected cards, rows and privacy defaults."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert, select, update

from app.calibrate_view import CalibrateView
from app.export_dialog import ExportDialog, report_path
from app.keys import Action
from app.workers import TaskRunner
from lcmem.review.calibrate import DEFAULT_THRESHOLD, calibrate_project, latest_card, threshold_in_force
from lcmem.review.probability import project_fit
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter, list_pairs, real_null_scores
from lcmem.store.schema import null_scores, scans

CHECKSUM = "model-checksum"


def _label(project: Project) -> list:
    """Accept the 10 best pairs, reject the other 11 (the known labels)."""
    rows = list_pairs(project)
    for row in rows[:10]:
        project.set_decision(row.key, "accept", "ana", score=row.score)
    for row in rows[10:]:
        project.set_decision(row.key, "reject", "ana", score=row.score)
    return rows


def test_the_default_threshold_is_shown_as_not_calibrated_until_there_are_enough_labels(qtbot, scanned) -> None:
    view = CalibrateView()
    qtbot.addWidget(view)
    view.set_project(scanned, CHECKSUM)
    summary = view.summary.text()  # 14 reals: too few to anchor on, the LCMem default and why
    assert f"{DEFAULT_THRESHOLD:.3f} — LCMem default (not calibrated)" in summary and "too few" in summary
    assert "needs at least 10 of each" in view.labels.text()
    assert not view.save.isEnabled()
    assert view.histogram.accepted.sum() + view.histogram.rejected.sum() == 0 and not view.roc.has_data()
    assert view.histogram.has_data() and view.histogram.null.sum() == 14  # the real→real null needs no labels


def test_the_histogram_shows_the_real_null_and_its_99_9th_percentile(qtbot, scanned) -> None:
    _label(scanned)
    view = CalibrateView()
    qtbot.addWidget(view)
    view.set_project(scanned, CHECKSUM)
    null = np.array(real_null_scores(scanned))
    plot = view.histogram
    assert plot.null.sum() == len(null) == 14
    assert plot.null_mark == pytest.approx(np.percentile(null, 99.9))
    assert "99.9 % of real→real below" in plot.null_mark_label
    assert plot.null_heights().max() == pytest.approx(0.7 * plot.y_max)
    assert plot.x_min <= min(plot.null_mark, float(np.percentile(null, 1)))
    view.resize(500, 400)
    assert not plot.grab().isNull()  # paints the null outline, its line and the legend


def test_calibration_saves_the_expected_card(qtbot, scanned) -> None:
    rows = _label(scanned)
    view = CalibrateView()
    qtbot.addWidget(view)
    saved = []
    view.cardSaved.connect(saved.append)
    view.set_project(scanned, CHECKSUM)
    assert "<b>10</b> memorized" in view.labels.text() and "<b>11</b> not a" in view.labels.text()
    assert view.histogram.accepted.sum() == 10 and view.histogram.rejected.sum() == 11
    assert view.roc.has_data() and view.pr.has_data()
    assert view.save.isEnabled()
    view.target.setValue(0.99)
    card = view.save_card()
    assert saved == [card]
    assert card.rule == "target_recall" and card.n_accepted == 10 and card.n_rejected == 11
    assert card.threshold == pytest.approx(min(r.score for r in rows[:10]))
    assert latest_card(scanned, CHECKSUM) == card
    assert "calibrated" in view.summary.text() and "not calibrated" not in view.summary.text()
    view.by_precision.setChecked(True)
    view.target.setValue(1.0)
    assert "threshold" in view.preview.text()


def _export(
    qtbot, project: Project, out: Path, card, *, everything=False, ids=False, confirm=True, report=False
) -> list[dict]:
    dialog = ExportDialog(project, TaskRunner(1, inline=True), card, CHECKSUM)
    qtbot.addWidget(dialog)
    assert dialog.report.isChecked()  # the report is on unless unticked
    dialog.report.setChecked(report)
    dialog.path.setText(str(out))
    dialog.everything.setChecked(everything)
    dialog.patient_ids.setChecked(ids)
    dialog.confirm_patient_ids = lambda: confirm
    dialog.export()
    if not out.exists():
        return []
    with out.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_export_writes_the_flagged_rows_with_pseudonyms_only(qtbot, scanned, tmp_path: Path) -> None:
    rows = _label(scanned)

    card = calibrate_project(scanned, CHECKSUM, target_recall=0.99)
    flagged = _export(qtbot, scanned, tmp_path / "flagged.csv", card)
    assert len(flagged) == 10
    assert {r["decision"] for r in flagged} == {"accept"} and {r["flag"] for r in flagged} == {"accepted"}
    assert {(r["synthetic_sha256"], r["real_sha256"]) for r in flagged} == {
        (r.key.synthetic_sha256, r.key.real_sha256) for r in rows[:10]
    }
    assert (tmp_path / "flagged.threshold.json").is_file()
    text = (tmp_path / "flagged.csv").read_text(encoding="utf-8")
    assert "PAT-SECRET" not in text and "synthetic_patient_id" not in text
    assert not (tmp_path / "flagged.html").exists()
    everything = _export(qtbot, scanned, tmp_path / "all.csv", card, everything=True, report=True)
    assert len(everything) == 21
    assert report_path(tmp_path / "all.csv") == tmp_path / "all.html"
    assert report_path(tmp_path / "pairs.html") == tmp_path / "pairs.report.html"
    report = (tmp_path / "all.html").read_text(encoding="utf-8")
    assert report.count("<tr class=") == 21 and "PAT-SECRET" not in report and "All candidate pairs (21)" in report


def test_raw_patient_ids_only_through_the_warned_opt_in(qtbot, scanned, tmp_path: Path) -> None:
    declined = _export(qtbot, scanned, tmp_path / "declined.csv", None, everything=True, ids=True, confirm=False)
    assert declined == [] and not (tmp_path / "declined.csv").exists()
    dialog = ExportDialog(scanned, TaskRunner(1, inline=True), None, CHECKSUM)
    qtbot.addWidget(dialog)
    assert not dialog.warning.isVisibleTo(dialog)
    dialog.patient_ids.setChecked(True)
    assert dialog.warning.isVisibleTo(dialog)
    with_ids = _export(qtbot, scanned, tmp_path / "ids.csv", None, everything=True, ids=True, confirm=True)
    assert "PAT-SECRET-1" in {r["real_patient_id"] for r in with_ids}


def test_a_model_threshold_recorded_by_the_scan_is_the_default_shown(qtbot, scanned) -> None:
    with scanned.transaction() as conn:
        conn.execute(update(scans).values(model_checksum=CHECKSUM, model_threshold=0.731))
    view = CalibrateView()
    qtbot.addWidget(view)
    view.set_project(scanned, CHECKSUM)
    assert "0.731 — model default (not calibrated)" in view.summary.text()
    assert "the model default 0.731: only 14 real→real scores" in view.summary.text()
    assert view.histogram.threshold == pytest.approx(0.731)
    dialog = ExportDialog(scanned, TaskRunner(1, inline=True), None, CHECKSUM)
    qtbot.addWidget(dialog)
    assert "≥ 0.731 (model default: 14 real→real scores, too few (need 20))" in dialog.flagged.text()


def test_the_calibrated_probability_follows_the_labels(qtbot, review, tmp_path: Path) -> None:
    scanned = review.queue.project
    assert "P(memorized)" not in review.compare.info.text()  # no labels yet
    rows = list_pairs(scanned)
    for row in rows[:10]:
        scanned.set_decision(row.key, "accept", "ana")
    for row in rows[10:-1]:
        scanned.set_decision(row.key, "reject", "ana")
    review.set_queue(review.queue)
    review.apply_filter(PairFilter(status="undecided"))
    last = rows[-1]
    assert review.queue.current.key == last.key
    fit = project_fit(scanned)
    band = fit.band(last.score)
    assert band == fit.bands[0] and band.rate == 0.0 and fit.bands[-1].rate == 1.0
    text = review.compare.info.text()
    assert f"P(memorized) 0.00 on the labels (0 of {band.labelled} at {band.low:.3f}" in text
    review.trigger(Action.ACCEPT)  # a memorized pair below every label: the fit changes at once
    review.queue.go_to(0)
    review.show_current()
    assert review.fit.n_labels == len(rows) and review.fit != fit
    exported = _export(qtbot, scanned, tmp_path / "all.csv", None, everything=True)
    by_key = {(r["synthetic_sha256"], r["real_sha256"]): r["calibrated_probability"] for r in exported}
    assert {by_key[(r.key.synthetic_sha256, r.key.real_sha256)] for r in rows} == {
        f"{review.fit.probability(r.score):.4f}" for r in rows
    }
    calibration = CalibrateView()
    qtbot.addWidget(calibration)
    calibration.set_project(scanned, CHECKSUM)
    assert calibration.probability.text().startswith(f"Calibrated probability (isotonic fit of {len(rows)} labels")


def test_an_area_from_a_few_labels_says_they_cannot_support_it(qtbot, scanned) -> None:
    rows = list_pairs(scanned)
    for row in rows[:5]:
        scanned.set_decision(row.key, "accept", "ana", score=row.score)
    for row in rows[5:10]:
        scanned.set_decision(row.key, "reject", "ana", score=row.score)
    view = CalibrateView()
    qtbot.addWidget(view)
    view.set_project(scanned, CHECKSUM)
    for plot in (view.roc, view.pr):
        assert plot.note.startswith("area 1.000 (95 % CI ")
        assert "from 5 memorized and 5 not-a-match labels: too few to support it (at least 10 of each)" in plot.note
    for row in rows[10:]:
        scanned.set_decision(row.key, "reject", "ana", score=row.score)
    for row in rows[5:10]:
        scanned.set_decision(row.key, "accept", "ana", score=row.score)
    view.refresh()
    assert "too few" not in view.roc.note and "95 % CI" in view.roc.note


def test_the_threshold_anchored_on_the_real_images_is_shown_with_its_rule_and_count(
    qtbot, window, scanned: Project
) -> None:
    with scanned.transaction() as conn:  # 14 real items; their null scores twice over: 28, enough to anchor on
        rows = [dict(r._mapping) for r in conn.execute(select(null_scores))]
        conn.execute(insert(null_scores), [{k: v for k, v in r.items() if k != "id"} for r in rows])
    expected = threshold_in_force(scanned, None, scanned.scans()[-1].model_checksum)
    assert (expected.rule, expected.n_null) == ("real→real null", 28)
    path = scanned.path
    scanned.close()
    assert window.open_project(path)
    assert (
        window.status_threshold.text() == f"Threshold {expected.value:.3f} (real→real null, 96.6 % of 28 real images)"
    )
    assert window.status_threshold.toolTip() == expected.text
    window.calibration.refresh()
    assert "— real→real null (not calibrated)" in window.calibration.summary.text()
    assert "closest of the 28 training images" in window.calibration.summary.text()
    assert "(real→real null, 96.6 % of 28 real images)" in window.review.compare.info.text()
