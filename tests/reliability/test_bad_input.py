"""``lcmem scan`` and ``lcmem project scan`` over the bad-input corpus: good images embedded, bad ones explained.

Both commands run in this process (so that files can be deleted, rewritten or made unreadable while they run)
under a deadline: a hang fails the test with a stack dump instead of blocking the suite.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from lcmem.cli.main import main
from tests.reliability.corpus import Corpus, build_corpus, reason_problems

Deadline = Callable[[float], AbstractContextManager[None]]
SCAN_SECONDS = 180
MIN_KINDS = 100
"""Issue 22's target: at least this many kinds of bad and odd input."""


def expected_items(corpus: Corpus, role: str) -> set[tuple[str, int]]:
    """The (path, frame) items the scan must embed for one role."""
    return {(c.path, frame) for c in corpus.expected("embedded", role) for frame in range(c.items)}


def assert_understandable(reason: str) -> None:
    """A reason is one readable sentence: no traceback, no object reprs, no multi-line dumps."""
    assert reason and len(reason) <= 400, reason
    assert "\n" not in reason and "Traceback" not in reason and " object at 0x" not in reason, reason


def scan_options(bundle: Path, tmp_path: Path) -> list[str]:
    return ["--model", str(bundle), "--top-k", "20", "--threads", "1", "--cache-dir", str(tmp_path / "cache")]


def test_corpus_has_enough_kinds(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path)
    assert len(corpus.kinds()) >= MIN_KINDS
    assert len(corpus.kinds("problem")) + len(corpus.kinds("skipped")) >= MIN_KINDS // 2


def test_lcmem_scan_over_the_corpus(
    tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deadline: Deadline
) -> None:
    corpus = build_corpus(tmp_path / "corpus")
    out = tmp_path / "out" / "matches.csv"
    args = ["scan", "--real", str(corpus.real), "--synthetic", str(corpus.synthetic), "--out", str(out)]
    with corpus.live_faults(monkeypatch), deadline(SCAN_SECONDS):
        assert main([*args, *scan_options(tiny_bundle_dir, tmp_path), "--quiet"]) == 0
    with out.open(newline="", encoding="utf-8") as stream:
        matches = list(csv.DictReader(stream))
    synthetic = {(r["synthetic_path"], int(r["synthetic_frame"])) for r in matches}
    real = {(r["real_path"], int(r["real_frame"])) for r in matches}
    assert synthetic == expected_items(corpus, "synthetic")
    assert real == expected_items(corpus, "real")
    with out.with_name("matches.problems.csv").open(newline="", encoding="utf-8") as stream:
        problems = {r["path"]: r["reason"] for r in csv.DictReader(stream)}
    assert reason_problems(problems, corpus) == []
    for reason in problems.values():
        assert_understandable(reason)
    record = json.loads(out.with_name("matches.run.json").read_text())
    assert record["n_problems"] == len(problems) == len(corpus.expected("problem"))


def test_lcmem_project_scan_over_the_corpus(
    tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deadline: Deadline
) -> None:
    corpus = build_corpus(tmp_path / "corpus")
    project = tmp_path / "audit.lcmem"
    assert main(["project", "new", str(project), "--real", str(corpus.real), "--synthetic", str(corpus.synthetic)]) == 0
    with corpus.live_faults(monkeypatch), deadline(SCAN_SECONDS):
        assert main(["project", "scan", str(project), *scan_options(tiny_bundle_dir, tmp_path), "--quiet"]) == 0
    with sqlite3.connect(project) as db:
        items = db.execute("SELECT role, path, frame FROM images").fetchall()
        problems = dict(db.execute("SELECT path, reason FROM problems").fetchall())
        candidates = db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for role in ("real", "synthetic"):
        assert {(path, frame) for r, path, frame in items if r == role} == expected_items(corpus, role)
    assert candidates == len(expected_items(corpus, "synthetic")) * len(expected_items(corpus, "real"))
    assert reason_problems(problems, corpus) == []
    for reason in problems.values():
        assert_understandable(reason)
