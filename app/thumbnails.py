"""Thumbnails for the pair table and the candidate strip: asked for by the view, made off the GUI thread.

A view asks :meth:`ThumbnailProvider.image`; the first time it gets ``None`` and a background task renders
(or reads from the disk store) the thumbnail; ``ready`` then names the content key so the view can repaint.
Only the rows on screen ever ask, so a table of 10^5 pairs decodes a screenful.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from app.qimage import to_qimage
from app.workers import TaskRunner
from lcmem.progress import CancelToken, Progress
from lcmem.review.thumbnails import THUMBNAIL_SIZE, ThumbnailStore

logger = logging.getLogger(__name__)

CAPACITY = 4000
ThumbKey = tuple[str, int]


def unreadable_image(size: int = THUMBNAIL_SIZE) -> QImage:
    """A grey square with a red cross: the thumbnail of a file that cannot be read."""
    image = QImage(size, size, QImage.Format.Format_RGB888)
    image.fill(QColor(90, 90, 90))
    painter = QPainter(image)
    painter.setPen(QPen(QColor(220, 70, 70), 4))
    painter.drawLine(size // 4, size // 4, 3 * size // 4, 3 * size // 4)
    painter.drawLine(3 * size // 4, size // 4, size // 4, 3 * size // 4)
    painter.end()
    return image


class ThumbnailProvider(QObject):
    """Thumbnails by content key ``(sha256, frame)``, with an in-memory LRU over the on-disk store.

    Signals:
        ready(key): the thumbnail of ``key`` can now be had from :meth:`image`.
    """

    ready = Signal(object)

    def __init__(
        self,
        runner: TaskRunner,
        store: ThumbnailStore | None = None,
        capacity: int = CAPACITY,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._store = store or ThumbnailStore()
        self._capacity = capacity
        self._images: OrderedDict[ThumbKey, QImage] = OrderedDict()
        self._pending: set[ThumbKey] = set()
        self._unreadable = unreadable_image(self._store.size)

    def image(self, path: str, sha256: str, frame: int = 0) -> QImage | None:
        """The thumbnail, or ``None`` while it is being made (``ready`` follows)."""
        key = (sha256, frame)
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
            return image
        if key not in self._pending:
            self._pending.add(key)
            self._request(path, key)
        return None

    @property
    def idle(self) -> bool:
        """Whether no thumbnail is being made."""
        return not self._pending

    def _request(self, path: str, key: ThumbKey) -> None:
        def run(_progress: Progress, _cancel: CancelToken) -> QImage:
            return to_qimage(self._store.get(path, key[0], key[1]))

        def done(image: QImage) -> None:
            self._keep(key, image)

        def failed(_error: BaseException) -> None:
            self._keep(key, self._unreadable)

        def finished() -> None:
            self._pending.discard(key)
            self.ready.emit(key)

        self._runner.start(run, "thumbnail", on_success=done, on_failure=failed, on_finished=finished)

    def _keep(self, key: ThumbKey, image: QImage) -> None:
        self._images[key] = image
        while len(self._images) > self._capacity:
            self._images.popitem(last=False)


def scaled(image: QImage, size: int) -> QImage:
    """``image`` fitted into ``size`` × ``size`` (smooth)."""
    return image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
