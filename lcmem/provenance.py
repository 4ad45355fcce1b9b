"""Versions of the software that produced a model or a result, recorded for reproducibility."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata

PACKAGES = ("lcmem", "torch", "diffusers", "numpy", "pillow", "pydicom", "faiss-cpu", "safetensors")


def software_versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Versions of Python, lcmem and the numerical packages that determine a result, plus ``extra`` packages."""
    versions = {"python": platform.python_version()}
    for package in (*PACKAGES, *extra):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions
