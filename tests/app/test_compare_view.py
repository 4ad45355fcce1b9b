"""The compare view on a DICOM pair: presets, right-drag W/L, flicker, difference, metadata, linked zoom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.compare_view import REAL, SYNTHETIC
from app.image_loader import ImageKey, ImageLoader
from app.pair_table import PATIENT, SAME_PATIENT_MARK
from app.review_view import ReviewView
from app.thumbnails import ThumbnailProvider
from app.workers import TaskRunner
from lcmem.review.queue import ReviewQueue
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter, list_pairs, real_null_scores


def _window_text(view: ReviewView, slot: str) -> str:
    return view.compare.canvases[slot].window_text


def test_presets_set_the_same_window_on_both_panes(qtbot, review: ReviewView) -> None:
    compare = review.compare
    assert compare.shown[REAL].loaded.meta.window_source == "percentile"
    assert "auto" in _window_text(review, REAL)
    qtbot.keyClick(review, Qt.Key.Key_1)
    for slot in (REAL, SYNTHETIC):
        assert compare.shown[slot].key.window == (40, 400)
        assert compare.shown[slot].loaded.meta.window == (40.0, 400.0)
        assert _window_text(review, slot) == "W 400 L 40 · Soft tissue"
    qtbot.keyClick(review, Qt.Key.Key_2)
    assert _window_text(review, SYNTHETIC) == "W 1500 L -600 · Lung"
    qtbot.keyClick(review, Qt.Key.Key_0)
    assert compare.shown[REAL].key.window is None and "auto" in _window_text(review, REAL)


def test_right_drag_changes_window_level_on_both_linked_panes(review: ReviewView) -> None:
    compare = review.compare
    before = compare.shown[REAL].loaded.meta.window
    viewport = compare.canvases[SYNTHETIC].viewport()
    for kind, position, buttons in (
        (QEvent.Type.MouseButtonPress, QPointF(100, 100), Qt.MouseButton.RightButton),
        (QEvent.Type.MouseMove, QPointF(140, 90), Qt.MouseButton.RightButton),
        (QEvent.Type.MouseButtonRelease, QPointF(140, 90), Qt.MouseButton.NoButton),
    ):
        button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.RightButton
        event = QMouseEvent(kind, position, position, button, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)
    after = compare.shown[SYNTHETIC].loaded.meta.window
    assert after[1] > before[1] and after[0] < before[0]
    assert compare.shown[REAL].loaded.meta.window == after
    assert _window_text(review, REAL).endswith("custom")


def test_flicker_while_f_is_held_and_the_difference_overlay(qtbot, review: ReviewView) -> None:
    canvas = review.compare.canvases[SYNTHETIC]
    qtbot.keyPress(review, Qt.Key.Key_F)
    assert "REAL" in canvas.caption
    qtbot.keyRelease(review, Qt.Key.Key_F)
    assert canvas.caption == "ct_copy.dcm"
    qtbot.keyClick(review, Qt.Key.Key_D)
    assert "|synthetic − real|" in canvas.caption and "max 0.000" in canvas.caption
    qtbot.keyClick(review, Qt.Key.Key_D)
    assert canvas.caption == "ct_copy.dcm"


def test_metadata_differences_are_highlighted_and_patients_are_pseudonyms(review: ReviewView) -> None:
    table = review.compare.metadata
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    file_row, size_row = rows["File"], rows["Size"]
    assert table.item(file_row, 1).text() == "ct.dcm" and table.item(file_row, 2).text() == "ct_copy.dcm"
    assert table.item(file_row, 1).font().bold() and not table.item(size_row, 1).font().bold()
    texts = [table.item(r, c).text() for r in range(table.rowCount()) for c in range(3)]
    assert not any("PAT-SECRET" in t for t in texts)
    assert table.item(rows["Patient (pseudonym)"], 1).text().startswith("P-")
    patient = review.model.data(review.model.index(review.queue.index, PATIENT))
    assert patient.startswith(f"{SAME_PATIENT_MARK} P-")
    tip = review.model.data(review.model.index(review.queue.index, PATIENT), Qt.ItemDataRole.ToolTipRole)
    assert "same patient in both" in tip


def test_zoom_and_pan_are_linked_until_unlinked(qtbot, review: ReviewView) -> None:
    real, synthetic = review.compare.canvases[REAL], review.compare.canvases[SYNTHETIC]
    real.zoom_by(2.0)
    assert synthetic.view_state().zoom == pytest.approx(2.0)
    qtbot.keyClick(review, Qt.Key.Key_L)
    real.zoom_by(2.0)
    assert real.view_state().zoom == pytest.approx(4.0) and synthetic.view_state().zoom == pytest.approx(2.0)
    qtbot.keyClick(review, Qt.Key.Key_Z)
    assert real.view_state().zoom == pytest.approx(1.0)


def test_candidate_strip_and_prefetch_of_the_next_pair(review: ReviewView) -> None:
    strip = review.compare.strip
    assert strip.count() == 3
    assert strip.item(0).text().startswith("#1")
    review.apply_filter(PairFilter())
    following = review.queue.rows[review.queue.index + 1]
    key = ImageKey(following.real_path, following.key.real_frame, None)
    assert review.compare.loader.cached(key) is not None
    review.compare.strip.itemClicked.emit(review.compare.strip.item(2))
    assert review.queue.current.rank == 3


def test_keys_cheat_sheet_toggles(qtbot, review: ReviewView) -> None:
    qtbot.keyClick(review, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    assert review.keys_dialog.isVisible()
    qtbot.keyClick(review, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    assert not review.keys_dialog.isVisible()


def test_a_preset_chosen_on_a_png_pair_applies_when_a_dicom_pair_follows(qtbot, review: ReviewView) -> None:
    review.apply_filter(PairFilter(text="copy_2.png", sort="rank", descending=False))
    qtbot.keyClick(review, Qt.Key.Key_2)
    assert "no window/level" in _window_text(review, REAL)
    review.apply_filter(PairFilter(text="ct_copy.dcm", sort="rank", descending=False))
    assert review.compare.shown[REAL].loaded.meta.window == (-600.0, 1500.0)
    assert _window_text(review, REAL) == "W 1500 L -600 · Lung"


def test_a_real_image_not_reachable_from_here_is_named(qtbot, scanned: Project) -> None:
    pair_filter = PairFilter(text="ct_copy.dcm", sort="rank", descending=False)
    real = Path(list_pairs(scanned, pair_filter)[0].real_path)
    away = real.with_name(real.name + ".elsewhere")
    real.rename(away)  # as a real path recorded by a prebuilt index built on another machine
    try:
        runner = TaskRunner(1, inline=True)
        view = ReviewView(ImageLoader(runner), ThumbnailProvider(runner))
        qtbot.addWidget(view)
        view.set_queue(ReviewQueue(scanned, "ana"))
        view.apply_filter(pair_filter)
        assert view.compare.shown[REAL] is None and view.compare.shown[SYNTHETIC] is not None
        assert view.compare.canvases[REAL].message.startswith(f"Not reachable from this workstation:\n{real}")
    finally:
        away.rename(real)


def test_the_score_line_places_the_score_among_real_to_real_nearest_scores(review: ReviewView) -> None:
    null = np.array(real_null_scores(review.queue.project))
    assert null.size

    def expected(score: float) -> str:
        fraction = float((null < score).mean())
        if fraction == 1.0:
            return "closer than any real image is to its nearest other real image"
        return f"closer than {100 * fraction:.1f} % of real images are to their nearest other real image"

    assert expected(review.queue.current.score) in review.compare.info.text()
    review.apply_filter(PairFilter(sort="score", descending=False))
    lowest = review.queue.current.score
    assert expected(lowest) in review.compare.info.text()
    assert expected(lowest) != expected(review.queue.rows.get(len(review.queue) - 1).score)
