"""The compare view: real image left, synthetic right, linked zoom/pan and window/level, flicker, difference,
a magnifier loupe at the same place on both images, the metadata of both with differences highlighted, and the
synthetic image's top-k real candidates.

The view renders a pair it is given and reports what the user picks; the review screen owns the queue.
Windows (W/L) persist from pair to pair, so a reviewer who chose the lung preset keeps it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.image_canvas import ImageCanvas
from app.image_loader import ImageKey, ImageLoader, ShownImage
from app.qimage import DIFFERENCE_GAIN, heat_qimage
from app.thumbnails import ThumbnailProvider, scaled
from lcmem.io.types import FileWindow
from lcmem.review.compare import (
    WINDOW_PRESETS,
    describe_window,
    difference_image,
    drag_window,
    has_window,
    metadata_fields,
    pair_matches,
    unshown_text,
)
from lcmem.store.project import Project
from lcmem.store.queries import synthetic_candidates
from lcmem.store.types import PairRow

logger = logging.getLogger(__name__)

REAL, SYNTHETIC = "real", "synthetic"
SLOTS = (REAL, SYNTHETIC)
STRIP_ICON = 84
DIFF_BRUSH = QBrush(QColor(255, 214, 102))


class CompareView(QWidget):
    """Two linked :class:`ImageCanvas` panes over one pair, the score line and the candidate strip; the
    metadata comparison is :attr:`metadata_panel`, for the review screen to place.

    Signals:
        candidateChosen(PairRow): the user clicked another real candidate of this synthetic image.
        message(str): a short status text for the status bar.
    """

    candidateChosen = Signal(object)
    message = Signal(str)

    def __init__(self, loader: ImageLoader, thumbnails: ThumbnailProvider | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.loader = loader
        self.thumbnails = thumbnails
        self.project: Project | None = None
        self.pair: PairRow | None = None
        self.linked = True
        self.flicker = False
        self.difference = False
        self.loupe = False
        self.matches = False
        self.scores_hidden = False
        self.windows: dict[str, tuple[float, float] | None] = {REAL: None, SYNTHETIC: None}
        self.preset_names: dict[str, str | None] = {REAL: None, SYNTHETIC: None}
        self.file_choice = {REAL: 0, SYNTHETIC: 0}
        self.shown: dict[str, ShownImage | None] = {REAL: None, SYNTHETIC: None}
        self._fit_next: set[str] = set()
        self._syncing = False
        self._strip_rows: list[PairRow] = []
        self.canvases = {REAL: ImageCanvas("REAL"), SYNTHETIC: ImageCanvas("SYNTHETIC")}
        self.canvases[REAL].accent = QColor(120, 200, 255)
        self.canvases[SYNTHETIC].accent = QColor(255, 170, 120)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.strip = QListWidget()
        self.metadata = QTableWidget(0, 3)
        self._build()
        loader.loaded.connect(self._loaded)
        loader.failed.connect(self._failed)
        if thumbnails is not None:
            thumbnails.ready.connect(lambda _key: self._refresh_strip_icons())
        self.show_pair(None)

    def _build(self) -> None:
        panes = QSplitter(Qt.Orientation.Horizontal)
        for slot in SLOTS:
            canvas = self.canvases[slot]
            canvas.viewChanged.connect(lambda s=slot: self._view_changed(s))
            canvas.windowDragged.connect(lambda dx, dy, s=slot: self.drag_window(s, dx, dy))
            canvas.fitRequested.connect(self.fit)
            canvas.pointerMoved.connect(lambda fx, fy, s=slot: self._pointer_moved(s, fx, fy))
            panes.addWidget(canvas)
        self.strip.setViewMode(QListView.ViewMode.IconMode)
        self.strip.setFlow(QListView.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setIconSize(QSize(STRIP_ICON, STRIP_ICON))
        self.strip.setFixedHeight(STRIP_ICON + 44)
        self.strip.setMovement(QListView.Movement.Static)
        self.strip.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.strip.setSpacing(2)
        self.strip.itemClicked.connect(self._strip_clicked)
        self.strip.setToolTip("The synthetic image's top-k real candidates, best first; click one to review it")
        self.metadata.setHorizontalHeaderLabels(["", "Real", "Synthetic"])
        self.metadata.verticalHeader().setVisible(False)
        self.metadata.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.metadata.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.metadata.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.metadata.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.metadata.verticalHeader().setDefaultSectionSize(20)
        self.metadata.setWordWrap(False)
        self.metadata.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        strip_title = QLabel("<b>Top-k real candidates of this synthetic image</b> (click one to review it)")
        meta_title = QLabel("<b>Metadata</b> <span style='color:#8a6d00'>(differences highlighted)</span>")
        self.metadata_panel = QWidget()
        meta_layout = QVBoxLayout(self.metadata_panel)
        meta_layout.setContentsMargins(0, 0, 0, 0)
        meta_layout.addWidget(meta_title)
        meta_layout.addWidget(self.metadata)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(panes, 1)
        layout.addWidget(self.info)
        layout.addWidget(strip_title)
        layout.addWidget(self.strip)

    def set_project(self, project: Project | None) -> None:
        """The project whose candidates the strip lists."""
        self.project = project

    # ----- showing a pair -------------------------------------------------------------------------------

    def show_pair(self, pair: PairRow | None, following: PairRow | None = None, verdict: str = "") -> None:
        """Show ``pair`` (``None``: an empty view) and prefetch ``following``; ``verdict`` is the score line."""
        same = pair is not None and self.pair is not None and pair.candidate_id == self.pair.candidate_id
        self.pair = pair
        self.info.setText(verdict)
        if pair is None:
            for slot in SLOTS:
                self.shown[slot] = None
                self.canvases[slot].set_image(None)
                self.canvases[slot].set_texts(caption="", window="", message="No pair to show")
            self.metadata.setRowCount(0)
            self.strip.clear()
            self._strip_rows = []
            self._show_matches()
            return
        if not same:
            self._fit_next = set(SLOTS)
            for slot in SLOTS:
                if self.file_choice[slot]:
                    self.windows[slot], self.preset_names[slot], self.file_choice[slot] = None, None, 0
                self.shown[slot] = None
                self.canvases[slot].set_texts(caption=Path(self._path(slot, pair)).name, message="")
            self._refresh_strip()
            self._show_matches()
        self._request(REAL)
        self._request(SYNTHETIC)
        if following is not None:
            for slot in SLOTS:
                self.loader.prefetch(self._key(slot, following))

    def set_scores_hidden(self, hidden: bool) -> None:
        """Show the candidate strip without scores (blind review) or with them."""
        self.scores_hidden = hidden
        self._refresh_strip()

    def set_verdict(self, verdict: str) -> None:
        """Replace the score line (after a decision or a new threshold)."""
        self.info.setText(verdict)

    @staticmethod
    def _path(slot: str, pair: PairRow) -> str:
        return pair.real_path if slot == REAL else pair.synthetic_path

    def _key(self, slot: str, pair: PairRow) -> ImageKey:
        frame = pair.key.real_frame if slot == REAL else pair.key.synthetic_frame
        return ImageKey(self._path(slot, pair), frame, self.windows[slot])

    def _request(self, slot: str) -> None:
        if self.pair is None:
            return
        if self.shown[slot] is None:
            self.canvases[slot].set_texts(message="loading…")
        self.loader.request(slot, self._key(slot, self.pair))

    def _matches(self, slot: str, key: ImageKey) -> bool:
        if self.pair is None:
            return False
        current = self._key(slot, self.pair)
        return key.path == current.path and key.frame == current.frame

    def _loaded(self, slot: str, shown: ShownImage) -> None:
        if slot not in SLOTS or not self._matches(slot, shown.key):
            return
        self.shown[slot] = shown
        fit = slot in self._fit_next
        self._fit_next.discard(slot)
        self._render(slot, fit=fit)
        if slot == REAL:
            self._render(SYNTHETIC, fit=False)
        self._refresh_metadata()

    def _failed(self, slot: str, key: ImageKey, message: str) -> None:
        if slot not in SLOTS or not self._matches(slot, key):
            return
        self.shown[slot] = None
        self.canvases[slot].set_image(None)
        self.canvases[slot].set_texts(window="", message=unshown_text(key.path, message))

    # ----- what each pane draws --------------------------------------------------------------------------

    def _render(self, slot: str, *, fit: bool) -> None:
        canvas = self.canvases[slot]
        shown = self.shown[slot]
        if slot == SYNTHETIC and self.flicker and self.shown[REAL] is not None:
            real = self.shown[REAL]
            canvas.set_image(real.qimage, fit=fit)
            canvas.set_texts(caption="showing the REAL image (flicker)", window=self._window_line(REAL))
            return
        if slot == SYNTHETIC and self.difference and shown is not None and self.shown[REAL] is not None:
            diff = difference_image(self.shown[REAL].loaded.pixels, shown.loaded.pixels)
            canvas.set_image(heat_qimage(diff), fit=fit)
            canvas.set_texts(
                caption=f"|synthetic − real| × {DIFFERENCE_GAIN:g} · max {float(np.max(diff)):.3f} · "
                f"mean {float(np.mean(diff)):.3f}",
                window=self._window_line(SYNTHETIC),
            )
            return
        if shown is None:
            return
        canvas.set_image(shown.qimage, fit=fit)
        canvas.set_texts(caption=Path(shown.key.path).name, window=self._window_line(slot))

    def _window_line(self, slot: str) -> str:
        shown = self.shown[slot]
        if shown is None:
            return ""
        meta = shown.loaded.meta
        return describe_window(meta, self.preset_names[slot] if meta.window_source == "override" else None)

    def _rerender(self) -> None:
        for slot in SLOTS:
            self._render(slot, fit=False)

    # ----- window / level ------------------------------------------------------------------------------

    def _targets(self, slot: str) -> tuple[str, ...]:
        return SLOTS if self.linked else (slot,)

    def set_window(self, window: tuple[float, float] | None, name: str | None, slot: str = SYNTHETIC) -> None:
        """Set the window (``None``: each file's own) on ``slot``, or on both panes while linked."""
        for target in self._targets(slot):
            self._set_pane_window(target, window, name, 0)

    def _set_pane_window(self, slot: str, window: tuple[float, float] | None, name: str | None, choice: int) -> None:
        self.windows[slot] = window
        self.preset_names[slot] = name
        self.file_choice[slot] = choice
        self._request(slot)

    def apply_preset(self, number: int) -> None:
        """Window preset ``number`` (1-5, ANCHORS §3.2)."""
        preset = WINDOW_PRESETS[number - 1]
        if not any(s is not None and has_window(s.loaded.meta) for s in self.shown.values()):
            self.message.emit("Window presets apply to monochrome DICOM images; this pair has none")
        self.set_window(preset.window, preset.name)

    def file_window(self) -> None:
        """Back to each file's own window; pressed again, the files' other Window Center/Width values in turn
        (each pane its own file's n-th), then the own window again."""
        targets = self._targets(SYNTHETIC)
        alternatives = {t: self._alternatives(t) for t in targets}
        most = max((len(a) for a in alternatives.values()), default=0)
        on_file = all(self.windows[t] is None or self.file_choice[t] for t in targets)
        choice = (max(self.file_choice[t] for t in targets) + 1) % (most + 1) if on_file and most else 0
        for target in targets:
            own = alternatives[target]
            if 0 < choice <= len(own):
                chosen = own[choice - 1]
                name = f"file window {chosen.number}" + (f" {chosen.explanation}" if chosen.explanation else "")
                self._set_pane_window(target, (chosen.center, chosen.width), name, choice)
            else:
                self._set_pane_window(target, None, None, choice)
        if on_file and not most:
            self.message.emit("Each file's own window; these files hold no other Window Center/Width")
        elif choice:
            self.message.emit(f"The files' other windows: {choice} of {most} (0 again for the next)")

    def _alternatives(self, slot: str) -> tuple[FileWindow, ...]:
        shown = self.shown[slot]
        return shown.loaded.meta.alternative_windows if shown is not None else ()

    def drag_window(self, slot: str, dx: float, dy: float) -> None:
        """Change the window by a right-drag of ``(dx, dy)`` pixels on ``slot``."""
        shown = self.shown[slot]
        if shown is None or not has_window(shown.loaded.meta):
            self.message.emit("Window/level applies to monochrome DICOM images only")
            return
        base = self.windows[slot] or shown.loaded.meta.window
        if base is None:
            return
        self.set_window(drag_window(base, dx, dy), "custom", slot)

    # ----- zoom, pan, link, flicker, difference, loupe ----------------------------------------------------

    def _view_changed(self, slot: str) -> None:
        if not self.linked or self._syncing:
            return
        self._syncing = True
        state = self.canvases[slot].view_state()
        for other in SLOTS:
            if other != slot:
                self.canvases[other].apply_view_state(state)
        self._syncing = False

    def fit(self) -> None:
        """Fit both images to their panes."""
        for canvas in self.canvases.values():
            canvas.fit()

    def toggle_link(self) -> None:
        """Link or unlink zoom, pan and window/level of the two panes."""
        self.linked = not self.linked
        if self.linked:
            self.windows[SYNTHETIC] = self.windows[REAL]
            self.preset_names[SYNTHETIC] = self.preset_names[REAL]
            self._request(SYNTHETIC)
            self._view_changed(REAL)
        self.message.emit("Panes linked" if self.linked else "Panes unlinked: zoom, pan and W/L are separate")

    def set_flicker(self, on: bool) -> None:
        """While on, the synthetic pane shows the real image (hold F)."""
        if on != self.flicker:
            self.flicker = on
            self._render(SYNTHETIC, fit=False)

    def toggle_loupe(self) -> None:
        """Show or hide the magnifier loupe under the mouse (on both panes while they are linked)."""
        self.loupe = not self.loupe
        for canvas in self.canvases.values():
            canvas.set_loupe(self.loupe)
        self.message.emit("Loupe on: move the mouse over an image" if self.loupe else "Loupe off")

    def _pointer_moved(self, slot: str, fx: float, fy: float) -> None:
        at = (fx, fy) if fx >= 0 and fy >= 0 else None
        for other in SLOTS:
            self.canvases[other].show_loupe(at if other == slot or self.linked else None)

    def toggle_matches(self) -> None:
        """Draw or hide the keypoints that geometric verification matched (its inliers) on both images."""
        if self.scores_hidden and not self.matches:
            self.message.emit("Geometric matches are evidence like the score: hidden while scores are hidden")
            return
        self.matches = not self.matches
        self._show_matches()

    def _show_matches(self) -> None:
        """Mark the pair's inliers (numbered alike on both panes) while :attr:`matches` is on."""
        if not self.matches or self.pair is None:
            for canvas in self.canvases.values():
                canvas.set_marks(None)
            return
        found = pair_matches(self.pair)
        self.canvases[REAL].set_marks(found.real_points)
        self.canvases[SYNTHETIC].set_marks(found.synthetic_points)
        if found.transform is None:
            self.message.emit(
                "Geometric matches: none (no rotation, scale and shift brings keypoints together across the image; "
                "matches on a few small places, such as a side marker, do not count)"
            )
        else:
            self.message.emit(f"Geometric matches: {found.inliers} inliers · {found.transform.summary()}")

    def toggle_difference(self) -> None:
        """Show or hide the difference overlay in the synthetic pane."""
        self.difference = not self.difference
        self._render(SYNTHETIC, fit=False)

    # ----- metadata and candidate strip -----------------------------------------------------------------

    def _refresh_metadata(self) -> None:
        real, synthetic = self.shown[REAL], self.shown[SYNTHETIC]
        if real is None or synthetic is None or self.pair is None:
            return
        fields = metadata_fields(
            real.loaded.meta,
            synthetic.loaded.meta,
            real_sha256=self.pair.key.real_sha256,
            synthetic_sha256=self.pair.key.synthetic_sha256,
            real_patient=self.pair.real_patient,
            synthetic_patient=self.pair.synthetic_patient,
        )
        self.metadata.setRowCount(len(fields))
        bold = QFont(self.font())
        bold.setBold(True)
        for row, field in enumerate(fields):
            for column, text in enumerate((field.label, field.real, field.synthetic)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if field.differs and column > 0:
                    item.setBackground(DIFF_BRUSH)
                    item.setFont(bold)
                self.metadata.setItem(row, column, item)

    def _refresh_strip(self) -> None:
        self.strip.clear()
        self._strip_rows = synthetic_candidates(self.project, self.pair) if self.project and self.pair else []
        for row in self._strip_rows:
            hidden = self.scores_hidden
            item = QListWidgetItem(f"#{row.rank}" + ("" if hidden else f"  {row.score:.3f}"))
            tip = f"{Path(row.real_path).name}\nrank {row.rank}" + ("" if hidden else f", score {row.score:.4f}")
            item.setToolTip(tip)
            item.setSizeHint(QSize(STRIP_ICON + 16, STRIP_ICON + 36))
            if self.pair is not None and row.candidate_id == self.pair.candidate_id:
                item.setBackground(QColor(255, 170, 120, 90))
            self.strip.addItem(item)
        self._refresh_strip_icons()

    def _refresh_strip_icons(self) -> None:
        if self.thumbnails is None:
            return
        for number, row in enumerate(self._strip_rows):
            item = self.strip.item(number)
            if item is None or not item.icon().isNull():
                continue
            image = self.thumbnails.image(row.real_path, row.key.real_sha256, row.key.real_frame)
            if image is not None:
                item.setIcon(QIcon(QPixmap.fromImage(scaled(image, STRIP_ICON))))

    def _strip_clicked(self, item: QListWidgetItem) -> None:
        row = self.strip.row(item)
        if 0 <= row < len(self._strip_rows):
            self.candidateChosen.emit(self._strip_rows[row])
