"""Where the files shipped with lcmem are found: the default model, the app icons, the desktop entry.

The repository keeps them in its top-level ``resources/`` folder, the one source of them. A wheel installs that
folder as the package ``lcmem_resources`` (``setup.py`` maps it), a frozen app (PyInstaller) carries it as
``resources/`` in ``sys._MEIPASS``, and a source checkout (an editable install, or ``PYTHONPATH``) reads it in
place.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

RESOURCES_PACKAGE = "lcmem_resources"
FROZEN_FOLDER = "resources"


def frozen_root() -> Path | None:
    """The folder a frozen (PyInstaller) app unpacks its data to, or ``None`` when not frozen."""
    root = getattr(sys, "_MEIPASS", None)
    return Path(root) if getattr(sys, "frozen", False) and root else None


def source_checkout() -> Path | None:
    """The repository root when lcmem runs from a source checkout (editable or ``PYTHONPATH``), else ``None``."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "resources").is_dir() else None


def resources_dir() -> Path | None:
    """The folder holding the shipped resources, or ``None`` when this installation has none."""
    frozen = frozen_root()
    if frozen is not None:
        candidate = frozen / FROZEN_FOLDER
        return candidate if candidate.is_dir() else None
    checkout = source_checkout()
    if checkout is not None:
        return checkout / "resources"
    spec = importlib.util.find_spec(RESOURCES_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return None


def resource_path(*parts: str) -> Path | None:
    """``<resources>/<parts>`` when it exists, else ``None``."""
    root = resources_dir()
    if root is None:
        return None
    candidate = root.joinpath(*parts)
    return candidate if candidate.exists() else None
