"""``Project``: one review project in one SQLite file (``*.lcmem``).

The file is opened with WAL journaling and ``synchronous=FULL``: a decision is on disk when
:meth:`Project.set_decision` returns. One process at a time may write: a lock file beside the project
(``P.lcmem.lock``) is held while it is open for writing; a second opener gets a clear error or, if it asks,
read-only access. Source folders are only ever read.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from filelock import FileLock, Timeout
from sqlalchemy import URL, Connection, Engine, Row, Table, create_engine, event, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from lcmem.errors import ProjectError
from lcmem.io.types import DEFAULT_MAX_PIXELS
from lcmem.store.migrations import SCHEMA_VERSION, migrate, read_version
from lcmem.store.pseudonym import new_secret
from lcmem.store.schema import decision_log, decisions, meta, scans, second_reads, sources
from lcmem.store.types import CLEARED, DECISIONS, MEMORIZED_KINDS, Decision, PairKey, ScanRecord, SecondRead, Source

logger = logging.getLogger(__name__)

SUFFIX = ".lcmem"
ROLES = ("real", "synthetic")


def pair_condition(table: Table, key: PairKey) -> list[ColumnElement[bool]]:
    """WHERE clauses selecting ``key`` in a table with the four content-key columns."""
    return [
        table.c.synthetic_sha256 == key.synthetic_sha256,
        table.c.synthetic_frame == key.synthetic_frame,
        table.c.real_sha256 == key.real_sha256,
        table.c.real_frame == key.real_frame,
    ]


def key_columns(key: PairKey) -> dict[str, str | int]:
    """The four content-key columns of a pair, as values for an insert."""
    return {
        "synthetic_sha256": key.synthetic_sha256,
        "synthetic_frame": key.synthetic_frame,
        "real_sha256": key.real_sha256,
        "real_frame": key.real_frame,
    }


def key_of(row: Row) -> PairKey:
    """The pair key of a result row that has the four content-key columns."""
    return PairKey(row.synthetic_sha256, row.synthetic_frame, row.real_sha256, row.real_frame)


def utc_now() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _engine(path: Path, read_only: bool, immutable: bool = False) -> Engine:
    """An engine on the file; the name is passed whole (or percent-encoded), so ``#``, ``?`` and ``%`` are safe.

    ``immutable`` (read-only only) lets SQLite read a WAL project in a folder where it cannot create the
    ``-shm`` file (a read-only share or medium); it is used only when no ``-wal`` file holds changes.
    """
    if read_only:
        flags = "mode=ro&immutable=1" if immutable else "mode=ro"
        url = URL.create("sqlite", database=f"file:{quote(path.as_posix())}?{flags}", query={"uri": "true"})
    else:
        url = URL.create("sqlite", database=str(path))
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return engine


def _storable_path(path: str | Path) -> str:
    """The absolute path as stored in the project.

    Raises:
        ProjectError: the path is not valid UTF-8 (possible on Linux), so the database cannot hold it.
    """
    resolved = str(Path(path).resolve())
    try:
        resolved.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(resolved).decode("utf-8", "backslashreplace")
        raise ProjectError(f"{shown}: the name is not valid UTF-8 (shown with \\x escapes); rename it") from None
    return resolved


def _check_readable_version(conn: Connection, target: Path) -> None:
    """A read-only open cannot upgrade: refuse a file of another schema version with what to do."""
    version = read_version(conn)
    if version is None:
        raise ProjectError(f"{target}: not an LCMem Review project")
    if version > SCHEMA_VERSION:
        raise ProjectError(
            f"{target}: made by a newer lcmem (schema {version}; this one reads up to {SCHEMA_VERSION}). "
            "Open it with the newer version."
        )
    if version < SCHEMA_VERSION:
        raise ProjectError(
            f"{target}: made by an older lcmem (schema {version}) and opened read-only, so it cannot be upgraded "
            f"to schema {SCHEMA_VERSION}. Open it once for writing (copy it somewhere writable if this place is "
            "read-only); its decisions are kept."
        )


def _needs_immutable(target: Path) -> bool:
    """Whether a read-only open must tell SQLite the file cannot change (its folder is not writable).

    Raises:
        ProjectError: the folder is read-only and a ``-wal`` file without its ``-shm`` holds changes that
            could only be read by writing beside the project.
    """
    if os.access(target.parent, os.W_OK) or Path(f"{target}-shm").exists():
        return False
    wal = Path(f"{target}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise ProjectError(
            f"{target}: its folder is read-only and {wal.name} holds changes not yet merged into the project; "
            "copy the project with that file to a folder you can write to, and open it there"
        )
    return True


class Project:
    """An open review project. Use :meth:`create` or :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, path: Path, engine: Engine, lock: FileLock | None, read_only: bool) -> None:
        self.path = path
        self.read_only = read_only
        self._engine = engine
        self._lock = lock
        self.secret = self._read_meta("secret")

    @classmethod
    def create(
        cls,
        path: str | Path,
        real: Sequence[str | Path] = (),
        synthetic: Sequence[str | Path] = (),
        *,
        max_pixels: int | None = None,
    ) -> Project:
        """Create a new project file with its source folders (and its scans' pixel limit, if not the default).

        Raises:
            ProjectError: the file exists or cannot be created.
        """
        target = Path(path).resolve()
        if target.exists():
            raise ProjectError(f"{target}: already exists; open it, or choose another name")
        for folder in (target, *real, *synthetic):
            _storable_path(folder)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"{target}: cannot create the folder ({exc.strerror or exc})") from exc
        project = cls._open(target, read_only=False, create=True)
        with project.transaction() as conn:
            conn.execute(meta.insert().values(key="secret", value=new_secret()))
            conn.execute(meta.insert().values(key="created_at", value=utc_now()))
        project.secret = project._read_meta("secret")
        for folder in real:
            project.add_source("real", folder)
        for folder in synthetic:
            project.add_source("synthetic", folder)
        if max_pixels is not None:
            project.set_max_pixels(max_pixels)
        return project

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False, take_lock: bool = True) -> Project:
        """Open an existing project, upgrading its schema if it is older.

        Args:
            path: the ``.lcmem`` file.
            read_only: open without writing (allowed while another process has it open for writing).
            take_lock: ``False`` only in a worker process of the process that holds the write lock (the app's
                scan process, :mod:`lcmem.worker_process`): it writes under its parent's lock.

        Raises:
            ProjectError: the file is missing, not a project, newer than this lcmem, or already open for
                writing elsewhere (then open it with ``read_only=True``).
        """
        target = Path(path).resolve()
        if not target.is_file():
            raise ProjectError(f"{target}: no such project file")
        return cls._open(target, read_only=read_only, create=False, take_lock=take_lock)

    @classmethod
    def _open(cls, target: Path, *, read_only: bool, create: bool, take_lock: bool = True) -> Project:
        lock = None
        if not read_only and take_lock:
            lock = FileLock(str(target) + ".lock", timeout=0)
            try:
                lock.acquire()
            except Timeout as exc:
                raise ProjectError(
                    f"{target}: open for writing in another window or process; close it there, "
                    "or open this one read-only"
                ) from exc
            except OSError as exc:
                if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                    raise ProjectError(
                        f"{target}: its folder cannot be written ({exc.strerror}); open the project read-only, "
                        "or copy it to a folder you can write to"
                    ) from exc
                raise ProjectError(f"{target}: cannot lock the project ({exc.strerror or exc})") from exc
        try:
            engine = _engine(target, read_only, immutable=read_only and _needs_immutable(target))
            with engine.begin() as conn:
                if read_only:
                    _check_readable_version(conn, target)
                elif not create and read_version(conn) is None:
                    raise ProjectError(f"{target}: not an LCMem Review project")
                else:
                    migrate(conn, str(target))
        except SQLAlchemyError as exc:
            if lock is not None:
                lock.release()
            raise ProjectError(f"{target}: cannot open the project database ({exc.orig or exc})") from exc
        except ProjectError:
            if lock is not None:
                lock.release()
            raise
        return cls(target, engine, lock, read_only)

    def close(self) -> None:
        """Close the database and release the write lock."""
        self._engine.dispose()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction committed (durably) at the end of the ``with`` block.

        Raises:
            ProjectError: the project is read-only, or the write failed (nothing of it is kept).
        """
        if self.read_only:
            raise ProjectError(f"{self.path}: opened read-only; changes are not allowed")
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise ProjectError(
                f"{self.path}: could not save ({getattr(exc, 'orig', None) or exc}); nothing of this change was "
                "written. Check free disk space and write permission."
            ) from exc

    def connect(self) -> Connection:
        """A connection for reading (the caller closes it)."""
        return self._engine.connect()

    @property
    def max_pixels(self) -> int:
        """The pixel limit of this project's scans: larger images (all frames together) are refused, unread."""
        value = self._read_meta("max_pixels")
        return int(value) if value else DEFAULT_MAX_PIXELS

    def set_max_pixels(self, value: int) -> None:
        """Set the pixel limit of this project's scans (``lcmem project new/scan --max-pixels``, the scan dialog).

        Raises:
            ProjectError: ``value`` is not a positive number.
        """
        if value < 1:
            raise ProjectError(f"the pixel limit must be a positive number of pixels, not {value}")
        row = {"key": "max_pixels", "value": str(int(value))}
        with self.transaction() as conn:
            upsert = sqlite_insert(meta).values(**row)
            conn.execute(upsert.on_conflict_do_update(index_elements=[meta.c.key], set_={"value": row["value"]}))

    def _read_meta(self, key: str) -> str:
        with self._engine.connect() as conn:
            value = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
        return value or ""

    def add_source(self, role: str, folder: str | Path) -> Source:
        """Add a real or synthetic folder (stored as an absolute path; nothing is written there)."""
        if role not in ROLES:
            raise ProjectError(f"source role must be one of {ROLES}, not {role!r}")
        path = _storable_path(folder)
        with self.transaction() as conn:
            statement = sqlite_insert(sources).values(role=role, path=path, added_at=utc_now())
            conn.execute(statement.on_conflict_do_nothing())
        return Source(role, path)

    def sources(self, role: str | None = None) -> list[Source]:
        """The source folders, in the order they were added."""
        query = select(sources.c.role, sources.c.path).order_by(sources.c.id)
        if role is not None:
            query = query.where(sources.c.role == role)
        with self.connect() as conn:
            return [Source(r.role, r.path) for r in conn.execute(query)]

    def scans(self) -> list[ScanRecord]:
        """Every scan, oldest first."""
        query = select(scans).order_by(scans.c.id)
        with self.connect() as conn:
            return [
                ScanRecord(
                    r.id,
                    r.status,
                    r.model_checksum,
                    r.model_name,
                    r.started_at,
                    r.finished_at,
                    r.model_threshold,
                    r.copy_score,
                )
                for r in conn.execute(query)
            ]

    def set_decision(
        self,
        key: PairKey,
        decision: str,
        reviewer: str,
        *,
        note: str = "",
        score: float | None = None,
        model_checksum: str | None = None,
        score_hidden: bool | None = None,
        kind: str | None = None,
    ) -> Decision | None:
        """Record a decision on a pair (or withdraw it with ``"cleared"``); durable when this returns.

        The decision is appended to the log and becomes the pair's current decision, in one transaction.
        ``score_hidden`` records whether the reviewer saw the score (``None``: not known, e.g. the CLI);
        ``kind`` what an accepted pair is (:data:`~lcmem.store.types.MEMORIZED_KINDS`; ``None``: not said).

        Returns:
            The current decision, or ``None`` after ``"cleared"``.

        Raises:
            ProjectError: an unknown decision or kind, a kind on a pair not accepted, an empty reviewer, a
                read-only project, or a failed write.
        """
        if decision not in (*DECISIONS, CLEARED):
            raise ProjectError(f"decision must be one of {DECISIONS}, not {decision!r}")
        if kind is not None and (kind not in MEMORIZED_KINDS or decision != "accept"):
            raise ProjectError(
                f"a kind ({' or '.join(MEMORIZED_KINDS)}) goes only with accept, not {kind!r} with {decision}"
            )
        if not reviewer.strip():
            raise ProjectError("a decision needs a reviewer name")
        when = utc_now()
        pair = key_columns(key)
        entry = {
            **pair,
            "decision": decision,
            "reviewer": reviewer,
            "decided_at": when,
            "note": note,
            "score": score,
            "model_checksum": model_checksum,
            "score_hidden": score_hidden,
            "kind": kind,
        }
        with self.transaction() as conn:
            log_id = conn.execute(insert(decision_log).values(**entry)).inserted_primary_key[0]
            if decision == CLEARED:
                conn.execute(decisions.delete().where(*pair_condition(decisions, key)))
                return None
            statement = sqlite_insert(decisions).values(**entry, log_id=log_id)
            update = {k: statement.excluded[k] for k in (*entry, "log_id") if k not in pair}
            conn.execute(statement.on_conflict_do_update(index_elements=list(pair), set_=update))
        return Decision(key, decision, reviewer, when, note, score, score_hidden, kind)

    def decision(self, key: PairKey) -> Decision | None:
        """The current decision on a pair, if any."""
        query = select(decisions).where(*pair_condition(decisions, key))
        with self.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Decision(
            key, row.decision, row.reviewer, row.decided_at, row.note, row.score, row.score_hidden, row.kind
        )

    def decisions(self) -> list[Decision]:
        """Every current decision, in the order they were made."""
        with self.connect() as conn:
            rows = conn.execute(select(decisions).order_by(decisions.c.log_id)).all()
        return [
            Decision(
                key_of(r),
                r.decision,
                r.reviewer,
                r.decided_at,
                r.note,
                r.score,
                r.score_hidden,
                r.kind,
            )
            for r in rows
        ]

    def set_second_read(self, key: PairKey, reviewer: str, decision: str) -> SecondRead:
        """Record a blind second read of a decided pair (replacing this reviewer's earlier one); the pair's
        decision is not touched, and is stored beside the read as it is now. Durable when this returns.

        Raises:
            ProjectError: an unknown decision, an empty reviewer, an undecided pair, a read-only project, or a
                failed write.
        """
        if decision not in DECISIONS:
            raise ProjectError(f"a second read must be one of {DECISIONS}, not {decision!r}")
        if not reviewer.strip():
            raise ProjectError("a second read needs a reviewer name")
        pair = key_columns(key)
        with self.transaction() as conn:
            first = conn.execute(select(decisions).where(*pair_condition(decisions, key))).first()
            if first is None:
                raise ProjectError("this pair has no decision to read again; decide it first (Show: Undecided)")
            read = SecondRead(key, reviewer, decision, utc_now(), first.decision, first.reviewer)
            entry = {
                **pair,
                "reviewer": reviewer,
                "decision": decision,
                "decided_at": read.decided_at,
                "first_decision": read.first_decision,
                "first_reviewer": read.first_reviewer,
            }
            statement = sqlite_insert(second_reads).values(**entry)
            update = {k: statement.excluded[k] for k in entry if k not in (*pair, "reviewer")}
            conn.execute(statement.on_conflict_do_update(index_elements=[*pair, "reviewer"], set_=update))
        return read

    def clear_second_read(self, key: PairKey, reviewer: str) -> None:
        """Withdraw ``reviewer``'s second read of a pair (an undo)."""
        with self.transaction() as conn:
            conn.execute(
                second_reads.delete().where(*pair_condition(second_reads, key), second_reads.c.reviewer == reviewer)
            )

    def second_reads(self, reviewer: str | None = None) -> list[SecondRead]:
        """Every second read (or ``reviewer``'s), in the order they were first made."""
        query = select(second_reads).order_by(second_reads.c.id)
        if reviewer is not None:
            query = query.where(second_reads.c.reviewer == reviewer)
        with self.connect() as conn:
            rows = conn.execute(query).all()
        return [
            SecondRead(
                key_of(r),
                r.reviewer,
                r.decision,
                r.decided_at,
                r.first_decision,
                r.first_reviewer,
            )
            for r in rows
        ]

    def decision_log_size(self) -> int:
        """How many decisions were ever recorded (the log is append-only)."""
        with self.connect() as conn:
            return len(conn.execute(select(decision_log.c.id)).all())
