"""Full-size images for the compare view, decoded off the GUI thread and kept in a small cache.

Every image goes through :func:`lcmem.io.load_image` (the encoder's pixel pipeline); a new window/level is a
new load with ``window=``. Requests are per pane ("slot"): while a pane's load runs, newer requests for that
pane replace each other, so a fast right-drag costs one decode at a time and always ends on the last window.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

import lcmem.io
from app.qimage import to_qimage
from app.workers import TaskRunner
from lcmem.errors import LCMemError
from lcmem.io.types import LoadedImage
from lcmem.progress import CancelToken, Progress

logger = logging.getLogger(__name__)

CAPACITY = 16


@dataclass(frozen=True)
class ImageKey:
    """An image as shown: file, frame, and the window asked for (``None``: the file's own VOI)."""

    path: str
    frame: int
    window: tuple[float, float] | None = None


@dataclass(frozen=True)
class ShownImage:
    """A decoded image and its QImage, ready to draw."""

    key: ImageKey
    loaded: LoadedImage
    qimage: QImage


def decode(key: ImageKey) -> ShownImage:
    """Load and convert one image (runs on a worker thread).

    Raises:
        ImageReadError: the file cannot be read.
    """
    loaded = lcmem.io.load_image(key.path, key.frame, window=key.window)
    return ShownImage(key, loaded, to_qimage(loaded.pixels))


class ImageLoader(QObject):
    """Decodes images for named panes, caches the last :data:`CAPACITY`, and prefetches on request.

    Signals:
        loaded(slot, ShownImage): a pane's image is ready (also at once, from the cache).
        failed(slot, ImageKey, message): a pane's image cannot be read; ``message`` says why.
    """

    loaded = Signal(str, object)
    failed = Signal(str, object, str)

    def __init__(self, runner: TaskRunner, capacity: int = CAPACITY, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._capacity = capacity
        self._cache: OrderedDict[ImageKey, ShownImage] = OrderedDict()
        self._busy: set[str] = set()
        self._pending: dict[str, ImageKey] = {}
        self._prefetching: set[ImageKey] = set()

    def cached(self, key: ImageKey) -> ShownImage | None:
        """The cached image for ``key``, if any."""
        shown = self._cache.get(key)
        if shown is not None:
            self._cache.move_to_end(key)
        return shown

    def request(self, slot: str, key: ImageKey) -> None:
        """Show ``key`` in pane ``slot``: from the cache at once, else after a background decode."""
        shown = self.cached(key)
        if shown is not None:
            self._pending.pop(slot, None)
            self.loaded.emit(slot, shown)
            return
        if slot in self._busy:
            self._pending[slot] = key
            return
        self._start(slot, key)

    def prefetch(self, key: ImageKey) -> None:
        """Decode ``key`` into the cache in the background, to show it later without waiting."""
        if key in self._cache or key in self._prefetching:
            return
        self._prefetching.add(key)
        self._runner.start(
            lambda _progress, _cancel: decode(key),
            "prefetch",
            on_success=self._store,
            on_finished=lambda: self._prefetching.discard(key),
        )

    @property
    def idle(self) -> bool:
        """Whether no load or prefetch is running or waiting."""
        return not (self._busy or self._pending or self._prefetching)

    def _start(self, slot: str, key: ImageKey) -> None:
        self._busy.add(slot)

        def run(_progress: Progress, _cancel: CancelToken) -> ShownImage:
            return decode(key)

        def done(shown: ShownImage) -> None:
            self._store(shown)
            self.loaded.emit(slot, shown)

        def failed(error: BaseException) -> None:
            message = str(error) if isinstance(error, LCMemError) else f"{type(error).__name__}: {error}"
            logger.info("an image could not be shown (%s)", type(error).__name__)
            self.failed.emit(slot, key, message)

        def finished() -> None:
            self._busy.discard(slot)
            following = self._pending.pop(slot, None)
            if following is not None:
                self.request(slot, following)

        self._runner.start(run, f"load {slot}", on_success=done, on_failure=failed, on_finished=finished)

    def _store(self, shown: ShownImage) -> None:
        self._cache[shown.key] = shown
        self._cache.move_to_end(shown.key)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
