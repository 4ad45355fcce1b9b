"""NumPy pixels to ``QImage`` (safe on worker threads: a QImage, unlike a QPixmap, is not a GUI object)."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtGui import QImage

logger = logging.getLogger(__name__)

DIFFERENCE_GAIN = 4.0
"""Differences are shown × 4 (clipped), so a 0.05 change in [0, 1] is clearly visible; the caption says so."""


def to_qimage(pixels: np.ndarray) -> QImage:
    """A copy of ``pixels`` as a QImage: float in [0, 1] or uint8, grey ``(H, W)`` or RGB ``(H, W, 3)``."""
    if pixels.dtype != np.uint8:
        pixels = np.rint(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)
    pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    if pixels.ndim == 2:
        image = QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()


def heat_qimage(difference: np.ndarray, gain: float = DIFFERENCE_GAIN) -> QImage:
    """A difference map (float in [0, 1]) as a black → red → yellow → white heat image, amplified by ``gain``."""
    value = np.clip(difference * gain, 0.0, 1.0)
    rgb = np.stack([np.clip(value * 3, 0, 1), np.clip(value * 3 - 1, 0, 1), np.clip(value * 3 - 2, 0, 1)], axis=-1)
    return to_qimage(rgb.astype(np.float32))
