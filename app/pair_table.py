"""The pair table: a virtualised ``QAbstractTableModel`` over the review queue's paged rows.

The model holds no rows itself: ``rowCount`` is the length of the queue's id snapshot and ``data`` reads the
row through :class:`lcmem.review.pages.PairPages`, which fetches a page of 100 from the store the first time
one of its rows is painted. Sorting and filtering run in SQL (the header click asks the review screen to
reload the queue in another order), so 10^5 pairs cost one id query and a page per screenful.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage

from app.thumbnails import ThumbKey, ThumbnailProvider, scaled
from lcmem.review.queue import ReviewQueue
from lcmem.store.types import DECISION_TEXT, KIND_TEXT, PairRow

logger = logging.getLogger(__name__)

THUMB_SIZE = 52


def decision_text(decision: str | None, kind: str | None = None) -> str:
    """A decision in words, with an accepted pair's kind: ``memorized (copy)``; ``""`` when undecided."""
    text = DECISION_TEXT.get(decision or "", "")
    return f"{text} ({KIND_TEXT[kind]})" if text and kind in KIND_TEXT else text


DECISION_COLOURS = {"accept": QColor(248, 215, 218), "reject": QColor(212, 237, 218), "unsure": QColor(255, 243, 205)}
_SCALED_CAPACITY = 600
ModelIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column:
    """A table column: its title and the SQL order it sorts by (``None``: not sortable)."""

    title: str
    sort: str | None


COLUMNS = (
    Column("Real", "real"),
    Column("Synthetic", "synthetic"),
    Column("Score", "score"),
    Column("Rank", "rank"),
    Column("Inliers", "inliers"),
    Column("Decision", "decision"),
    Column("Patient (pseudonym)", None),
    Column("Synthetic file", "synthetic"),
    Column("Real file", "real"),
)
REAL, SYNTHETIC, SCORE, RANK, INLIERS, DECISION, PATIENT, SYNTHETIC_FILE, REAL_FILE = range(len(COLUMNS))


SAME_PATIENT_MARK = "⚠"
"""Before a patient pseudonym that the real and the synthetic image both name."""
SAME_PATIENT_TIP = "The synthetic image's own header names this patient too (⚠): the same patient in both"


def same_patient(row: PairRow) -> bool:
    """Whether the real and the synthetic image name the same (pseudonymised) patient."""
    return bool(row.real_patient) and row.real_patient == row.synthetic_patient


def patient_text(row: PairRow) -> str:
    """The pseudonymised patient of the real image, marked when the synthetic one names the same patient."""
    if same_patient(row):
        return f"{SAME_PATIENT_MARK} {row.real_patient}"
    return row.real_patient or row.synthetic_patient or "—"


class PairTableModel(QAbstractTableModel):
    """Rows of a :class:`ReviewQueue`, read lazily.

    Args:
        thumbnails: where thumbnails come from (``None``: no thumbnails).
        threshold: scores at or above it are shown in bold (the flag threshold in use).

    Signals:
        sortRequested(sort_key, descending): the user clicked a sortable header.
    """

    sortRequested = Signal(str, bool)

    def __init__(
        self, thumbnails: ThumbnailProvider | None = None, threshold: float = 0.5, parent: QObject | None = None
    ):
        super().__init__(parent)
        self.queue: ReviewQueue | None = None
        self.threshold = threshold
        self.scores_hidden = False
        self._thumbnails = thumbnails
        self._waiting: dict[ThumbKey, set[int]] = {}
        self._scaled: OrderedDict[ThumbKey, QImage] = OrderedDict()
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)

    def set_queue(self, queue: ReviewQueue | None) -> None:
        """Show another queue (or the same one after ``reload``)."""
        self.beginResetModel()
        self.queue = queue
        self._waiting.clear()
        self.endResetModel()

    def set_threshold(self, threshold: float) -> None:
        """Change the threshold used for the bold scores."""
        self.threshold = threshold
        if self.rowCount():
            self.dataChanged.emit(self.index(0, SCORE), self.index(self.rowCount() - 1, SCORE))

    def set_scores_hidden(self, hidden: bool) -> None:
        """Leave the score out of the tooltips (blind review; the view hides the score column)."""
        self.scores_hidden = hidden
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, len(COLUMNS) - 1))

    def row_changed(self, row: int) -> None:
        """Repaint one row (after a decision or an undo)."""
        if 0 <= row < self.rowCount():
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def pair(self, row: int) -> PairRow | None:
        """The pair shown in ``row`` (``None`` if it left the project)."""
        if self.queue is None or not 0 <= row < len(self.queue.rows):
            return None
        return self.queue.rows.get(row)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        """The number of pairs under the current filter."""
        if parent.isValid() or self.queue is None:
            return 0
        return len(self.queue.rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        """The number of columns."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        """Column titles; row numbers from 1."""
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section].title
        return str(section + 1)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        """Text, thumbnails, colours and tooltips of one cell."""
        if not index.isValid():
            return None
        row = self.pair(index.row())
        if row is None:
            return "—" if role == Qt.ItemDataRole.DisplayRole else None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.DecorationRole and column in (REAL, SYNTHETIC):
            return self._thumbnail(row, column, index.row())
        if role == Qt.ItemDataRole.BackgroundRole and row.decision in DECISION_COLOURS:
            return DECISION_COLOURS[row.decision]
        if role == Qt.ItemDataRole.FontRole and column == SCORE and row.score >= self.threshold:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and column == PATIENT and same_patient(row):
            return SAME_PATIENT_TIP
        if role == Qt.ItemDataRole.ToolTipRole:
            score = "" if self.scores_hidden else f"score {row.score:.4f}, "
            shown = row.inliers is not None and not self.scores_hidden
            fit = f"\n{row.inliers} inliers ({row.transform or 'no fit'})" if shown else ""
            return f"synthetic: {row.synthetic_path}\nreal: {row.real_path}\n{score}rank {row.rank}{fit}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (SCORE, RANK, INLIERS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, row: PairRow, column: int) -> str | None:
        if column == SCORE:
            return f"{row.score:.3f}"
        if column == RANK:
            return str(row.rank)
        if column == INLIERS:
            return "–" if row.inliers is None else str(row.inliers)
        if column == DECISION:
            return decision_text(row.decision, row.kind)
        if column == PATIENT:
            return patient_text(row)
        if column == SYNTHETIC_FILE:
            return Path(row.synthetic_path).name
        if column == REAL_FILE:
            return Path(row.real_path).name
        return None

    def _thumbnail(self, row: PairRow, column: int, row_number: int) -> QImage | None:
        if self._thumbnails is None:
            return None
        if column == REAL:
            path, key = row.real_path, (row.key.real_sha256, row.key.real_frame)
        else:
            path, key = row.synthetic_path, (row.key.synthetic_sha256, row.key.synthetic_frame)
        small = self._scaled.get(key)
        if small is not None:
            return small
        image = self._thumbnails.image(path, *key)
        if image is None:
            self._waiting.setdefault(key, set()).add(row_number)
            return None
        small = scaled(image, THUMB_SIZE)
        self._scaled[key] = small
        while len(self._scaled) > _SCALED_CAPACITY:
            self._scaled.popitem(last=False)
        return small

    def _thumbnail_ready(self, key: ThumbKey) -> None:
        for row in self._waiting.pop(key, set()):
            if row < self.rowCount():
                self.dataChanged.emit(self.index(row, REAL), self.index(row, SYNTHETIC))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Ask for the pairs in another order (the review screen reloads the queue in SQL)."""
        key = COLUMNS[column].sort
        if key is not None:
            self.sortRequested.emit(key, order == Qt.SortOrder.DescendingOrder)
