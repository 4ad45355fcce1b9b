"""Records read from and written to a review project."""

from __future__ import annotations

from dataclasses import dataclass

DECISIONS = ("accept", "reject", "unsure")
"""What a reviewer can say of a pair: accept = memorized (same image or same patient)."""
MEMORIZED_KINDS = ("copy", "patient")
"""What kind of memorization an accepted pair is, when the reviewer says: ``copy`` (the synthetic image is this
real image, possibly transformed) or ``patient`` (a different image of the same patient, lesion or person)."""
DECISION_TEXT = {"accept": "memorized", "reject": "not a match", "unsure": "unsure"}
"""Each decision in words, for tables, sentences and the report."""
KIND_TEXT = {"copy": "copy", "patient": "same patient"}
"""Each kind in words, for tables, the report and the export."""
CLEARED = "cleared"
"""A log entry that withdraws a pair's decision (an undo back to undecided)."""


@dataclass(frozen=True)
class PairKey:
    """A (synthetic, real) pair by content: sha256 and frame of both images."""

    synthetic_sha256: str
    synthetic_frame: int
    real_sha256: str
    real_frame: int


@dataclass(frozen=True)
class Source:
    """A folder the project reads (never writes): ``role`` is ``"real"`` or ``"synthetic"``."""

    role: str
    path: str


@dataclass(frozen=True)
class Decision:
    """A reviewer's current decision on a pair, with who, when, the pair's score then, and whether the
        reviewer decided with the score hidden (``None``: not known, e.g. older than schema 4 or from the CLI); an
    accepted pair's ``kind`` (one of :data:`MEMORIZED_KINDS`, or ``None`` when not said)."""

    key: PairKey
    decision: str
    reviewer: str
    decided_at: str
    note: str = ""
    score: float | None = None
    score_hidden: bool | None = None
    kind: str | None = None


@dataclass(frozen=True)
class SecondRead:
    """A blind second read of a decided pair: who read it again, what they said and when, beside the pair's
    decision (and its reviewer) as it was at that moment."""

    key: PairKey
    reviewer: str
    decision: str
    decided_at: str
    first_decision: str
    first_reviewer: str


@dataclass(frozen=True)
class PairRow:
    """One candidate pair of the current scan, as the review table shows it."""

    candidate_id: int
    key: PairKey
    synthetic_path: str
    real_path: str
    rank: int
    score: float
    decision: str | None
    reviewer: str | None
    decided_at: str | None
    synthetic_patient: str | None
    real_patient: str | None
    kind: str | None = None
    inliers: int | None = None
    transform: str | None = None


@dataclass(frozen=True)
class ScanRecord:
    """One scan of the project."""

    id: int
    status: str
    model_checksum: str
    model_name: str
    started_at: str
    finished_at: str | None
    model_threshold: float | None = None
    copy_score: float | None = None
