"""Scanning a project: ``run_scan`` over its sources, with images, candidates and problems stored.

Candidates are committed chunk by chunk under a new scan id. A scan that is cancelled or killed leaves its
committed chunks and the embedding cache behind; the next scan starts a new id (fast: the embeddings are
cached), and once it finishes the candidates of every older scan are removed. Decisions are never touched:
they are keyed by content and apply to whichever scan shows the pair.

The scan also stores its real→real null scores (:mod:`lcmem.scan.null`). "Different" there means another
content *and* another patient: the pipeline knows no patients, so the project passes it the pseudonymised
patient id it has just recorded for each real item (``real_identity``). Filtering in the pipeline, not
afterwards in the store, matters: a CT series fills every one of ``k`` candidates with slices of the same
patient, and only the search can look further for a different one.

A real source may be a prebuilt index folder (``lcmem index build``; it must then be the only real source): the
scan searches it instead of embedding folders, and stores only the real images that become candidates, a
chunk at a time (an index may hold 10^7). Their paths are those recorded when the archive was embedded; the
review screen says so when one is not reachable from this workstation. Such a scan has no null scores.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lcmem.embed.cache import EmbeddingCache
from lcmem.embed.types import EmbeddedSet
from lcmem.errors import Cancelled, ProjectError
from lcmem.io import read_dicom_identifiers
from lcmem.model.bundle import Bundle
from lcmem.progress import NEVER_CANCELLED, CancelToken, Progress, null_progress
from lcmem.scan.null import NullScore, exact_copy_score
from lcmem.scan.pipeline import run_scan
from lcmem.scan.types import Candidate, ScanSettings, ScanSummary
from lcmem.store.project import Project, utc_now
from lcmem.store.pseudonym import pseudonymise
from lcmem.store.schema import candidates, images, null_scores, problems, scans
from lcmem.verify.cache import FeatureCache

logger = logging.getLogger(__name__)


def scan_project(
    project: Project,
    bundle: Bundle,
    settings: ScanSettings | None = None,
    *,
    cache: EmbeddingCache | None = None,
    progress: Progress = null_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    cache_dir: str | Path | None = None,
) -> ScanSummary:
    """Scan the project's sources with ``bundle`` and store the result as its current scan.

    ``cache_dir``: where the verification stage keeps local features by content (``None``: not kept).

    Raises:
        ProjectError: the project lacks real or synthetic folders, or cannot be written.
        Cancelled: ``cancel`` was set; the chunks committed so far stay, the scan is marked cancelled.
    """
    settings = settings or ScanSettings()
    real_roots = [s.path for s in project.sources("real")]
    synthetic_roots = [s.path for s in project.sources("synthetic")]
    if not real_roots or not synthetic_roots:
        raise ProjectError(f"{project.path}: add at least one real and one synthetic folder before scanning")
    scan_id = _start_scan(project, bundle, settings)
    image_ids: dict[tuple[str, str, int], int] = {}
    patients: dict[tuple[str, int], str | None] = {}

    def on_items(role: str, embedded: EmbeddedSet) -> None:
        stored = _store_images(project, scan_id, role, embedded)
        image_ids.update({key: image_id for key, (image_id, _) in stored.items()})
        if role == "real":
            patients.update({(path, frame): patient for (_, path, frame), (_, patient) in stored.items()})

    def on_null(scores: list[NullScore]) -> None:
        rows = [
            {
                "scan_id": scan_id,
                "real_image_id": image_ids[("real", s.real.path, s.real.frame)],
                "nearest_image_id": image_ids[("real", s.nearest.path, s.nearest.frame)],
                "score": s.score,
            }
            for s in scores
        ]
        if rows:
            with project.transaction() as conn:
                conn.execute(null_scores.insert(), rows)

    def sink(chunk: list[Candidate]) -> None:
        rows = [_candidate_row(scan_id, c, image_ids) for c in chunk]
        if rows:
            with project.transaction() as conn:
                conn.execute(sqlite_insert(candidates).on_conflict_do_nothing(), rows)

    features = (
        FeatureCache.for_settings(cache_dir, settings.verify)
        if cache_dir is not None and settings.verify is not None
        else None
    )
    try:
        summary = run_scan(
            real_roots,
            synthetic_roots,
            bundle,
            sink,
            settings=settings,
            cache=cache,
            progress=progress,
            cancel=cancel,
            on_items=on_items,
            on_null=on_null,
            real_identity=lambda ref: patients.get((ref.path, ref.frame)),
            feature_cache=features,
        )
    except Cancelled:
        _finish_scan(project, scan_id, "cancelled", None)
        raise
    except BaseException:
        _finish_scan(project, scan_id, "failed", None)
        raise
    finally:
        if features is not None:
            features.close()
    _finish_scan(project, scan_id, "done", summary)
    return summary


def _start_scan(project: Project, bundle: Bundle, settings: ScanSettings) -> int:
    with project.transaction() as conn:
        conn.execute(update(scans).where(scans.c.status == "running").values(status="interrupted"))
        result = conn.execute(
            scans.insert().values(
                status="running",
                model_checksum=bundle.checksum,
                model_name=bundle.config.name,
                model_path=str(bundle.path),
                model_threshold=bundle.config.default_threshold,
                copy_score=exact_copy_score(bundle.model.network),
                settings=json.dumps(asdict(settings), sort_keys=True),
                started_at=utc_now(),
            )
        )
        return int(result.inserted_primary_key[0])


def _store_images(
    project: Project, scan_id: int, role: str, embedded: EmbeddedSet
) -> dict[tuple[str, str, int], tuple[int, str | None]]:
    """Upsert the items of one side; return ``(image id, pseudonymised patient id)`` by ``(role, path, frame)``."""
    identifiers = {}
    rows = []
    for ref in embedded.refs:
        if ref.path not in identifiers:
            identifiers[ref.path] = read_dicom_identifiers(ref.path)
        ids = identifiers[ref.path]
        patient = ids.patient_id if ids else None
        rows.append(
            {
                "role": role,
                "path": ref.path,
                "frame": ref.frame,
                "n_frames": ref.n_frames,
                "sha256": ref.sha256,
                "size_bytes": _size(ref.path),
                "modality": ids.modality if ids else None,
                "sop_instance_uid": ids.sop_instance_uid if ids else None,
                "series_instance_uid": ids.series_instance_uid if ids else None,
                "study_instance_uid": ids.study_instance_uid if ids else None,
                "patient_id": patient,
                "patient_pseudo_id": pseudonymise(patient, project.secret),
                "last_scan_id": scan_id,
            }
        )
    with project.transaction() as conn:
        if rows:
            statement = sqlite_insert(images)
            columns = {k: statement.excluded[k] for k in rows[0] if k not in ("role", "path", "frame")}
            conn.execute(statement.on_conflict_do_update(index_elements=["role", "path", "frame"], set_=columns), rows)
        return _image_ids(conn, scan_id, role, sorted(identifiers))


def _image_ids(
    conn: Connection, scan_id: int, role: str, paths: list[str]
) -> dict[tuple[str, str, int], tuple[int, str | None]]:
    """The ids of the images of ``paths`` (a prebuilt real index stores its reals a chunk at a time)."""
    found = {}
    for start in range(0, len(paths), 500):
        query = select(images.c.id, images.c.path, images.c.frame, images.c.patient_pseudo_id).where(
            images.c.role == role, images.c.last_scan_id == scan_id, images.c.path.in_(paths[start : start + 500])
        )
        found.update({(role, r.path, r.frame): (r.id, r.patient_pseudo_id) for r in conn.execute(query)})
    return found


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _candidate_row(scan_id: int, candidate: Candidate, image_ids: dict[tuple[str, str, int], int]) -> dict:
    s, r = candidate.synthetic, candidate.real
    return {
        "scan_id": scan_id,
        "synthetic_image_id": image_ids[("synthetic", s.path, s.frame)],
        "real_image_id": image_ids[("real", r.path, r.frame)],
        "synthetic_sha256": s.sha256,
        "synthetic_frame": s.frame,
        "real_sha256": r.sha256,
        "real_frame": r.frame,
        "rank": candidate.rank,
        "score": candidate.score,
        "inliers": candidate.inliers,
        "transform": candidate.transform.summary() if candidate.transform is not None else None,
    }


def _finish_scan(project: Project, scan_id: int, status: str, summary: ScanSummary | None) -> None:
    with project.transaction() as conn:
        values: dict[str, object] = {"status": status, "finished_at": utc_now()}
        if summary is not None:
            values["summary"] = json.dumps({k: v for k, v in asdict(summary).items() if k != "problems"})
            conn.execute(delete(problems).where(problems.c.scan_id == scan_id))
            if summary.problems:
                conn.execute(
                    problems.insert(),
                    [
                        {"scan_id": scan_id, "path": p.path, "kind": p.kind, "reason": p.reason}
                        for p in summary.problems
                    ],
                )
            conn.execute(delete(candidates).where(candidates.c.scan_id != scan_id))
            conn.execute(delete(null_scores).where(null_scores.c.scan_id != scan_id))
        conn.execute(update(scans).where(scans.c.id == scan_id).values(**values))
    logger.info("scan %d of %s: %s", scan_id, project.path.name, status)
