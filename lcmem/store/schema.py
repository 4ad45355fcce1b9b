"""The tables of a review project (SQLAlchemy Core). Changing them needs a migration step.

Decisions are keyed by content (sha256 and frame of both images), never by path or row id, so they survive
rescans, moved folders and new models. ``decision_log`` is append-only; ``decisions`` holds the current
decision of every pair and is rewritten in the same transaction as each log entry.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("role", String, nullable=False),  # "real" | "synthetic"
    Column("path", Text, nullable=False),
    Column("added_at", String, nullable=False),
    UniqueConstraint("role", "path"),
)

scans = Table(
    "scans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("status", String, nullable=False),  # running | done | cancelled | failed
    Column("model_checksum", String, nullable=False),
    Column("model_name", String, nullable=False),
    Column("model_path", Text, nullable=False),
    Column("settings", Text, nullable=False),  # JSON
    Column("started_at", String, nullable=False),
    Column("finished_at", String),
    Column("summary", Text),  # JSON
    Column("model_threshold", Float),  # the model's default threshold, if its bundle carries one (schema 3)
    Column("copy_score", Float),  # the model's score of two identical images (schema 7)
)

images = Table(
    "images",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("role", String, nullable=False),
    Column("path", Text, nullable=False),
    Column("frame", Integer, nullable=False),
    Column("n_frames", Integer, nullable=False),
    Column("sha256", String, nullable=False),
    Column("size_bytes", Integer),
    Column("modality", String),
    Column("sop_instance_uid", String),
    Column("series_instance_uid", String),
    Column("study_instance_uid", String),
    Column("patient_pseudo_id", String),
    Column("patient_id", String),  # raw; never exported unless the user opts in
    Column("last_scan_id", Integer, ForeignKey("scans.id")),
    UniqueConstraint("role", "path", "frame"),
    Index("ix_images_content", "sha256", "frame"),
)

problems = Table(
    "problems",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scan_id", Integer, ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
    Column("path", Text, nullable=False),
    Column("kind", String, nullable=False),
    Column("reason", Text, nullable=False),
)

candidates = Table(
    "candidates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scan_id", Integer, ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
    Column("synthetic_image_id", Integer, ForeignKey("images.id"), nullable=False),
    Column("real_image_id", Integer, ForeignKey("images.id"), nullable=False),
    Column("synthetic_sha256", String, nullable=False),
    Column("synthetic_frame", Integer, nullable=False),
    Column("real_sha256", String, nullable=False),
    Column("real_frame", Integer, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("inliers", Integer),  # geometric verification's inlier count; NULL when not verified (schema 7)
    Column("transform", String),  # the fitted transform in words ("mirrored, rotated 10.0°, scale 1.00")
    UniqueConstraint("scan_id", "synthetic_image_id", "real_image_id"),
    Index("ix_candidates_scan_score", "scan_id", "score"),
    Index("ix_candidates_pair", "synthetic_sha256", "synthetic_frame", "real_sha256", "real_frame"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("synthetic_sha256", String, primary_key=True),
    Column("synthetic_frame", Integer, primary_key=True),
    Column("real_sha256", String, primary_key=True),
    Column("real_frame", Integer, primary_key=True),
    Column("decision", String, nullable=False),  # accept | reject | unsure
    Column("reviewer", String, nullable=False),
    Column("decided_at", String, nullable=False),
    Column("note", Text, nullable=False),
    Column("score", Float),  # the pair's score when the decision was made
    Column("model_checksum", String),
    Column("log_id", Integer, nullable=False),
    Column("score_hidden", Boolean),  # the reviewer decided without seeing the score (schema 4; NULL before)
    Column("kind", String),  # an accepted pair's kind: copy | patient; NULL when not said (schema 6)
)

decision_log = Table(
    "decision_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("synthetic_sha256", String, nullable=False),
    Column("synthetic_frame", Integer, nullable=False),
    Column("real_sha256", String, nullable=False),
    Column("real_frame", Integer, nullable=False),
    Column("decision", String, nullable=False),  # accept | reject | unsure | cleared
    Column("reviewer", String, nullable=False),
    Column("decided_at", String, nullable=False),
    Column("note", Text, nullable=False),
    Column("score", Float),
    Column("model_checksum", String),
    Column("score_hidden", Boolean),
    Column("kind", String),
    Index("ix_log_pair", "synthetic_sha256", "synthetic_frame", "real_sha256", "real_frame"),
)

null_scores = Table(
    "null_scores",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scan_id", Integer, ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
    Column("real_image_id", Integer, ForeignKey("images.id"), nullable=False),
    Column("nearest_image_id", Integer, ForeignKey("images.id"), nullable=False),
    Column("score", Float, nullable=False),
    Index("ix_null_scores_scan", "scan_id"),
)
"""Schema 2: per scan, each sampled real item's best score against a different real item (the null)."""

threshold_cards = Table(
    "threshold_cards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", String, nullable=False),
    Column("model_checksum", String, nullable=False),
    Column("card", Text, nullable=False),  # JSON
)

second_reads = Table(
    "second_reads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("synthetic_sha256", String, nullable=False),
    Column("synthetic_frame", Integer, nullable=False),
    Column("real_sha256", String, nullable=False),
    Column("real_frame", Integer, nullable=False),
    Column("reviewer", String, nullable=False),
    Column("decision", String, nullable=False),  # accept | reject | unsure
    Column("decided_at", String, nullable=False),
    Column("first_decision", String, nullable=False),  # the pair's decision when it was read again
    Column("first_reviewer", String, nullable=False),
    UniqueConstraint("synthetic_sha256", "synthetic_frame", "real_sha256", "real_frame", "reviewer"),
)
"""Schema 5: blind second reads of decided pairs (reviewer QC, Cohen's κ), kept apart from ``decisions``: a
second read never changes a pair's decision. Each row keeps the first decision as it was when read again."""
