"""The sources screen: the real and synthetic folders (only ever read), item counts, and every file the last
scan could not read, with the reason a person can act on."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lcmem.errors import ProjectError
from lcmem.store.project import Project
from lcmem.store.queries import count_images, current_scan_id, list_problems

logger = logging.getLogger(__name__)

ROLE_TITLES = {"real": "Real training images", "synthetic": "Synthetic images"}
PROBLEM_KINDS = {
    "ImageReadError": "unreadable",
    "UnsupportedImageError": "unsupported",
    "ImageTooLargeError": "too large",
    "FolderError": "folder not readable",
    "SymlinkLoop": "link loop",
}


class SourcesPanel(QWidget):
    """Folders per role with counts, buttons to add folders, and the unreadable files.

    Signals:
        sourcesChanged(): a folder was added (a new scan is needed to include it).
        message(str): a short text for the status bar.
    """

    sourcesChanged = Signal()
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.lists = {role: QListWidget() for role in ROLE_TITLES}
        self.counts = {role: QLabel() for role in ROLE_TITLES}
        self.add_buttons = {role: QPushButton("Add folder…") for role in ROLE_TITLES}
        self.problems = QTableWidget(0, 3)
        self.problems_title = QLabel()
        self.note = QLabel()
        self._build()

    def _build(self) -> None:
        columns = QHBoxLayout()
        for role, title in ROLE_TITLES.items():
            box = QGroupBox(title)
            layout = QVBoxLayout(box)
            layout.addWidget(self.counts[role])
            self.lists[role].setMaximumHeight(120)
            layout.addWidget(self.lists[role])
            self.add_buttons[role].clicked.connect(lambda _c=False, r=role: self.choose_folder(r))
            layout.addWidget(self.add_buttons[role], 0, Qt.AlignmentFlag.AlignLeft)
            columns.addWidget(box)
        self.problems.setHorizontalHeaderLabels(["File", "Problem", "Why it could not be read"])
        self.problems.verticalHeader().setVisible(False)
        self.problems.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.problems.setWordWrap(False)
        header = self.problems.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.problems.setColumnWidth(0, 420)
        self.note.setWordWrap(True)
        self.note.setText(
            "Source folders are read recursively (PNG, JPEG, TIFF, BMP, WebP, DICOM) and never written to. "
            "Decisions are keyed by file content, so moving or renaming files keeps every label."
        )
        layout = QVBoxLayout(self)
        layout.addLayout(columns)
        layout.addWidget(self.note)
        layout.addWidget(self.problems_title)
        layout.addWidget(self.problems, 1)

    def set_project(self, project: Project | None) -> None:
        """Show ``project``'s sources."""
        self.project = project
        self.refresh()

    def refresh(self) -> None:
        """Read folders, counts and problems again."""
        project = self.project
        scanned = project is not None and current_scan_id(project) is not None
        for role in ROLE_TITLES:
            folders = [s.path for s in project.sources(role)] if project is not None else []
            self.lists[role].clear()
            self.lists[role].addItems(folders)
            count = count_images(project, role) if project is not None and scanned else 0
            plural = "s" if len(folders) != 1 else ""
            if scanned:
                self.counts[role].setText(f"<b>{count:,}</b> images (frames counted) in {len(folders)} folder{plural}")
            else:
                self.counts[role].setText(f"{len(folders)} folder{plural}; not scanned yet")
            self.add_buttons[role].setEnabled(project is not None and not project.read_only)
        problems = list_problems(project) if project is not None else []
        self.problems_title.setText(
            f"<b>Files that could not be read: {len(problems)}</b>" + (" (last finished scan)" if scanned else "")
        )
        self.problems.setRowCount(len(problems))
        for row, problem in enumerate(problems):
            kind = PROBLEM_KINDS.get(problem.kind, problem.kind)
            for column, text in enumerate((problem.path, kind, problem.reason)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.problems.setItem(row, column, item)

    def choose_folder(self, role: str) -> None:
        """Ask for a folder and add it as a source of ``role``."""
        chosen = QFileDialog.getExistingDirectory(self, f"Add a folder of {ROLE_TITLES[role].lower()}")
        if chosen:
            self.add_folder(role, Path(chosen))

    def add_folder(self, role: str, folder: Path) -> bool:
        """Add ``folder`` as a source of ``role``; return whether it was added."""
        if self.project is None:
            return False
        try:
            self.project.add_source(role, folder)
        except ProjectError as exc:
            self.message.emit(str(exc))
            return False
        self.refresh()
        self.message.emit(f"Added a {role} folder: scan again to include it")
        self.sourcesChanged.emit()
        return True
