"""Source folders are only read: a whole workflow (CLI and app) writes nothing next to the user's images.

Two proofs: every call that could write (``open`` for writing, ``os.open`` with write flags, ``mkstemp``,
renames, deletions, ``mkdir``, ``sqlite3.connect``) is audited for paths inside the sources during the
workflow, and the source trees (names, sizes, modification times, modes) are the same before and after.
The CLI workflow runs over the bad-input corpus, so its export also proves that paths with commas, quotes,
newlines and a leading ``=`` survive the CSV, and that a reviewer name and note typed as formulas are defused.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import builtins
import csv
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.main_window import MainWindow
from app.settings import AppSettings
from lcmem.cli.main import main
from lcmem.review.thumbnails import ThumbnailStore
from lcmem.store.project import Project
from lcmem.store.queries import list_pairs
from tests.reliability.corpus import build_corpus

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def snapshot(*roots: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under the roots (links not followed): size, modification time, mode."""
    entries = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in (*dirs, *files):
                st = os.lstat(os.path.join(folder, name))
                entries[os.path.join(folder, name)] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return entries


def audit_writes(monkeypatch: pytest.MonkeyPatch, roots: list[Path]) -> list[str]:
    """Record every write-capable call on a path under ``roots``; return the (growing) list of them."""
    inside = [os.fsencode(os.path.realpath(r)) for r in roots]
    seen: list[str] = []

    def under(path: object) -> bool:
        if not isinstance(path, (str, bytes, os.PathLike)):
            return False
        real = os.fsencode(os.path.realpath(os.fsdecode(path)))
        return any(real == r or real.startswith(r + b"/") for r in inside)

    def wrap(owner: object, name: str, writes: Callable[..., bool]) -> None:
        original = getattr(owner, name)

        def audited(*args: object, **kwargs: object) -> object:
            if writes(*args, **kwargs):
                seen.append(f"{name}{args[:2]!r}")
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, audited)

    wrap(builtins, "open", lambda f, mode="r", *a, **k: under(f) and any(c in mode for c in "wax+"))
    wrap(os, "open", lambda f, flags, *a, **k: under(f) and bool(flags & WRITE_FLAGS))
    for name in ("replace", "rename", "unlink", "remove", "rmdir", "mkdir", "makedirs", "utime", "chmod"):
        wrap(os, name, lambda *a, **k: any(under(p) for p in a[:2]))
    wrap(sqlite3, "connect", lambda database, *a, **k: under(database))
    return seen


def test_cli_workflow_only_reads_the_sources(
    tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = build_corpus(tmp_path / "sources")
    roots = [corpus.real, corpus.synthetic]
    shutil.rmtree(corpus.synthetic / "locked_folder")  # unreadable only under live faults; plain here
    before = snapshot(*roots)
    writes = audit_writes(monkeypatch, roots)
    work = tmp_path / "work"
    project = work / "audit.lcmem"
    options = ["--model", str(tiny_bundle_dir), "--top-k", "3", "--threads", "1", "--cache-dir", str(work / "c")]
    sources = ["--real", str(corpus.real), "--synthetic", str(corpus.synthetic)]
    assert main(["scan", *sources, "--out", str(work / "matches.csv"), *options, "--quiet"]) == 0
    assert main(["project", "new", str(project), *sources]) == 0
    assert main(["project", "scan", str(project), *options, "--quiet"]) == 0
    with Project.open(project, read_only=True) as opened:
        row = list_pairs(opened)[0]
    label = ["project", "label", str(project), "--synthetic", row.synthetic_path, "--real", row.real_path]
    assert main([*label, "--decision", "accept", "--reviewer", "+ana", "--note", "=SUM(A1)"]) == 0
    assert main(["project", "calibrate", str(project), "--target-recall", "0.9"]) == 0
    assert main(["project", "export", str(project), "--all", "--out", str(work / "pairs.csv")]) == 0
    assert main(["project", "status", str(project)]) == 0
    store = ThumbnailStore(work / "thumbnails")
    with Project.open(project, read_only=True) as opened:
        for pair in list_pairs(opened):
            store.get(pair.synthetic_path, pair.key.synthetic_sha256, pair.key.synthetic_frame)
            store.get(pair.real_path, pair.key.real_sha256, pair.key.real_frame)
    assert writes == []
    assert snapshot(*roots) == before
    with (work / "pairs.csv").open(newline="", encoding="utf-8") as stream:
        exported = list(csv.DictReader(stream))
    names = {c.path for c in corpus.expected("embedded", "synthetic")}
    assert names <= {r["synthetic_path"] for r in exported}  # commas, quotes, newlines, "=" survive the CSV
    assert [(r["reviewer"], r["note"]) for r in exported if r["decision"]] == [("'+ana", "'=SUM(A1)")]


def test_app_review_only_reads_the_sources(
    qtbot: QtBot, scanned_copy: Path, scanned_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roots = [scanned_template.parent / "real", scanned_template.parent / "synthetic"]
    monkeypatch.setenv("LCMEM_CACHE_DIR", str(tmp_path / "cache"))
    before = snapshot(*roots)
    writes = audit_writes(monkeypatch, roots)
    window = MainWindow(AppSettings(tmp_path / "settings.ini"), inline_images=True)
    qtbot.addWidget(window)
    window.show()
    assert window.open_project(scanned_copy) and not window.project.read_only
    table = window.review.table
    table.setFocus()
    for key in (Qt.Key.Key_A, Qt.Key.Key_R, Qt.Key.Key_D, Qt.Key.Key_2, Qt.Key.Key_Right, Qt.Key.Key_Q, Qt.Key.Key_U):
        qtbot.keyClick(table, key)
    window.wait_until_idle()
    window.close_project()
    assert writes == []
    assert snapshot(*roots) == before


def test_the_audit_sees_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit is not blind: a thumbnail, a temporary file and a database beside the images are all seen."""
    writes = audit_writes(monkeypatch, [tmp_path])
    Image.new("L", (2, 2)).save(tmp_path / "thumb.png")
    os.close(tempfile.mkstemp(dir=tmp_path)[0])
    sqlite3.connect(tmp_path / "side.sqlite").close()
    (tmp_path / "sub").mkdir()
    assert len(writes) == 4, writes
