"""Local features of one image: SIFT keypoints and descriptors at a bounded working size.

The pixels are those the encoder sees (:func:`lcmem.io.load_image`: DICOM windowing, EXIF orientation), turned
to 8-bit grey and shrunk so that the long side is at most ``max_side``. Keypoint coordinates are kept at that
working size together with the factor back to the file's pixels, so the matcher's thresholds mean the same for
a 200-pixel dermoscopy image and a 3,000-pixel radiograph.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lcmem.verify.settings import FeatureSettings

DESCRIPTOR_WIDTH = 128


@dataclass(frozen=True)
class Features:
    """Keypoints ``(n, 2)`` float32 (x, y at working size, of the image as stored or mirrored left–right),
    descriptors ``(n, 128)`` uint8, the working ``size`` (width, height) and ``to_file``: working px → file px."""

    points: np.ndarray
    descriptors: np.ndarray
    size: tuple[int, int]
    to_file: float
    mirrored: bool = False

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def file_points(self, indices: np.ndarray) -> np.ndarray:
        """The keypoints ``indices`` in the file's pixel coordinates of the image as stored (mirror undone)."""
        points = self.points[indices].astype(np.float64)
        if self.mirrored:
            points[:, 0] = self.size[0] - 1 - points[:, 0]
        return points * self.to_file


def working_grey(pixels: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Decoded pixels (float [0, 1], grey or RGB) → uint8 grey with long side ≤ ``max_side``, and the factor
    from working to file coordinates."""
    grey = pixels if pixels.ndim == 2 else pixels @ np.asarray([0.299, 0.587, 0.114], dtype=pixels.dtype)
    image = np.clip(np.nan_to_num(grey) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    long_side = max(image.shape)
    if long_side <= max_side:
        return image, 1.0
    factor = max_side / long_side
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), long_side / max_side


def no_features(*, mirrored: bool = False, size: tuple[int, int] = (0, 0), to_file: float = 1.0) -> Features:
    """No keypoints: a flat image, or one that could not be read."""
    return Features(np.zeros((0, 2), np.float32), np.zeros((0, DESCRIPTOR_WIDTH), np.uint8), size, to_file, mirrored)


def extract(pixels: np.ndarray, settings: FeatureSettings, *, mirrored: bool = False) -> Features:
    """SIFT features of decoded pixels (``mirrored``: of the image flipped left–right). A flat image yields
    no keypoints, not an error."""
    image, to_file = working_grey(pixels, settings.max_side)
    if mirrored:
        image = np.ascontiguousarray(image[:, ::-1])
    sift = cv2.SIFT_create(nfeatures=settings.n_features, contrastThreshold=settings.contrast_threshold)
    keypoints, descriptors = sift.detectAndCompute(image, None)
    size = (int(image.shape[1]), int(image.shape[0]))
    if descriptors is None or not keypoints:
        return no_features(mirrored=mirrored, size=size, to_file=to_file)
    keypoints, descriptors = keypoints[: settings.n_features], descriptors[: settings.n_features]
    points = np.asarray([k.pt for k in keypoints], dtype=np.float32)
    codes = np.clip(np.rint(descriptors), 0, 255).astype(np.uint8)
    return Features(points, codes, size, to_file, mirrored)
