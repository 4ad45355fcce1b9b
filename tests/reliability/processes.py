"""Child processes for the crash and concurrency tests: commands, environment, output read with timeouts."""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[2]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child: one compute thread, the repository importable, plus ``extra``."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **extra}


def lcmem_command(*args: object) -> list[str]:
    """``python -m lcmem.cli.main ARGS``."""
    return [sys.executable, "-m", "lcmem.cli.main", *map(str, args)]


def helper_command(module: str, *args: object) -> list[str]:
    """``python -m tests.reliability.MODULE ARGS`` (a child script of this package)."""
    return [sys.executable, "-m", f"tests.reliability.{module}", *map(str, args)]


class Child:
    """A child process whose stdout lines and stderr are collected by threads.

    Threads, not ``select()``: a line already read into the pipe's buffer is invisible to ``select()``, so
    two lines arriving together would make the second wait for a timeout.
    """

    def __init__(self, command: list[str], **env: str) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=child_env(**env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._stderr: list[str] = []
        self._pumps = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self.lines.put), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, self._stderr.append), daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    @staticmethod
    def _pump(stream: IO[str], sink: Callable[[str], object]) -> None:
        for line in stream:
            sink(line.rstrip("\n"))

    def send(self, line: str) -> None:
        """Write one line to the child's stdin."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def running(self) -> bool:
        """Whether the child has not exited yet."""
        return self.process.poll() is None

    def read_json(self, timeout: float) -> dict:
        """The child's next JSON line; fails with its stderr when none comes within ``timeout`` seconds."""
        try:
            return json.loads(self.lines.get(timeout=timeout))
        except queue.Empty:
            self.kill()
            raise AssertionError(f"the child said nothing within {timeout} s; its stderr:\n{self.stderr()}") from None

    def kill(self) -> list[dict]:
        """SIGKILL the child (no cleanup of any kind runs in it) and return its JSON lines not read yet."""
        self.process.kill()
        self.finish(timeout=30)
        unread = []
        while not self.lines.empty():
            unread.append(self.lines.get())
        return [json.loads(line) for line in unread if line.startswith("{")]

    def finish(self, timeout: float) -> int:
        """Wait for the child to exit and its output to be collected; return its exit status."""
        code = self.process.wait(timeout=timeout)
        for pump in self._pumps:
            pump.join(timeout=timeout)
        return code

    def stderr(self) -> str:
        """What the child wrote to stderr so far (the last 3000 characters)."""
        return "\n".join(self._stderr)[-3000:]


def query(path: Path, sql: str) -> list[tuple]:
    """Run one read query on a SQLite file without taking part in its writes (busy: an empty result)."""
    try:
        with sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=1) as db:
            return db.execute(sql).fetchall()
    except sqlite3.Error:
        return []


def wait_until(condition: Callable[[], object], timeout: float, child: Child | None = None) -> bool:
    """Poll ``condition()`` every 10 ms; ``False`` when ``timeout`` passes or ``child`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if child is not None and not child.running():
            return False
        time.sleep(0.01)
    return False
