"""Run long, torch-heavy work in a separate process, with progress and cancellation across the boundary.

The desktop app scans in a worker process so that its own process never loads torch, diffusers or FAISS:
importing them holds Python's GIL for up to seconds (loading their native libraries), which froze the window
when a scan started on a worker *thread*; and a native crash in a decoder cannot take the window with it.

The target runs in a *spawned* interpreter (never forked: the caller may run Qt and other threads), so it and
its arguments must be picklable: a module-level function called as ``target(*args, progress=…, cancel=…)``.
Progress reports come back to the caller's ``progress``; the caller's ``cancel`` token is relayed to the
worker, which also cancels itself when the calling process is gone (killed or crashed), so an orphaned worker
stops at its next check. Frozen apps must call :func:`multiprocessing.freeze_support` first thing in ``main``.
"""

from __future__ import annotations

import copy
import logging
import multiprocessing
import os
import pickle
import queue
import traceback
from collections.abc import Callable
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, TypeVar

from lcmem.errors import Cancelled, LCMemError
from lcmem.logs import configure_logging, current_log_file
from lcmem.progress import NEVER_CANCELLED, CancelToken, Progress, null_progress

logger = logging.getLogger(__name__)

T = TypeVar("T")

_CONTEXT = multiprocessing.get_context("spawn")
_POLL_S = 0.1
_JOIN_S = 30.0


class WorkerCancelToken(CancelToken):
    """The worker's token: set by the caller's cancel (relayed through an event) or by the caller's death."""

    def __init__(self, remote: Event, parent_pid: int) -> None:
        super().__init__(remote)
        self._parent_pid = parent_pid

    @property
    def cancelled(self) -> bool:
        """Whether the caller asked to stop, or is no longer running (this process was re-parented)."""
        return super().cancelled or os.getppid() != self._parent_pid

    def raise_if_cancelled(self) -> None:
        """Raise :class:`lcmem.errors.Cancelled`, saying which of the two happened, if the work should stop."""
        if self.cancelled:
            raise Cancelled("cancelled by the user" if super().cancelled else "the app that started it is gone")


def _portable(error: BaseException) -> BaseException:
    """``error`` itself if it survives pickling, else an :class:`LCMemError` carrying its text.

    ``pickle.dumps`` finds unpicklable contents; ``copy.copy`` rebuilds the object the way unpickling does
    (``__reduce_ex__``), which fails for an exception whose constructor needs other arguments than its ``args``.
    """
    try:
        pickle.dumps(error)
        copy.copy(error)
    except Exception:  # any failure means: send the text instead
        return LCMemError(f"{type(error).__name__}: {error}")
    return error


def _worker_main(
    messages: multiprocessing.Queue,
    remote_cancel: Event,
    parent_pid: int,
    target: Callable[..., Any],
    args: tuple,
    kwargs: dict[str, Any],
    log_file: Path | None,
) -> None:
    configure_logging(log_file=log_file)  # as in the parent: the libraries' messages to its log file only
    token = WorkerCancelToken(remote_cancel, parent_pid)

    def progress(done: int, total: int, text: str) -> None:
        messages.put(("progress", done, total, text))

    try:
        result = target(*args, **kwargs, progress=progress, cancel=token)
    except BaseException as exc:  # every failure goes back to the caller
        messages.put(("error", _portable(exc), traceback.format_exc()))
    else:
        messages.put(("result", result))


def run_in_worker_process(
    target: Callable[..., T],
    *args: Any,
    progress: Progress = null_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    **kwargs: Any,
) -> T:
    """Call ``target(*args, **kwargs, progress=…, cancel=…)`` in a new process and return its result.

    Blocks the calling thread (run it on a worker thread in a GUI) while relaying progress and cancellation.

    Raises:
        Cancelled: ``cancel`` was set (or the target raised it).
        LCMemError: the target raised it (the same class, when it can be pickled), or the worker process died
            without an answer (killed, out of memory, a native crash); work it committed is kept.
        Exception: any other exception of the target that can be pickled, as it was raised.
    """
    messages: multiprocessing.Queue = _CONTEXT.Queue()
    remote_cancel = _CONTEXT.Event()
    worker = _CONTEXT.Process(
        target=_worker_main,
        args=(messages, remote_cancel, os.getpid(), target, args, kwargs, current_log_file()),
        name=f"lcmem-{getattr(target, '__name__', 'work')}",
        daemon=True,
    )
    worker.start()
    logger.debug("worker process %s started (pid %s)", worker.name, worker.pid)
    try:
        while True:
            if cancel.cancelled:
                remote_cancel.set()
            try:
                message = messages.get(timeout=_POLL_S)
            except queue.Empty:
                if worker.is_alive():
                    continue
                try:
                    message = messages.get(timeout=_POLL_S)
                except queue.Empty:
                    raise LCMemError(
                        f"the worker process stopped without an answer (exit code {worker.exitcode}); what it "
                        "finished is kept: run the same job again to resume"
                    ) from None
            if message[0] == "progress":
                progress(*message[1:])
            elif message[0] == "result":
                return message[1]
            else:
                logger.debug("worker process %s failed:\n%s", worker.name, message[2])
                raise message[1]
    finally:
        _stop(worker, remote_cancel)
        messages.close()


def _stop(worker: multiprocessing.process.BaseProcess, remote_cancel: Event) -> None:
    """Let the worker exit on its own (cancelling it if it still runs), and end it if it will not."""
    worker.join(timeout=_POLL_S)
    if worker.is_alive():
        remote_cancel.set()
        worker.join(timeout=_JOIN_S)
    if worker.is_alive():
        logger.warning("worker process %s did not stop; terminating it", worker.name)
        worker.terminate()
        worker.join()
