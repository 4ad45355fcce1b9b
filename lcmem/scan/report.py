"""The files ``lcmem scan`` writes: ranked matches, unreadable files, and a run record.

``matches.csv`` begins with :data:`PAIR_COLUMNS`, as ``lcmem project export``'s CSV does, in the same order; each
row is placed among the scan's real→real null scores (``null_fraction_below``) and ``flagged`` (1 or 0) under
the threshold in force (:mod:`lcmem.scan.threshold`), which the run record states.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lcmem.csv_cells import PROBLEM_COLUMNS as PROBLEM_COLUMNS  # re-exported, with write_problems
from lcmem.csv_cells import CsvStream
from lcmem.csv_cells import write_problems as write_problems
from lcmem.json_files import write_json_atomic
from lcmem.provenance import software_versions
from lcmem.scan.threshold import ThresholdInForce, null_anchored_threshold, null_fraction_below
from lcmem.verify.types import Transform

if TYPE_CHECKING:
    from lcmem.scan.null import NullScore
    from lcmem.scan.types import Candidate, ScanSettings, ScanSummary

PAIR_COLUMNS = (
    "synthetic_path",
    "real_path",
    "synthetic_frame",
    "real_frame",
    "synthetic_sha256",
    "real_sha256",
    "score",
    "null_fraction_below",
    "inliers",
    "transform",
)
"""The columns that begin both ``matches.csv`` and ``lcmem project export``'s CSV, in this order."""
MATCH_COLUMNS = (*PAIR_COLUMNS, "rank", "flagged")


def fraction_text(fraction: float | None) -> str:
    """A fraction with 4 decimals, or ``""`` for none."""
    return "" if fraction is None else f"{fraction:.4f}"


def candidate_row(candidate: Candidate, threshold: ThresholdInForce, null: np.ndarray) -> tuple[object, ...]:
    """One ``matches.csv`` row (columns :data:`MATCH_COLUMNS`) under ``threshold``, placed among the ascending
    ``null`` scores; the score has 6 decimals; ``inliers`` and ``transform`` are empty when the scan did not
    verify (``--no-verify``)."""
    s, r = candidate.synthetic, candidate.real
    return (
        s.path,
        r.path,
        s.frame,
        r.frame,
        s.sha256,
        r.sha256,
        f"{candidate.score:.6f}",
        fraction_text(null_fraction_below(null, candidate.score)),
        *verification_cells(candidate.inliers, candidate.transform),
        candidate.rank,
        int(threshold.flags(candidate.score, candidate.inliers)),
    )


def verification_cells(inliers: int | None, transform: Transform | str | None) -> tuple[object, object]:
    """The ``inliers`` and ``transform`` cells: empty for a pair that was not verified."""
    text = transform.summary() if isinstance(transform, Transform) else transform
    return ("" if inliers is None else inliers, text or "")


class MatchWriter:
    """Streams candidates into ``matches.csv``; the file appears only when :meth:`commit` is called.

    Until :meth:`anchor` is given the scan's real→real null scores, the threshold in force is the model default
    (``model_default``; ``None``: the LCMem default), as for a prebuilt index, which has none; it never exceeds
    the model's exact-copy score ``copy_score``.
    """

    def __init__(self, path: str | Path, model_default: float | None, copy_score: float | None) -> None:
        self._csv = CsvStream(path, MATCH_COLUMNS)
        self._model = (model_default, copy_score)
        self._null = np.zeros(0)
        self.threshold = null_anchored_threshold(self._null, *self._model)
        self.flagged = 0

    def anchor(self, scores: list[NullScore]) -> None:
        """Anchor the threshold in force on the real→real null ``scores`` (before any candidate is written)."""
        self._null = np.sort(np.array([s.score for s in scores], dtype=np.float64))
        self.threshold = null_anchored_threshold(self._null, *self._model)

    def __call__(self, candidates: list[Candidate]) -> None:
        rows = [candidate_row(c, self.threshold, self._null) for c in candidates]
        self.flagged += sum(int(row[-1]) for row in rows)
        self._csv.write(rows)

    def commit(self) -> None:
        """Finish the file."""
        self._csv.commit()

    def discard(self) -> None:
        """Drop the partial file."""
        self._csv.discard()


def write_run_record(
    path: str | Path,
    summary: ScanSummary,
    settings: ScanSettings,
    inputs: dict[str, Any],
    threshold: ThresholdInForce,
    n_flagged: int,
) -> None:
    """Write the JSON record of a scan: inputs, settings, model checksum, counts, the threshold in force (its rule,
    quantile and number of real images) and the number of pairs it flags, timings, versions."""
    record = {
        "threshold_in_force": threshold.to_dict(),
        "n_flagged": n_flagged,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "inputs": inputs,
        "settings": asdict(settings),
        "summary": {k: v for k, v in asdict(summary).items() if k != "problems"},
        "n_problems": len(summary.problems),
        "software": software_versions(),
    }
    write_json_atomic(path, record)
