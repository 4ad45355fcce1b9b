"""Export of flagged pairs as CSV (formula-injection safe), with the threshold card beside it.

Flagged = accepted by a reviewer, or not rejected and flagged by the threshold in force (a calibrated card's,
else anchored on the real→real null scores: :func:`~lcmem.review.calibrate.threshold_in_force`). Patient ids
are exported pseudonymised; the raw PatientID only when the caller explicitly asks for it.
``null_fraction_below`` puts each score against the scan's real→real null scores: 0.999 means the pair is
closer than 99.9 % of real images are to their nearest other real image (empty when the scan has none).
``memorized_kind`` is what the reviewer said an accepted pair is: ``copy`` or ``patient`` (empty when not said).
``calibrated_probability`` is the rate of memorized pairs among the labelled pairs of the pair's score band
(:mod:`lcmem.review.probability`; outside the labelled scores, the nearest band's; empty before there are
enough labels). The first columns are :data:`~lcmem.scan.report.PAIR_COLUMNS`, as in ``lcmem scan``'s
``matches.csv``. ``second_reads`` lists the blind second reads of a pair (reviewer QC,
:mod:`lcmem.review.double_read`) as ``reviewer: decision`` entries separated by ``; `` (they never change
``decision``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
from sqlalchemy import select

from lcmem.csv_cells import write_csv_atomic
from lcmem.json_files import write_json_atomic
from lcmem.review.calibrate import ThresholdCard, threshold_in_force
from lcmem.review.probability import project_fit
from lcmem.scan.report import PAIR_COLUMNS, fraction_text, verification_cells
from lcmem.scan.threshold import ThresholdInForce, null_fraction_below
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter, count_pairs, list_pairs, real_null_scores
from lcmem.store.schema import decisions, images
from lcmem.store.types import PairKey, PairRow

BASE_COLUMNS = (
    *PAIR_COLUMNS,
    "calibrated_probability",
    "rank",
    "flag",
    "decision",
    "memorized_kind",
    "reviewer",
    "decided_at",
    "note",
    "score_hidden",
    "second_reads",
    "synthetic_patient",
    "real_patient",
    "synthetic_sop_instance_uid",
    "real_sop_instance_uid",
    "synthetic_series_instance_uid",
    "real_series_instance_uid",
    "synthetic_study_instance_uid",
    "real_study_instance_uid",
    "threshold",
    "threshold_rule",
    "model_checksum",
)
RAW_ID_COLUMNS = ("synthetic_patient_id", "real_patient_id")


def flag_of(row: PairRow, threshold: ThresholdInForce) -> str:
    """Why a pair is flagged (``accepted`` / ``above_threshold`` / ``verified``: under the threshold but with
    enough inliers of geometric verification), or ``""``."""
    if row.decision == "accept":
        return "accepted"
    if row.decision == "reject" or not threshold.flags(row.score, row.inliers):
        return ""
    return "above_threshold" if threshold.flags(row.score) else "verified"


def pair_rows(project: Project, page: int = 5000) -> Iterator[PairRow]:
    """Every pair of the current scan, best score first, read a page at a time."""
    total = count_pairs(project)
    for offset in range(0, total, page):
        yield from list_pairs(project, PairFilter(), offset, page)


def export_pairs(
    project: Project,
    out: str | Path,
    card: ThresholdCard | None,
    model_checksum: str,
    *,
    include_all: bool = False,
    include_patient_ids: bool = False,
) -> int:
    """Write flagged pairs (or all with ``include_all``) to ``out``; return the number of rows.

    The threshold in force (its rule, quantile and number of real images) and the card, if any, are written to
    ``OUT.threshold.json``; the threshold and its rule are named in every row.
    """
    threshold = threshold_in_force(project, card, model_checksum)
    columns = BASE_COLUMNS + (RAW_ID_COLUMNS if include_patient_ids else ())
    details = _image_details(project)
    extras = decision_extras(project)
    second_reads = _second_reads_text(project)
    null = np.array(real_null_scores(project), dtype=np.float64)
    fit = project_fit(project)

    def rows() -> Iterator[list[object]]:
        for row in pair_rows(project):
            flag = flag_of(row, threshold)
            if not flag and not include_all:
                continue
            k = row.key
            s = details.get((k.synthetic_sha256, k.synthetic_frame), {})
            r = details.get((k.real_sha256, k.real_frame), {})
            values = [
                row.synthetic_path,
                row.real_path,
                k.synthetic_frame,
                k.real_frame,
                k.synthetic_sha256,
                k.real_sha256,
                f"{row.score:.6f}",
                fraction_text(null_fraction_below(null, row.score)),
                *verification_cells(row.inliers, row.transform),
                fraction_text(fit.probability(row.score) if fit is not None else None),
                row.rank,
                flag,
                row.decision or "",
                row.kind or "",
                row.reviewer or "",
                row.decided_at or "",
                *extras.get(k, ("", "")),
                second_reads.get(k, ""),
                row.synthetic_patient or "",
                row.real_patient or "",
                s.get("sop"),
                r.get("sop"),
                s.get("series"),
                r.get("series"),
                s.get("study"),
                r.get("study"),
                f"{threshold.value:.6f}",
                threshold.rule,
                model_checksum,
            ]
            if include_patient_ids:
                values += [s.get("patient_id"), r.get("patient_id")]
            yield values

    count = write_csv_atomic(out, columns, rows())
    record = {**threshold.to_dict(), "card": asdict(card) if card is not None else None}
    write_json_atomic(Path(str(out)).with_suffix(".threshold.json"), record)
    return count


def _image_details(project: Project) -> dict[tuple[str, int], dict[str, str | None]]:
    query = select(
        images.c.sha256,
        images.c.frame,
        images.c.sop_instance_uid,
        images.c.series_instance_uid,
        images.c.study_instance_uid,
        images.c.patient_id,
    )
    with project.connect() as conn:
        return {
            (r.sha256, r.frame): {
                "sop": r.sop_instance_uid,
                "series": r.series_instance_uid,
                "study": r.study_instance_uid,
                "patient_id": r.patient_id,
            }
            for r in conn.execute(query)
        }


def decision_extras(project: Project) -> dict[PairKey, tuple[str, str]]:
    """Per decided pair: its note, and ``"yes"`` / ``"no"`` for whether its reviewer decided with the score
    hidden (``""`` where that is not known: decisions older than schema 4, or made outside the review screen)."""
    query = select(
        decisions.c.synthetic_sha256,
        decisions.c.synthetic_frame,
        decisions.c.real_sha256,
        decisions.c.real_frame,
        decisions.c.note,
        decisions.c.score_hidden,
    )
    with project.connect() as conn:
        return {
            PairKey(r[0], r[1], r[2], r[3]): (r[4], "" if r[5] is None else "yes" if r[5] else "no")
            for r in conn.execute(query)
        }


def _second_reads_text(project: Project) -> dict[PairKey, str]:
    """Per pair read again: ``reviewer: decision`` of each second read, in the order they were made."""
    text: dict[PairKey, list[str]] = {}
    for read in project.second_reads():
        text.setdefault(read.key, []).append(f"{read.reviewer}: {read.decision}")
    return {key: "; ".join(entries) for key, entries in text.items()}
