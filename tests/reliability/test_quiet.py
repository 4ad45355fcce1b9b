"""A quiet terminal: the libraries' log records and warnings go to the log file (and ``-v``), never to a user
who asked for quiet; where they concern a file, its problem reason says what the library warned.

Each run is a child process, so that what reaches its stdout and stderr is exactly what a user would see.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_image
from tests.reliability.corpus import noisy_files
from tests.reliability.processes import child_env, lcmem_command

LIBRARY_NOISE = re.compile(r"Traceback|Warning|pydicom|PIL|faiss|libjpeg|ERROR", re.IGNORECASE)
LIBRARY_MESSAGES = (
    "Traceback",
    "ERROR pydicom",
    "Corrupt EXIF data",
    "Expected explicit VR",
    "End of file reached before delimiter",
)
CHILD_TIMEOUT_S = 300


def noisy_scan(tmp_path: Path, bundle: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``lcmem scan`` (in a child) of a folder of noisy bad files and one good image; return it and ``--out``."""
    synthetic, real = tmp_path / "synthetic", tmp_path / "real"
    expected = noisy_files(synthetic)
    make_image(1).save(synthetic / "good.png")
    real.mkdir()
    make_image(2).save(real / "real.png")
    out = tmp_path / "out" / "matches.csv"
    command = lcmem_command(
        *options, "scan", "--real", real, "--synthetic", synthetic, "--out", out, "--model", bundle, "--no-cache"
    )
    done = subprocess.run(
        [*command, "--threads", "1"], env=child_env(), capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr
    with out.with_name("matches.problems.csv").open(newline="", encoding="utf-8") as stream:
        problems = {Path(r["path"]).name: r["reason"] for r in csv.DictReader(stream)}
    assert set(problems) == {name for name, reason in expected.items() if reason is not None}
    for name, reason in problems.items():
        assert re.search(str(expected[name]), reason), (name, reason)
    return done, out


def test_a_quiet_scan_shows_nothing_from_the_libraries_and_logs_it_all(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    done, out = noisy_scan(tmp_path, tiny_bundle_dir)
    assert done.stdout == ""
    assert not LIBRARY_NOISE.search(done.stderr), done.stderr
    log = out.with_name("matches.log").read_text(encoding="utf-8")
    for message in LIBRARY_MESSAGES:
        assert message in log, message
    problems = out.with_name("matches.problems.csv").read_text(encoding="utf-8")
    assert "(the decoder warned: UserWarning: End of file reached before delimiter" in problems


@pytest.mark.slow
def test_verbose_shows_the_libraries_and_log_file_moves_the_log(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    done, out = noisy_scan(tmp_path, tiny_bundle_dir, "-v", "--log-file", str(tmp_path / "elsewhere.log"))
    assert "Corrupt EXIF data" in done.stderr
    assert "ERROR pydicom" in done.stderr
    assert "Corrupt EXIF data" in (tmp_path / "elsewhere.log").read_text(encoding="utf-8")
    assert not out.with_name("matches.log").exists()


@pytest.mark.slow
def test_the_app_keeps_the_faiss_loader_off_the_terminal(tmp_path: Path) -> None:
    """The demo's scan loads FAISS in the app's process; its loader's lines go to the app's log file only."""
    app_data = tmp_path / "app-data"
    env = child_env(LCMEM_APP_DATA=str(app_data), LCMEM_CACHE_DIR=str(tmp_path / "cache"), QT_QPA_PLATFORM="offscreen")
    command = [sys.executable, "-m", "app.main", "--demo", "--screenshot", str(tmp_path / "demo.png")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert "screenshot written" in done.stderr
    assert "faiss.loader" not in done.stderr and "Loading faiss" not in done.stderr, done.stderr
    assert "ModuleNotFoundError" not in done.stderr
    assert "faiss.loader" in (app_data / "lcmem-review.log").read_text(encoding="utf-8")
