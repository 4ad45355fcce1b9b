"""The only place the app starts threads: each task runs one library call on a ``QThreadPool``.

``TaskRunner.start(fn)`` runs ``fn(progress, cancel)`` on a pool thread and returns a :class:`TaskHandle`, a
QObject that lives on the GUI thread. The worker reports through signals only (queued into the GUI thread):
progress ``(done, total, text)`` at most ten times a second plus every stage change, then either the result
or the exception, then ``finished``. Cancelling sets the task's :class:`lcmem.progress.CancelToken`; the
library stops at its next check and raises :class:`lcmem.errors.Cancelled`, keeping committed work. A worker
never touches a widget. With ``inline=True`` a runner calls ``fn`` at once on the calling thread (tests,
screenshots), emitting the same signals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

from lcmem.progress import CancelToken, Progress

logger = logging.getLogger(__name__)

TaskFunction = Callable[[Progress, CancelToken], Any]
PROGRESS_INTERVAL_S = 0.1


class TaskHandle(QObject):
    """A running (or finished) task as the GUI sees it. All its signals are emitted on the GUI thread.

    Attributes:
        result: what the function returned (after ``succeeded``).
        error: the exception it raised (after ``failed``).
    """

    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.token = CancelToken()
        self.running = True
        self.result: Any = None
        self.error: BaseException | None = None

    def cancel(self) -> None:
        """Ask the task to stop at its next check (safe to call at any time, from the GUI thread)."""
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self.token.cancelled

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, text: str) -> None:
        self.progressed.emit(done, total, text)

    @Slot(object)
    def _on_success(self, result: object) -> None:
        self.result = result
        self.succeeded.emit(result)

    @Slot(object)
    def _on_failure(self, error: object) -> None:
        self.error = error if isinstance(error, BaseException) else RuntimeError(str(error))
        self.failed.emit(self.error)

    @Slot()
    def _on_finished(self) -> None:
        self.running = False
        self.finished.emit()


class _Signals(QObject):
    """Carries a worker's reports to its handle; created on the GUI thread as the handle's child (so it is
    deleted there, with the handle), emitted from the worker."""

    progress = Signal(int, int, str)
    success = Signal(object)
    failure = Signal(object)
    done = Signal()


class _Reporter:
    """The progress callback handed to the library: thread-safe, throttled, never blocks the worker."""

    def __init__(self, signals: _Signals) -> None:
        self._signals = signals
        self._lock = threading.Lock()
        self._last_time = 0.0
        self._last_text = ""

    def __call__(self, done: int, total: int, text: str) -> None:
        now = time.monotonic()
        with self._lock:
            due = text != self._last_text or done >= total or now - self._last_time >= PROGRESS_INTERVAL_S
            if not due:
                return
            self._last_time, self._last_text = now, text
        self._signals.progress.emit(done, total, text)


class _Task(QRunnable):
    def __init__(self, fn: TaskFunction, signals: _Signals, token: CancelToken) -> None:
        super().__init__()
        self._fn = fn
        self._signals = signals
        self._token = token

    def run(self) -> None:
        execute(self._fn, self._signals, self._token)


def execute(fn: TaskFunction, signals: _Signals, token: CancelToken) -> None:
    """Call ``fn`` and report its result or exception through ``signals`` (any thread)."""
    try:
        result = fn(_Reporter(signals), token)
    except BaseException as exc:
        logger.debug("task failed: %s", type(exc).__name__)
        signals.failure.emit(exc)
    else:
        signals.success.emit(result)
    finally:
        signals.done.emit()


class TaskRunner(QObject):
    """Starts tasks on its own thread pool and keeps them alive until their ``finished`` reached the GUI.

    Args:
        max_threads: the pool size.
        inline: run every task at once on the calling thread instead (deterministic tests, screenshots).
        parent: the owning QObject.
    """

    def __init__(self, max_threads: int = 1, *, inline: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.inline = inline
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._active: dict[int, TaskHandle] = {}
        self._running: set[int] = set()

    def start(
        self,
        fn: TaskFunction,
        name: str = "task",
        *,
        on_progress: Callable[[int, int, str], None] | None = None,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        on_finished: Callable[[], None] | None = None,
    ) -> TaskHandle:
        """Run ``fn(progress, cancel)`` in the background; the callbacks run on the GUI thread.

        The callbacks are connected before the task starts, so none is missed (with ``inline`` they have all
        run when this returns). The runner holds the handle until ``finished``; after that it lives as long
        as the caller keeps it (a handle is never deleted under a worker that still reports to it).
        """
        handle = TaskHandle(name)
        for signal, callback in (
            (handle.progressed, on_progress),
            (handle.succeeded, on_success),
            (handle.failed, on_failure),
            (handle.finished, on_finished),
        ):
            if callback is not None:
                signal.connect(callback)
        signals = _Signals(handle)
        signals.progress.connect(handle._on_progress)
        signals.success.connect(handle._on_success)
        signals.failure.connect(handle._on_failure)
        signals.done.connect(handle._on_finished)
        key = id(handle)
        self._active[key] = handle
        self._running.add(key)
        handle.finished.connect(lambda: self._forget(key))
        if self.inline:
            execute(fn, signals, handle.token)
        else:
            self.pool.start(_Task(fn, signals, handle.token))
        return handle

    def _forget(self, key: int) -> None:
        """The task finished: stop counting it now, drop the handle on the next loop (never inside its signal)."""
        self._running.discard(key)
        QTimer.singleShot(0, self, lambda: self._active.pop(key, None))

    @property
    def busy(self) -> bool:
        """Whether a task has not yet reported ``finished`` on the GUI thread."""
        return bool(self._running)

    def cancel_all(self) -> None:
        """Ask every running task to stop."""
        for key in self._running:
            self._active[key].cancel()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the pool's threads are idle (on quit); returns whether they are."""
        return self.pool.waitForDone(timeout_ms)
