"""The pair table is virtualised: 100k pairs cost an id snapshot and a page per screenful."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

from app.image_loader import ImageLoader
from app.pair_table import DECISION, RANK, SCORE, PairTableModel
from app.review_view import ReviewView
from app.workers import TaskRunner
from lcmem.review.pages import PAGE_SIZE
from lcmem.review.queue import ReviewQueue
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter

N_PAIRS = 100_000
N_IMAGES = 5_000
TOP_K = 20


@pytest.fixture(scope="module")
def big_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with 100k candidate rows of one finished scan, inserted directly with SQL."""
    path = tmp_path_factory.mktemp("big") / "big.lcmem"
    Project.create(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute(
            "INSERT INTO scans(id, status, model_checksum, model_name, model_path, settings, started_at) "
            "VALUES (1, 'done', 'm', 'm', 'x', '{}', 'now')"
        )
        raw.executemany(
            "INSERT INTO images(id, role, path, frame, n_frames, sha256, last_scan_id) VALUES (?, ?, ?, 0, 1, ?, 1)",
            [(i + 1, "synthetic", f"/s/{i:06d}.png", f"s{i:063d}") for i in range(N_IMAGES)]
            + [(N_IMAGES + i + 1, "real", f"/r/{i:06d}.png", f"r{i:063d}") for i in range(N_IMAGES)],
        )
        raw.executemany(
            "INSERT INTO candidates(id, scan_id, synthetic_image_id, real_image_id, synthetic_sha256, "
            "synthetic_frame, real_sha256, real_frame, rank, score) VALUES (?, 1, ?, ?, ?, 0, ?, 0, ?, ?)",
            [
                (
                    c + 1,
                    c // TOP_K + 1,
                    N_IMAGES + (c * 7919) % N_IMAGES + 1,
                    f"s{c // TOP_K:063d}",
                    f"r{(c * 7919) % N_IMAGES:063d}",
                    c % TOP_K + 1,
                    ((c * 2654435761) % 1_000_003) / 1_000_003,
                )
                for c in range(N_PAIRS)
            ],
        )
    return path


def test_a_far_row_is_answered_quickly_without_loading_every_row(qtbot, big_project: Path) -> None:
    with Project.open(big_project) as project:
        queue = ReviewQueue(project, "ana")
        model = PairTableModel()
        model.set_queue(queue)
        assert model.rowCount() == N_PAIRS
        far = model.data(model.index(N_PAIRS - 1, SCORE))
        middle = model.data(model.index(N_PAIRS // 2, RANK))
        assert far is not None and middle is not None
        assert queue.rows.pages_read == 2
        scores = [float(model.data(model.index(r, SCORE))) for r in range(N_PAIRS - 50, N_PAIRS)]
        assert scores == sorted(scores, reverse=True)
        view = QTableView()
        qtbot.addWidget(view)
        view.setModel(model)
        view.resize(800, 600)
        view.show()
        view.scrollToBottom()
        qtbot.wait(50)
        assert queue.rows.pages_read <= 4
        assert len(queue.rows._pages) * PAGE_SIZE < N_PAIRS // 100


def test_deciding_a_far_row_under_a_filter_does_not_shift_the_list(qtbot, big_project: Path) -> None:
    with Project.open(big_project) as project:
        view = ReviewView(ImageLoader(TaskRunner(1, inline=True)), thumbnails=None)
        qtbot.addWidget(view)
        view.set_queue(ReviewQueue(project, "ana", PairFilter(status="undecided")))
        view.queue.go_to(N_PAIRS - 2)
        view.show_current()
        row = view.queue.current
        qtbot.keyClick(view, Qt.Key.Key_R)
        assert view.model.data(view.model.index(N_PAIRS - 2, DECISION)) == "not a match"
        assert view.queue.index == N_PAIRS - 1 and len(view.queue) == N_PAIRS
        assert project.decision(row.key).decision == "reject"
        qtbot.keyClick(view, Qt.Key.Key_U)
        assert project.decision(row.key) is None
