"""Two processes on one project: the second gets read-only access or a clear message; nothing is corrupted."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.main_window import MainWindow
from app.settings import AppSettings
from lcmem.cli.main import main
from lcmem.errors import ProjectError
from lcmem.store.project import Project
from lcmem.store.queries import list_pairs
from lcmem.store.types import PairKey
from tests.reliability.processes import Child, helper_command, lcmem_command

IN_USE = "open for writing in another window or process"


def decide_in(holder: Child, index: int, decision: str) -> PairKey:
    """Ask the holding child to decide pair ``index``; return the pair once it says it did."""
    holder.send(f"{index} {decision}")
    lines = [holder.read_json(timeout=60), holder.read_json(timeout=60)]
    assert lines[1]["decided"] == index
    return PairKey(*lines[1]["key"])


def assert_intact(path: Path) -> None:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_second_process_is_refused_writing_and_may_read(
    scanned_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    holder = Child(helper_command("decider", scanned_copy, "serve"))
    assert holder.read_json(timeout=60).get("open")
    first = decide_in(holder, 0, "accept")
    with pytest.raises(ProjectError, match=IN_USE):
        Project.open(scanned_copy)
    with Project.open(scanned_copy, read_only=True) as reader:
        row = list_pairs(reader)[1]
        assert reader.decision(first).decision == "accept"
        second = decide_in(holder, 1, "reject")
        assert second == row.key and reader.decision(second).decision == "reject"  # sees the other's commits
        with pytest.raises(ProjectError, match="read-only"):
            reader.set_decision(second, "accept", "eve")
    label = ["project", "label", str(scanned_copy), "--synthetic", row.synthetic_path, "--real", row.real_path]
    capsys.readouterr()
    assert main([*label, "--decision", "accept", "--reviewer", "eve"]) == 1
    assert IN_USE in capsys.readouterr().err
    assert main(["project", "status", str(scanned_copy)]) == 0
    assert main(["project", "export", str(scanned_copy), "--out", str(tmp_path / "x.csv"), "--all"]) == 0
    holder.kill()  # the lock dies with its process
    assert_intact(scanned_copy)
    with Project.open(scanned_copy) as project:
        assert project.decision(first).decision == "accept"
        assert project.decision(second).decision == "reject"
        assert project.decision_log_size() == 2


def test_app_opens_a_project_in_use_read_only(qtbot: QtBot, scanned_copy: Path, tmp_path: Path) -> None:
    holder = Child(helper_command("decider", scanned_copy, "serve"))
    assert holder.read_json(timeout=60).get("open")
    window = MainWindow(AppSettings(tmp_path / "settings.ini"), inline_images=True)
    qtbot.addWidget(window)
    asked: list[str] = []
    window.ask_read_only = lambda reason: asked.append(reason) or True  # type: ignore[method-assign]
    try:
        assert window.open_project(scanned_copy)
        assert IN_USE in asked[0]
        assert window.project.read_only and "(read-only)" in window.windowTitle()
        messages: list[str] = []
        window.review.message.connect(messages.append)
        qtbot.keyClick(window.review.table, Qt.Key.Key_A)
        assert "read-only" in messages[-1]
        assert window.start_scan() is None
        window.close_project()
    finally:
        holder.kill()
    assert_intact(scanned_copy)
    with Project.open(scanned_copy) as project:
        assert project.decisions() == []


@pytest.mark.slow
def test_two_scans_started_together(tiny_bundle_dir: Path, scanned_copy: Path, tmp_path: Path) -> None:
    options = ["--model", tiny_bundle_dir, "--top-k", "3", "--threads", "1", "--cache-dir", tmp_path / "c", "--quiet"]
    children = [Child(lcmem_command("project", "scan", scanned_copy, *options)) for _ in range(2)]
    results = [(child.finish(timeout=300), child.stderr()) for child in children]
    assert any(code == 0 for code, _ in results)
    for code, stderr in results:
        assert code == 0 or (code == 1 and IN_USE in stderr and "Traceback" not in stderr), stderr
    assert_intact(scanned_copy)
    with sqlite3.connect(scanned_copy) as db:
        assert db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0] == 21
        assert db.execute("SELECT status FROM scans ORDER BY id DESC LIMIT 1").fetchone() == ("done",)
