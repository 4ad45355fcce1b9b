"""The row table of a prebuilt index: FAISS row number → the item (sha256, path, frame, DICOM UIDs), in SQLite.

SQLite rather than Parquet because a scan looks rows up by number a few thousand at a time, out of up to 10^7,
and SQLite answers that from its B-tree without reading the table into memory. Built once, then read-only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

from lcmem.embed.types import ItemRecord
from lcmem.errors import SearchIndexError

COLUMNS = ("path", "sha256", "frame", "n_frames", "study_instance_uid", "series_instance_uid", "sop_instance_uid")


class RowTable:
    """The items of an index by row number. Use :meth:`create` to write one, :meth:`open` to read one.

    Raises:
        SearchIndexError: the file cannot be created or read.
    """

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    @classmethod
    def create(cls, path: str | Path) -> RowTable:
        """A new, empty table in a new file."""
        target = Path(path)
        try:
            db = sqlite3.connect(target, isolation_level=None)
            db.execute("PRAGMA journal_mode=OFF")
            db.execute(f"CREATE TABLE items (row INTEGER PRIMARY KEY, {', '.join(COLUMNS)})")
        except sqlite3.Error as exc:
            raise SearchIndexError(f"{target}: cannot create the row table ({exc})") from exc
        return cls(target, db)

    @classmethod
    def open(cls, path: str | Path) -> RowTable:
        """Open a finished table read-only (it may lie on read-only shared storage)."""
        target = Path(path)
        if not target.is_file():
            raise SearchIndexError(f"{target}: the index has no row table; rebuild it with lcmem index build")
        uri = f"file:{quote(target.resolve().as_posix())}?mode=ro&immutable=1"
        try:
            return cls(target, sqlite3.connect(uri, uri=True, check_same_thread=False))
        except sqlite3.Error as exc:
            raise SearchIndexError(f"{target}: cannot open the row table ({exc})") from exc

    def append(self, start: int, items: Sequence[ItemRecord]) -> None:
        """Store ``items`` as rows ``start, start + 1, …`` in one transaction."""
        rows = [(start + i, *(getattr(item, name) for name in COLUMNS)) for i, item in enumerate(items)]
        marks = ", ".join("?" * (len(COLUMNS) + 1))
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(f"INSERT INTO items VALUES ({marks})", rows)
        except sqlite3.Error as exc:
            raise SearchIndexError(f"{self.path}: cannot write the row table ({exc})") from exc

    def lookup(self, rows: Iterable[int]) -> dict[int, ItemRecord]:
        """The items of the given row numbers (unknown numbers are left out)."""
        wanted = sorted({int(r) for r in rows})
        found: dict[int, ItemRecord] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            query = f"SELECT row, {', '.join(COLUMNS)} FROM items WHERE row IN ({','.join('?' * len(chunk))})"
            for row, *values in self._db.execute(query, chunk):
                found[row] = ItemRecord(*values)
        return found

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        self._db.close()
