"""Optional dependencies: imported only where a feature needs them, with an install hint when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from lcmem.errors import MissingExtraError

CLUSTER_EXTRA = "pip install 'lcmem[cluster]'"


def require(module: str, feature: str, install: str = CLUSTER_EXTRA) -> ModuleType:
    """Import ``module`` for ``feature``.

    Raises:
        MissingExtraError: the module is not installed; the message says how to install it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"{feature} needs the Python package {module.split('.')[0]!r}: {install}") from exc
