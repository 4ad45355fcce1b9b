"""What a new reviewer meets in the first hour: keys after a filter, the window's first size and layout, where a
reopened project starts, the "Score ≥" filter's start, a project scanned as soon as it is created."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.main_window import DEFAULT_SIZE, MainWindow
from app.pair_table import DECISION, PATIENT, patient_text
from app.review_view import SEARCH_DELAY_MS, ReviewView
from app.settings import AppSettings
from lcmem.review.calibrate import threshold_in_force
from lcmem.store.types import DECISION_TEXT, KIND_TEXT
from tests.conftest import make_sources


def _press(qtbot, key: Qt.Key) -> None:
    """A key pressed as a person presses it: it goes to whatever has the focus."""
    focused = QApplication.focusWidget()
    assert focused is not None
    qtbot.keyClick(focused, key)


def _project_copy(original: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "review.lcmem"
    shutil.copyfile(original, copy)
    return copy


def test_a_file_name_filter_applies_as_typed_and_enter_gives_the_keys_back(qtbot, review: ReviewView) -> None:
    project = review.queue.project
    review.search.setFocus()
    qtbot.keyClicks(review.search, "copy_")
    assert review.queue.pair_filter.text == "ct_copy.dcm", "not applied on every key: it waits for a pause"
    qtbot.waitUntil(lambda: review.queue.pair_filter.text == "copy_", timeout=10 * SEARCH_DELAY_MS)
    assert review.search.hasFocus(), "the focus stays in the box while typing"
    shown = [review.queue.rows[i] for i in range(len(review.queue))]
    assert shown and all("copy_" in Path(r.synthetic_path).name + Path(r.real_path).name for r in shown)
    _press(qtbot, Qt.Key.Key_Return)
    assert review.table.hasFocus()
    first = review.queue.current
    _press(qtbot, Qt.Key.Key_A)
    assert project.decision(first.key).decision == "accept"
    assert review.search.text() == "copy_", "the key decided; it was not typed into the box"


def test_esc_in_the_file_name_box_applies_it_at_once_and_r_rejects(qtbot, review: ReviewView) -> None:
    review.search.setFocus()
    qtbot.keyClicks(review.search, "img_0002")
    _press(qtbot, Qt.Key.Key_Escape)
    assert review.queue.pair_filter.text == "img_0002" and review.table.hasFocus()
    first = review.queue.current
    _press(qtbot, Qt.Key.Key_R)
    assert review.queue.project.decision(first.key).decision == "reject"


def test_keys_on_the_show_and_score_choices_decide_instead_of_choosing(qtbot, review: ReviewView) -> None:
    review.status.setFocus()
    undecided = review.status.findData("undecided")
    review.status.setCurrentIndex(undecided)
    review.status.activated.emit(undecided)
    assert review.table.hasFocus(), "choosing what to show gives the keys back to the list"
    review.status.setFocus()
    first = review.queue.current
    _press(qtbot, Qt.Key.Key_A)
    assert review.status.currentData() == "undecided", "A did not pick 'Accepted' or 'All pairs' by type-ahead"
    assert review.queue.project.decision(first.key).decision == "accept"
    review.use_min_score.setFocus()
    second = review.queue.current
    _press(qtbot, Qt.Key.Key_R)
    assert review.queue.project.decision(second.key).decision == "reject"


def test_reopening_a_project_lands_on_its_first_undecided_pair(
    window: MainWindow, scanned_original: Path, tmp_path: Path
) -> None:
    path = _project_copy(scanned_original, tmp_path)
    assert window.open_project(path)
    for decision in ("accept", "reject", "unsure"):
        window.review.decide(decision)
    window.close_project()
    assert window.open_project(path)
    queue = window.review.queue
    assert queue.index == 3 and queue.current.decision is None
    assert window.review.table.currentIndex().row() == 3


def test_the_score_filter_starts_at_the_threshold_in_force(
    window: MainWindow, scanned_original: Path, tmp_path: Path
) -> None:
    assert window.open_project(_project_copy(scanned_original, tmp_path))
    force = threshold_in_force(window.project, window.card, window.model_checksum)
    review = window.review
    assert not review.use_min_score.isChecked()
    assert review.min_score.value() == pytest.approx(force.value, abs=5e-4)
    assert review.threshold == force.value and f"{force.value:.3f}" in window.status_threshold.text()
    review.use_min_score.setChecked(True)
    shown = [review.queue.rows[i].score for i in range(len(review.queue))]
    assert all(score >= force.value - 5e-4 for score in shown)


def test_at_the_default_size_the_decision_and_patient_columns_show_and_the_images_get_most_of_the_width(
    qtbot, window: MainWindow, scanned_original: Path, tmp_path: Path
) -> None:
    window.showNormal()
    window.resize(*DEFAULT_SIZE)
    assert window.open_project(_project_copy(scanned_original, tmp_path))
    qtbot.waitUntil(lambda: window.review.compare.width() > 0)
    QApplication.processEvents()
    table = window.review.table
    header = table.horizontalHeader()
    for column in (DECISION, PATIENT):
        assert header.sectionViewportPosition(column) >= 0
        assert header.sectionViewportPosition(column) + header.sectionSize(column) <= table.viewport().width()
    metrics = table.fontMetrics()
    longest_decision = f"{DECISION_TEXT['accept']} ({max(KIND_TEXT.values(), key=len)})"
    assert header.sectionSize(DECISION) > metrics.horizontalAdvance(longest_decision)
    rows = [window.review.queue.rows[i] for i in range(len(window.review.queue))]
    widest_patient = max((metrics.horizontalAdvance(patient_text(r)) for r in rows), default=0)
    assert widest_patient > 0 and header.sectionSize(PATIENT) > widest_patient
    # "Most of the width": more than half, with every column up to the patient (Inliers included) readable.
    assert window.review.compare.width() > 0.5 * window.width()


def test_the_window_opens_maximised_the_first_time_then_as_it_was_left(qtbot, tmp_path: Path) -> None:
    settings = AppSettings(tmp_path / "settings.ini")
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.present()
    assert first.isMaximized()
    first.close()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    again.present()
    assert again.isMaximized(), "closed maximised, opened maximised"
    again.showNormal()
    again.resize(1200, 760)
    again.close()
    last = MainWindow(settings)
    qtbot.addWidget(last)
    last.present()
    # the offscreen screen is 800 px wide, so the width is clamped to the window's minimum; the height is kept
    assert not last.isMaximized() and last.height() == 760
    last.close()


def test_scan_as_soon_as_created_starts_the_scan(
    qtbot, window: MainWindow, tmp_path: Path, tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import main_window
    from app.settings import MODEL_FOLDER

    real, synthetic = make_sources(tmp_path / "data")
    window.settings.set(MODEL_FOLDER, str(tiny_bundle_dir))

    class Filled:
        """The new-project dialog as a user fills it in, "Scan as soon as the project is created" ticked."""

        DialogCode = main_window.NewProjectDialog.DialogCode

        def __init__(self, *_args) -> None:
            self.real, self.synthetic = _Folders([real]), _Folders([synthetic])
            self.scan_now = _Ticked()

        def exec(self):
            return self.DialogCode.Accepted

        def project_path(self) -> Path:
            return tmp_path / "new.lcmem"

    monkeypatch.setattr(main_window, "NewProjectDialog", Filled)
    monkeypatch.setattr("app.scan_dialog.default_bundle_path", lambda: None)
    window.new_project()
    dialog = window.scan_dialog
    assert dialog is not None and dialog.running, "the scan started without a second click"
    assert not dialog.browse.isEnabled(), "Browse… is off while the scan runs"
    with qtbot.waitSignal(dialog.ended, timeout=120_000):
        pass
    assert dialog.browse.isEnabled()
    assert [s.status for s in window.project.scans()] == ["done"] and window.total_pairs > 0


class _Folders:
    def __init__(self, folders: list[Path]) -> None:
        self._folders = folders

    def folders(self) -> list[Path]:
        return self._folders


class _Ticked:
    def isChecked(self) -> bool:
        return True


def test_the_scan_dialog_finishes_the_index_stage_and_gives_no_rate_for_cached_images(
    qtbot, window: MainWindow, tmp_path: Path, tiny_bundle_dir: Path
) -> None:
    real, synthetic = make_sources(tmp_path / "data")
    assert window.create_project(tmp_path / "p.lcmem", [real], [synthetic])
    seen: list[list[tuple[str, int, int, str]]] = []
    for _ in range(2):
        dialog = window.start_scan(model_path=tiny_bundle_dir, top_k=3)
        reports: list[tuple[str, int, int, str]] = []
        dialog.start()
        dialog.task.progressed.connect(
            lambda _d, _t, text, d=dialog, r=reports: r.append((text, d.bar.value(), d.bar.maximum(), d.rate.text()))
        )
        with qtbot.waitSignal(dialog.ended, timeout=120_000):
            pass
        dialog.close()
        seen.append(reports)
    index = [(value, maximum) for text, value, maximum, _ in seen[0] if text == "building the search index"]
    assert index and index[-1] == (1, 1), "the index stage ends full, not at 0/1"
    cached = [(text, rate) for text, *_, rate in seen[1] if text.startswith("embedded real images")]
    assert cached and "from the cache" in cached[-1][0]
    assert "images/s" not in cached[-1][1]
