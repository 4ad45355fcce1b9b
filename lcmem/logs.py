"""Where log records and warnings go: lcmem's own to the terminal, every library's to a log file.

Libraries (pydicom, Pillow, FAISS, torch…) log errors with tracebacks and warn about the files they read; a user
who asked for quiet must not see them. :func:`configure_logging` (called once by the CLI, the app and a worker
process, never by library functions) sends the records of lcmem's own loggers to stderr at WARNING (INFO with
``verbose``) and everything, libraries included, to the log file; with ``verbose`` the libraries' records reach
stderr too. :mod:`warnings` are routed through logging (logger ``py.warnings``), so they follow the same rules.
:func:`library_notes` collects what libraries warned on the current thread while one file was read, for that
file's problem reason.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OWN_LOGGERS = frozenset({"lcmem", "app", "__main__", "__mp_main__"})
"""Top-level logger names whose records a quiet terminal still shows (at WARNING and above)."""

NOISY_LIBRARIES = r"(pydicom|PIL)(\..*)?$"
"""Modules whose warnings are logged every time (not once per place) so that each file's reason can hold them."""

TERMINAL_FORMAT = "%(levelname)s %(name)s: %(message)s"
FILE_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
NOTE_LIMIT = 160
MAX_LOG_BYTES = 5 * 1024 * 1024
"""A log file over this size is moved to ``NAME.1`` (replacing the previous one) when logging starts."""

_MARK = "_lcmem_handler"
_WARNING_TEXT = re.compile(r":\d+: (\w+): (.*)")
_local = threading.local()
_state = {"log_file": None}


def is_own(record: logging.LogRecord) -> bool:
    """Return whether a record comes from lcmem or the app (not from a library)."""
    return record.name.split(".", 1)[0] in OWN_LOGGERS


class _OwnOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return is_own(record)


class _NoteCollector(logging.Handler):
    """Keeps the text of library warnings emitted on a thread inside :func:`library_notes`."""

    def emit(self, record: logging.LogRecord) -> None:
        notes = getattr(_local, "notes", None)
        if notes is not None and not is_own(record) and record.levelno == logging.WARNING:
            notes.append(warning_text(record))


def warning_text(record: logging.LogRecord) -> str:
    """One line for a library's warning: ``"UserWarning: message"`` for a captured :mod:`warnings` warning."""
    lines = record.getMessage().strip().splitlines()
    first = lines[0] if lines else ""
    match = _WARNING_TEXT.search(first) if record.name == "py.warnings" else None
    text = f"{match.group(1)}: {match.group(2)}" if match else f"{record.name}: {first}"
    return text if len(text) <= NOTE_LIMIT else text[: NOTE_LIMIT - 1].rstrip() + "…"


def configure_logging(
    verbose: bool = False,
    log_file: str | Path | None = None,
    *,
    terminal: bool = True,
    terminal_level: int | None = None,
    terminal_format: str = TERMINAL_FORMAT,
) -> Path | None:
    """Install lcmem's handlers on the root logger, replacing those of an earlier call.

    Args:
        verbose: show INFO records, and the libraries' records, on stderr.
        log_file: append every record (libraries' included, INFO and above; DEBUG with ``verbose``) to this
            file; a file that cannot be opened is reported on stderr and skipped.
        terminal: log to stderr at all.
        terminal_level: the least level shown on stderr (default WARNING, INFO with ``verbose``).
        terminal_format: the stderr line format.

    Returns:
        The log file in use, or ``None``.
    """
    release_logging()
    root = logging.getLogger()
    root.setLevel(min(logging.DEBUG if verbose else logging.INFO, terminal_level or logging.INFO))
    logging.getLogger("pydicom").setLevel(logging.ERROR)  # its warnings can echo element values (patient data)
    if terminal:
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(terminal_level or (logging.INFO if verbose else logging.WARNING))
        stream.setFormatter(logging.Formatter(terminal_format))
        if not verbose:
            stream.addFilter(_OwnOnly())
        _install(root, stream)
    if log_file is not None:
        _state["log_file"] = _open_log_file(root, Path(log_file))
    _install(root, _NoteCollector(logging.WARNING))
    logging.captureWarnings(True)
    warnings.filterwarnings("always", module=NOISY_LIBRARIES)
    return _state["log_file"]


def release_logging() -> None:
    """Remove and close the handlers :func:`configure_logging` installed; give :mod:`warnings` its own output."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    logging.captureWarnings(False)
    _state["log_file"] = None


def current_log_file() -> Path | None:
    """The log file :func:`configure_logging` opened (for a worker process to append to), or ``None``."""
    return _state["log_file"]


@contextmanager
def library_notes() -> Iterator[list[str]]:
    """Collect, as one line each, the warnings libraries log on this thread inside the block."""
    previous = getattr(_local, "notes", None)
    _local.notes = notes = []
    try:
        yield notes
    finally:
        _local.notes = previous


def with_notes(reason: str, notes: list[str], limit: int = 400) -> str:
    """``reason`` followed by the first library warning it does not already say, within ``limit`` characters."""
    extra = next((note for note in notes if note.split(": ", 1)[-1][:40] not in reason), None)
    if extra is None:
        return reason
    room = limit - len(reason) - len(" (the decoder warned: )")
    if room < 20:
        return reason
    shown = extra if len(extra) <= room else extra[: room - 1].rstrip() + "…"
    return f"{reason} (the decoder warned: {shown})"


def _open_log_file(root: logging.Logger, path: Path) -> Path | None:
    """Append to ``path`` (moving a large one to ``NAME.1`` first); report a failure on stderr."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
            path.replace(path.with_name(path.name + ".1"))
        handler = logging.FileHandler(path, encoding="utf-8", delay=False)
    except OSError as exc:
        print(f"lcmem: warning: cannot write the log file {path} ({exc.strerror or exc})", file=sys.stderr)
        return None
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    _install(root, handler)
    return path


def _install(root: logging.Logger, handler: logging.Handler) -> None:
    setattr(handler, _MARK, True)
    root.addHandler(handler)
