"""``lcmem project scan`` killed with SIGKILL at seeded random points, again and again, then resumed.

Each kill lands at a point drawn from: a random time after start (imports, model load, hashing, embedding,
cache writes), or a random delay after the scan row, the image rows or the candidate rows of the new scan
appear in the project. Between kills the project must be intact, its decisions untouched, and it must open
for writing (the lock dies with the process); some decisions are changed between kills too. After the last
kill a scan runs to the end: every image once, every candidate once, every decision as it was left.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from lcmem.cli.main import main
from lcmem.store.project import Project
from lcmem.store.queries import list_pairs
from lcmem.store.types import DECISIONS, PairKey
from tests.conftest import write_images
from tests.reliability.processes import Child, lcmem_command, query, wait_until

SEED = 2024
KILLS = 12
REALS, SYNTHETICS, TOP_K = 60, 24, 3
TRIGGERS = ("time", "scan row", "images", "candidates")


def scan_args(project: Path, bundle: Path, cache: Path) -> list[str]:
    return [
        "project",
        "scan",
        str(project),
        "--model",
        str(bundle),
        "--top-k",
        str(TOP_K),
        "--batch-size",
        "4",
        "--threads",
        "1",
        "--decode-threads",
        "1",
        "--cache-dir",
        str(cache),
        "--quiet",
    ]


def last_scan_id(project: Path) -> int:
    rows = query(project, "SELECT MAX(id) FROM scans")
    return int(rows[0][0] or 0) if rows else 0


def fire(trigger: str, project: Path, child: Child, before: int, rng: random.Random) -> bool:
    """Wait for ``trigger`` in the running scan; return whether the child is still running to be killed."""
    conditions = {
        "time": None,
        "scan row": lambda: last_scan_id(project) > before,
        "images": lambda: query(project, f"SELECT 1 FROM images WHERE last_scan_id > {before} LIMIT 1"),
        "candidates": lambda: query(project, f"SELECT 1 FROM candidates WHERE scan_id > {before} LIMIT 1"),
    }
    condition = conditions[trigger]
    if condition is None:
        wait_until(lambda: False, rng.uniform(0.5, 12.0), child)
    elif not wait_until(condition, 120, child):
        return False
    else:
        wait_until(lambda: False, rng.uniform(0.0, 0.3), child)
    return child.running()


def check_project(project: Path, decisions: dict[PairKey, str], log_size: int) -> None:
    """Intact, decisions as left, no duplicate rows, at most one scan marked running, and it opens for writing."""
    with sqlite3.connect(project) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        duplicates = db.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM candidates GROUP BY scan_id, synthetic_image_id, real_image_id "
            "HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        assert duplicates == 0
        assert db.execute("SELECT COUNT(*) FROM scans WHERE status = 'running'").fetchone()[0] <= 1
        assert db.execute("SELECT COUNT(*) FROM images").fetchone()[0] <= REALS + SYNTHETICS
    with Project.open(project) as opened:
        assert {d.key: d.decision for d in opened.decisions()} == decisions
        assert opened.decision_log_size() == log_size


@pytest.mark.slow
def test_scan_survives_repeated_sigkill_then_resumes(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    real, synthetic = tmp_path / "real", tmp_path / "synthetic"
    write_images(real, list(range(REALS)))
    write_images(synthetic, list(range(500, 500 + SYNTHETICS)))
    project = tmp_path / "p.lcmem"
    assert main(["project", "new", str(project), "--real", str(real), "--synthetic", str(synthetic)]) == 0
    assert main(scan_args(project, tiny_bundle_dir, tmp_path / "first-cache")) == 0
    rng = random.Random(SEED)
    decisions: dict[PairKey, str] = {}
    with Project.open(project) as opened:
        for row in rng.sample(list_pairs(opened), 8):
            decisions[row.key] = rng.choice(DECISIONS)
            opened.set_decision(row.key, decisions[row.key], "ana", note="before the crashes")
        log_size = opened.decision_log_size()

    kills: Counter[str] = Counter()
    completed = 0
    command = lcmem_command(*scan_args(project, tiny_bundle_dir, tmp_path / "cache"))
    while sum(kills.values()) < KILLS:
        assert completed <= 3 * KILLS, "the scans keep finishing before their kill point: too few kills"
        trigger = rng.choice(TRIGGERS)
        before = last_scan_id(project)
        child = Child(command)
        if fire(trigger, project, child, before, rng):
            child.kill()
            kills[trigger] += 1
        else:
            assert child.finish(timeout=120) == 0, child.stderr()
            completed += 1
        check_project(project, decisions, log_size)
        if rng.random() < 0.5:
            with Project.open(project) as opened:
                row = rng.choice(list_pairs(opened))
                decisions[row.key] = rng.choice(DECISIONS)
                opened.set_decision(row.key, decisions[row.key], "ben", note="between crashes")
                log_size += 1

    assert main(scan_args(project, tiny_bundle_dir, tmp_path / "cache")) == 0
    check_project(project, decisions, log_size)
    with sqlite3.connect(project) as db:
        statuses = [s for (s,) in db.execute("SELECT status FROM scans ORDER BY id")]
        last = db.execute("SELECT MAX(id) FROM scans").fetchone()[0]
        assert statuses[-1] == "done" and "running" not in statuses
        assert db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0] == SYNTHETICS * TOP_K
        assert db.execute("SELECT COUNT(DISTINCT scan_id) FROM candidates").fetchone() == (1,)
        assert db.execute("SELECT MAX(scan_id) FROM candidates").fetchone() == (last,)
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM images").fetchone() == (
            REALS + SYNTHETICS,
            REALS + SYNTHETICS,
        )
    with sqlite3.connect(next((tmp_path / "cache").glob("*.sqlite"))) as cache:
        assert cache.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    print(f"kills by trigger {dict(kills)}, scans finished between kills {completed}")
