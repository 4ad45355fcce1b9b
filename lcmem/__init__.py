"""LCMem Review: find training images that a generative model has memorized.

The package imports nothing heavy at start-up; the public API is loaded on first use::

    from lcmem import load_bundle, run_scan, load_image
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

_EXPORTS = {
    "load_image": "lcmem.io",
    "iter_frames": "lcmem.io",
    "discover_images": "lcmem.io",
    "load_bundle": "lcmem.model.bundle",
    "save_bundle": "lcmem.model.bundle",
    "LCMemConfig": "lcmem.model.config",
    "embed_files": "lcmem.embed.runner",
    "EmbeddingCache": "lcmem.embed.cache",
    "run_scan": "lcmem.scan.pipeline",
    "ScanSettings": "lcmem.scan.types",
    "CancelToken": "lcmem.progress",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lcmem' has no attribute {name!r}")
