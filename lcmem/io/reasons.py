"""Short reasons a person understands, for operating-system errors and decoder failures met while reading files."""

from __future__ import annotations

import errno
import re

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
DETAIL_LIMIT = 200
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>")


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


def describe_exception(exc: BaseException, limit: int = DETAIL_LIMIT) -> str:
    """Return ``"Type: message"`` on one line, at most ``limit`` characters, for a reason's parenthesis.

    Decoders raise multi-line messages (pydicom lists every plugin that failed) holding object reprs; those
    are folded into one line (``"; "`` between the lines) and cut with an ellipsis, so that a reason stays a
    sentence a person can read in a table.
    """
    lines = [" ".join(line.split()) for line in str(exc).splitlines()]
    message = "; ".join(line.rstrip(":") for line in lines if line)
    text = _OBJECT_REPR.sub("the data", f"{type(exc).__name__}: {message}" if message else type(exc).__name__)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
