"""Key 0 on a DICOM pair: each file's own window, then the file's other Window Center/Width values in turn."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread
from PySide6.QtCore import Qt

from app.compare_view import REAL, SYNTHETIC
from app.review_view import ReviewView


@pytest.fixture(scope="module", autouse=True)
def _windows_in_the_files(scanned_original: Path) -> None:
    """Give the scanned fixture's DICOM pair several windows: three in the real file, two in the synthetic."""
    root = scanned_original.parent
    for path, centers, widths, names in (
        (root / "real" / "ct.dcm", [1500, 400, 2500], [3000, 800, 500], ["WIDE", "MID", "HIGH"]),
        (root / "synthetic" / "ct_copy.dcm", [1500, 300], [3000, 600], None),
    ):
        ds = dcmread(path)
        ds.WindowCenter, ds.WindowWidth = centers, widths
        if names:
            ds.WindowCenterWidthExplanation = names
        ds.save_as(path)


def _state(review: ReviewView, slot: str) -> tuple[tuple[float, float], str]:
    meta = review.compare.shown[slot].loaded.meta
    return meta.window, review.compare.canvases[slot].window_text


def test_zero_steps_through_each_files_windows_and_back(qtbot, review: ReviewView) -> None:
    messages: list[str] = []
    review.compare.message.connect(messages.append)
    assert _state(review, REAL) == ((1500.0, 3000.0), "W 3000 L 1500 · file window")
    qtbot.keyClick(review, Qt.Key.Key_0)
    assert _state(review, REAL) == ((400.0, 800.0), "W 800 L 400 · file window 2 MID")
    assert _state(review, SYNTHETIC) == ((300.0, 600.0), "W 600 L 300 · file window 2")
    assert messages[-1].startswith("The files' other windows: 1 of 2")
    qtbot.keyClick(review, Qt.Key.Key_0)
    assert _state(review, REAL) == ((2500.0, 500.0), "W 500 L 2500 · file window 3 HIGH")
    assert _state(review, SYNTHETIC) == ((1500.0, 3000.0), "W 3000 L 1500 · file window")
    qtbot.keyClick(review, Qt.Key.Key_0)
    for slot in (REAL, SYNTHETIC):
        assert _state(review, slot) == ((1500.0, 3000.0), "W 3000 L 1500 · file window")


def test_zero_after_a_preset_is_the_own_window_and_unlinked_it_steps_the_synthetic_pane_only(
    qtbot, review: ReviewView
) -> None:
    qtbot.keyClick(review, Qt.Key.Key_1)
    assert _state(review, REAL)[0] == (40.0, 400.0)
    qtbot.keyClick(review, Qt.Key.Key_0)
    for slot in (REAL, SYNTHETIC):
        assert _state(review, slot)[0] == (1500.0, 3000.0)
    qtbot.keyClick(review, Qt.Key.Key_L)
    qtbot.keyClick(review, Qt.Key.Key_0)
    assert _state(review, SYNTHETIC)[0] == (300.0, 600.0)
    assert _state(review, REAL)[0] == (1500.0, 3000.0)


def test_another_pair_starts_on_its_own_window(qtbot, review: ReviewView) -> None:
    qtbot.keyClick(review, Qt.Key.Key_0)
    assert review.compare.file_choice[REAL] == 1
    qtbot.keyClick(review, Qt.Key.Key_Right)
    qtbot.keyClick(review, Qt.Key.Key_Left)
    assert review.compare.file_choice == {REAL: 0, SYNTHETIC: 0}
    assert _state(review, REAL)[0] == (1500.0, 3000.0)
