"""Tiny generated images for the verification tests: textured scenes, their edits and look-alikes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image


def textured(seed: int, size: int = 192) -> np.ndarray:
    """A grey image in [0, 1] with random rectangles, circles and a little grain: plenty of SIFT keypoints."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size), 0.5, np.float32)
    for _ in range(40):
        x, y = (int(v) for v in rng.integers(0, size, 2))
        r = int(rng.integers(4, size // 8))
        value = float(rng.uniform(0, 1))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), r, value, -1)
        else:
            cv2.rectangle(image, (x, y), (x + r, y + r // 2 + 2), value, -1)
    return np.clip(image + rng.normal(0, 0.02, image.shape).astype(np.float32), 0, 1)


def rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    """``image`` rotated about its centre, corners black."""
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h))


def save_png(pixels: np.ndarray, path: Path) -> Path:
    """Write grey pixels in [0, 1] as an 8-bit PNG."""
    Image.fromarray((np.clip(pixels, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def scene() -> np.ndarray:
    return textured(7)
