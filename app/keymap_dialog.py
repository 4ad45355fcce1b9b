"""Review ▸ Keyboard shortcuts…: give any review action other keys, checked for clashes before they are kept."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.keys import DEFAULT_KEYMAP, Action, Keymap, KeymapError

PORTABLE = QKeySequence.SequenceFormat.PortableText


class KeymapDialog(QDialog):
    """One row per action: what it does and its keys, recorded by pressing them (up to four alternatives).

    Args:
        keymap: the keys in use.
        reserved: menu shortcuts (key → menu item), refused here.
    """

    def __init__(self, keymap: Keymap, reserved: Mapping[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.reserved = dict(reserved)
        self.table = QTableWidget(len(DEFAULT_KEYMAP), 2)
        self.editors: dict[Action, QKeySequenceEdit] = {}
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #a1121e;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.defaults = QPushButton("Restore defaults")
        self.buttons.addButton(self.defaults, QDialogButtonBox.ButtonRole.ResetRole)
        self.save_file = QPushButton("Save to file…")
        self.load_file = QPushButton("Load from file…")
        for button in (self.save_file, self.load_file):
            self.buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self._keymap: Keymap = keymap
        self._build(keymap)

    def _build(self, keymap: Keymap) -> None:
        self.table.setHorizontalHeaderLabels(["Action", "Keys (click, then press up to four keys)"])
        self.table.verticalHeader().hide()
        for row, binding in enumerate(DEFAULT_KEYMAP):
            item = QTableWidgetItem(binding.description)
            item.setToolTip(f"Default: {', '.join(binding.keys)}")
            self.table.setItem(row, 0, item)
            editor = QKeySequenceEdit(QKeySequence(", ".join(keymap.keys(binding.action)), PORTABLE))
            editor.setClearButtonEnabled(True)
            editor.keySequenceChanged.connect(lambda _s: self._check())
            self.table.setCellWidget(row, 1, editor)
            self.editors[binding.action] = editor
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        note = QLabel("Keys work on the review screen. Keys the menus use (Ctrl+E, Ctrl+1, …) cannot be taken.")
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.defaults.clicked.connect(self.restore_defaults)
        self.save_file.clicked.connect(self._choose_save_path)
        self.load_file.clicked.connect(self._choose_load_path)
        self.resize(760, 640)

    def set_keys(self, action: Action, keys: str) -> None:
        """Put ``keys`` (portable text, "S, Space") in ``action``'s editor, as if pressed."""
        self.editors[action].setKeySequence(QKeySequence(keys, PORTABLE))

    def save_to(self, path: Path) -> bool:
        """Write the keys as the dialog shows them to a keys file (to share a site's keys); ``False`` if they are
        not valid or the file cannot be written (the reason is shown)."""
        if not self._check():
            return False
        try:
            path.write_text(self._keymap.to_file_text(), encoding="utf-8")
        except OSError as error:
            self.problem.setText(f"Cannot write {path}: {error.strerror or error}")
            return False
        return True

    def load_from(self, path: Path) -> bool:
        """Put a keys file's keys in the editors (kept only on OK); ``False`` with the reason shown if the file
        cannot be read or its keys are not valid here."""
        try:
            keymap = Keymap.from_file_text(path.read_text(encoding="utf-8"), self.reserved)
        except (OSError, UnicodeDecodeError, KeymapError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            self.problem.setText(f"Cannot load {path.name}: {reason}")
            return False
        for binding in DEFAULT_KEYMAP:
            self.set_keys(binding.action, ", ".join(keymap.keys(binding.action)))
        return self._check()

    def _choose_save_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save keys", "review-keys.json", "Keys files (*.json)")
        if path:
            self.save_to(Path(path))

    def _choose_load_path(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load keys", "", "Keys files (*.json)")
        if path:
            self.load_from(Path(path))

    def restore_defaults(self) -> None:
        """Every action back to its default keys (kept only on OK)."""
        for binding in DEFAULT_KEYMAP:
            self.set_keys(binding.action, ", ".join(binding.keys))

    def _check(self) -> bool:
        try:
            changes = {action: tuple(k.toString(PORTABLE) for k in _combinations(editor.keySequence()))
                       for action, editor in self.editors.items()}  # fmt: skip
            self._keymap = Keymap(changes, self.reserved)
        except KeymapError as error:
            self.problem.setText(str(error))
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            return False
        self.problem.clear()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        return True

    def accept(self) -> None:
        """Keep the keys only if they are valid as the editors show them now (a key still being recorded too)."""
        if self._check():
            super().accept()

    def keymap(self) -> Keymap:
        """The keys as the dialog shows them (valid whenever OK is enabled)."""
        return self._keymap


def _combinations(sequence: QKeySequence) -> list[QKeySequence]:
    return [QKeySequence(sequence[i]) for i in range(sequence.count())]
