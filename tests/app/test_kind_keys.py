"""C and P accept a pair as a copy or as the same patient; the table, the score line and undo follow."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.pair_table import DECISION
from app.review_view import ReviewView


def test_c_and_p_record_the_kind_of_memorization(qtbot, review: ReviewView) -> None:
    project = review.queue.project
    first, second = review.queue.rows[0], review.queue.rows[1]
    review.table.setFocus()
    qtbot.keyClick(review.table, Qt.Key.Key_C)
    qtbot.keyClick(review.table, Qt.Key.Key_P)
    assert project.decision(first.key).kind == "copy" and project.decision(second.key).kind == "patient"
    model = review.model
    cells = [model.data(model.index(row, DECISION), Qt.ItemDataRole.DisplayRole) for row in (0, 1)]
    assert cells == ["memorized (copy)", "memorized (same patient)"]
    qtbot.keyClick(review.table, Qt.Key.Key_U)
    assert project.decision(second.key) is None and review.queue.index == 1
    review.queue.go_to(0)
    review.show_current()
    assert "<b>memorized (copy)</b> by ana" in review.compare.info.text()
