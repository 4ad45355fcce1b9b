"""The new-project dialog: where the project file goes, and its real and synthetic folders."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

logger = logging.getLogger(__name__)


class FolderList(QGroupBox):
    """A titled list of folders with Add and Remove buttons."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.list = QListWidget()
        add, remove = QPushButton("Add folder…"), QPushButton("Remove")
        add.clicked.connect(self._add)
        remove.clicked.connect(self._remove)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)

    def _add(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, self.title())
        if chosen:
            self.add(Path(chosen))

    def _remove(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))

    def add(self, folder: Path) -> None:
        """Add a folder (once)."""
        if str(folder) not in self.folders_text():
            self.list.addItem(str(folder))

    def folders_text(self) -> list[str]:
        """The folders as text."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def folders(self) -> list[Path]:
        """The folders."""
        return [Path(t) for t in self.folders_text()]


class NewProjectDialog(QDialog):
    """Collects the project file and its folders; the main window creates the project."""

    def __init__(self, start_folder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New review project")
        default = Path(start_folder or Path.home()) / "review.lcmem"
        self.path = QLineEdit(str(default))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.real = FolderList("Real training images (read only, searched recursively), or one prebuilt index folder")
        self.synthetic = FolderList("Synthetic images (read only, searched recursively)")
        self.scan_now = QCheckBox("Scan as soon as the project is created")
        self.scan_now.setChecked(True)
        self.error = QLabel()
        self.error.setStyleSheet("color: #a1121e;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        buttons.accepted.connect(self._check_and_accept)
        buttons.rejected.connect(self.reject)
        where = QHBoxLayout()
        where.addWidget(QLabel("Project file:"))
        where.addWidget(self.path, 1)
        where.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.addLayout(where)
        layout.addWidget(self.real)
        layout.addWidget(self.synthetic)
        layout.addWidget(self.scan_now)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(720, 520)

    def _browse(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "New project file", self.path.text(), "Review projects (*.lcmem)")
        if chosen:
            self.path.setText(chosen if chosen.endswith(".lcmem") else chosen + ".lcmem")

    def project_path(self) -> Path:
        """The project file chosen."""
        text = self.path.text().strip()
        return Path(text if text.endswith(".lcmem") else text + ".lcmem")

    def problem(self) -> str:
        """What is missing or wrong, or ``""``."""
        if self.project_path().exists():
            return f"{self.project_path()} already exists: open it, or choose another name."
        if not self.real.folders() or not self.synthetic.folders():
            return "Add at least one real and one synthetic folder."
        missing = [str(f) for f in (*self.real.folders(), *self.synthetic.folders()) if not f.is_dir()]
        return f"Not a folder: {', '.join(missing)}" if missing else ""

    def _check_and_accept(self) -> None:
        problem = self.problem()
        if problem:
            self.error.setText(problem)
            return
        self.accept()
