"""A decision is durable when ``set_decision`` (or the app's key press) returns: kill the process, reopen, it is there.

A SIGKILL proves the write was committed to the file before the call returned (nothing was left in a buffer
of the process). Surviving a power cut also needs the commit to reach the disk: ``synchronous=FULL`` in WAL
mode, which :func:`test_project_connections_sync_every_commit` checks on the connections the project uses.
The children print a line before each decision and one after it returned; the one under way when the kill
lands may be there or not (never half: the decision and its log entry are one transaction).
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from lcmem.store.project import Project
from lcmem.store.types import PairKey
from tests.reliability.processes import Child, helper_command

KILL_CYCLES = 5
APP_KILL_CYCLES = 3
DECISIONS = ("accept", "reject", "unsure")
Expected = dict[PairKey, set[str | None]]


def assert_consistent(path: Path) -> None:
    """The file is intact and every current decision is its pair's latest log entry."""
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        stale = db.execute(
            "SELECT COUNT(*) FROM decisions d LEFT JOIN decision_log l ON l.id = d.log_id "
            "WHERE l.id IS NULL OR l.decision != d.decision OR l.id != (SELECT MAX(id) FROM decision_log m "
            "WHERE m.synthetic_sha256 = d.synthetic_sha256 AND m.synthetic_frame = d.synthetic_frame "
            "AND m.real_sha256 = d.real_sha256 AND m.real_frame = d.real_frame)"
        ).fetchone()[0]
        assert stale == 0


def follow(lines: list[dict], expected: Expected, before: str, after: str) -> int:
    """Update ``expected`` from a child's lines; return how many decisions it said it made."""
    made = 0
    for line in lines:
        key = PairKey(*line["key"])
        if before in line:  # under way: either outcome is allowed until the matching "after" line
            expected[key] = expected.get(key, {None}) | {line["decision"]}
        elif after in line:
            expected[key] = {line["decision"]}
            made += 1
    return made


def assert_expected(path: Path, expected: Expected) -> None:
    with Project.open(path) as project:
        for key, allowed in expected.items():
            current = project.decision(key)
            assert (current.decision if current else None) in allowed


def test_project_connections_sync_every_commit(scanned_copy: Path) -> None:
    with Project.open(scanned_copy) as project, project.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_decision_survives_sigkill_right_after_set_decision(scanned_copy: Path) -> None:
    """Serve mode: the child decides one pair per request; it is killed as soon as it says it decided."""
    rng = random.Random(5)
    expected: Expected = {}
    for cycle in range(KILL_CYCLES):
        child = Child(helper_command("decider", scanned_copy, "serve"))
        assert child.read_json(timeout=60).get("open")
        index, decision = rng.randrange(21), rng.choice(DECISIONS)
        child.send(f"{index} {decision}")
        lines = [child.read_json(timeout=60), child.read_json(timeout=60)]
        child.kill()
        assert follow(lines, expected, "deciding", "decided") == 1, cycle
        assert_consistent(scanned_copy)
        assert_expected(scanned_copy, expected)


def test_decision_survives_sigkill_in_a_stream_of_decisions(scanned_copy: Path) -> None:
    """Loop mode: the child decides as fast as it can and is killed at a random point of the stream."""
    rng = random.Random(6)
    expected: Expected = {}
    log_size = 0
    for cycle in range(KILL_CYCLES):
        child = Child(helper_command("decider", scanned_copy, "loop", cycle, 40))
        lines = [child.read_json(timeout=60) for _ in range(rng.randint(1, 40))]
        lines += child.kill()
        made = follow(lines, expected, "deciding", "decided")
        assert_consistent(scanned_copy)
        assert_expected(scanned_copy, expected)
        with Project.open(scanned_copy) as project:
            grown = project.decision_log_size() - log_size
        log_size += grown
        assert made <= grown <= made + 1


@pytest.mark.slow
def test_app_decision_survives_sigkill_right_after_the_key_press(scanned_copy: Path, tmp_path: Path) -> None:
    rng = random.Random(7)
    expected: Expected = {}
    for cycle in range(APP_KILL_CYCLES):
        letters = "".join(rng.choice("ARQ") for _ in range(rng.randint(2, 6)))
        env = {"LCMEM_REVIEW_SETTINGS": str(tmp_path / f"settings{cycle}.ini"), "LCMEM_APP_DATA": str(tmp_path)}
        child = Child(helper_command("app_child", scanned_copy, letters), **env)
        assert child.read_json(timeout=120).get("open"), "the app did not open the project"
        lines = [child.read_json(timeout=60) for _ in range(2 * rng.randint(1, len(letters)))]
        lines += child.kill()
        made = follow(lines, expected, "pressing", "pressed")
        assert made >= 1
        assert_consistent(scanned_copy)
        assert_expected(scanned_copy, expected)
