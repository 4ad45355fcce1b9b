"""On-disk embedding cache keyed by (file content sha256, model checksum).

One SQLite file per model under the cache folder, so a new model never reads another model's
vectors, and a moved or renamed file hits the cache by its content. Decode failures are not cached:
they may depend on settings (the pixel limit) or on decoders installed later. The cache is
disposable: deleting the folder is safe.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from lcmem.errors import CacheError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1


def default_cache_dir() -> Path:
    """``$LCMEM_CACHE_DIR``, else the platform's user cache folder plus ``lcmem``."""
    override = os.environ.get("LCMEM_CACHE_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "lcmem" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "lcmem"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lcmem"


def write_rows(db: sqlite3.Connection, sql: str, rows: list[tuple], failure: str) -> None:
    """Run ``sql`` for every row in one transaction (nothing for no rows).

    Raises:
        CacheError: ``failure`` and SQLite's reason.
    """
    if not rows:
        return
    try:
        with db:
            db.execute("BEGIN")
            db.executemany(sql, rows)
    except sqlite3.Error as exc:
        raise CacheError(f"{failure} ({exc})") from exc


class EmbeddingCache:
    """Embeddings of every item (frame) of a file, stored as float32 under the file's sha256.

    Args:
        directory: the cache folder (created if needed).
        model_checksum: the checksum of the model whose embeddings are stored.
        dim: the embedding width; a stored vector of another width is ignored.

    Raises:
        CacheError: the cache file cannot be created or opened.
    """

    def __init__(self, directory: str | Path, model_checksum: str, dim: int) -> None:
        self.directory = Path(directory)
        self.model_checksum = model_checksum
        self.dim = dim
        self.path = self.directory / f"embeddings-{model_checksum[:24]}.sqlite"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._create_schema()
        except (sqlite3.Error, OSError) as exc:
            raise CacheError(
                f"{self.path}: cannot open the embedding cache ({exc}); delete it or choose another "
                "cache folder (--cache-dir)"
            ) from exc

    def _create_schema(self) -> None:
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS embeddings (
                sha256 TEXT PRIMARY KEY, n_items INTEGER NOT NULL, dim INTEGER NOT NULL, data BLOB NOT NULL);
            """
        )
        row = self._db.execute("SELECT value FROM meta WHERE key='model_checksum'").fetchone()
        if row is None:
            self._db.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("model_checksum", self.model_checksum), ("schema_version", str(SCHEMA_VERSION))],
            )
        elif row[0] != self.model_checksum:
            raise CacheError(f"{self.path}: belongs to model {row[0][:12]}…, not {self.model_checksum[:12]}…")

    def get_many(self, digests: Iterable[str]) -> dict[str, np.ndarray]:
        """Return ``{sha256: (n_items, dim) float32}`` for the digests that are cached."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(digests))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT sha256, n_items, dim, data FROM embeddings WHERE sha256 IN ({marks})", chunk
            )
            for digest, n_items, dim, data in rows:
                if dim == self.dim and len(data) == n_items * dim * 4:
                    found[digest] = np.frombuffer(data, dtype="<f4").reshape(n_items, dim).copy()
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        """Store ``{sha256: (n_items, dim)}`` embeddings in one transaction."""
        rows = [
            (digest, int(array.shape[0]), self.dim, np.ascontiguousarray(array, dtype="<f4").tobytes())
            for digest, array in items.items()
        ]
        self._write("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)

    def _write(self, sql: str, rows: list[tuple]) -> None:
        write_rows(self._db, sql, rows, f"{self.path}: cannot write the embedding cache")

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
