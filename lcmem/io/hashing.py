"""SHA-256 of a file's bytes: the content key every later tier uses."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from lcmem.errors import ImageReadError
from lcmem.io.reasons import describe_os_error

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024


def sha256_file(path: str | Path) -> str:
    """Return the SHA-256 of a file's bytes as 64 lower-case hex digits.

    The file is streamed in 1 MiB chunks, so memory use does not depend on its size.

    Args:
        path: the file to hash.

    Returns:
        The hex digest.

    Raises:
        ImageReadError: the file cannot be opened or read (missing, a folder, permission denied...).
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK_SIZE):
                digest.update(chunk)
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file to hash it: {describe_os_error(exc)}") from exc
    return digest.hexdigest()
