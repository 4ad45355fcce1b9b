"""Helpers shared by the benchmark scripts: generated images, the default model, medians, JSON lines."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import numpy as np
from PIL import Image

from lcmem.model.bundle import Bundle, load_bundle
from lcmem.model.default import default_bundle_path


def write_images(folder: Path, count: int, size: int = 256, seed: int = 0, prefix: str = "img") -> list[Path]:
    """Write ``count`` smooth random RGB PNGs of ``size``² (bicubic upsampled 8×8 noise) and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        image = Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)
        path = folder / f"{prefix}_{i:06d}.png"
        image.save(path)
        paths.append(path)
    return paths


def write_noisy_copies(sources: list[Path], folder: Path, seed: int = 1) -> list[Path]:
    """Write a lightly noised copy of each source image (a stand-in for memorized synthetic images)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i, source in enumerate(sources):
        pixels = np.asarray(Image.open(source), dtype=np.float32)
        noisy = np.clip(pixels + rng.normal(0, 4, pixels.shape), 0, 255).astype(np.uint8)
        path = folder / f"copy_{i:06d}.png"
        Image.fromarray(noisy).save(path)
        paths.append(path)
    return paths


def model_or_default(path: Path | None) -> Bundle:
    """Load ``path``, or the bundled default model."""
    path = path or default_bundle_path()
    if path is None:
        raise SystemExit("no default model is bundled: pass --model BUNDLE")
    return load_bundle(path)


def median(values: list[float]) -> float:
    """The median, for figures quoted from repeated runs."""
    return float(statistics.median(values))


def emit(result: dict) -> None:
    """Print the benchmark's JSON line (the machine-readable record of the run)."""
    print(json.dumps(result, sort_keys=True))
