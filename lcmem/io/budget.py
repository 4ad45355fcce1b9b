"""One memory budget for every decode in the process: a weighted semaphore the decoding threads share.

Each decode reserves what it will allocate (estimated from the header) before it starts, and waits while the
others hold too much; a decode larger than the whole budget waits until it can run alone. Two giants never
decode at once, while small images never wait for each other.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)

DEFAULT_BUDGET_BYTES = 768 * 2**20
"""What concurrent decodes may hold together (the issue's target: 1.5 GB peak above the baseline)."""


class DecodeBudget:
    """A weighted semaphore in bytes."""

    def __init__(self, total: int = DEFAULT_BUDGET_BYTES) -> None:
        self.total = total
        self._held = 0
        self._ready = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold ``nbytes`` (at most the whole budget) for the duration of the block, waiting for room first."""
        weight = max(0, min(int(nbytes), self.total))
        with self._ready:
            if self._held and self._held + weight > self.total:
                logger.debug("decode of %d bytes waits for %d held bytes", nbytes, self._held)
            self._ready.wait_for(lambda: self._held == 0 or self._held + weight <= self.total)
            self._held += weight
        try:
            yield
        finally:
            with self._ready:
                self._held -= weight
                self._ready.notify_all()

    @property
    def held(self) -> int:
        """Bytes reserved right now."""
        return self._held


DECODE_BUDGET = DecodeBudget()
"""The process-wide budget that :mod:`lcmem.io.raster` and :mod:`lcmem.io.dicom` reserve from."""
