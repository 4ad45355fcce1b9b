"""Work in a worker process: results, progress, errors, cancellation, a dying worker, an orphaned worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lcmem.errors import Cancelled, ImageReadError, LCMemError, ProjectError
from lcmem.progress import CancelToken
from lcmem.worker_process import run_in_worker_process

REPO = Path(__file__).resolve().parents[1]


def report_and_return(value: int, *, factor: int = 2, progress, cancel) -> tuple[int, int]:
    for step in range(3):
        progress(step, 3, f"step {step}")
    return value * factor, os.getpid()


def raise_error(kind: str, *, progress, cancel) -> None:
    if kind == "project":
        raise ProjectError("the project cannot be written")
    if kind == "image":
        raise ImageReadError("/data/a.dcm", "truncated pixel data")
    if kind == "constructor":
        raise _NeedsTwo("left", "right")
    raise _Unpicklable(lambda: None)


class _NeedsTwo(Exception):
    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first}/{second}")


class _Unpicklable(Exception):
    def __init__(self, callback) -> None:
        super().__init__("holds a callback")
        self.callback = callback


def wait_until_cancelled(marker: str, *, progress, cancel) -> None:
    Path(marker, "pid").write_text(str(os.getpid()))
    try:
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.02)
    except Cancelled as exc:
        Path(marker, "stopped").write_text(str(exc))
        raise


def die(code: int, *, progress, cancel) -> None:
    os._exit(code)


def wait_for_file(path: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


def test_the_result_and_every_progress_report_come_back_from_another_process() -> None:
    reports: list[tuple[int, int, str]] = []
    value, pid = run_in_worker_process(report_and_return, 21, progress=lambda *r: reports.append(r))
    assert value == 42
    assert pid != os.getpid()
    assert reports == [(0, 3, "step 0"), (1, 3, "step 1"), (2, 3, "step 2")]


def test_keyword_arguments_reach_the_target() -> None:
    value, _pid = run_in_worker_process(report_and_return, 21, factor=3)
    assert value == 63


def test_library_errors_keep_their_class_and_details() -> None:
    with pytest.raises(ProjectError, match="cannot be written"):
        run_in_worker_process(raise_error, "project")
    with pytest.raises(ImageReadError) as caught:
        run_in_worker_process(raise_error, "image")
    assert (caught.value.path, caught.value.reason) == ("/data/a.dcm", "truncated pixel data")


def test_an_error_that_cannot_cross_processes_arrives_as_its_text() -> None:
    with pytest.raises(LCMemError, match="_Unpicklable: holds a callback"):
        run_in_worker_process(raise_error, "other")
    with pytest.raises(LCMemError, match="_NeedsTwo: left/right"):
        run_in_worker_process(raise_error, "constructor")


def test_cancel_is_relayed_and_the_worker_stops(tmp_path: Path) -> None:
    token = CancelToken()

    def cancel_when_started() -> None:
        wait_for_file(tmp_path / "pid")
        token.cancel()

    threading.Thread(target=cancel_when_started, daemon=True).start()
    with pytest.raises(Cancelled):
        run_in_worker_process(wait_until_cancelled, str(tmp_path), cancel=token)
    assert (tmp_path / "stopped").read_text() == "cancelled by the user"


def test_a_worker_that_dies_is_reported_with_its_exit_code() -> None:
    with pytest.raises(LCMemError, match="exit code 7"):
        run_in_worker_process(die, 7)


def test_an_orphaned_worker_cancels_itself_when_its_app_is_killed(tmp_path: Path) -> None:
    code = (
        "import sys; from tests.test_worker_process import wait_until_cancelled; "
        "from lcmem.worker_process import run_in_worker_process; "
        f"run_in_worker_process(wait_until_cancelled, {str(tmp_path)!r})"
    )
    app = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
    try:
        wait_for_file(tmp_path / "pid")
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait()
    wait_for_file(tmp_path / "stopped", timeout_s=30)
    assert (tmp_path / "stopped").read_text() == "the app that started it is gone"
