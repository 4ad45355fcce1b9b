"""Projects: creation, reopening, durable content-keyed decisions, locking, read-only, schema versions."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import MetaData

from lcmem.errors import ProjectError
from lcmem.store import migrations, schema
from lcmem.store.project import Project
from lcmem.store.pseudonym import new_secret, pseudonymise
from lcmem.store.types import PairKey

KEY = PairKey("a" * 64, 0, "b" * 64, 2)


def test_create_and_reopen_keep_sources(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "s").mkdir()
    with Project.create(tmp_path / "p.lcmem", [tmp_path / "r"], [tmp_path / "s"]) as project:
        project.add_source("real", tmp_path / "r")  # a duplicate is ignored
    with Project.open(tmp_path / "p.lcmem") as project:
        assert [(s.role, Path(s.path).name) for s in project.sources()] == [("real", "r"), ("synthetic", "s")]
        assert len(project.secret) == 64


def test_decisions_are_durable_and_logged(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.lcmem") as project:
        project.set_decision(KEY, "reject", "ana", score=0.4)
        project.set_decision(KEY, "accept", "ben", note="same lesion", score=0.9)
    with sqlite3.connect(tmp_path / "p.lcmem") as raw:  # read the file itself, not through the library
        rows = raw.execute("SELECT decision, reviewer, note FROM decisions").fetchall()
        log = raw.execute("SELECT decision FROM decision_log ORDER BY id").fetchall()
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert rows == [("accept", "ben", "same lesion")]
    assert log == [("reject",), ("accept",)]
    with Project.open(tmp_path / "p.lcmem") as project:
        assert project.decision(KEY).decision == "accept"
        project.set_decision(KEY, "cleared", "ben")
        assert project.decision(KEY) is None
        assert project.decision_log_size() == 3


def test_bad_decisions_are_refused(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.lcmem") as project:
        with pytest.raises(ProjectError, match="decision must be"):
            project.set_decision(KEY, "maybe", "ana")
        with pytest.raises(ProjectError, match="reviewer"):
            project.set_decision(KEY, "accept", " ")


def test_second_writer_is_refused_but_may_read(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.lcmem") as first:
        first.set_decision(KEY, "accept", "ana")
        with pytest.raises(ProjectError, match="another window or process"):
            Project.open(tmp_path / "p.lcmem")
        with Project.open(tmp_path / "p.lcmem", read_only=True) as reader:
            assert reader.decision(KEY).decision == "accept"
            with pytest.raises(ProjectError, match="read-only"):
                reader.set_decision(KEY, "reject", "eve")
    with Project.open(tmp_path / "p.lcmem") as again:
        assert again.decision(KEY).decision == "accept"


def test_create_refuses_an_existing_file_and_open_a_foreign_one(tmp_path: Path) -> None:
    Project.create(tmp_path / "p.lcmem").close()
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(tmp_path / "p.lcmem")
    (tmp_path / "other.lcmem").write_bytes(b"not sqlite at all, just text" * 10)
    with pytest.raises(ProjectError):
        Project.open(tmp_path / "other.lcmem")
    with pytest.raises(ProjectError, match="no such project"):
        Project.open(tmp_path / "missing.lcmem")


def test_newer_schema_is_refused_and_older_is_upgraded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Project.create(tmp_path / "p.lcmem").close()
    with sqlite3.connect(tmp_path / "p.lcmem") as raw:
        raw.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(ProjectError, match="newer lcmem"):
        Project.open(tmp_path / "p.lcmem")
    current = migrations.SCHEMA_VERSION
    with sqlite3.connect(tmp_path / "p.lcmem") as raw:
        raw.execute(f"UPDATE meta SET value='{current}' WHERE key='schema_version'")

    def add_column(conn) -> None:
        conn.exec_driver_sql("ALTER TABLE decisions ADD COLUMN confidence REAL")

    monkeypatch.setattr(migrations, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(migrations.STEPS, current, add_column)
    with Project.open(tmp_path / "p.lcmem") as project:
        project.set_decision(KEY, "unsure", "ana")
    with sqlite3.connect(tmp_path / "p.lcmem") as raw:
        assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (str(current + 1),)
        assert "confidence" in [c[1] for c in raw.execute("PRAGMA table_info(decisions)")]
        assert raw.execute("SELECT decision FROM decisions").fetchall() == [("unsure",)]


def _table_shape(path: Path, table: str) -> tuple[list, list, list]:
    with sqlite3.connect(path) as raw:
        columns = [c[1:] for c in raw.execute(f"PRAGMA table_info({table})")]
        keys = [k[2:5] + k[6:7] for k in raw.execute(f"PRAGMA foreign_key_list({table})")]
        indexes = sorted((i[1], i[2]) for i in raw.execute(f"PRAGMA index_list({table})"))
    return columns, sorted(keys), indexes


def _create_old_project(path: Path, version: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project file as lcmem wrote it at schema ``version`` (1: no null_scores; ≤ 2: no scans.model_threshold;
    ≤ 3: no score_hidden on decisions; ≤ 4: no second_reads; ≤ 5: no kind on decisions; ≤ 6: no
    scans.copy_score, no inliers or transform on candidates), holding one rejected pair."""
    old_schema = MetaData()
    for table in schema.metadata.sorted_tables:
        if (table.name == "null_scores" and version < 2) or (table.name == "second_reads" and version < 5):
            continue
        copy = table.to_metadata(old_schema)
        if table.name == "scans" and version < 3:
            copy._columns.remove(copy.c.model_threshold)
        if table.name == "scans" and version < 7:
            copy._columns.remove(copy.c.copy_score)
        if table.name in ("decisions", "decision_log") and version < 4:
            copy._columns.remove(copy.c.score_hidden)
        if table.name in ("decisions", "decision_log") and version < 6:
            copy._columns.remove(copy.c.kind)
        if table.name == "candidates" and version < 7:
            copy._columns.remove(copy.c.inliers)
            copy._columns.remove(copy.c.transform)
    with monkeypatch.context() as old:
        old.setattr(migrations, "SCHEMA_VERSION", version)
        old.setattr(migrations, "STEPS", {})
        old.setattr(migrations, "metadata", old_schema)
        Project.create(path).close()
    with sqlite3.connect(path) as raw:
        pair = (KEY.synthetic_sha256, KEY.synthetic_frame, KEY.real_sha256, KEY.real_frame)
        entry = (*pair, "reject", "ana", "2026-01-01T00:00:00Z", "different patient", 0.3, None)
        raw.execute(
            "INSERT INTO decision_log (synthetic_sha256, synthetic_frame, real_sha256, real_frame, decision, "
            "reviewer, decided_at, note, score, model_checksum) VALUES (?,?,?,?,?,?,?,?,?,?)",
            entry,
        )
        raw.execute(
            "INSERT INTO decisions (synthetic_sha256, synthetic_frame, real_sha256, real_frame, decision, "
            "reviewer, decided_at, note, score, model_checksum, log_id) VALUES (?,?,?,?,?,?,?,?,?,?,1)",
            entry,
        )
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (str(version),)


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6])
def test_an_older_project_is_upgraded_and_keeps_its_decisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    _create_old_project(tmp_path / "old.lcmem", version, monkeypatch)
    with sqlite3.connect(tmp_path / "old.lcmem") as raw:
        assert ("null_scores" in [r[0] for r in raw.execute("SELECT name FROM sqlite_master")]) == (version >= 2)
        assert ("model_threshold" in [c[1] for c in raw.execute("PRAGMA table_info(scans)")]) == (version >= 3)
        assert ("score_hidden" in [c[1] for c in raw.execute("PRAGMA table_info(decisions)")]) == (version >= 4)
        assert ("second_reads" in [r[0] for r in raw.execute("SELECT name FROM sqlite_master")]) == (version >= 5)
        assert ("kind" in [c[1] for c in raw.execute("PRAGMA table_info(decision_log)")]) == (version >= 6)
        assert "inliers" not in [c[1] for c in raw.execute("PRAGMA table_info(candidates)")]
        assert "copy_score" not in [c[1] for c in raw.execute("PRAGMA table_info(scans)")]
    with Project.open(tmp_path / "old.lcmem") as project:
        assert project.decision(KEY).decision == "reject" and project.decision(KEY).note == "different patient"
        assert project.decision(KEY).score_hidden is None and project.decision(KEY).kind is None
        assert project.scans() == []
    Project.create(tmp_path / "new.lcmem").close()
    with sqlite3.connect(tmp_path / "old.lcmem") as raw:
        current = str(migrations.SCHEMA_VERSION)
        assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (current,)
        assert raw.execute("SELECT COUNT(*) FROM decision_log").fetchone() == (1,)
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    for table in ("null_scores", "scans", "decisions", "decision_log", "second_reads", "candidates"):
        assert _table_shape(tmp_path / "old.lcmem", table) == _table_shape(tmp_path / "new.lcmem", table)


def test_pseudonyms_are_keyed_and_stable() -> None:
    a, b = new_secret(), new_secret()
    assert pseudonymise("PAT-1", a) == pseudonymise("PAT-1", a)
    assert pseudonymise("PAT-1", a) != pseudonymise("PAT-1", b)
    assert pseudonymise("PAT-1", a) != pseudonymise("PAT-2", a)
    assert "PAT-1" not in pseudonymise("PAT-1", a)
    assert pseudonymise(None, a) is None


@pytest.mark.parametrize("name", ["audit #3.lcmem", "a?b.lcmem", "sp ace%20.lcmem", "100%.lcmem", 'we,ird "q".lcmem'])
def test_project_names_with_uri_characters(tmp_path: Path, name: str) -> None:
    with Project.create(tmp_path / name) as project:
        project.set_decision(KEY, "accept", "ana")
    for read_only in (True, False):
        with Project.open(tmp_path / name, read_only=read_only) as project:
            assert project.decision(KEY).decision == "accept"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name, f"{name}.lock"]


def test_source_folder_name_must_be_utf8(tmp_path: Path) -> None:
    folder = os.fsdecode(os.fsencode(tmp_path) + b"/r\xe9al")
    os.mkdir(folder)
    with pytest.raises(ProjectError, match="not valid UTF-8"):
        Project.create(tmp_path / "p.lcmem", [folder])
    assert not (tmp_path / "p.lcmem").exists()


def test_an_older_project_opened_read_only_says_to_open_it_for_writing_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.lcmem"
    _create_old_project(path, 3, monkeypatch)
    with pytest.raises(ProjectError, match=r"schema 3.*Open it once for writing"):
        Project.open(path, read_only=True)
    with Project.open(path):
        pass
    with Project.open(path, read_only=True) as reader:
        assert reader.decision(KEY).decision == "reject"
    with sqlite3.connect(path) as raw:
        raw.execute(f"UPDATE meta SET value='{migrations.SCHEMA_VERSION + 1}' WHERE key='schema_version'")
    with pytest.raises(ProjectError, match="newer lcmem"):
        Project.open(path, read_only=True)


def test_a_schema_6_project_keeps_its_candidates_and_kinds_and_gains_empty_inliers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "six.lcmem"
    _create_old_project(path, 6, monkeypatch)
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE decisions SET decision='accept', kind='copy'")
        raw.execute(
            "INSERT INTO scans (status, model_checksum, model_name, model_path, settings, started_at) "
            "VALUES ('done', 'm', 'lcmem-small', '/m', '{}', '2026-01-01T00:00:00Z')"
        )
        for role, sha in (("synthetic", KEY.synthetic_sha256), ("real", KEY.real_sha256)):
            raw.execute(
                "INSERT INTO images (role, path, frame, n_frames, sha256, last_scan_id) VALUES (?, ?, 0, 1, ?, 1)",
                (role, f"/{role}.png", sha),
            )
        raw.execute(
            "INSERT INTO candidates (scan_id, synthetic_image_id, real_image_id, synthetic_sha256, synthetic_frame, "
            "real_sha256, real_frame, rank, score) VALUES (1, 1, 2, ?, ?, ?, ?, 1, 0.9)",
            (KEY.synthetic_sha256, KEY.synthetic_frame, KEY.real_sha256, KEY.real_frame),
        )
    with Project.open(path) as project:
        assert project.decision(KEY).decision == "accept" and project.decision(KEY).kind == "copy"
    with sqlite3.connect(path) as raw:
        stored = raw.execute("SELECT rank, score, inliers, transform FROM candidates").fetchall()
        assert stored == [(1, 0.9, None, None)]
        assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("7",)
