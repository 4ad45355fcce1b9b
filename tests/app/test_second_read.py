"""The second read on the review screen: decided pairs read again with decision and score hidden."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from app.calibrate_view import CalibrateView
from app.keys import Action
from app.main_window import MainWindow
from app.pair_table import DECISION, SCORE
from app.settings import REVIEWER, AppSettings
from lcmem.store.project import Project


def _decision_cells(window: MainWindow) -> list[str]:
    model = window.review.model
    return [model.data(model.index(row, DECISION), Qt.ItemDataRole.DisplayRole) for row in range(model.rowCount())]


def test_a_second_read_hides_the_decision_and_score_and_changes_no_decision(
    qtbot, settings: AppSettings, scanned_original: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "review.lcmem"
    shutil.copyfile(scanned_original, path)
    settings.set(REVIEWER, "ana")
    window = MainWindow(settings, inline_images=True)
    qtbot.addWidget(window)
    assert window.open_project(path)
    review = window.review
    for action in (Action.ACCEPT, Action.REJECT, Action.REJECT):
        review.trigger(action)
    decided = {d.key: d.decision for d in window.project.decisions()}
    undecided = window.undecided_pairs

    review.status.setCurrentIndex(review.status.findData("second_read"))
    assert review.queue.second_read and len(review.queue) == 3
    assert _decision_cells(window) == ["", "", ""]
    assert review.table.isColumnHidden(SCORE) and not review.note.isEnabled()
    info = review.compare.info.text()
    first = review.queue.current
    assert "Second read" in info and "not read again yet" in info
    assert f"{first.score:.3f}" not in info and "memorized" not in info and "not a match" not in info.lower()
    review.table.setFocus()
    qtbot.keyClick(review.table, Qt.Key.Key_A)
    assert review.queue.index == 1 and _decision_cells(window)[0] == "memorized"
    assert window.undecided_pairs == undecided
    assert {d.key: d.decision for d in window.project.decisions()} == decided
    assert [(r.key, r.decision, r.first_decision) for r in window.project.second_reads()] == [
        (first.key, "accept", decided[first.key])
    ]
    review.trigger(Action.UNDO)
    assert window.project.second_reads() == [] and window.undecided_pairs == undecided
    review.trigger(Action.REJECT)
    review.trigger(Action.ACCEPT)

    for name in ("ben", "ana"):
        monkeypatch.setattr(QInputDialog, "getText", lambda *_a, n=name, **_k: (n, True))
        window.choose_reviewer()
        if name == "ben":
            assert _decision_cells(window) == ["", "", ""] and review.queue.index == 0  # ben's own reads: none
            review.trigger(Action.UNSURE)
    assert review.queue.index == 2 and _decision_cells(window)[:2] == ["not a match", "memorized"]  # ana resumes

    review.status.setCurrentIndex(review.status.findData("all"))
    assert not review.queue.second_read and not review.table.isColumnHidden(SCORE) and review.note.isEnabled()
    assert sorted(c for c in _decision_cells(window) if c) == ["memorized", "not a match", "not a match"]
    calibration = CalibrateView()
    qtbot.addWidget(calibration)
    calibration.set_project(window.project, None)
    text = calibration.double_read.text()
    assert "1 read again by another reader" in text and "2 read again by the same reader" in text
    window.close_project()
    with Project.open(path, read_only=True) as reader:
        assert {d.key: d.decision for d in reader.decisions()} == decided
        assert len(reader.second_reads()) == 3
