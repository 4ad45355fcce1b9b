"""Reading a project's current scan: pairs for the review table, problems, images, labelled and null scores.

The current scan is the latest finished one or, before any scan has finished, the latest that has
candidates (a cancelled scan's partial results). Every query is a page (``LIMIT``/``OFFSET``) over indexed
joins, so a table of 10^5 pairs is read a screenful at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Alias, Row, Select, Table, and_, func, select
from sqlalchemy.sql.elements import ColumnElement

from lcmem.io.types import FileProblem
from lcmem.store.project import Project, key_of, pair_condition
from lcmem.store.schema import candidates, decisions, images, null_scores, problems, scans
from lcmem.store.types import PairKey, PairRow

STATUS_FILTERS = ("all", "undecided", "decided", "accept", "reject", "unsure")
SORT_KEYS = ("score", "rank", "synthetic", "real", "decision", "audit")


@dataclass(frozen=True)
class PairFilter:
    """Which pairs to show: a decision status, a minimum score (or a score below ``max_score``), a text in
    either path, and an order: best first or not, or ``sort="audit"``: a fixed random order of the pairs (by a
    hash of their content, so any subset's first n pairs are a random sample of it; put in that order in
    Python by :func:`list_pair_ids` and :func:`list_pairs`)."""

    status: str = "all"
    min_score: float | None = None
    text: str = ""
    sort: str = "score"
    descending: bool = True
    max_score: float | None = None


def current_scan_id(project: Project) -> int | None:
    """The id of the scan whose candidates are shown, or ``None`` before any."""
    with project.connect() as conn:
        done = conn.execute(select(func.max(scans.c.id)).where(scans.c.status == "done")).scalar()
        if done is not None:
            return int(done)
        partial = conn.execute(select(func.max(candidates.c.scan_id))).scalar()
    return None if partial is None else int(partial)


def _same_pair(table: Table) -> ColumnElement[bool]:
    """The join condition of a table with the four content-key columns onto ``candidates``."""
    return and_(
        table.c.synthetic_sha256 == candidates.c.synthetic_sha256,
        table.c.synthetic_frame == candidates.c.synthetic_frame,
        table.c.real_sha256 == candidates.c.real_sha256,
        table.c.real_frame == candidates.c.real_frame,
    )


def _pairs_query(scan_id: int, pair_filter: PairFilter, *, ids_only: bool = False) -> Select:
    """The pairs of a scan under a filter; with ``ids_only``, just their candidate ids, joining only what the
    filter and the order need (a 10^5-row snapshot then costs a fraction of the full query)."""
    synthetic = images.alias("synthetic")
    real = images.alias("real")
    need_paths = not ids_only or bool(pair_filter.text) or pair_filter.sort in ("synthetic", "real")
    need_decisions = not ids_only or pair_filter.status != "all" or pair_filter.sort == "decision"
    joined = candidates
    if need_paths:
        joined = joined.join(synthetic, synthetic.c.id == candidates.c.synthetic_image_id).join(
            real, real.c.id == candidates.c.real_image_id
        )
    if need_decisions:
        joined = joined.outerjoin(decisions, _same_pair(decisions))
    if ids_only:
        return _filter_and_order(select(candidates.c.id).select_from(joined), scan_id, pair_filter, synthetic, real)
    query = select(
        candidates.c.id,
        candidates.c.synthetic_sha256,
        candidates.c.synthetic_frame,
        candidates.c.real_sha256,
        candidates.c.real_frame,
        candidates.c.rank,
        candidates.c.score,
        candidates.c.inliers,
        candidates.c.transform,
        synthetic.c.path.label("synthetic_path"),
        real.c.path.label("real_path"),
        synthetic.c.patient_pseudo_id.label("synthetic_patient"),
        real.c.patient_pseudo_id.label("real_patient"),
        decisions.c.decision,
        decisions.c.reviewer,
        decisions.c.decided_at,
        decisions.c.kind,
    ).select_from(joined)
    return _filter_and_order(query, scan_id, pair_filter, synthetic, real)


def _filter_and_order(query: Select, scan_id: int, pair_filter: PairFilter, synthetic: Alias, real: Alias) -> Select:
    conditions: list[ColumnElement[bool]] = [candidates.c.scan_id == scan_id]
    status = pair_filter.status
    if status == "undecided":
        conditions.append(decisions.c.decision.is_(None))
    elif status == "decided":
        conditions.append(decisions.c.decision.is_not(None))
    elif status in ("accept", "reject", "unsure"):
        conditions.append(decisions.c.decision == status)
    if pair_filter.min_score is not None:
        conditions.append(candidates.c.score >= pair_filter.min_score)
    if pair_filter.max_score is not None:
        conditions.append(candidates.c.score < pair_filter.max_score)
    if pair_filter.text:
        literal = pair_filter.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{literal}%"  # the text as typed: "_" and "%" are not wildcards
        conditions.append(synthetic.c.path.like(pattern, escape="\\") | real.c.path.like(pattern, escape="\\"))
    query = query.where(*conditions)
    order = {
        "audit": candidates.c.id,  # the SQL side only: list_pair_ids and list_pairs put these in audit order
        "score": candidates.c.score,
        "rank": candidates.c.rank,
        "inliers": candidates.c.inliers,
        "synthetic": synthetic.c.path,
        "real": real.c.path,
        "decision": decisions.c.decision,
    }[pair_filter.sort]
    primary = order.desc() if pair_filter.descending else order.asc()
    return query.order_by(primary, candidates.c.id)


def list_pairs(
    project: Project, pair_filter: PairFilter | None = None, offset: int = 0, limit: int = 200
) -> list[PairRow]:
    """A page of the current scan's pairs under ``pair_filter``."""
    scan_id = current_scan_id(project)
    if scan_id is None:
        return []
    if pair_filter is not None and pair_filter.sort == "audit":
        ids = list_pair_ids(project, pair_filter)[offset : offset + limit]
        found = get_pairs(project, ids)
        return [found[i] for i in ids if i in found]
    query = _pairs_query(scan_id, pair_filter or PairFilter()).offset(offset).limit(limit)
    with project.connect() as conn:
        rows = conn.execute(query).all()
    return [_pair_row(r) for r in rows]


def _pair_row(r: Row) -> PairRow:
    return PairRow(
        r.id,
        key_of(r),
        r.synthetic_path,
        r.real_path,
        r.rank,
        r.score,
        r.decision,
        r.reviewer,
        r.decided_at,
        r.synthetic_patient,
        r.real_patient,
        r.kind,
        r.inliers,
        r.transform,
    )


def list_pair_ids(project: Project, pair_filter: PairFilter | None = None) -> list[int]:
    """The candidate ids of every pair of the current scan under ``pair_filter``, in its order.

    Ids are cheap to hold for 10^5-10^6 pairs; a paged view keeps this snapshot and reads rows with
    :func:`get_pairs`, so deciding a pair never shifts the pages of an "undecided" list.
    """
    scan_id = current_scan_id(project)
    if scan_id is None:
        return []
    chosen = pair_filter or PairFilter()
    query = _pairs_query(scan_id, chosen, ids_only=True)
    if chosen.sort == "audit":
        keys = (candidates.c.synthetic_sha256, candidates.c.synthetic_frame, candidates.c.real_sha256,
                candidates.c.real_frame)  # fmt: skip
        with project.connect() as conn:
            rows = conn.execute(query.add_columns(*keys)).all()
        return [r[0] for r in sorted(rows, key=lambda r: _audit_key(r[1:]))]
    with project.connect() as conn:
        return list(conn.execute(query).scalars())


def _audit_key(content: Sequence[object]) -> bytes:
    """A pair's place in the audit order: a hash of its content key, the same in every scan."""
    return hashlib.blake2b(":".join(map(str, content)).encode(), digest_size=16, person=b"lcmem-audit").digest()


def get_pairs(project: Project, candidate_ids: Sequence[int]) -> dict[int, PairRow]:
    """The pairs with these candidate ids, by id; ids no longer in the current scan are absent."""
    scan_id = current_scan_id(project)
    if scan_id is None or not candidate_ids:
        return {}
    query = _pairs_query(scan_id, PairFilter()).where(candidates.c.id.in_(list(candidate_ids)))
    with project.connect() as conn:
        return {r.id: _pair_row(r) for r in conn.execute(query)}


def synthetic_candidates(project: Project, pair: PairRow) -> list[PairRow]:
    """Every candidate of the current scan for the synthetic image (file and frame) of ``pair``, rank 1 first."""
    scan_id = current_scan_id(project)
    if scan_id is None:
        return []
    key = pair.key
    query = (
        _pairs_query(scan_id, PairFilter())
        .where(
            candidates.c.synthetic_sha256 == key.synthetic_sha256,
            candidates.c.synthetic_frame == key.synthetic_frame,
        )
        .order_by(None)
        .order_by(candidates.c.rank, candidates.c.id)
    )
    with project.connect() as conn:
        rows = [_pair_row(r) for r in conn.execute(query)]
    return [r for r in rows if r.synthetic_path == pair.synthetic_path]


def count_pairs(project: Project, pair_filter: PairFilter | None = None) -> int:
    """How many pairs of the current scan pass ``pair_filter``."""
    scan_id = current_scan_id(project)
    if scan_id is None:
        return 0
    inner = _pairs_query(scan_id, pair_filter or PairFilter()).order_by(None).subquery()
    with project.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inner)).scalar() or 0)


def list_problems(project: Project) -> list[FileProblem]:
    """The unreadable files of the latest finished scan, by path."""
    with project.connect() as conn:
        scan_id = conn.execute(select(func.max(scans.c.id)).where(scans.c.status == "done")).scalar()
        if scan_id is None:
            return []
        rows = conn.execute(
            select(problems.c.path, problems.c.kind, problems.c.reason)
            .where(problems.c.scan_id == scan_id)
            .order_by(problems.c.path)
        ).all()
    return [FileProblem(r.path, r.reason, r.kind) for r in rows]


def count_images(project: Project, role: str) -> int:
    """How many items (files or frames) of ``role`` the current scan embedded."""
    scan_id = current_scan_id(project)
    if scan_id is None:
        return 0
    query = select(func.count()).where(images.c.role == role, images.c.last_scan_id >= scan_id)
    with project.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def labelled_scores(project: Project) -> list[tuple[float, bool]]:
    """``(current score, accepted?)`` of every accepted or rejected pair that the current scan shows."""
    return list(labelled_pairs(project).values())


def labelled_pairs(project: Project) -> dict[PairKey, tuple[float, bool]]:
    """:func:`labelled_scores` by pair (one indexed join, no paths: the cheapest read of the labels)."""
    scan_id = current_scan_id(project)
    if scan_id is None:
        return {}
    query = (
        select(
            candidates.c.synthetic_sha256,
            candidates.c.synthetic_frame,
            candidates.c.real_sha256,
            candidates.c.real_frame,
            candidates.c.score,
            decisions.c.decision,
        )
        .select_from(candidates.join(decisions, _same_pair(decisions)))
        .where(candidates.c.scan_id == scan_id, decisions.c.decision.in_(("accept", "reject")))
    )
    with project.connect() as conn:
        return {key_of(r): (float(r.score), r.decision == "accept") for r in conn.execute(query)}


def most_rejected_inliers(project: Project) -> int | None:
    """The most inliers of geometric verification among the current scan's pairs that a reviewer marked not a
    match; ``None`` when no rejected pair was verified."""
    scan_id = current_scan_id(project)
    if scan_id is None:
        return None
    query = (
        select(func.max(candidates.c.inliers))
        .select_from(candidates.join(decisions, _same_pair(decisions)))
        .where(candidates.c.scan_id == scan_id, decisions.c.decision == "reject")
    )
    with project.connect() as conn:
        value = conn.execute(query).scalar()
    return None if value is None else int(value)


def real_null_scores(project: Project) -> list[float]:
    """The current scan's real→real null scores (each sampled real against its best different real item),
    ascending; empty when the scan computed none (e.g. it was made before schema 2)."""
    scan_id = current_scan_id(project)
    if scan_id is None:
        return []
    query = select(null_scores.c.score).where(null_scores.c.scan_id == scan_id).order_by(null_scores.c.score)
    with project.connect() as conn:
        return [float(s) for s in conn.execute(query).scalars()]


def candidate_score(project: Project, key: PairKey) -> float | None:
    """The current scan's score of a pair, or ``None`` when the scan did not propose it."""
    query = select(candidates.c.score).where(
        candidates.c.scan_id == current_scan_id(project), *pair_condition(candidates, key)
    )
    with project.connect() as conn:
        return conn.execute(query).scalar()
