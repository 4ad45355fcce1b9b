"""The magnifier loupe: 4× the pane's scale around the pointer, at the same image place on both linked panes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent
from PySide6.QtWidgets import QApplication

from app.compare_view import REAL, SYNTHETIC
from app.image_canvas import LOUPE_MAGNIFICATION, LOUPE_RADIUS, ImageCanvas
from app.review_view import ReviewView


def _move(canvas: ImageCanvas, position: QPointF) -> None:
    event = QMouseEvent(QEvent.Type.MouseMove, position, position, Qt.MouseButton.NoButton,
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(canvas.viewport(), event)


def _half_black_half_white(size: int = 200) -> QImage:
    image = QImage(size, size, QImage.Format.Format_RGB32)
    image.fill(QColor("black"))
    for x in range(size // 2, size):
        for y in range(size):
            image.setPixelColor(x, y, QColor("white"))
    return image


def test_the_loupe_magnifies_around_the_pointer(qtbot) -> None:
    canvas = ImageCanvas("REAL")
    qtbot.addWidget(canvas)
    canvas.resize(420, 420)
    canvas.show()
    canvas.set_image(_half_black_half_white(), fit=True)
    canvas.set_loupe(True)
    canvas.pointerMoved.connect(lambda fx, fy: canvas.show_loupe((fx, fy) if fx >= 0 else None))  # as the view does
    rect = canvas.sceneRect()
    at = canvas.mapFromScene(QPointF(105, 100))  # 5 image pixels right of the black/white edge
    _move(canvas, QPointF(at))
    assert canvas.loupe_at == pytest.approx((105 / rect.width(), 100 / rect.height()), abs=0.01)
    shot = canvas.viewport().grab().toImage()
    edge = 5 * canvas.transform().m11() * LOUPE_MAGNIFICATION  # how far left of the loupe's centre the edge shows
    assert edge < LOUPE_RADIUS - 10
    inside = round(at.x() - edge + 5), at.y()
    assert shot.pixelColor(*inside).lightness() > 200  # 5 px right of the magnified edge: white
    assert shot.pixelColor(round(at.x() - edge - 5), at.y()).lightness() < 50  # 5 px left of it: black
    canvas.set_loupe(False)
    assert canvas.viewport().grab().toImage().pixelColor(*inside).lightness() < 50  # unmagnified, that is black
    assert canvas.loupe_at is None


def test_the_loupe_follows_on_both_linked_panes_and_only_the_hovered_one_unlinked(
    qtbot,
    review: ReviewView,
) -> None:
    real, synthetic = review.compare.canvases[REAL], review.compare.canvases[SYNTHETIC]
    before = synthetic.viewport().grab().toImage()
    qtbot.keyClick(review, Qt.Key.Key_M)
    assert review.compare.loupe
    centre = QPointF(real.viewport().rect().center())
    _move(real, centre)
    assert real.loupe_at is not None and synthetic.loupe_at == real.loupe_at
    assert real.loupe_at == pytest.approx(real.image_fraction(centre))
    assert synthetic.viewport().grab().toImage() != before  # drawn on the partner pane too
    QApplication.sendEvent(real, QEvent(QEvent.Type.Leave))
    assert real.loupe_at is None and synthetic.loupe_at is None
    qtbot.keyClick(review, Qt.Key.Key_L)  # unlink
    _move(real, centre)
    assert real.loupe_at is not None and synthetic.loupe_at is None
    _move(real, QPointF(-50, -50))  # off the image
    assert real.loupe_at is None
    qtbot.keyClick(review, Qt.Key.Key_M)
    _move(real, centre)
    assert not review.compare.loupe and real.loupe_at is None
