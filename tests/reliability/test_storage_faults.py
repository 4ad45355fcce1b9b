"""A full disk or a read-only project location: a clear error, and no partial write that breaks the project.

Disk full is simulated: SQLite's ``PRAGMA max_page_count`` on every connection of the project (SQLite then
fails exactly as on a full disk, ``SQLITE_FULL``), and a CSV stream whose writes fail with ``ENOSPC``. A
read-only location is real: ``chmod`` for a normal user; as root (whom ``chmod`` does not stop) a read-only
bind mount of the folder on itself, or the test is skipped when the machine does not allow mounts.
"""

from __future__ import annotations

import errno
import io
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

import lcmem.csv_cells
import lcmem.store.project as project_module
from lcmem.cli.main import main
from lcmem.errors import ProjectError
from lcmem.store.project import Project
from lcmem.store.queries import list_pairs
from tests.conftest import make_sources

FULL = "database or disk is full"


def cap_pages(monkeypatch: pytest.MonkeyPatch, extra_pages: int) -> None:
    """Let every new project connection grow the file by at most ``extra_pages`` pages (a nearly full disk)."""
    make_engine = project_module._engine

    def capped(path: Path, read_only: bool, immutable: bool = False) -> Engine:
        engine = make_engine(path, read_only, immutable)

        @event.listens_for(engine, "connect")
        def _cap(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages + extra_pages}")

        return engine

    monkeypatch.setattr(project_module, "_engine", capped)


def assert_intact(path: Path, decisions: dict | None = None) -> None:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    if decisions is not None:
        with Project.open(path) as project:
            assert {d.key: d.decision for d in project.decisions()} == decisions


def test_decisions_on_a_full_disk(scanned_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cap_pages(monkeypatch, 4)
    saved = {}
    with Project.open(scanned_copy) as project:
        rows = list_pairs(project)
        with pytest.raises(ProjectError) as info:
            for n in range(1000):
                row = rows[n % len(rows)]
                project.set_decision(row.key, "accept", "ana", note="x" * 2000)
                saved[row.key] = "accept"
        assert FULL in str(info.value) and "Check free disk space" in str(info.value)
        assert n > 0, "the cap left no room at all"
        failed = rows[n % len(rows)].key
        assert {d.key: d.decision for d in project.decisions()} == saved
        assert project.decision_log_size() == n  # the failed one left nothing behind
    monkeypatch.undo()  # space is freed
    assert_intact(scanned_copy, saved)
    with Project.open(scanned_copy) as project:
        project.set_decision(failed, "reject", "ana")
        assert project.decision(failed).decision == "reject"


def test_project_scan_on_a_full_disk(
    scanned_copy: Path,
    tiny_bundle_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    with Project.open(scanned_copy) as project:
        row = list_pairs(project)[0]
        project.set_decision(row.key, "accept", "ana")
    scan = ["project", "scan", str(scanned_copy), "--model", str(tiny_bundle_dir), "--top-k", "3", "--threads", "1"]
    scan += ["--cache-dir", str(tmp_path / "cache"), "--quiet"]
    cap_pages(monkeypatch, 0)
    capsys.readouterr()
    assert main(scan) == 1
    err = capsys.readouterr().err
    assert err.startswith("lcmem: error:") and FULL in err and "Check free disk space" in err, err
    monkeypatch.undo()
    assert_intact(scanned_copy, {row.key: "accept"})
    assert main(scan) == 0  # with space again the scan completes
    with sqlite3.connect(scanned_copy) as db:
        assert db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0] == 21
        assert db.execute("SELECT status FROM scans ORDER BY id").fetchall()[-1] == ("done",)


class _FullDisk(io.FileIO):
    """A file whose writes fail with ENOSPC once ``budget`` bytes are written (a write names no file)."""

    budget = 2000

    def write(self, data: object) -> int:
        if self.tell() + len(data) > self.budget:  # type: ignore[arg-type]
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)  # type: ignore[arg-type]


def test_lcmem_scan_output_on_a_full_disk(
    tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    real, synthetic = make_sources(tmp_path / "data")
    out = tmp_path / "out" / "matches.csv"
    scan = ["scan", "--real", str(real), "--synthetic", str(synthetic), "--out", str(out), "--top-k", "14"]
    scan += ["--model", str(tiny_bundle_dir), "--threads", "1", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main(scan) == 0
    before = {p.name: p.read_bytes() for p in out.parent.iterdir() if p.suffix != ".log"}  # the log grows

    def full_fdopen(fd: int, mode: str = "r", *args: object, **kwargs: object) -> io.TextIOWrapper:
        raw = _FullDisk(fd, "w")
        return io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", newline="")

    monkeypatch.setattr(lcmem.csv_cells.os, "fdopen", full_fdopen)
    capsys.readouterr()
    assert main(scan) == 1
    err = capsys.readouterr().err
    assert f"lcmem: error: {out}: no space left on device" in err, err
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in out.parent.iterdir() if p.suffix != ".log"}
    assert after == before  # no partial or temporary file


@contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """Make ``folder`` read-only for this process: chmod, or as root a read-only bind mount on itself."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in (folder, *folder.iterdir())}
        for path in modes:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    mount = f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}'"
    if subprocess.run(["sh", "-c", mount], capture_output=True).returncode != 0:
        subprocess.run(["umount", str(folder)], capture_output=True)
        pytest.skip("running as root, where chmod does not stop writes, and read-only bind mounts are not allowed")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_read_only_project_location(
    scanned_template: Path, tiny_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    path = folder / "review.lcmem"
    path.write_bytes(scanned_template.read_bytes())
    with Project.open(path) as project:
        row = list_pairs(project)[0]
        project.set_decision(row.key, "reject", "ana")
    before = snapshot(folder)
    label = ["project", "label", str(path), "--synthetic", row.synthetic_path, "--real", row.real_path]
    with read_only_folder(folder):
        with pytest.raises(ProjectError, match=r"cannot be written.*open the project read-only"):
            Project.open(path)
        with pytest.raises(ProjectError, match="cannot be written"):
            Project.create(folder / "new.lcmem")
        with Project.open(path, read_only=True) as reader:
            assert reader.decision(row.key).decision == "reject"
            assert len(list_pairs(reader)) == 21
        capsys.readouterr()
        assert main([*label, "--decision", "accept"]) == 1
        assert "cannot be written" in capsys.readouterr().err
        assert main(["project", "status", str(path)]) == 0
        assert main(["project", "export", str(path), "--out", str(folder / "flagged.csv")]) == 1
        assert "flagged.csv" in capsys.readouterr().err
        assert snapshot(folder) == before
    assert_intact(path, {row.key: "reject"})


def test_lock_failure_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated (works as root too): the lock file cannot be created because the folder is read-only."""
    Project.create(tmp_path / "p.lcmem").close()

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(tmp_path / "p.lcmem.lock"))

    monkeypatch.setattr(project_module.FileLock, "acquire", refuse)
    with pytest.raises(ProjectError, match=r"cannot be written \(Read-only file system\); open the project read-only"):
        Project.open(tmp_path / "p.lcmem")
    with Project.open(tmp_path / "p.lcmem", read_only=True) as reader:
        assert reader.decisions() == []
