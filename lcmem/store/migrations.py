"""Schema versions of a project file and the steps that upgrade one version to the next.

A project made by this version opens in the next: each release that changes :mod:`lcmem.store.schema` adds
a step ``STEPS[n]`` that turns version ``n`` into ``n + 1`` in place, inside one transaction. Steps may add
tables, columns and indexes and may rebuild caches; they never drop a decision. (A numbered-step runner
like Picard's ``config_upgrade`` is all this needs; Alembic's environment and revision files would add a
second configuration system for the same few statements.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection, select

from lcmem.errors import ProjectError
from lcmem.store.schema import meta, metadata

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 7


def _add_null_scores(connection: Connection) -> None:
    """1 → 2: the ``null_scores`` table (real→real nearest-other scores of a scan); written out, not taken
    from :mod:`lcmem.store.schema`, so this step stays what it was when later versions change the table."""
    connection.exec_driver_sql(
        "CREATE TABLE null_scores ("
        "id INTEGER NOT NULL PRIMARY KEY, "
        "scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE, "
        "real_image_id INTEGER NOT NULL REFERENCES images (id), "
        "nearest_image_id INTEGER NOT NULL REFERENCES images (id), "
        "score FLOAT NOT NULL)"
    )
    connection.exec_driver_sql("CREATE INDEX ix_null_scores_scan ON null_scores (scan_id)")


def _add_model_threshold(connection: Connection) -> None:
    """2 → 3: ``scans.model_threshold`` (the scanning model's default threshold; NULL for older scans)."""
    connection.exec_driver_sql("ALTER TABLE scans ADD COLUMN model_threshold FLOAT")


def _add_score_hidden(connection: Connection) -> None:
    """3 → 4: ``score_hidden`` on ``decisions`` and ``decision_log`` (NULL for the decisions already there)."""
    for table in ("decisions", "decision_log"):
        connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN score_hidden BOOLEAN")


def _add_second_reads(connection: Connection) -> None:
    """4 → 5: the ``second_reads`` table (blind second reads of decided pairs), written out like step 1's."""
    connection.exec_driver_sql(
        "CREATE TABLE second_reads ("
        "id INTEGER NOT NULL PRIMARY KEY, "
        "synthetic_sha256 VARCHAR NOT NULL, synthetic_frame INTEGER NOT NULL, "
        "real_sha256 VARCHAR NOT NULL, real_frame INTEGER NOT NULL, "
        "reviewer VARCHAR NOT NULL, decision VARCHAR NOT NULL, decided_at VARCHAR NOT NULL, "
        "first_decision VARCHAR NOT NULL, first_reviewer VARCHAR NOT NULL, "
        "UNIQUE (synthetic_sha256, synthetic_frame, real_sha256, real_frame, reviewer))"
    )


def _add_kind(connection: Connection) -> None:
    """5 → 6: ``kind`` on ``decisions`` and ``decision_log`` (copy | patient; NULL for the decisions already there)."""
    for table in ("decisions", "decision_log"):
        connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN kind VARCHAR")


def _add_copy_score_and_inliers(connection: Connection) -> None:
    """6 → 7: ``scans.copy_score`` (the scanning model's score of two identical images) and ``inliers`` and
    ``transform`` on ``candidates`` (geometric verification); NULL for older scans. One step for both: this
    release changes the schema once."""
    connection.exec_driver_sql("ALTER TABLE scans ADD COLUMN copy_score FLOAT")
    connection.exec_driver_sql("ALTER TABLE candidates ADD COLUMN inliers INTEGER")
    connection.exec_driver_sql("ALTER TABLE candidates ADD COLUMN transform VARCHAR")


STEPS: dict[int, Callable[[Connection], None]] = {
    1: _add_null_scores,
    2: _add_model_threshold,
    3: _add_score_hidden,
    4: _add_second_reads,
    5: _add_kind,
    6: _add_copy_score_and_inliers,
}
"""``STEPS[n]`` upgrades a version-``n`` project to ``n + 1``."""


def read_version(connection: Connection) -> int | None:
    """The project's schema version, or ``None`` for an empty database."""
    if not connection.dialect.has_table(connection, "meta"):
        return None
    value = connection.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return None if value is None else int(value)


def migrate(connection: Connection, source: str) -> int:
    """Create the schema in an empty database or upgrade an older one; return the version now.

    Raises:
        ProjectError: the project was made by a newer lcmem, or a step is missing.
    """
    version = read_version(connection)
    if version is None:
        metadata.create_all(connection)
        connection.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        return SCHEMA_VERSION
    if version > SCHEMA_VERSION:
        raise ProjectError(
            f"{source}: made by a newer lcmem (schema {version}; this one reads up to {SCHEMA_VERSION}). "
            "Open it with the newer version."
        )
    while version < SCHEMA_VERSION:
        step = STEPS.get(version)
        if step is None:
            raise ProjectError(f"{source}: no upgrade from schema {version}; the installation is incomplete")
        logger.info("upgrading project schema %d → %d", version, version + 1)
        step(connection)
        version += 1
        connection.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(version)))
    return version
