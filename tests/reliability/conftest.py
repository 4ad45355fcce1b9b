"""Fixtures for the reliability tests: a deadline for in-process runs (nothing may hang), scanned projects."""

from __future__ import annotations

import faulthandler
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import pytest

from tests.conftest import write_scanned_project

if TYPE_CHECKING:
    from lcmem.model.bundle import Bundle


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Fail the test with a stack dump if the block runs longer than ``seconds`` (SIGALRM, main thread)."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        faulthandler.dump_traceback(sys.stderr)
        raise TimeoutError(f"still running after {seconds} s: the run hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture()
def deadline() -> Callable[[float], AbstractContextManager[None]]:
    """``with deadline(60): ...`` fails with ``TimeoutError`` (and a stack dump) after 60 s."""
    return _deadline


@pytest.fixture(scope="session")
def scanned_template(tmp_path_factory: pytest.TempPathFactory, tiny_bundle: Bundle) -> Path:
    """A project over :func:`tests.conftest.make_sources`, scanned (top-3) and closed: 21 pairs, no decisions."""
    return write_scanned_project(tmp_path_factory.mktemp("scanned"), tiny_bundle)


@pytest.fixture()
def scanned_copy(scanned_template: Path, tmp_path: Path) -> Path:
    """A copy of :func:`scanned_template` of this test's own (its sources are shared and only read)."""
    copy = tmp_path / "review.lcmem"
    shutil.copyfile(scanned_template, copy)
    return copy
