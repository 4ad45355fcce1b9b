"""The whole workflow through the window: create, scan on the worker, review with keys, close, reopen."""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from app import scan_dialog
from app.main_window import MainWindow
from app.pair_table import DECISION
from lcmem.store.project import Project
from lcmem.store.queries import list_pairs
from tests.conftest import make_sources

SCAN_TIMEOUT_MS = 120_000


def _scan(qtbot, window: MainWindow, bundle: Path, cancel_on: str | None = None) -> list[float]:
    """Run a scan through the dialog; optionally press Cancel when a progress text contains ``cancel_on``.

    To make "mid-way" deterministic, the worker waits at that report until the GUI has pressed Cancel.
    Returns the gaps (s) between ticks of a 20 ms GUI timer during the scan: the window's responsiveness.
    """
    dialog = window.scan_dialog if window.scan_dialog and not window.scan_dialog.running else None
    dialog = dialog or window.start_scan(model_path=bundle, top_k=3)
    assert dialog is not None
    patch = pytest.MonkeyPatch()
    if cancel_on is not None:
        original = scan_dialog.run_project_scan

        def paused_scan(project, model_path, top_k, progress, cancel, max_pixels=None, verify=True):
            def report(done: int, total: int, text: str) -> None:
                progress(done, total, text)
                deadline = time.monotonic() + 20
                while cancel_on in text and not cancel.cancelled and time.monotonic() < deadline:
                    time.sleep(0.01)

            return original(project, model_path, top_k, report, cancel, max_pixels, verify)

        patch.setattr(scan_dialog, "run_project_scan", paused_scan)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    dialog.start()
    assert dialog.task is not None
    if cancel_on is not None:

        def press_cancel(_done: int, _total: int, text: str) -> None:
            if cancel_on in text and dialog.cancel_button.isEnabled():
                qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)

        dialog.task.progressed.connect(press_cancel)
    with qtbot.waitSignal(dialog.ended, timeout=SCAN_TIMEOUT_MS):
        pass
    timer.stop()
    patch.undo()
    return [b - a for a, b in itertools.pairwise(ticks)]


def test_create_scan_review_with_keys_then_reopen(qtbot, window: MainWindow, tmp_path: Path, tiny_bundle_dir) -> None:
    real, synthetic = make_sources(tmp_path / "data")
    path = tmp_path / "review.lcmem"
    assert window.create_project(path, [real], [synthetic])
    gaps = _scan(qtbot, window, tiny_bundle_dir)
    assert window.total_pairs == 21 and window.undecided_pairs == 21
    assert max(gaps, default=0.0) < 1.5, "the GUI thread was blocked during the scan"
    review = window.review
    rows = [review.queue.rows[i] for i in range(len(review.queue))]
    table = review.table
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_A)
    assert review.model.data(review.model.index(0, DECISION)) == "memorized"
    qtbot.keyClick(table, Qt.Key.Key_R)
    qtbot.keyClick(table, Qt.Key.Key_S)
    qtbot.keyClick(table, Qt.Key.Key_Right)
    qtbot.keyClick(table, Qt.Key.Key_A)
    qtbot.keyClick(table, Qt.Key.Key_R)
    qtbot.keyClick(table, Qt.Key.Key_U)
    assert review.queue.index == 5 and review.queue.current.decision is None
    qtbot.keyClick(review, Qt.Key.Key_Q)
    qtbot.keyClick(review.compare.canvases["real"], Qt.Key.Key_Left)
    assert review.queue.index == 5
    expected = {rows[0].key: "accept", rows[1].key: "reject", rows[4].key: "accept", rows[5].key: "unsure"}
    assert window.undecided_pairs == 21 - 4
    with Project.open(path, read_only=True) as reader:
        assert {d.key: d.decision for d in reader.decisions()} == expected
    window.close_project()
    with Project.open(path, read_only=True) as reader:
        assert {d.key: d.decision for d in reader.decisions()} == expected
        assert reader.decision_log_size() == 6
    assert window.open_project(path)
    assert not window.project.read_only
    shown = {r.key: r.decision for r in list_pairs(window.project) if r.decision}
    assert shown == expected
    assert review.model.data(review.model.index(0, DECISION)) == "memorized"


def test_cancel_keeps_the_window_responsive_and_a_rescan_has_no_duplicates(
    qtbot, window: MainWindow, tmp_path: Path, tiny_bundle_dir
) -> None:
    real, synthetic = make_sources(tmp_path / "data")
    path = tmp_path / "review.lcmem"
    assert window.create_project(path, [real], [synthetic])
    gaps = _scan(qtbot, window, tiny_bundle_dir, cancel_on="embedding synthetic")
    assert max(gaps, default=0.0) < 1.5, "the GUI thread was blocked during the scan"
    assert [s.status for s in window.project.scans()] == ["cancelled"]
    assert "Cancelled" in window.scan_dialog.stage.text()
    _scan(qtbot, window, tiny_bundle_dir)
    assert window.total_pairs == 21
    window.review.decide("accept")
    window.review.decide("reject")
    gaps = _scan(qtbot, window, tiny_bundle_dir, cancel_on="hashing synthetic")
    assert max(gaps, default=0.0) < 1.5
    assert window.total_pairs == 21, "the finished scan stays current after a cancelled one"
    _scan(qtbot, window, tiny_bundle_dir)
    assert [s.status for s in window.project.scans()] == ["cancelled", "done", "cancelled", "done"]
    assert window.total_pairs == 21
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM candidates").fetchone()[0] == 21
        distinct = raw.execute(
            "SELECT COUNT(*) FROM (SELECT DISTINCT synthetic_image_id, real_image_id FROM candidates)"
        ).fetchone()[0]
        assert distinct == 21
    assert sorted(d.decision for d in window.project.decisions()) == ["accept", "reject"]
    assert window.undecided_pairs == 19


def test_rejecting_a_verified_pair_raises_the_inliers_that_flag_at_once(qtbot, window: MainWindow, scanned) -> None:
    from sqlalchemy import update

    from lcmem.scan.threshold import MIN_INLIERS
    from lcmem.store.project import pair_condition
    from lcmem.store.schema import candidates

    first = list_pairs(scanned)[0]
    with scanned.connect() as conn:
        conn.execute(update(candidates).where(*pair_condition(candidates, first.key)).values(inliers=MIN_INLIERS + 9))
        conn.commit()
    path = scanned.path
    scanned.close()
    assert window.open_project(path)
    assert window.threshold.min_inliers == MIN_INLIERS
    window.review.queue.go_to(next(i for i, r in enumerate(window.review.queue.rows) if r.key == first.key))
    window.review.show_current()
    window.review.decide("reject")
    assert window.threshold.min_inliers == MIN_INLIERS + 10
    assert window.review.min_inliers == MIN_INLIERS + 10
    assert f"at least {MIN_INLIERS + 10} matched keypoints" in window.statusBar().currentMessage()
