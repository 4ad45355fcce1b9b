"""Thread counts and device choice, set once by the CLI or the app (never by library functions)."""

from __future__ import annotations

import os

import torch


def configure_threads(threads: int | None) -> int:
    """Use ``threads`` compute threads in torch and FAISS (``None``: all cores); return the count used."""
    import faiss

    count = max(1, threads or os.cpu_count() or 1)
    torch.set_num_threads(count)
    faiss.omp_set_num_threads(count)
    return count


def resolve_device(name: str = "auto") -> str:
    """Turn ``auto`` into ``cuda`` when a GPU is visible, else ``mps`` on Apple silicon, else ``cpu``."""
    if name != "auto":
        return name
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
