"""On-disk cache of local features and pair verdicts, keyed by content, beside the embedding cache.

One SQLite file per feature setting (``features-<settings>.sqlite`` in ``$LCMEM_CACHE_DIR``): a renamed file
hits by its sha256, other settings never read these keypoints. The file is bounded: past ``max_bytes`` the
entries used longest ago are dropped (SIFT features of 250 keypoints take ~34 kB an image). Pair verdicts (a
few numbers each) are kept too, so a warm rescan does not match again. Disposable like the embedding cache.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from lcmem.embed.cache import write_rows
from lcmem.errors import CacheError
from lcmem.verify.features import DESCRIPTOR_WIDTH, Features
from lcmem.verify.settings import FeatureSettings, MatchSettings, VerifySettings
from lcmem.verify.types import Transform, Verification

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 1 << 30
FeatureKey = tuple[str, int, bool]
"""(content sha256, frame, mirrored)."""
PairKey = tuple[str, int, str, int]
"""(synthetic sha256, frame, real sha256, frame)."""


class FeatureCache:
    """Features ``(sha256, frame, mirrored) → Features`` and verdicts of pairs for one feature setting.

    Safe to share between threads (one connection behind a lock).

    Raises:
        CacheError: the cache file cannot be created, opened or written.
    """

    def __init__(
        self,
        directory: str | Path,
        features: FeatureSettings,
        match: MatchSettings,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.path = Path(directory) / f"features-{features.key()}.sqlite"
        self.max_bytes = max_bytes
        self._match_key = match.key()
        self._lock = threading.Lock()
        self._clock = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS features (
                    sha256 TEXT NOT NULL, frame INTEGER NOT NULL, mirrored INTEGER NOT NULL,
                    width INTEGER NOT NULL, height INTEGER NOT NULL, to_file REAL NOT NULL,
                    points BLOB NOT NULL, descriptors BLOB NOT NULL, used INTEGER NOT NULL,
                    PRIMARY KEY (sha256, frame, mirrored));
                CREATE TABLE IF NOT EXISTS verdicts (
                    synthetic_sha256 TEXT NOT NULL, synthetic_frame INTEGER NOT NULL,
                    real_sha256 TEXT NOT NULL, real_frame INTEGER NOT NULL, match TEXT NOT NULL,
                    inliers INTEGER NOT NULL, scale REAL, rotation REAL, tx REAL, ty REAL, mirrored INTEGER,
                    used INTEGER NOT NULL,
                    PRIMARY KEY (synthetic_sha256, synthetic_frame, real_sha256, real_frame, match));
                CREATE INDEX IF NOT EXISTS ix_features_used ON features (used);
                """
            )
            self._clock = int(self._db.execute("SELECT COALESCE(MAX(used), 0) FROM features").fetchone()[0])
            self._bytes = int(
                self._db.execute(
                    "SELECT COALESCE(SUM(LENGTH(points) + LENGTH(descriptors)), 0) FROM features"
                ).fetchone()[0]
            )
        except (sqlite3.Error, OSError) as exc:
            raise CacheError(
                f"{self.path}: cannot open the feature cache ({exc}); delete it or choose another cache folder"
            ) from exc

    @classmethod
    def for_settings(cls, directory: str | Path, settings: VerifySettings) -> FeatureCache:
        """The cache of ``settings``' features in ``directory``."""
        return cls(directory, settings.features, settings.match)

    def get_features(self, key: FeatureKey) -> Features | None:
        """The cached features of ``key``, or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT width, height, to_file, points, descriptors FROM features "
                "WHERE sha256=? AND frame=? AND mirrored=?",
                (key[0], key[1], int(key[2])),
            ).fetchone()
            if row is None:
                return None
            self._clock += 1
            self._db.execute(
                "UPDATE features SET used=? WHERE sha256=? AND frame=? AND mirrored=?",
                (self._clock, key[0], key[1], int(key[2])),
            )
        width, height, to_file, points, descriptors = row
        return Features(
            np.frombuffer(points, "<f4").reshape(-1, 2).copy(),
            np.frombuffer(descriptors, np.uint8).reshape(-1, DESCRIPTOR_WIDTH).copy(),
            (width, height),
            to_file,
            key[2],
        )

    def put_features(self, key: FeatureKey, features: Features) -> None:
        """Store ``features`` under ``key``, then drop the entries used longest ago while over ``max_bytes``."""
        points = np.ascontiguousarray(features.points, "<f4").tobytes()
        descriptors = np.ascontiguousarray(features.descriptors, np.uint8).tobytes()
        with self._lock:
            self._clock += 1
            self._execute(
                "INSERT OR REPLACE INTO features VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(key[0], key[1], int(key[2]), *features.size, features.to_file, points, descriptors, self._clock)],
            )
            self._bytes += len(points) + len(descriptors)
            if self._bytes > self.max_bytes:
                self._evict()

    def _evict(self) -> None:
        """Drop the features used longest ago until the file holds at most 80 % of ``max_bytes``."""
        target = int(self.max_bytes * 0.8)
        rows = self._db.execute(
            "SELECT rowid, LENGTH(points) + LENGTH(descriptors) FROM features ORDER BY used"
        ).fetchall()
        doomed = []
        for rowid, size in rows:
            if self._bytes <= target:
                break
            doomed.append((rowid,))
            self._bytes -= size
        self._execute("DELETE FROM features WHERE rowid=?", doomed)
        logger.info("feature cache over %d bytes: dropped %d entries used longest ago", self.max_bytes, len(doomed))

    def get_verdicts(self, keys: Iterable[PairKey]) -> dict[PairKey, Verification]:
        """The cached verdicts (without points) of the pairs ``keys`` that have one: one query per synthetic
        image, as a scan asks for all of one synthetic image's candidates at once."""
        wanted = set(keys)
        found: dict[PairKey, Verification] = {}
        with self._lock:
            for synthetic in {(k[0], k[1]) for k in wanted}:
                rows = self._db.execute(
                    "SELECT real_sha256, real_frame, inliers, scale, rotation, tx, ty, mirrored FROM verdicts "
                    "WHERE synthetic_sha256=? AND synthetic_frame=? AND match=?",
                    (*synthetic, self._match_key),
                )
                for real_sha256, real_frame, inliers, scale, rotation, tx, ty, mirrored in rows:
                    key = (*synthetic, real_sha256, real_frame)
                    if key in wanted:
                        fit = None if scale is None else Transform(scale, rotation, tx, ty, bool(mirrored))
                        found[key] = Verification(inliers, fit)
        return found

    def put_verdicts(self, verdicts: dict[PairKey, Verification]) -> None:
        """Store the verdicts of pairs (their counts and transforms)."""
        rows = []
        for key, found in verdicts.items():
            fit = found.transform
            numbers = (None,) * 5 if fit is None else (fit.scale, fit.rotation, fit.tx, fit.ty, int(fit.mirrored))
            rows.append((*key, self._match_key, found.inliers, *numbers, 0))
        with self._lock:
            self._execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            excess = int(self._db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]) - self.max_bytes // 256
            if excess > 0:
                self._execute(
                    "DELETE FROM verdicts WHERE rowid IN (SELECT rowid FROM verdicts ORDER BY rowid LIMIT ?)",
                    [(excess,)],
                )

    def _execute(self, sql: str, rows: list[tuple]) -> None:
        write_rows(self._db, sql, rows, f"{self.path}: cannot write the feature cache")

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM features").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> FeatureCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
