"""One image pane of the compare view: zoom, pan, right-drag window/level, and captions drawn on top.

The pane knows nothing of its partner: it reports view changes and window drags as signals, and the compare
view links the two panes by copying :class:`ViewState` (zoom relative to "fit" and the centre in image
fractions, so images of different sizes stay aligned).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPixmap, QResizeEvent, QTransform, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

logger = logging.getLogger(__name__)

ZOOM_STEP = 1.2
MIN_ZOOM, MAX_ZOOM = 0.1, 40.0
BACKGROUND = QColor(24, 24, 26)


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
    """

    viewChanged = Signal()
    windowDragged = Signal(float, float)
    fitRequested = Signal()

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
        self._zoom = 1.0
        self._has_image = False
        self._drag_from: QPoint | None = None
        self._quiet = False
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

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Report window/level drags; pan otherwise."""
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

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """Draw the title, caption, window line and message over the image, in screen coordinates."""
        painter.save()
        painter.resetTransform()
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
