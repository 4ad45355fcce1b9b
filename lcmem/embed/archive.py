"""An embeddings folder: what ``lcmem embed`` writes, with any engine, resumable unit by unit.

    EMBEDDINGS_DIR/manifest.json        the job: model, width, engine, settings, shards (rows, sha256), problems,
                                        timings, software versions; ``status`` is ``complete`` once every unit is
    EMBEDDINGS_DIR/problems.csv         the files that could not be read (path, kind, reason), as a scan lists them
    EMBEDDINGS_DIR/shards/part-*.parquet  one shard per work unit (:mod:`lcmem.embed.shards`)

The sorted input list is cut into fixed work units (:mod:`lcmem.embed.units`). A rerun with the same inputs
skips every unit whose shard exists and verifies, and embeds only the rest, so an interrupted job resumes
without duplicate rows. A folder made with another model is refused. One job at a time writes a folder.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout

from lcmem.csv_cells import write_problems
from lcmem.embed.inputs import gather_inputs
from lcmem.embed.shards import ShardInfo, verify_shard, write_shard
from lcmem.embed.types import ItemEmbeddings
from lcmem.embed.units import SHARD_PREFIX, SHARD_SUFFIX, WorkUnit, plan_units
from lcmem.errors import EmbeddingsError
from lcmem.extras import require
from lcmem.io import FileProblem
from lcmem.json_files import read_manifest as read_json_manifest
from lcmem.json_files import write_json_atomic
from lcmem.model.bundle import Bundle
from lcmem.progress import NEVER_CANCELLED, CancelToken, Progress, null_progress
from lcmem.provenance import software_versions

logger = logging.getLogger(__name__)

FORMAT = "lcmem-embeddings"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PROBLEMS = "problems.csv"
SHARDS = "shards"
DEFAULT_FILES_PER_SHARD = 1000

UnitDone = Callable[[WorkUnit, ItemEmbeddings], None]


class EmbedEngine(Protocol):
    """Embeds work units and hands each finished unit back, on the calling thread, to be written as a shard."""

    name: str

    def settings(self) -> dict[str, Any]:
        """What the manifest records of the engine's settings."""
        ...

    def run(self, units: Sequence[WorkUnit], bundle: Bundle, done: UnitDone, cancel: CancelToken) -> None:
        """Embed every item of ``units`` with ``bundle`` and call ``done`` once per unit."""
        ...


@dataclass(frozen=True)
class EmbedJobSummary:
    """What a job did: the folder, files, rows and shards in all, shards reused from an earlier run, problems."""

    folder: Path
    n_files: int
    n_rows: int
    n_shards: int
    n_resumed: int
    problems: tuple[FileProblem, ...]
    seconds: dict[str, float]


def read_manifest(folder: str | Path, *, complete: bool = True) -> dict[str, Any]:
    """The manifest of an embeddings folder.

    Raises:
        EmbeddingsError: there is none, it is not one of ours, or (``complete``) the job has not finished.
    """
    manifest = read_json_manifest(
        Path(folder) / MANIFEST, FORMAT, FORMAT_VERSION, EmbeddingsError, "make an embeddings folder with lcmem embed"
    )
    if complete and manifest.get("status") != "complete":
        raise EmbeddingsError(
            f"{folder}: the embedding job has not finished; rerun the same lcmem embed command to resume it"
        )
    return manifest


def run_embed_job(
    source: str | Path,
    bundle: Bundle,
    out: str | Path,
    engine: EmbedEngine,
    *,
    files_per_shard: int | None = None,
    progress: Progress = null_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> EmbedJobSummary:
    """Embed the images of ``source`` (a folder or a list file) into the embeddings folder ``out``.

    Args:
        source: a folder (walked as a scan walks it) or a text file of paths.
        bundle: the model; its checksum must match the folder's if the folder holds an earlier run.
        out: the embeddings folder (created if needed).
        engine: the local or the Ray engine.
        files_per_shard: files per work unit; ``None``: the earlier run's value, else 1000.
        progress: receives ``(files done, files total, text)``.
        cancel: checked between units; finished shards are kept.

    Raises:
        EmbeddingsError: the folder belongs to another model, is being written by another job, or cannot be
            written.
        MissingExtraError: pyarrow (the ``cluster`` extra) is not installed.
    """
    require("pyarrow.parquet", "embedding shards")
    folder = Path(out)
    shards = folder / SHARDS
    try:
        shards.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddingsError(f"{folder}: cannot create the embeddings folder ({exc.strerror or exc})") from exc
    lock = FileLock(str(folder / ".lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        raise EmbeddingsError(f"{folder}: another lcmem embed job is writing here; wait for it or stop it") from exc
    try:
        return _run_locked(source, bundle, folder, engine, files_per_shard, progress, cancel)
    finally:
        lock.release()


def _run_locked(
    source: str | Path,
    bundle: Bundle,
    folder: Path,
    engine: EmbedEngine,
    files_per_shard: int | None,
    progress: Progress,
    cancel: CancelToken,
) -> EmbedJobSummary:
    started = time.perf_counter()
    previous = _previous_manifest(folder, bundle)
    per_unit = files_per_shard or previous.get("settings", {}).get("files_per_shard") or DEFAULT_FILES_PER_SHARD
    record: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "status": "running",
        "created": previous.get("created") or _now(),
        "source": str(Path(source).resolve()),
        "model": {"checksum": bundle.checksum, "name": bundle.config.name, "path": str(bundle.path)},
        "dim": bundle.config.embedding_dim,
        "engine": engine.name,
        "settings": {"files_per_shard": per_unit, **engine.settings()},
    }
    write_json_atomic(folder / MANIFEST, record)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    discovery = gather_inputs(source)
    units = plan_units(discovery.files, per_unit)
    seconds["discover"] = time.perf_counter() - clock

    shards = folder / SHARDS
    _remove_stale(shards, {u.shard_name for u in units})
    finished: dict[int, ShardInfo] = {}
    for unit in units:
        info = verify_shard(shards, unit, bundle.checksum)
        if info is not None:
            finished[unit.number] = info
    n_resumed = len(finished)
    remaining = [u for u in units if u.number not in finished]
    n_files = len(discovery.files)
    files_done = sum(len(u.files) for u in units if u.number in finished)
    progress(files_done, n_files, "embedding images")
    logger.info("%d units, %d already done, %d to embed with %s", len(units), n_resumed, len(remaining), engine.name)

    def done(unit: WorkUnit, result: ItemEmbeddings) -> None:
        nonlocal files_done
        finished[unit.number] = write_shard(shards, unit, result, bundle.checksum, bundle.config.embedding_dim)
        files_done += len(unit.files)
        progress(files_done, n_files, "embedding images")
        cancel.raise_if_cancelled()

    clock = time.perf_counter()
    if remaining:
        engine.run(remaining, bundle, done, cancel)
    seconds["embed"] = time.perf_counter() - clock
    missing = [u.shard_name for u in units if u.number not in finished]
    if missing:
        raise EmbeddingsError(f"{folder}: the {engine.name} engine stopped before {missing[0]}; rerun to resume")
    infos = [finished[u.number] for u in units]
    problems = tuple(sorted((*discovery.problems, *(p for i in infos for p in i.problems)), key=lambda p: p.path))
    write_problems(folder / PROBLEMS, problems)
    seconds["total"] = time.perf_counter() - started
    summary = EmbedJobSummary(folder, n_files, sum(i.rows for i in infos), len(infos), n_resumed, problems, seconds)
    record.update(
        status="complete",
        finished=_now(),
        files=n_files,
        rows=summary.n_rows,
        shards=[{"name": i.name, "unit": i.unit, "rows": i.rows, "files": i.files, "sha256": i.sha256} for i in infos],
        resumed_shards=n_resumed,
        problems=[{"path": p.path, "kind": p.kind, "reason": p.reason} for p in problems],
        problems_csv=PROBLEMS,
        seconds=seconds,
        software=software_versions(extra=("pyarrow", "ray")),
    )
    write_json_atomic(folder / MANIFEST, record)
    return summary


def _previous_manifest(folder: Path, bundle: Bundle) -> dict[str, Any]:
    """The manifest of an earlier run into ``folder`` (``{}`` if none); refuse one of another model."""
    if not (folder / MANIFEST).exists():
        return {}
    previous = read_manifest(folder, complete=False)
    checksum = previous.get("model", {}).get("checksum")
    if checksum != bundle.checksum:
        raise EmbeddingsError(
            f"{folder}: holds embeddings of model {str(checksum)[:12]}… ({previous.get('model', {}).get('name')}), "
            f"not of {bundle.checksum[:12]}… ({bundle.config.name}); resume with that model, or choose a new folder"
        )
    return previous


def _remove_stale(shards: Path, planned: set[str]) -> None:
    """Delete temporary files of a killed run and shards of units this input list no longer has."""
    for path in shards.iterdir():
        name = path.name
        stale = name.startswith(SHARD_PREFIX) and name.endswith(SHARD_SUFFIX) and name not in planned
        if stale or (name.startswith(f".{SHARD_PREFIX}") and name.endswith(".tmp")):
            logger.info("removing %s (not a shard of this input list)", path)
            path.unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
