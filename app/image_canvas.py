"""One image pane of the compare view: zoom, pan, right-drag window/level, a loupe, and captions drawn on top.

The pane knows nothing of its partner: it reports view changes and window drags as signals, and the compare
view links the two panes by copying :class:`ViewState` (zoom relative to "fit" and the centre in image
fractions, so images of different sizes stay aligned). The loupe is a circle magnifying the image around a
point, also given in image fractions, so the compare view can show it at the same place on both images.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

logger = logging.getLogger(__name__)

ZOOM_STEP = 1.2
MIN_ZOOM, MAX_ZOOM = 0.1, 40.0
BACKGROUND = QColor(24, 24, 26)
LOUPE_RADIUS = 90
LOUPE_MAGNIFICATION = 4.0
MARK_COLOUR = QColor(80, 255, 120)
MARK_RADIUS = 4.0
MAX_NUMBERED = 60
"""Marks are numbered (the same number on both images) up to this many; more would hide the image."""


@dataclass(frozen=True)
class ViewState:
    """Zoom as a multiple of "fit", and the point at the pane's centre as fractions of the image."""

    zoom: float = 1.0
    cx: float = 0.5
    cy: float = 0.5


class ImageCanvas(QGraphicsView):
    """A pane showing one image with a title (top), a window line (bottom) and a message (centre).

    Signals:
        viewChanged(): the user zoomed or panned.
        windowDragged(dx, dy): a right-drag moved by ``(dx, dy)`` pixels since the last report.
        fitRequested(): a double click asks to fit the images.
        pointerMoved(fx, fy): with the loupe on, the mouse is over image fraction ``(fx, fy)``; ``(-1, -1)``
            when it left the image or the pane.
    """

    viewChanged = Signal()
    windowDragged = Signal(float, float)
    fitRequested = Signal()
    pointerMoved = Signal(float, float)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._item)
        self.title = title
        self.caption = ""
        self.window_text = ""
        self.message = ""
        self.accent = QColor(255, 255, 255)
        self.marks: np.ndarray | None = None
        self._zoom = 1.0
        self._has_image = False
        self._drag_from: QPoint | None = None
        self._quiet = False
        self._loupe_on = False
        self.loupe_at: tuple[float, float] | None = None
        self.setBackgroundBrush(BACKGROUND)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        self.setMinimumSize(160, 160)
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)

    def set_image(self, image: QImage | None, *, fit: bool = False) -> None:
        """Show ``image`` (``None`` clears the pane); ``fit`` resets zoom and pan, else they are kept."""
        self._quiet = True
        state = self.view_state()
        if image is None:
            self._item.setPixmap(QPixmap())
            self._has_image = False
        else:
            self._item.setPixmap(QPixmap.fromImage(image))
            self._has_image = True
            self.scene().setSceneRect(QRectF(self._item.pixmap().rect()))
            self.message = ""
        self._quiet = False
        if fit or not self._has_image:
            self.fit()
        else:
            self.apply_view_state(state)
        self.viewport().update()

    def set_texts(self, *, caption: str | None = None, window: str | None = None, message: str | None = None) -> None:
        """Change the caption (after the title), the window line, or the centre message."""
        if caption is not None:
            self.caption = caption
        if window is not None:
            self.window_text = window
        if message is not None:
            self.message = message
        self.viewport().update()

    @property
    def has_image(self) -> bool:
        """Whether an image is shown."""
        return self._has_image

    def _fit_scale(self) -> float:
        rect = self.sceneRect()
        if rect.width() <= 0 or rect.height() <= 0:
            return 1.0
        viewport = self.viewport().rect()
        return min(viewport.width() / rect.width(), viewport.height() / rect.height())

    def fit(self) -> None:
        """Fit the whole image in the pane."""
        self.apply_view_state(ViewState())

    def view_state(self) -> ViewState:
        """The current zoom and centre."""
        rect = self.sceneRect()
        if rect.width() <= 0 or rect.height() <= 0:
            return ViewState(self._zoom)
        centre = self.mapToScene(self.viewport().rect().center())
        return ViewState(self._zoom, centre.x() / rect.width(), centre.y() / rect.height())

    def apply_view_state(self, state: ViewState) -> None:
        """Zoom and pan to ``state`` (does not emit ``viewChanged``)."""
        self._quiet = True
        self._zoom = min(MAX_ZOOM, max(MIN_ZOOM, state.zoom))
        scale = self._fit_scale() * self._zoom
        self.setTransform(QTransform.fromScale(scale, scale))
        rect = self.sceneRect()
        self.centerOn(QPointF(state.cx * rect.width(), state.cy * rect.height()))
        self._quiet = False

    def zoom_by(self, factor: float) -> None:
        """Zoom by ``factor`` around the mouse (or the centre) and report it."""
        new_zoom = min(MAX_ZOOM, max(MIN_ZOOM, self._zoom * factor))
        applied = new_zoom / self._zoom
        self._zoom = new_zoom
        self._quiet = True
        self.scale(applied, applied)
        self._quiet = False
        self.viewChanged.emit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Zoom in or out by one step per wheel notch."""
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(ZOOM_STEP**steps)
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Right button: start a window/level drag; left: pan (Qt's hand drag)."""
        if event.button() == Qt.MouseButton.RightButton:
            self._drag_from = event.position().toPoint()
            event.accept()
            return
        super().mousePressEvent(event)

    def set_loupe(self, on: bool) -> None:
        """Turn the loupe on (the pane then reports the pointer) or off."""
        self._loupe_on = on
        self.setMouseTracking(on)
        self.viewport().setMouseTracking(on)
        if not on:
            self.show_loupe(None)

    def show_loupe(self, at: tuple[float, float] | None) -> None:
        """Draw the loupe around image fraction ``at`` (``None`` hides it)."""
        self.loupe_at = at if self._loupe_on and self._has_image else None
        self.viewport().update()

    def image_fraction(self, position: QPointF) -> tuple[float, float] | None:
        """The image fraction under viewport ``position``, or ``None`` outside the image."""
        rect = self.sceneRect()
        if not self._has_image or rect.width() <= 0 or rect.height() <= 0:
            return None
        point = self.mapToScene(position.toPoint())
        fx, fy = point.x() / rect.width(), point.y() / rect.height()
        return (fx, fy) if 0 <= fx <= 1 and 0 <= fy <= 1 else None

    def leaveEvent(self, event: QEvent) -> None:
        """Hide the loupe (here and, through the compare view, on the partner pane)."""
        if self._loupe_on:
            self.pointerMoved.emit(-1.0, -1.0)
        super().leaveEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Report window/level drags and, with the loupe on, the pointer; pan otherwise."""
        if self._loupe_on:
            at = self.image_fraction(event.position())
            self.pointerMoved.emit(*(at if at is not None else (-1.0, -1.0)))
        if self._drag_from is not None:
            now = event.position().toPoint()
            delta = now - self._drag_from
            self._drag_from = now
            if delta.x() or delta.y():
                self.windowDragged.emit(float(delta.x()), float(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """End a window/level drag."""
        if event.button() == Qt.MouseButton.RightButton and self._drag_from is not None:
            self._drag_from = None
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Ask to fit both images."""
        self.fitRequested.emit()
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the zoom relative to "fit" when the pane changes size."""
        state = self.view_state()
        super().resizeEvent(event)
        self.apply_view_state(state)

    def _scrolled(self) -> None:
        if not self._quiet:
            self.viewChanged.emit()

    def _draw_loupe(self, painter: QPainter) -> None:
        """A circle showing the image around ``loupe_at`` at LOUPE_MAGNIFICATION × the pane's scale."""
        if self.loupe_at is None or not self._has_image:
            return
        pixmap = self._item.pixmap()
        rect = self.sceneRect()
        at = QPointF(self.loupe_at[0] * rect.width(), self.loupe_at[1] * rect.height())
        centre = QPointF(self.mapFromScene(at))
        scale = self.transform().m11() * LOUPE_MAGNIFICATION
        half = LOUPE_RADIUS / scale
        source = QRectF(at.x() - half, at.y() - half, 2 * half, 2 * half)
        target = QRectF(centre.x() - LOUPE_RADIUS, centre.y() - LOUPE_RADIUS, 2 * LOUPE_RADIUS, 2 * LOUPE_RADIUS)
        circle = QPainterPath()
        circle.addEllipse(target)
        painter.save()
        painter.setClipPath(circle)
        painter.fillRect(target, BACKGROUND)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 2)
        painter.drawPixmap(target, pixmap, source)
        painter.restore()
        painter.setPen(QPen(self.accent, 2))
        painter.drawEllipse(target)

    def set_marks(self, points: np.ndarray | None) -> None:
        """Mark these image points (``(n, 2)`` x, y in image pixels; ``None``: no marks), numbered from 1."""
        self.marks = None if points is None else np.asarray(points, dtype=np.float64).reshape(-1, 2)
        self.viewport().update()

    def _draw_marks(self, painter: QPainter) -> None:
        if self.marks is None or not self.has_image:
            return
        painter.setPen(QPen(MARK_COLOUR, 1.5))
        for number, (x, y) in enumerate(self.marks, start=1):
            at = self.mapFromScene(QPointF(x + 0.5, y + 0.5))
            painter.drawEllipse(QPointF(at), MARK_RADIUS, MARK_RADIUS)
            if len(self.marks) <= MAX_NUMBERED:
                painter.drawText(QPointF(at) + QPointF(MARK_RADIUS + 1, -MARK_RADIUS), str(number))

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """Draw the marks, loupe, title, caption, window line and message over the image, in screen coordinates."""
        painter.save()
        painter.resetTransform()
        self._draw_marks(painter)
        self._draw_loupe(painter)
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        width = self.viewport().width()
        lines = [(self.title + ("  " + self.caption if self.caption else ""), 6)]
        if self.window_text:
            lines.append((self.window_text, self.viewport().height() - metrics.height() - 6))
        for index, (text, top) in enumerate(lines):
            shown = metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, width - 16)
            box = metrics.boundingRect(shown).adjusted(-5, -2, 5, 2)
            box.moveTopLeft(QPoint(6, top))
            painter.fillRect(box, QColor(0, 0, 0, 170))
            painter.setPen(self.accent if index == 0 else QColor(255, 220, 120))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, shown)
        if self.message:
            painter.setPen(QColor(230, 230, 230))
            area = self.viewport().rect().adjusted(12, 12, -12, -12)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        painter.restore()
