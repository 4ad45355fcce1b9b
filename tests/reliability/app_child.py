"""A child process running the review window offscreen; the tests kill it right after a key press returns.

``python -m tests.reliability.app_child PROJECT LETTERS``: open PROJECT (its settings and app data in throwaway
folders named by ``$LCMEM_REVIEW_SETTINGS`` and ``$LCMEM_APP_DATA``), press each letter of LETTERS on the pair
table (A accept, R reject, Q unsure), printing a JSON line before each key press and one once it has
returned, then wait.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import sys
import time
from dataclasses import astuple

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from app.settings import AppSettings

DECISIONS = {"A": "accept", "R": "reject", "Q": "unsure"}


def say(**fields: object) -> None:
    """One JSON line on stdout, flushed."""
    print(json.dumps(fields), flush=True)


def main(argv: list[str]) -> int:
    """Open the project, press the keys, report each, then idle until killed."""
    app = QApplication([sys.argv[0]])
    window = MainWindow(AppSettings(), inline_images=True)
    window.show()
    if not window.open_project(argv[0]) or window.project is None or window.project.read_only:
        say(error="the project did not open for writing")
        return 1
    review = window.review
    review.table.setFocus()
    say(open=True, pairs=len(review.queue))
    for letter in argv[1]:
        row = review.queue.current
        say(pressing=letter, key=astuple(row.key), decision=DECISIONS[letter])
        QTest.keyClick(review.table, getattr(Qt.Key, f"Key_{letter}"))
        say(pressed=letter, key=astuple(row.key), decision=DECISIONS[letter])
    say(done=True)
    while True:
        app.processEvents()
        time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
