"""Versions of the software that produced a model or a result, recorded for reproducibility."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata

from lcmem import __version__

PACKAGES = ("torch", "diffusers", "numpy", "pillow", "pydicom", "faiss-cpu", "safetensors")


def package_version(distribution: str) -> str:
    """The installed version of ``distribution`` from its metadata (no import), or ``"not installed"``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def software_versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Versions of Python, lcmem and the numerical packages that determine a result, plus ``extra`` packages."""
    versions = {"python": platform.python_version(), "lcmem": __version__}
    for package in (*PACKAGES, *extra):
        versions[package] = package_version(package)
    return versions
