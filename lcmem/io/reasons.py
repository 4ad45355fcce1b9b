"""Short reasons a person understands, for operating-system errors met while reading files."""

from __future__ import annotations

import errno

_REASONS = {
    errno.ENOENT: "not found",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "is a folder, not a file",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.ELOOP: "too many levels of symbolic links",
    errno.ENAMETOOLONG: "the path is too long",
    errno.EIO: "input/output error (failing disk or network share?)",
}


def describe_os_error(exc: OSError) -> str:
    """Return a short lower-case reason for an :class:`OSError`, without the path.

    Args:
        exc: the error raised by ``open``, ``os.scandir``, ``os.stat`` and the like.

    Returns:
        A phrase such as ``"permission denied"`` or ``"not found"``.
    """
    if exc.errno in _REASONS:
        return _REASONS[exc.errno]
    if exc.strerror:
        return exc.strerror.lower()
    return f"{type(exc).__name__}: {exc}"
