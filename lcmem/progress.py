"""Progress reporting and cancellation for long-running work.

Long functions take a ``progress`` callback and a ``cancel`` token, both with null defaults, so the CLI can
draw a progress bar and the app can show a dialog with a Cancel button without the library knowing either.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from lcmem.errors import Cancelled

if TYPE_CHECKING:
    import multiprocessing.synchronize


class Progress(Protocol):
    """Receives ``(done, total, text)``; ``total`` is 0 when unknown. Must be cheap and thread-safe."""

    def __call__(self, done: int, total: int, text: str) -> None: ...


def null_progress(done: int, total: int, text: str) -> None:
    """A progress callback that ignores every report."""


class CancelToken:
    """A flag set from any thread (a Cancel button, a signal handler) and checked between work items.

    Args:
        event: the flag (default: a new one); a :mod:`multiprocessing` event shares it with another process.
    """

    def __init__(self, event: threading.Event | multiprocessing.synchronize.Event | None = None) -> None:
        self._event = event if event is not None else threading.Event()

    def cancel(self) -> None:
        """Ask the work that holds this token to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`lcmem.errors.Cancelled` if :meth:`cancel` was called."""
        if self.cancelled:
            raise Cancelled()


NEVER_CANCELLED = CancelToken()
"""A token nobody can reach to cancel; the default of every ``cancel`` argument."""
