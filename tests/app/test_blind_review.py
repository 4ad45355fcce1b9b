"""Blind review: every score hidden while deciding, and each decision recorded as made blind."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt

from app.main_window import MainWindow
from app.pair_table import SCORE
from app.settings import HIDE_SCORES, AppSettings
from lcmem.store.project import Project


def _texts_with_scores(window: MainWindow) -> list[str]:
    """Every text of the review screen that showed a score before (score line, strip, table tooltip)."""
    review = window.review
    strip = review.compare.strip
    tooltip = review.model.data(review.model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    items = [strip.item(i).text() + strip.item(i).toolTip() for i in range(strip.count())]
    return [review.compare.info.text(), tooltip, *items]


def test_hidden_scores_show_nowhere_and_decisions_say_so(
    qtbot, settings: AppSettings, scanned_original: Path, tmp_path: Path
) -> None:
    path = tmp_path / "review.lcmem"
    shutil.copyfile(scanned_original, path)
    settings.set(HIDE_SCORES, True)
    window = MainWindow(settings, inline_images=True)
    qtbot.addWidget(window)
    assert window.open_project(path)
    review = window.review
    assert window.hide_scores_action.isChecked()
    assert review.table.isColumnHidden(SCORE) and not review.min_score.isEnabled()
    first = review.queue.current
    texts = _texts_with_scores(window)
    assert "Score hidden" in texts[0] and review.compare.strip.count() > 0
    assert not any(f"{first.score:.3f}" in t or "score" in t.lower().replace("score hidden", "") for t in texts)
    review.table.setFocus()
    qtbot.keyClick(review.table, Qt.Key.Key_A)

    window.hide_scores_action.trigger()
    assert not settings.get(HIDE_SCORES)
    assert not review.table.isColumnHidden(SCORE) and review.min_score.isEnabled()
    second = review.queue.current
    assert f"Score {second.score:.3f}" in review.compare.info.text()
    assert any(
        f"{r.score:.3f}" in review.compare.strip.item(i).text() for i, r in enumerate(review.compare._strip_rows)
    )
    qtbot.keyClick(review.table, Qt.Key.Key_R)
    window.close_project()
    with Project.open(path, read_only=True) as reader:
        recorded = {d.key: (d.decision, d.score_hidden, d.score) for d in reader.decisions()}
    assert recorded == {first.key: ("accept", True, first.score), second.key: ("reject", False, second.score)}
