"""The start screen: new project, open a project, recent projects, and the demo project for a first look."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

logger = logging.getLogger(__name__)

STEPS = (
    "<h3>How a review goes</h3><ol>"
    "<li><b>Scan</b> the project: every image is embedded once (cached by content) and each synthetic image gets "
    "its top-k most similar real images, scored exactly.</li>"
    "<li><b>Review</b> the pairs, best first: <b>A</b> memorized, <b>R</b> not a match, <b>S</b> skip, <b>U</b> "
    "undo, <b>←/→</b> move; <b>1–5</b> window presets, hold <b>F</b> to flicker, <b>D</b> for the difference, "
    "<b>?</b> for every key. Each label is on disk before the next pair shows.</li>"
    "<li><b>Calibrate</b>: from your labels, choose the threshold by the recall (or precision) you need.</li>"
    "<li><b>Export</b> the flagged pairs as CSV, with the threshold card beside it.</li></ol>"
)

INTRO = (
    "<p>LCMem Review finds training images that a generative model has <b>memorized</b>: for every synthetic "
    "image it proposes the real training images it most resembles, scored by an LCMem model. You decide, pair "
    "by pair, whether each is a copy or the same patient; your labels are saved at once and calibrate the "
    "threshold; flagged pairs export to CSV.</p>"
    "<p>Source folders are only read, never changed. Patient ids are shown and exported as pseudonyms.</p>"
)


class StartPage(QWidget):
    """Big buttons and the recent list.

    Signals:
        newRequested(), openRequested(), demoRequested(): the buttons.
        recentChosen(str): a recent project was double-clicked (or activated with Enter).
    """

    newRequested = Signal()
    openRequested = Signal()
    demoRequested = Signal()
    recentChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recent = QListWidget()
        self.recent.setMaximumHeight(260)
        self.recent.itemActivated.connect(self._activated)
        title = QLabel("<span style='font-size:24pt; font-weight:600'>LCMem Review</span>")
        subtitle = QLabel("<span style='font-size:13pt; color:#555'>Did the model memorize its training images?</span>")
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        buttons = QVBoxLayout()
        for text, detail, signal in (
            (
                "New project…",
                "Choose a folder of real training images and a folder of synthetic images",
                self.newRequested,
            ),
            ("Open project…", "Open a .lcmem review project", self.openRequested),
            (
                "Try the demo project",
                "Generated images with planted copies, scanned with the default model",
                self.demoRequested,
            ),
        ):
            button = QPushButton(text)
            button.setMinimumHeight(46)
            button.setStyleSheet("QPushButton { font-size: 13pt; text-align: left; padding-left: 14px; }")
            button.setToolTip(detail)
            button.clicked.connect(signal)
            hint = QLabel(f"<span style='color:#666'>{detail}</span>")
            buttons.addWidget(button)
            buttons.addWidget(hint)
            buttons.addSpacing(8)
        buttons.addStretch(1)
        recent_box = QVBoxLayout()
        recent_box.addWidget(QLabel("<b>Recent projects</b> (double-click to open)"))
        recent_box.addWidget(self.recent)
        recent_box.addStretch(1)
        columns = QHBoxLayout()
        columns.addLayout(buttons, 2)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.VLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        columns.addWidget(line)
        columns.addLayout(recent_box, 3)
        inner = QWidget()
        inner.setMaximumWidth(1000)
        layout = QVBoxLayout(inner)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addSpacing(10)
        layout.addWidget(intro)
        layout.addSpacing(16)
        layout.addLayout(columns)
        steps = QLabel(STEPS)
        steps.setWordWrap(True)
        steps.setTextFormat(Qt.TextFormat.RichText)
        layout.addSpacing(12)
        layout.addWidget(steps)
        layout.addStretch(1)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(inner, 10)
        outer.addStretch(1)

    def set_recent(self, paths: list[str]) -> None:
        """Fill the recent list; missing files are shown greyed out."""
        self.recent.clear()
        for text in paths:
            path = Path(text)
            exists = path.is_file()
            item = QListWidgetItem(f"{path.name}    —    {path.parent}" + ("" if exists else "   (missing)"))
            item.setData(Qt.ItemDataRole.UserRole, text)
            item.setToolTip(text)
            if not exists:
                item.setForeground(QColor(150, 150, 150))
            self.recent.addItem(item)
        if not paths:
            placeholder = QListWidgetItem("No recent projects yet: start with the demo project.")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent.addItem(placeholder)

    def _activated(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        if path:
            self.recentChosen.emit(str(path))
