"""Workers: the result or the exception arrives on the GUI thread; progress is throttled; cancel stops."""

from __future__ import annotations

import threading
import time

import pytest

from app.workers import TaskRunner
from lcmem.errors import Cancelled


@pytest.mark.parametrize("inline", [False, True])
def test_result_progress_and_thread(qtbot, inline: bool) -> None:
    runner = TaskRunner(1, inline=inline)
    seen: dict = {"progress": [], "thread": None}
    gui_thread = threading.current_thread()

    def work(progress, cancel):
        for i in range(1000):
            progress(i + 1, 1000, "counting")
        return threading.current_thread() is gui_thread

    def done(result):
        seen["result"], seen["thread"] = result, threading.current_thread()

    runner.start(work, on_progress=lambda *a: seen["progress"].append(a), on_success=done)
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert seen["thread"] is gui_thread
    assert seen["result"] is inline
    assert seen["progress"][-1] == (1000, 1000, "counting")
    assert len(seen["progress"]) < 50


def test_exceptions_and_cancel_reach_the_gui(qtbot) -> None:
    runner = TaskRunner(1)
    errors: list[BaseException] = []
    runner.start(lambda p, c: 1 / 0, on_failure=errors.append)
    started = threading.Event()

    def long_work(progress, cancel):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.005)

    handle = runner.start(long_work, on_failure=errors.append)
    assert started.wait(5)
    handle.cancel()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert isinstance(errors[0], ZeroDivisionError) and isinstance(errors[1], Cancelled)
