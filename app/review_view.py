"""The review screen: filters, the pair table and the compare view, driven from the keyboard.

It renders a :class:`lcmem.review.queue.ReviewQueue` (the Qt-free presenter) and forwards keys to it: a
decision goes to the project at once (durable when ``decide`` returns), its row is repainted, and the cursor
moves on. Keys are looked up in :mod:`app.keys` whether the focus is on the table, a pane or the screen.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.compare_view import CompareView
from app.image_loader import ImageLoader
from app.keys import PRESET_ACTIONS, Action, Keymap
from app.pair_table import (
    COLUMNS,
    DECISION,
    INLIERS,
    PATIENT,
    RANK,
    REAL,
    REAL_FILE,
    SAME_PATIENT_MARK,
    SCORE,
    SYNTHETIC,
    SYNTHETIC_FILE,
    THUMB_SIZE,
    PairTableModel,
    decision_text,
)
from app.thumbnails import ThumbnailProvider
from lcmem.errors import ProjectError
from lcmem.review.probability import IsotonicFit, LiveFit
from lcmem.review.queue import ReviewQueue
from lcmem.scan.threshold import null_fraction_below
from lcmem.store.queries import PairFilter, real_null_scores
from lcmem.store.types import KIND_TEXT, PairRow
from lcmem.verify.rule import is_verified

logger = logging.getLogger(__name__)

NOTE_HINT = "Note (N): saved with your next decision; Enter saves it on a pair already decided; Esc goes back"
NO_NOTE = "A second read has no note (the pair's decision keeps its own)"

STATUS_CHOICES = (
    ("All pairs", "all"),
    ("Undecided", "undecided"),
    ("Accepted (memorized)", "accept"),
    ("Rejected (not a match)", "reject"),
    ("Unsure", "unsure"),
    ("Decided", "decided"),
    ("Audit sample (below threshold)", "audit"),
    ("Second read (blind, decided pairs)", "second_read"),
)
"""The "Show" choices; the audit sample is the pairs below the threshold in a fixed random order
(:mod:`lcmem.review.audit`); the second read is the decided pairs in that order, read again with their
decisions and scores hidden (:mod:`lcmem.review.double_read`)."""


BUTTONS = {
    Action.ACCEPT: "Memorized",
    Action.REJECT: "Not a match",
    Action.UNSURE: "Unsure",
    Action.SKIP: "Skip",
    Action.UNDO: "Undo",
    Action.PREVIOUS: "Previous",
    Action.NEXT: "Next",
    Action.HELP: "Keys",
}
"""The decision and navigation buttons above the panes, and their captions."""

CELL_PADDING_PX = 14
"""Room beside a cell's text (margins and the grid)."""
SORT_ARROW_PX = 14
"""Room for the sort arrow beside a sortable column's title."""
SEARCH_DELAY_MS = 300
"""The file-name filter applies this long after the last key typed (and at once on Enter)."""

TOGGLES = (Action.FLICKER, Action.DIFFERENCE, Action.LINK, Action.LOUPE, Action.HELP)
"""Actions a held key triggers once, not once per auto-repeat."""


def column_widths(table: QTableView) -> list[int]:
    """Widths that show every column's title and its longest usual text in ``table``'s fonts: a decision with
    its kind, a patient pseudonym."""
    longest = {
        SCORE: "0.000",
        RANK: "20",
        INLIERS: "250",
        DECISION: max((decision_text("accept", kind) for kind in KIND_TEXT), key=len),
        PATIENT: f"{SAME_PATIENT_MARK} P-0123456789abcdef",
        SYNTHETIC_FILE: "synthetic_0000.png",
        REAL_FILE: "real_0000.png",
    }
    text, title = table.fontMetrics(), table.horizontalHeader().fontMetrics()
    widths = []
    for column, spec in enumerate(COLUMNS):
        content = THUMB_SIZE if column in (REAL, SYNTHETIC) else text.horizontalAdvance(longest[column])
        arrow = SORT_ARROW_PX if spec.sort is not None else 0
        widths.append(max(content, title.horizontalAdvance(spec.title) + arrow) + CELL_PADDING_PX)
    return widths


class KeysDialog(QDialog):
    """The ``?`` cheat sheet: every key and mouse gesture of the review screen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Review keys")
        self.text = QTextBrowser()
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        close = QPushButton("Close (Esc)")
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self.resize(560, 620)


class ReviewView(QWidget):
    """Filters and table on the left, the compare view on the right, decision buttons above.

    Signals:
        decided(before, after): a pair's decision changed from ``before`` to ``after`` ("" for undecided), by a
            decision or an undo; counts and calibration may change.
        message(str): a short text for the status bar.
    """

    decided = Signal(str, str)
    message = Signal(str)

    def __init__(self, loader: ImageLoader, thumbnails: ThumbnailProvider | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.queue: ReviewQueue | None = None
        self.threshold = 0.5
        self.min_inliers: int | None = None
        self.threshold_note = "default, not calibrated"
        self.model = PairTableModel(thumbnails, self.threshold, self)
        self.table = QTableView()
        self.compare = CompareView(loader, thumbnails)
        self.status = QComboBox()
        self.use_min_score = QCheckBox("Score ≥")
        self.min_score = QDoubleSpinBox()
        self.search = QLineEdit()
        self.search_timer = QTimer(self)
        self._searched = ""
        self.note = QLineEdit()
        self._note_pair: int | None = None
        self.count = QLabel()
        self.keys_dialog = KeysDialog(self)
        self.keymap = Keymap()
        self.scores_hidden = False
        self.null_scores = np.zeros(0)
        self.live_fit: LiveFit | None = None
        self.buttons: dict[Action, QPushButton] = {}
        self._moving = False
        self._changes: list[tuple[PairRow, str, str] | None] = []  # None: a second read (no decision changed)
        self._build()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for widget in (
            self.table,
            self.table.viewport(),
            self.compare.strip,
            *self.compare.canvases.values(),
            self.status,
            self.use_min_score,
        ):
            widget.installEventFilter(self)
        for canvas in self.compare.canvases.values():
            canvas.viewport().installEventFilter(self)
        self.compare.candidateChosen.connect(self._candidate_chosen)
        self.compare.message.connect(self.message)

    def _build(self) -> None:
        for label, value in STATUS_CHOICES:
            self.status.addItem(label, value)
        self.status.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.status.setMinimumContentsLength(10)
        self.status.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.min_score.setRange(0.0, 1.0)
        self.min_score.setSingleStep(0.05)
        self.min_score.setDecimals(3)
        self.min_score.setValue(self.threshold)
        self.use_min_score.toggled.connect(lambda _on: self.apply_filter())
        self.min_score.valueChanged.connect(lambda _v: self.use_min_score.isChecked() and self.apply_filter())
        self.min_score.editingFinished.connect(self.table.setFocus)
        self.status.activated.connect(lambda _i: self.table.setFocus())
        self.search.setPlaceholderText("File name contains…")
        self.search.setClearButtonEnabled(True)
        self.search.textEdited.connect(lambda _t: self.search_timer.start())
        self.search.returnPressed.connect(self._search_entered)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(self._search_typed)
        filters = QHBoxLayout()
        for widget in (QLabel("Show"), self.status, self.use_min_score, self.min_score, self.search):
            filters.addWidget(widget)
        filters.addWidget(self.count, 1, Qt.AlignmentFlag.AlignRight)

        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.table.verticalHeader().setDefaultSectionSize(THUMB_SIZE + 6)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate(column_widths(self.table)):
            self.table.setColumnWidth(column, width)
        self.table.verticalHeader().hide()
        header.setStretchLastSection(True)
        header.setSortIndicator(SCORE, Qt.SortOrder.DescendingOrder)
        self.table.setSortingEnabled(True)
        self.model.sortRequested.connect(self._sort_requested)
        self.table.selectionModel().currentRowChanged.connect(self._row_chosen)

        actions = QHBoxLayout()
        for action in BUTTONS:
            button = QPushButton()
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _c=False, a=action: self.trigger(a))
            self.buttons[action] = button
            actions.addWidget(button)
        self.buttons[Action.ACCEPT].setStyleSheet("QPushButton { color: #a1121e; font-weight: bold; }")
        self.buttons[Action.REJECT].setStyleSheet("QPushButton { color: #1b6b2f; font-weight: bold; }")
        self.set_keymap(self.keymap)

        pairs = QWidget()
        pairs_layout = QVBoxLayout(pairs)
        pairs_layout.setContentsMargins(0, 0, 0, 0)
        pairs_layout.addLayout(filters)
        pairs_layout.addWidget(self.table)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(pairs)
        left.addWidget(self.compare.metadata_panel)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)
        left.setSizes([500, 330])
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(actions)
        self.note.setPlaceholderText(NOTE_HINT)
        self.note.setClearButtonEnabled(True)
        self.note.returnPressed.connect(self.save_note)
        self.note.textEdited.connect(self._note_edited)
        self.note.installEventFilter(self)
        self.search.installEventFilter(self)
        right_layout.addWidget(self.note)
        right_layout.addWidget(self.compare)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([self.list_width(), 4 * self.list_width()])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

    def list_width(self) -> int:
        """The width the pair list needs to show every column up to the patient without a scroll bar."""
        columns = sum(self.table.columnWidth(c) for c in range(PATIENT + 1))
        return columns + self.table.verticalScrollBar().sizeHint().width() + 2 * self.table.frameWidth() + 4

    # ----- queue and filters -------------------------------------------------------------------------

    def set_queue(self, queue: ReviewQueue | None) -> None:
        """Show ``queue`` (``None``: no project), from its first pair."""
        self.queue = queue
        self._changes = []
        if queue is not None:
            queue.scores_hidden = self.scores_hidden
        self.null_scores = np.array(real_null_scores(queue.project) if queue else [], dtype=np.float64)
        self.live_fit = LiveFit(queue.project) if queue else None
        self.compare.set_project(queue.project if queue else None)
        read_only = queue is None or queue.project.read_only
        for action in (Action.ACCEPT, Action.REJECT, Action.UNSURE, Action.UNDO):
            self.buttons[action].setEnabled(not read_only)
        self.model.set_queue(queue)
        if queue is not None and self.second_read:
            queue.reload(self.current_filter(), second_read=True)
            queue.go_to(queue.first_undecided())
        elif queue is not None:
            queue.go_to(queue.first_undecided())
        self._show_mode()
        self._update_count()
        self.show_current()

    @property
    def fit(self) -> IsotonicFit | None:
        """The calibrated-probability fit of the project's labels as they are now."""
        return self.live_fit.fit if self.live_fit is not None else None

    @property
    def second_read(self) -> bool:
        """Whether the screen shows the blind second read (Show: Second read)."""
        return self.status.currentData() == "second_read"

    def current_filter(self) -> PairFilter:
        """The filter the controls describe (sort as last chosen)."""
        sort, descending = ("score", True)
        if self.queue is not None:
            sort, descending = self.queue.pair_filter.sort, self.queue.pair_filter.descending
        if self.status.currentData() == "audit":
            return PairFilter(text=self.search.text().strip(), sort="audit", max_score=self.threshold)
        if self.second_read:
            return PairFilter(status="decided", text=self.search.text().strip(), sort="audit")
        if sort == "audit":
            sort, descending = ("score", True)
        return PairFilter(
            status=self.status.currentData(),
            min_score=self.min_score.value() if self.use_min_score.isChecked() else None,
            text=self.search.text().strip(),
            sort=sort,
            descending=descending,
        )

    def apply_filter(self, pair_filter: PairFilter | None = None) -> None:
        """Reload the queue under the filter of the controls (or ``pair_filter``) and go to its first pair."""
        if self.queue is None:
            return
        self.search_timer.stop()
        self._searched = self.search.text().strip()
        self.queue.reload(pair_filter or self.current_filter(), second_read=self.second_read)
        self.queue.go_to(self.queue.first_undecided() if self.second_read else 0)
        self._show_mode()
        self.model.set_queue(self.queue)
        self._update_count()
        self.show_current()

    def _search_typed(self) -> None:
        """The file-name filter as typed, once typing pauses (the focus stays in the box)."""
        if self.search.text().strip() != self._searched:
            self.apply_filter()

    def _search_entered(self) -> None:
        """Enter in the file-name box: apply the filter now and give the keys back to the list."""
        self.search_timer.stop()
        self._search_typed()
        self.table.setFocus()

    def reload(self) -> None:
        """Read the pairs again with the same filter (after a scan), keeping the cursor where it can."""
        if self.queue is None:
            return
        index = self.queue.index
        self.queue.reload()
        self.model.set_queue(self.queue)
        self.queue.go_to(index)
        self._update_count()
        self.show_current()

    def _sort_requested(self, key: str, descending: bool) -> None:
        if self.queue is None:
            return
        current = self.queue.pair_filter
        if self.second_read:
            self.message.emit("The second read keeps its random order (an order by score or decision would tell)")
            return
        if (current.sort, current.descending) != (key, descending):
            self.apply_filter(replace(self.current_filter(), sort=key, descending=descending))

    def set_threshold(self, threshold: float, note: str, min_inliers: int | None = None) -> None:
        """The flag threshold in use and how it was set (``calibrated …`` or ``default, not calibrated``), and the
        inliers that flag a pair whatever its score (``None``: verification does not flag)."""
        self.threshold, self.threshold_note, self.min_inliers = threshold, note, min_inliers
        if not self.use_min_score.isChecked():
            self.min_score.setValue(threshold)
        self.model.set_threshold(threshold)
        self.compare.set_verdict(self._verdict(self.queue.current if self.queue else None))

    def set_scores_hidden(self, hidden: bool) -> None:
        """Blind review: hide every score (column, tooltips, score line, candidate strip, score filter) and
        record each decision as made with the score hidden; or show them again (not during a second read)."""
        self.scores_hidden = hidden
        if self.queue is not None:
            self.queue.scores_hidden = hidden
        self._show_mode()

    def _show_mode(self) -> None:
        """Hide the scores while they are to be hidden (blind review or a second read); the note field is off
        during a second read (a second read has no note) and in a read-only project."""
        hidden = self.scores_hidden or self.second_read
        read_only = self.queue is None or self.queue.project.read_only
        self.note.setEnabled(not read_only and not self.second_read)
        self.note.setPlaceholderText(NO_NOTE if self.second_read else NOTE_HINT)
        self.table.setColumnHidden(SCORE, hidden)
        self.table.setColumnHidden(INLIERS, hidden)
        self.model.set_scores_hidden(hidden)
        self.compare.set_scores_hidden(hidden)
        if hidden and self.use_min_score.isChecked():
            self.use_min_score.setChecked(False)
        for widget in (self.use_min_score, self.min_score):
            widget.setEnabled(not hidden)
            widget.setToolTip("Scores are hidden (blind review)" if hidden else "")
        self.compare.set_verdict(self._verdict(self.queue.current if self.queue else None))

    def _update_count(self) -> None:
        total = len(self.queue) if self.queue else 0
        self.count.setText(f"{total:,} pair{'s' if total != 1 else ''}")

    # ----- cursor --------------------------------------------------------------------------------------

    def show_current(self) -> None:
        """Select the queue's current row in the table and show its pair; a note typed for another pair and not
        saved is dropped, so it never lands on the wrong pair."""
        queue = self.queue
        current = queue.current if queue else None
        if self.note.text() and (current is None or current.candidate_id != self._note_pair):
            self.note.clear()
        if queue is not None and current is not None:
            self._moving = True
            index = self.model.index(queue.index, 0)
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )
            self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
            self._moving = False
            following = queue.rows.get(queue.index + 1) if queue.index + 1 < len(queue) else None
            self.compare.show_pair(current, following, self._verdict(current))
        else:
            self.compare.show_pair(None)

    def _verdict(self, row: PairRow | None) -> str:
        if row is None:
            return ""
        total = len(self.queue) if self.queue else 0
        position = f"pair {self.queue.index + 1:,} of {total:,}" if self.queue else ""
        if self.second_read:
            read = decision_text(row.decision)
            mine = f"<b>{read}</b>" if read else "not read again yet"
            return (
                f"<b>Second read</b> (blind: the pair's decision and score are hidden; your read never changes "
                f"the decision) · Your read: {mine} · {position}"
            )
        side = "at or above" if row.score >= self.threshold else "below"
        decision = decision_text(row.decision, row.kind)
        by = f" by {html.escape(row.reviewer)}" if row.reviewer else ""
        decided = f"<b>{decision}</b>{by}" if decision else "undecided"
        recorded = self.queue.project.decision(row.key) if decision and self.queue is not None else None
        if recorded is not None and recorded.note:
            decided += f" — note: “{html.escape(recorded.note)}”"
        if self.scores_hidden:
            return f"<b>Score hidden</b> (blind review) · Decision: {decided} · {position}"
        return (
            f"<b>Score {row.score:.3f}</b> (rank {row.rank} for this synthetic image) · {side} the threshold "
            f"{self.threshold:.3f} ({self.threshold_note}){self._verification_text(row)}"
            f"{self._null_text(row.score)}{self._probability_text(row.score)} · Decision: {decided} · {position}"
        )

    def _verification_text(self, row: PairRow) -> str:
        """The pair's matched keypoints, and whether they flag it whatever its score (:mod:`lcmem.verify.rule`)."""
        if row.inliers is None:
            return ""
        if is_verified(row.inliers, self.min_inliers):
            return f" · <b>{row.inliers} matched keypoints</b>: verified (≥ {self.min_inliers}), flagged"
        return f" · {row.inliers} matched keypoints"

    def _null_text(self, score: float) -> str:
        """Where the score lies among the scan's real→real nearest-other scores (ANCHORS §5)."""
        fraction = null_fraction_below(self.null_scores, score)
        if fraction is None:
            return ""
        if fraction == 1.0:
            return f" · closer than any real image is to its nearest other real image ({self.null_scores.size:,})"
        return f" · closer than {100 * fraction:.1f} % of real images are to their nearest other real image"

    def _probability_text(self, score: float) -> str:
        """The score's calibrated probability on this project's labels, with the counts behind it."""
        if self.fit is None:
            return ""
        band = self.fit.band(score)
        outside = "" if self.fit.covers(score) else ", nearest band"
        return (
            f" · P(memorized) {band.rate:.2f} on the labels ({band.memorized} of {band.labelled} at "
            f"{band.low:.3f}–{band.high:.3f}{outside})"
        )

    def _row_chosen(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._moving or self.queue is None or not current.isValid():
            return
        self.queue.go_to(current.row())
        self.show_current()

    def _candidate_chosen(self, row: PairRow) -> None:
        if self.queue is None:
            return
        index = self.queue.rows.index_of(row.candidate_id)
        if index is None:
            self.message.emit("That candidate is hidden by the current filter; choose 'All pairs' to review it")
            return
        self.queue.go_to(index)
        self.show_current()

    # ----- actions ---------------------------------------------------------------------------------------

    def trigger(self, action: Action) -> None:
        """Do what a key or button asks."""
        if action in (Action.ACCEPT, Action.REJECT, Action.UNSURE):
            self.decide(action.value)
        elif action in (Action.ACCEPT_COPY, Action.ACCEPT_PATIENT):
            self.decide("accept", kind="copy" if action is Action.ACCEPT_COPY else "patient")
        elif action is Action.SKIP:
            self._move(lambda q: q.skip())
        elif action is Action.NEXT:
            self._move(lambda q: q.next())
        elif action is Action.PREVIOUS:
            self._move(lambda q: q.previous())
        elif action is Action.UNDO:
            self.undo()
        elif action is Action.HELP:
            self.keys_dialog.setVisible(not self.keys_dialog.isVisible())
        elif action is Action.NOTE:
            self.note.setFocus()
            self.note.selectAll()
        else:
            self._view_action(action)

    def _view_action(self, action: Action) -> None:
        if action in PRESET_ACTIONS:
            self.compare.apply_preset(PRESET_ACTIONS.index(action) + 1)
        elif action is Action.FILE_WINDOW:
            self.compare.file_window()
        elif action is Action.DIFFERENCE:
            self.compare.toggle_difference()
        elif action is Action.LINK:
            self.compare.toggle_link()
        elif action is Action.LOUPE:
            self.compare.toggle_loupe()
        elif action is Action.MATCHES:
            self.compare.toggle_matches()
        elif action is Action.FIT:
            self.compare.fit()
        elif action is Action.FLICKER:
            self.compare.set_flicker(True)

    def _move(self, step: Callable[[ReviewQueue], object]) -> None:
        if self.queue is None or not len(self.queue):
            return
        step(self.queue)
        self.show_current()

    def decide(self, decision: str, kind: str | None = None) -> None:
        """Record ``decision`` (and an accepted pair's ``kind``) on the current pair, with the note field's text
        (or, when it is empty, the note the pair's decision already had), and move to the next one."""
        current = self.queue.current if self.queue is not None else None
        if self.queue is None or current is None:
            return
        index = self.queue.index
        try:
            self.queue.decide(decision, note=self.note.text().strip(), kind=kind)
        except ProjectError as exc:
            self.message.emit(str(exc))
            return
        self.note.clear()
        self.model.row_changed(index)
        if not self.queue.second_read and self.live_fit is not None:
            self.live_fit.update(current.key, current.score, decision)
        self.show_current()
        if self.queue.second_read:
            self._changes.append(None)
            return
        self._changes.append((current, current.decision or "", decision))
        self.decided.emit(current.decision or "", decision)

    def _note_edited(self, _text: str) -> None:
        current = self.queue.current if self.queue is not None else None
        self._note_pair = current.candidate_id if current is not None else None

    def save_note(self) -> None:
        """Enter in the note field: put the note on the current pair if it is decided (else it waits for the
        next decision); then back to the table."""
        current = self.queue.current if self.queue is not None else None
        if self.queue is not None and current is not None and current.decision is not None:
            try:
                self.queue.annotate(self.note.text().strip())
            except ProjectError as exc:
                self.message.emit(str(exc))
                return
            self.note.clear()
            self.model.row_changed(self.queue.index)
            self.compare.set_verdict(self._verdict(self.queue.current))
            self.message.emit("Note saved with the decision")
        else:
            self.message.emit("The note will be saved with your decision on this pair")
        self.table.setFocus()

    def undo(self) -> None:
        """Undo the last decision of this session."""
        if self.queue is None or not self.queue.can_undo:
            self.message.emit("Nothing to undo")
            return
        try:
            self.queue.undo()
        except ProjectError as exc:
            self.message.emit(str(exc))
            return
        change = self._changes.pop() if self._changes else None
        if change is not None and self.live_fit is not None:
            row, before, _after = change
            self.live_fit.update(row.key, row.score, before or None)
        self.model.row_changed(self.queue.index)
        self.show_current()
        if change is not None:
            self.decided.emit(change[2], change[1])

    # ----- keys ------------------------------------------------------------------------------------------

    def set_keymap(self, keymap: Keymap) -> None:
        """Use ``keymap`` for keys, and show its keys on the buttons and in the cheat sheet."""
        self.keymap = keymap
        for action, button in self.buttons.items():
            label = keymap.label_of(action)
            button.setText(f"{BUTTONS[action]}  {label.split(' / ')[0]}")
            button.setToolTip(f"{action.value.capitalize()} ({label})")
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 18)
        self.keys_dialog.text.setHtml(keymap.cheat_sheet_html())

    def handle_key(self, event: QKeyEvent) -> bool:
        """Act on a key press or release from the keymap; return whether it was used."""
        action = self.keymap.action_for(event)
        if action is None:
            return False
        if event.type() == QEvent.Type.KeyRelease:
            if action is Action.FLICKER and not event.isAutoRepeat():
                self.compare.set_flicker(False)
                return True
            return action is Action.FLICKER
        if event.isAutoRepeat() and action in TOGGLES:
            return True
        self.trigger(action)
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Keys from the keymap; anything else goes to Qt."""
        if not self.handle_key(event):
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        """Releasing F ends the flicker."""
        if not self.handle_key(event):
            super().keyReleaseEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Take keymap keys from the table, the panes and the "Show" and "Score ≥" choices before they use them
        (e.g. a type-ahead); the note and file-name fields keep their keys, except Esc, which goes back to the
        table (the file name applied first)."""
        if watched in (self.note, self.search):
            if (
                event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)
                and event.key() == Qt.Key.Key_Escape
            ):
                if watched is self.search:
                    self._search_entered()
                self.table.setFocus()
                return True
            return super().eventFilter(watched, event)
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and isinstance(event, QKeyEvent):
            return self.handle_key(event)
        return super().eventFilter(watched, event)
