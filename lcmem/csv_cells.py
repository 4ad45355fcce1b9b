"""Writing CSV files that spreadsheets open safely, atomically.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel, LibreOffice
and Google Sheets as a formula (CSV injection, OWASP); such text cells get a leading apostrophe. Numbers
are written as numbers. Paths with commas, quotes or newlines are quoted by the ``csv`` module. Text that
UTF-8 cannot hold (lone surrogates, from a file name that is not UTF-8) is written with backslash escapes
rather than failing the whole file.

Every output file (``lcmem scan``'s CSVs and run record, ``lcmem project export`` and ``report``) is created like
any file a user saves: mode 0666 less the umask (0644 with the usual umask 022, 0600 with 077), never the 0600
that :func:`tempfile.mkstemp` would leave on the renamed temporary file.
"""

from __future__ import annotations

import contextlib
import csv
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from lcmem.io.types import FileProblem

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Return ``value`` ready for a CSV cell: text that a spreadsheet would run as a formula is defused."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


@contextlib.contextmanager
def naming_errors(target: Path) -> Iterator[None]:
    """Re-raise an ``OSError`` with ``target`` as its file name.

    A failed ``write()`` (disk full) names no file and a failed ``open`` names the temporary one; the
    user needs to know which output could not be written.
    """
    try:
        yield
    except OSError as exc:
        if exc.filename == str(target) or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from exc


def temporary_beside(target: Path) -> tuple[int, str]:
    """Create a new hidden temporary file beside ``target`` (mode 0666 less the umask) and open it for writing.

    Returns:
        ``(file descriptor, path)``.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = str(target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_text_file(path: str | Path, **options: Any) -> Iterator[TextIO]:
    """A UTF-8 text stream onto a temporary file beside ``path``, synced and renamed onto it when the block ends.

    ``options`` go to :func:`open` (``newline``, ``errors``). If the block raises, the temporary file is removed
    and the target is untouched.

    Raises:
        OSError: the folder cannot be written, or the disk is full; its ``filename`` is the target.
    """
    target = Path(path)
    with naming_errors(target):
        handle, temp = temporary_beside(target)
    try:
        with naming_errors(target), os.fdopen(handle, "w", encoding="utf-8", **options) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, target)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def write_csv_atomic(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write a UTF-8 CSV through a temporary file renamed into place; return the number of data rows.

    Raises:
        OSError: the folder cannot be written, or the disk is full (the target is left untouched); its
            ``filename`` is the target.
    """
    count = 0
    with atomic_text_file(path, newline="", errors="backslashreplace") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for row in rows:
            writer.writerow([safe_cell(v) for v in row])
            count += 1
    return count


PROBLEM_COLUMNS = ("path", "kind", "reason")
"""The columns of every problems CSV (a scan's, an embedding job's)."""


def write_problems(path: str | Path, problems: Iterable[FileProblem]) -> int:
    """Write unreadable files with their reasons (columns :data:`PROBLEM_COLUMNS`); return the row count."""
    return write_csv_atomic(path, PROBLEM_COLUMNS, ((p.path, p.kind, p.reason) for p in problems))


class CsvStream:
    """An open CSV being written row batch by row batch, renamed into place by :meth:`commit`.

    Used where rows arrive in chunks (a scan) and the finished file must never be seen half-written.
    """

    def __init__(self, path: str | Path, header: Sequence[str]) -> None:
        self.target = Path(path)
        with naming_errors(self.target):
            handle, self._temp = temporary_beside(self.target)
        self._stream = os.fdopen(handle, "w", newline="", encoding="utf-8", errors="backslashreplace")
        self._writer = csv.writer(self._stream)
        self.rows = 0
        with naming_errors(self.target):
            self._writer.writerow(header)

    def write(self, rows: Iterable[Sequence[object]]) -> None:
        """Append rows (cells are defused with :func:`safe_cell`)."""
        with naming_errors(self.target):
            for row in rows:
                self._writer.writerow([safe_cell(v) for v in row])
                self.rows += 1

    def commit(self) -> None:
        """Flush, sync and rename the file into place."""
        with naming_errors(self.target):
            self._stream.flush()
            os.fsync(self._stream.fileno())
            self._stream.close()
            os.replace(self._temp, self.target)

    def discard(self) -> None:
        """Close and delete the temporary file; the target is untouched."""
        with contextlib.suppress(OSError):  # after a failed write (disk full) the final flush fails again
            self._stream.close()
        if os.path.exists(self._temp):
            os.unlink(self._temp)
