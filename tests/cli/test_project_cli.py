"""``lcmem project``: the whole headless workflow, and a scan killed mid-way then resumed."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lcmem.cli.main import main
from lcmem.store.project import Project
from lcmem.store.queries import list_problems
from tests.conftest import make_sources, write_images


def status(project: Path, capsys: pytest.CaptureFixture) -> dict:
    capsys.readouterr()
    assert main(["project", "status", str(project)]) == 0
    return json.loads(capsys.readouterr().out)


def test_headless_workflow(tiny_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    real, synthetic = make_sources(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    project = tmp_path / "audit.lcmem"
    assert main(["project", "new", str(project), "--real", str(real), "--synthetic", str(synthetic)]) == 0
    assert main(["project", "scan", str(project), "--model", str(tiny_bundle_dir), "--top-k", "3", "--quiet"]) == 0
    state = status(project, capsys)
    assert (state["pairs"], state["undecided"], state["problems"]) == (21, 21, 1)
    assert state["real_null"]["n"] == 14 and 0.0 <= state["real_null"]["p99"] <= state["real_null"]["p999"] <= 1.0
    threshold = state["threshold_in_force"]  # 14 real items: too few to anchor on, the LCMem default is said
    assert (threshold["rule"], threshold["value"], threshold["n_null"]) == ("LCMem default", 0.5, 14)
    assert "only 14 real→real scores, too few" in threshold["text"]
    assert threshold["copy_score"] == state["scans"][-1]["copy_score"] and 0.0 < threshold["copy_score"] <= 1.0
    audit = state["audit"]
    assert audit["below"] <= 21 and (audit["reviewed"], audit["upper"]) == (0, None)
    expected = "No pair scores below" if audit["below"] == 0 else "Audit below the threshold"
    assert audit["text"].startswith(expected) and f"{audit['threshold']:.3f}" in audit["text"]
    label = ["project", "label", str(project), "--synthetic", str(synthetic / "copy_2.png"), "--real"]
    assert main([*label, str(real / "img_0002.png"), "--decision", "accept", "--reviewer", "ana"]) == 0
    assert main([*label, str(real / "img_0003.png"), "--decision", "reject", "--reviewer", "ana"]) == 0
    assert main([*label, str(tmp_path / "nowhere.png"), "--decision", "reject"]) == 1
    assert main([*label, str(real / "img_0003.png"), "--decision", "accept", "--reviewer", "ben", "--second-read"]) == 0
    assert main([*label, str(real / "img_0004.png"), "--decision", "accept", "--second-read"]) == 1  # undecided
    state = status(project, capsys)
    assert state["decisions"] == 2
    read = state["double_read"]["another_reader"]
    assert (read["n"], read["agreed"], read["table"]["reject"]["accept"]) == (1, 0, 1)
    assert state["double_read"]["text"].startswith("Double read: 1 read again by another reader: 0 % agree")
    findings = state["findings"]
    assert (findings["accepted"], findings["decided"], findings["synthetic_memorized"]) == (1, 2, 1)
    assert findings["text"].startswith("1 of ")
    assert main(["project", "calibrate", str(project), "--target-recall", "0.99"]) == 0
    assert json.loads(capsys.readouterr().out)["rule"] == "default"
    out, report = tmp_path / "out" / "flagged.csv", tmp_path / "out" / "report.html"
    out.parent.mkdir()
    previous = os.umask(0o027)
    try:
        assert main(["project", "export", str(project), "--out", str(out)]) == 0
        assert main(["project", "report", str(project), "--out", str(report)]) == 0
    finally:
        os.umask(previous)
    assert sorted(p.name for p in out.parent.iterdir()) == ["flagged.csv", "flagged.threshold.json", "report.html"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.parent.iterdir()} == {0o640}  # as lcmem scan's outputs
    assert json.loads(out.with_suffix(".threshold.json").read_text())["text"] == threshold["text"]
    with out.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    accepted = [r for r in rows if r["decision"] == "accept"]
    assert len(accepted) == 1 and accepted[0]["reviewer"] == "ana" and accepted[0]["flag"] == "accepted"
    assert not [r for r in rows if r["decision"] == "reject"]
    after = sorted(p.relative_to(tmp_path) for p in (*real.rglob("*"), *synthetic.rglob("*"), real, synthetic))
    assert after == before  # the source folders are only read


def test_scan_killed_midway_resumes_without_duplicates(tiny_bundle_dir: Path, tmp_path: Path, capsys) -> None:
    real, synthetic = tmp_path / "real", tmp_path / "synthetic"
    write_images(real, list(range(150)))
    write_images(synthetic, list(range(500, 530)))
    project = tmp_path / "p.lcmem"
    assert main(["project", "new", str(project), "--real", str(real), "--synthetic", str(synthetic)]) == 0
    cache = tmp_path / "cache"
    scan = [
        sys.executable,
        "-m",
        "lcmem.cli.main",
        "project",
        "scan",
        str(project),
        "--model",
        str(tiny_bundle_dir),
        "--top-k",
        "2",
        "--batch-size",
        "4",
        "--threads",
        "1",
        "--cache-dir",
        str(cache),
        "--quiet",
    ]
    process = subprocess.Popen(scan, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    cache_files = []
    while time.time() < deadline and process.poll() is None:
        cache_files = list(cache.glob("*.sqlite"))
        if cache_files and _cached_rows(cache_files[0]) >= 20:
            break
        time.sleep(0.2)
    if process.poll() is not None:
        pytest.skip("the scan finished before it could be killed (machine too fast for this check)")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with sqlite3.connect(project) as raw:
        assert raw.execute("SELECT status FROM scans").fetchall() == [("running",)]
    assert (
        main(
            [
                "project",
                "scan",
                str(project),
                "--model",
                str(tiny_bundle_dir),
                "--top-k",
                "2",
                "--cache-dir",
                str(cache),
                "--quiet",
            ]
        )
        == 0
    )
    state = status(project, capsys)
    assert [s["status"] for s in state["scans"]] == ["interrupted", "done"]
    assert state["pairs"] == 30 * 2
    with sqlite3.connect(project) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert raw.execute("SELECT COUNT(*) FROM candidates").fetchone()[0] == 60
        assert raw.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 180


def _cached_rows(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_max_pixels_is_kept_with_the_project(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    real, synthetic = make_sources(tmp_path)
    project = tmp_path / "limited.lcmem"
    assert main(["project", "new", str(project), "--real", str(real), "--synthetic", str(synthetic)]) == 0
    assert (
        main(
            [
                "project",
                "new",
                str(tmp_path / "b.lcmem"),
                "--real",
                str(real),
                "--synthetic",
                str(synthetic),
                "--max-pixels",
                "5000000000",
            ]
        )
        == 0
    )
    with Project.open(tmp_path / "b.lcmem") as opened:
        assert opened.max_pixels == 5_000_000_000
    scan = ["project", "scan", str(project), "--model", str(tiny_bundle_dir), "--top-k", "3", "--quiet"]
    assert main([*scan, "--max-pixels", "100"]) == 0  # every source image is larger: all refused
    with Project.open(project) as opened:
        assert opened.max_pixels == 100
        reasons = [p.reason for p in list_problems(opened) if "broken" not in p.path]  # make_sources' bad file
    assert reasons and [r for r in reasons if "more than the limit of 100 " not in r] == []
