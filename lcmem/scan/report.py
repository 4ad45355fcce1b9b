"""The files ``lcmem scan`` writes: ranked matches, unreadable files, and a run record."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lcmem.csv_cells import PROBLEM_COLUMNS as PROBLEM_COLUMNS  # re-exported, with write_problems
from lcmem.csv_cells import CsvStream
from lcmem.csv_cells import write_problems as write_problems
from lcmem.json_files import write_json_atomic
from lcmem.provenance import software_versions
from lcmem.scan.types import Candidate, ScanSettings, ScanSummary

MATCH_COLUMNS = (
    "synthetic_path",
    "synthetic_frame",
    "real_path",
    "real_frame",
    "rank",
    "score",
    "synthetic_sha256",
    "real_sha256",
    "inliers",
    "transform",
)


def candidate_row(candidate: Candidate) -> tuple[object, ...]:
    """One ``matches.csv`` row (columns :data:`MATCH_COLUMNS`); the score has 6 decimals, ``inliers`` and
    ``transform`` are empty when the scan did not verify (``--no-verify``)."""
    s, r = candidate.synthetic, candidate.real
    inliers = "" if candidate.inliers is None else candidate.inliers
    transform = candidate.transform.summary() if candidate.transform is not None else ""
    score = f"{candidate.score:.6f}"
    return (s.path, s.frame, r.path, r.frame, candidate.rank, score, s.sha256, r.sha256, inliers, transform)


class MatchWriter:
    """Streams candidates into ``matches.csv``; the file appears only when :meth:`commit` is called."""

    def __init__(self, path: str | Path) -> None:
        self._csv = CsvStream(path, MATCH_COLUMNS)

    def __call__(self, candidates: list[Candidate]) -> None:
        self._csv.write(candidate_row(c) for c in candidates)

    def commit(self) -> None:
        """Finish the file."""
        self._csv.commit()

    def discard(self) -> None:
        """Drop the partial file."""
        self._csv.discard()


def write_run_record(path: str | Path, summary: ScanSummary, settings: ScanSettings, inputs: dict[str, Any]) -> None:
    """Write the JSON record of a scan: inputs, settings, model checksum, counts, timings, versions."""
    record = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "inputs": inputs,
        "settings": asdict(settings),
        "summary": {k: v for k, v in asdict(summary).items() if k != "problems"},
        "n_problems": len(summary.problems),
        "software": software_versions(),
    }
    write_json_atomic(path, record)
