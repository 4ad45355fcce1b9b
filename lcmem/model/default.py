"""Where the default model bundle is found when the user names none."""

from __future__ import annotations

import os
from pathlib import Path

from lcmem.errors import BundleError

DEFAULT_BUNDLE_NAME = "lcmem-small"


def default_bundle_path() -> Path | None:
    """``$LCMEM_DEFAULT_MODEL``, else ``resources/models/lcmem-small`` beside the package, if it exists."""
    override = os.environ.get("LCMEM_DEFAULT_MODEL")
    if override:
        return Path(override)
    candidate = Path(__file__).resolve().parents[2] / "resources" / "models" / DEFAULT_BUNDLE_NAME
    return candidate if (candidate / "lcmem.json").is_file() else None


def model_path_or_default(path: Path | None) -> Path:
    """``path`` if given, else the default bundle.

    Raises:
        BundleError: no path is given and no default model is installed.
    """
    chosen = path or default_bundle_path()
    if chosen is None:
        raise BundleError("no default model is installed yet: pass --model BUNDLE_DIR")
    return chosen
