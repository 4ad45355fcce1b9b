"""Small QPainter plots for the calibration screen: a score histogram of the two label classes with the
real→real null distribution, and a curve with its band.

QtCharts is not part of PySide6-Essentials; these draw axes, ticks, bars, lines and bands directly.
Both axes run from 0 to 1 (scores, rates, precision and recall all do); a histogram may start its score axis
higher (``x_min``) so that the labelled scores fill it.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

logger = logging.getLogger(__name__)

ACCEPT_COLOUR = QColor(200, 40, 50)
REJECT_COLOUR = QColor(40, 140, 70)
CURVE_COLOUR = QColor(40, 90, 180)
THRESHOLD_COLOUR = QColor(230, 140, 0)
NULL_COLOUR = QColor(110, 60, 170)
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


class Plot(QWidget):
    """A plot area with a title, axis labels and 0-1 ticks; subclasses draw inside :meth:`draw_data`."""

    def __init__(self, title: str, x_label: str, y_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title, self.x_label, self.y_label = title, x_label, y_label
        self.x_min = 0.0
        self.y_max = 1.0
        self.empty_text = "Not enough labels yet"
        self.setMinimumSize(240, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        """A square-ish default."""
        return QSize(360, 320)

    def area(self) -> QRectF:
        """The data rectangle in widget coordinates."""
        metrics = self.fontMetrics()
        left = metrics.horizontalAdvance("0000") + metrics.height() + 10
        return QRectF(left, metrics.height() + 12, self.width() - left - 14, self.height() - 3 * metrics.height() - 22)

    def point(self, x: float, y: float) -> QPointF:
        """Data coordinates (x in [x_min, 1], y in [0, y_max]) to widget coordinates."""
        area = self.area()
        fraction = (x - self.x_min) / (1.0 - self.x_min)
        return QPointF(area.left() + fraction * area.width(), area.bottom() - (y / self.y_max) * area.height())

    def has_data(self) -> bool:
        """Whether there is something to draw."""
        return False

    def draw_data(self, painter: QPainter) -> None:
        """Draw the data (subclasses)."""

    def y_ticks(self) -> list[float]:
        """Where the y ticks go."""
        return [t * self.y_max for t in TICKS]

    def paintEvent(self, event: QPaintEvent) -> None:
        """Frame, ticks, labels, then the data."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(255, 255, 255))
        area = self.area()
        metrics = self.fontMetrics()
        painter.setPen(QColor(30, 30, 30))
        title_font = painter.font()
        title_font.setBold(True)
        painter.setFont(title_font)
        painter.drawText(QRectF(0, 2, self.width(), metrics.height() + 6), Qt.AlignmentFlag.AlignCenter, self.title)
        painter.setFont(self.font())
        grid = QPen(QColor(225, 225, 225))
        for fraction in TICKS:
            tick = self.x_min + fraction * (1.0 - self.x_min)
            x = self.point(tick, 0).x()
            painter.setPen(grid)
            painter.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()))
            painter.setPen(QColor(60, 60, 60))
            painter.drawText(
                QRectF(x - 30, area.bottom() + 2, 60, metrics.height()), Qt.AlignmentFlag.AlignCenter, f"{tick:.3g}"
            )
        for tick in self.y_ticks():
            y = self.point(0, tick).y()
            painter.setPen(grid)
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(QColor(60, 60, 60))
            label = f"{tick:g}" if self.y_max <= 1 else f"{tick:.0f}"
            painter.drawText(
                QRectF(0, y - metrics.height() / 2, area.left() - 4, metrics.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                label,
            )
        painter.drawText(
            QRectF(area.left(), self.height() - metrics.height() - 4, area.width(), metrics.height()),
            Qt.AlignmentFlag.AlignCenter,
            self.x_label,
        )
        painter.save()
        painter.translate(4, area.center().y())
        painter.rotate(-90)
        painter.drawText(
            QRectF(-area.height() / 2, 0, area.height(), metrics.height()), Qt.AlignmentFlag.AlignCenter, self.y_label
        )
        painter.restore()
        painter.setPen(QPen(QColor(120, 120, 120)))
        painter.drawRect(area)
        if self.has_data():
            painter.setClipRect(area.adjusted(-6, -6, 6, 6))
            self.draw_data(painter)
        else:
            painter.setPen(QColor(140, 140, 140))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.empty_text)
        painter.end()


class HistogramPlot(Plot):
    """Scores of accepted and rejected pairs as two bar series, the real→real null distribution as an outline
    (scaled to the plot: its shape matters, not its count), the threshold and the null's 99.9th percentile as
    vertical lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Scores of labelled pairs", "LCMem score", "pairs", parent)
        self.edges = np.linspace(0, 1, 21)
        self.accepted = np.zeros(20)
        self.rejected = np.zeros(20)
        self.null = np.zeros(20)
        self.null_mark: float | None = None
        self.null_mark_label = ""
        self.threshold: float | None = None
        self.threshold_label = ""
        self.empty_text = "No accepted or rejected pairs yet"

    def set_data(
        self,
        edges: np.ndarray,
        accepted: np.ndarray,
        rejected: np.ndarray,
        null: np.ndarray | None = None,
    ) -> None:
        """Bin edges (from ``x_min`` to 1) and the counts of each class and of the null scores."""
        self.edges, self.accepted, self.rejected = edges, accepted, rejected
        self.null = np.zeros(len(edges) - 1) if null is None else null
        self.x_min = float(edges[0])
        peak = float(max(accepted.max(initial=0), rejected.max(initial=0)))
        self.y_max = max(4.0, float(np.ceil(peak * 1.4 / 4.0) * 4.0))
        self.update()

    def set_null_mark(self, score: float | None, label: str) -> None:
        """The null's high-percentile line ("closer than any two real patients") and its legend text."""
        self.null_mark, self.null_mark_label = score, label
        self.update()

    def null_heights(self) -> np.ndarray:
        """The null counts normalised to a share of the null, drawn so the tallest bin reaches 70 % of the plot."""
        total = float(self.null.sum())
        if total <= 0:
            return np.zeros_like(self.null, dtype=np.float64)
        share = self.null / total
        return share / share.max() * 0.7 * self.y_max

    def set_threshold(self, threshold: float | None, label: str) -> None:
        """The threshold line and its legend text."""
        self.threshold, self.threshold_label = threshold, label
        self.update()

    def has_data(self) -> bool:
        """Whether any pair is labelled or any null score is known."""
        return bool(self.accepted.sum() + self.rejected.sum() + self.null.sum())

    def draw_data(self, painter: QPainter) -> None:
        """The null outline, side-by-side bars per bin, the null and threshold lines, a legend."""
        if self.null.sum() > 0:
            self._draw_null(painter)
        for counts, colour, offset in ((self.rejected, REJECT_COLOUR, 0.0), (self.accepted, ACCEPT_COLOUR, 0.5)):
            fill = QColor(colour)
            fill.setAlpha(190)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            for i, count in enumerate(counts):
                if count <= 0:
                    continue
                width = self.edges[i + 1] - self.edges[i]
                left = self.edges[i] + offset * width
                top_left = self.point(left + 0.04 * width, float(count))
                bottom_right = self.point(left + 0.46 * width, 0.0)
                painter.drawRect(QRectF(top_left, bottom_right))
        if self.null_mark is not None:
            painter.setPen(QPen(NULL_COLOUR, 2, Qt.PenStyle.DotLine))
            painter.drawLine(self.point(self.null_mark, 0), self.point(self.null_mark, self.y_max))
        if self.threshold is not None:
            painter.setPen(QPen(THRESHOLD_COLOUR, 2, Qt.PenStyle.DashLine))
            painter.drawLine(self.point(self.threshold, 0), self.point(self.threshold, self.y_max))
        self._legend(painter)

    def _draw_null(self, painter: QPainter) -> None:
        """The null distribution as a light, outlined step area behind the bars."""
        heights = self.null_heights()
        outline = QPolygonF([self.point(float(self.edges[0]), 0.0)])
        for i, height in enumerate(heights):
            outline.append(self.point(float(self.edges[i]), float(height)))
            outline.append(self.point(float(self.edges[i + 1]), float(height)))
        outline.append(self.point(float(self.edges[-1]), 0.0))
        fill = QColor(NULL_COLOUR)
        fill.setAlpha(45)
        painter.setPen(QPen(NULL_COLOUR, 1.5))
        painter.setBrush(fill)
        painter.drawPolygon(outline)

    def _legend(self, painter: QPainter) -> None:
        area = self.area()
        metrics = self.fontMetrics()
        entries = [
            (ACCEPT_COLOUR, f"memorized (accepted): {int(self.accepted.sum())}"),
            (REJECT_COLOUR, f"not a match (rejected): {int(self.rejected.sum())}"),
        ]
        if self.null.sum() > 0:
            entries.append((NULL_COLOUR, f"real→real, different image/patient ({int(self.null.sum())}), scaled"))
        if self.null_mark is not None:
            entries.append((NULL_COLOUR, self.null_mark_label))
        if self.threshold is not None:
            entries.append((THRESHOLD_COLOUR, self.threshold_label))
        y = area.top() + 6
        width = max(metrics.horizontalAdvance(text) for _, text in entries) + 34
        painter.fillRect(
            QRectF(area.left() + 4, y - 2, width, len(entries) * (metrics.height() + 2) + 4), QColor(255, 255, 255, 220)
        )
        for colour, text in entries:
            painter.fillRect(QRectF(area.left() + 8, y + 3, 12, metrics.height() - 6), colour)
            painter.setPen(QColor(30, 30, 30))
            painter.drawText(QPointF(area.left() + 26, y + metrics.ascent()), text)
            y += metrics.height() + 2


class CurvePlot(Plot):
    """A curve with a shaded 95 % band and a marked operating point; optionally the chance diagonal."""

    def __init__(self, title: str, x_label: str, y_label: str, *, diagonal: bool, parent: QWidget | None = None):
        super().__init__(title, x_label, y_label, parent)
        self.diagonal = diagonal
        self.x: np.ndarray | None = None
        self.y = self.low = self.high = np.zeros(0)
        self.marker: tuple[float, float] | None = None
        self.note = ""
        self.empty_text = "Needs at least one accepted and one rejected pair"

    def set_curve(self, x: np.ndarray | None, y: np.ndarray, low: np.ndarray, high: np.ndarray, note: str) -> None:
        """The curve (``x`` ``None``: nothing to draw), its band and a note (e.g. the area under it)."""
        self.x, self.y, self.low, self.high, self.note = x, y, low, high, note
        self.update()

    def set_marker(self, point: tuple[float, float] | None) -> None:
        """The operating point to mark."""
        self.marker = point
        self.update()

    def has_data(self) -> bool:
        """Whether a curve is set."""
        return self.x is not None

    def draw_data(self, painter: QPainter) -> None:
        """Band, curve, diagonal, marker, note."""
        if self.x is None:
            return
        band = QPolygonF([self.point(a, b) for a, b in zip(self.x, self.high, strict=True)])
        band += QPolygonF([self.point(a, b) for a, b in zip(self.x[::-1], self.low[::-1], strict=True)])
        fill = QColor(CURVE_COLOUR)
        fill.setAlpha(50)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawPolygon(band)
        if self.diagonal:
            painter.setPen(QPen(QColor(170, 170, 170), 1, Qt.PenStyle.DotLine))
            painter.drawLine(self.point(0, 0), self.point(1, 1))
        path = QPainterPath(self.point(float(self.x[0]), float(self.y[0])))
        for a, b in zip(self.x[1:], self.y[1:], strict=True):
            path.lineTo(self.point(float(a), float(b)))
        painter.setPen(QPen(CURVE_COLOUR, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        if self.marker is not None:
            painter.setPen(QPen(QColor(30, 30, 30), 1.5))
            painter.setBrush(THRESHOLD_COLOUR)
            painter.drawEllipse(self.point(*self.marker), 6, 6)
        if self.note:
            area = self.area()
            painter.setPen(QColor(30, 30, 30))
            painter.drawText(
                area.adjusted(8, 6, -8, -6),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom | Qt.TextFlag.TextWordWrap,
                self.note,
            )
