"""Where the default model bundle is found when the user names none."""

from __future__ import annotations

import os
from pathlib import Path

from lcmem.errors import BundleError
from lcmem.resources import resource_path

DEFAULT_BUNDLE_NAME = "lcmem-small"


def default_bundle_path() -> Path | None:
    """``$LCMEM_DEFAULT_MODEL``, else the shipped ``resources/models/lcmem-small`` if it is there.

    The shipped resources are found in a source checkout, an installed wheel and a frozen app alike
    (:mod:`lcmem.resources`).
    """
    override = os.environ.get("LCMEM_DEFAULT_MODEL")
    if override:
        return Path(override)
    candidate = resource_path("models", DEFAULT_BUNDLE_NAME)
    return candidate if candidate is not None and (candidate / "lcmem.json").is_file() else None


def model_path_or_default(path: Path | None) -> Path:
    """``path`` if given, else the default bundle.

    Raises:
        BundleError: no path is given and no default model is installed.
    """
    chosen = path or default_bundle_path()
    if chosen is None:
        raise BundleError("no default model is installed yet: pass --model BUNDLE_DIR")
    return chosen
