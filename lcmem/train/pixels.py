"""Decoded training images, resized once to the model's input size and kept as uint8 on disk.

Decoding thousands of JPEG/PNG/DICOM files every epoch would dominate CPU training; the image cache is made
once per (label files, input size) with the same pixel pipeline the scanner uses (``lcmem.io`` then
``to_model_input``), and memory-mapped afterwards.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lcmem.errors import ImageReadError
from lcmem.io import load_image
from lcmem.model.preprocess import to_model_input
from lcmem.train.data import Record

logger = logging.getLogger(__name__)


def _decode(path: str, size: int) -> np.ndarray | None:
    try:
        tensor = to_model_input(load_image(path), size)
    except ImageReadError as exc:
        logger.warning("skipping unreadable training image: %s", exc.reason)
        return None
    return (tensor.numpy() * 255 + 0.5).astype(np.uint8)


def image_cache(records: list[Record], size: int, folder: str | Path, threads: int = 2) -> np.ndarray:
    """Return ``(N, 3, size, size)`` uint8 pixels of ``records`` (memory-mapped), decoding only once.

    An unreadable image becomes all zeros and is logged (its identity still has its other images).
    """
    key = hashlib.sha256(json.dumps([size, [r.path for r in records]]).encode()).hexdigest()[:16]
    target = Path(folder) / f"images-{size}-{key}.npy"
    if target.exists():
        return np.load(target, mmap_mode="r")
    target.parent.mkdir(parents=True, exist_ok=True)
    array = np.zeros((len(records), 3, size, size), dtype=np.uint8)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        decoded = pool.map(lambda r: _decode(r.path, size), records)
        for index, pixels in enumerate(tqdm(decoded, total=len(records), desc="decoding images", unit="img")):
            if pixels is not None:
                array[index] = pixels
    temp = target.with_suffix(".tmp.npy")
    np.save(temp, array)
    os.replace(temp, target)
    return np.load(target, mmap_mode="r")


def to_float(batch: np.ndarray) -> np.ndarray:
    """uint8 pixels → float32 in [0, 1]."""
    return batch.astype(np.float32) / 255.0
