"""Writing JSON records (run records, manifests) atomically: a temporary file renamed into place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lcmem.csv_cells import atomic_text_file
from lcmem.errors import LCMemError


def write_json_atomic(path: str | Path, record: Any) -> None:
    """Write ``record`` as indented, key-sorted JSON; the file appears whole or not at all.

    Raises:
        OSError: the folder cannot be written or the disk is full; its ``filename`` is the target.
    """
    with atomic_text_file(path) as stream:
        json.dump(record, stream, indent=2, sort_keys=True)
        stream.write("\n")


def read_manifest(path: str | Path, kind: str, version: int, error: type[LCMemError], missing: str) -> dict[str, Any]:
    """Read a manifest whose ``format`` must be ``kind``, of a ``format_version`` up to ``version``.

    Raises:
        error: the file is missing (the message ends with ``missing``, what to do), unreadable, of another
            format, or newer than this lcmem.
    """
    target = Path(path)
    try:
        manifest = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{target.parent}: no {target.name}; {missing}") from exc
    except (OSError, ValueError) as exc:
        raise error(f"{target}: cannot read the manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != kind:
        raise error(f"{target}: not an {kind} manifest")
    if manifest.get("format_version", 0) > version:
        raise error(f"{target}: written by a newer lcmem (format {manifest['format_version']}); upgrade lcmem")
    return manifest
