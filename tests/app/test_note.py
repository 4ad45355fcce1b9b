"""Notes on decisions from the review screen: N, type, then decide (or Enter on a decided pair); Esc back."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.review_view import ReviewView


def test_a_note_typed_before_deciding_goes_with_the_decision(qtbot, review: ReviewView) -> None:
    project = review.queue.project
    first = review.queue.current
    review.table.setFocus()
    qtbot.keyClick(review.table, Qt.Key.Key_N)
    assert review.note.hasFocus()
    qtbot.keyClicks(review.note, "same patient <ARR>")
    assert project.decision(first.key) is None and review.queue.current.key == first.key
    qtbot.keyClick(review.note, Qt.Key.Key_Escape)
    assert review.table.hasFocus()
    qtbot.keyClick(review.table, Qt.Key.Key_A)
    assert project.decision(first.key).decision == "accept"
    assert project.decision(first.key).note == "same patient <ARR>" and review.note.text() == ""

    qtbot.keyClick(review.table, Qt.Key.Key_Left)
    assert "note: “same patient &lt;ARR&gt;”" in review.compare.info.text()
    qtbot.keyClick(review.table, Qt.Key.Key_N)
    qtbot.keyClicks(review.note, "same patient, other study")
    qtbot.keyClick(review.note, Qt.Key.Key_Return)
    recorded = project.decision(first.key)
    assert (recorded.decision, recorded.note) == ("accept", "same patient, other study")
    assert review.table.hasFocus() and review.queue.current.key == first.key
    assert project.decision_log_size() == 2
    qtbot.keyClick(review.table, Qt.Key.Key_R)
    recorded = project.decision(first.key)
    assert (recorded.decision, recorded.note) == ("reject", "same patient, other study")


def test_enter_on_an_undecided_pair_keeps_the_note_for_its_decision(qtbot, review: ReviewView) -> None:
    project = review.queue.project
    current = review.queue.current
    messages: list[str] = []
    review.message.connect(messages.append)
    qtbot.keyClick(review.table, Qt.Key.Key_N)
    qtbot.keyClicks(review.note, "copy with a crop")
    qtbot.keyClick(review.note, Qt.Key.Key_Return)
    assert project.decision(current.key) is None and review.note.text() == "copy with a crop"
    assert "saved with your decision" in messages[-1]
    qtbot.keyClick(review.table, Qt.Key.Key_R)
    assert (project.decision(current.key).decision, project.decision(current.key).note) == (
        "reject",
        "copy with a crop",
    )


def test_a_note_never_follows_the_reviewer_to_another_pair(qtbot, review: ReviewView) -> None:
    project = review.queue.project
    qtbot.keyClick(review.table, Qt.Key.Key_N)
    qtbot.keyClicks(review.note, "meant for the first pair")
    qtbot.keyClick(review.note, Qt.Key.Key_Escape)
    qtbot.keyClick(review.table, Qt.Key.Key_Right)
    assert review.note.text() == ""
    second = review.queue.current
    qtbot.keyClick(review.table, Qt.Key.Key_A)
    assert project.decision(second.key).note == ""
