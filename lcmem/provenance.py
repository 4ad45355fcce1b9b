"""Versions of the software that produced a model or a result, recorded for reproducibility."""

from __future__ import annotations

import platform
from importlib import metadata


def software_versions() -> dict[str, str]:
    """Versions of Python, lcmem and the numerical packages that determine a result."""
    versions = {"python": platform.python_version()}
    for package in ("lcmem", "torch", "diffusers", "numpy", "pillow", "pydicom", "faiss-cpu", "safetensors"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions
