"""``lcmem index build``: an IVF index over an embeddings folder, trained on a sample, filled shard by shard.

The vectors are put in the search space of :class:`~lcmem.index.faiss_index.CandidateIndex` (scaled by
``sqrt|w|`` of the pair head), so the prebuilt index proposes the candidates a local scan's index would. No
more than one shard (or, ``on_disk``, one block of ``block_rows`` vectors) is held in memory while adding. With
``on_disk`` every block becomes a small index file and :func:`faiss.contrib.ondisk.merge_ondisk` merges their
inverted lists into ``index.ivfdata`` (``faiss.OnDiskInvertedLists``), which searches memory-map, so the index
may be larger than memory. The folder is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np
from faiss.contrib.ondisk import merge_ondisk

from lcmem.embed.archive import MANIFEST as EMBEDDINGS_MANIFEST
from lcmem.embed.archive import SHARDS, read_manifest
from lcmem.embed.shards import read_shard
from lcmem.embed.types import ItemRecord
from lcmem.errors import SearchIndexError
from lcmem.index import prebuilt
from lcmem.index.faiss_index import CandidateIndex, auto_nlist, describe_index, ivf_factory, training_rows
from lcmem.index.rows import RowTable
from lcmem.json_files import write_json_atomic
from lcmem.model.bundle import Bundle
from lcmem.progress import NEVER_CANCELLED, CancelToken, Progress, null_progress
from lcmem.provenance import software_versions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildSettings:
    """IVF lists (0: about 4·sqrt(N)), vector codes (``sq8``, ``fp16``, ``flat``), the default probes, the
    training seed, on-disk inverted lists and the vectors per on-disk block."""

    codes: str = "sq8"
    nlist: int = 0
    nprobe: int = 32
    seed: int = 0
    on_disk: bool = False
    block_rows: int = 262_144


@dataclass(frozen=True)
class BuildSummary:
    """The index folder written, its kind, lists, rows and stage timings."""

    folder: Path
    kind: str
    nlist: int
    rows: int
    seconds: dict[str, float]


def build_index(
    embeddings: str | Path,
    out: str | Path,
    bundle: Bundle,
    settings: BuildSettings | None = None,
    *,
    progress: Progress = null_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> BuildSummary:
    """Build the index folder ``out`` over the finished embeddings folder ``embeddings``.

    Raises:
        EmbeddingsError: the embeddings folder is unfinished, altered or unreadable.
        SearchIndexError: ``out`` exists, the embeddings are of another model or empty, or writing fails.
    """
    settings = settings or BuildSettings()
    source = Path(embeddings).resolve()
    target = Path(out).resolve()
    manifest = read_manifest(source)
    if manifest["model"]["checksum"] != bundle.checksum:
        raise SearchIndexError(
            f"{source}: embedded with model {manifest['model']['checksum'][:12]}… ({manifest['model']['name']}), "
            f"not {bundle.checksum[:12]}…; build the index with that model (--model)"
        )
    if int(manifest["rows"]) == 0:
        raise SearchIndexError(f"{source}: holds no embeddings (every file failed?); see its problems.csv")
    if target.exists() and any(target.iterdir()):
        raise SearchIndexError(f"{target}: already exists and is not empty; choose a new folder for the index")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        summary = _build(source, manifest, staging, bundle, settings, progress, cancel)
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildSummary(target, summary.kind, summary.nlist, summary.rows, summary.seconds)


def _shards(source: Path, manifest: dict, dim: int) -> Iterator[tuple[list[ItemRecord], np.ndarray]]:
    for shard in manifest["shards"]:
        yield read_shard(source / SHARDS / shard["name"], shard["sha256"], dim)


def _build(
    source: Path,
    manifest: dict,
    folder: Path,
    bundle: Bundle,
    settings: BuildSettings,
    progress: Progress,
    cancel: CancelToken,
) -> BuildSummary:
    count, dim = int(manifest["rows"]), int(manifest["dim"])
    space = CandidateIndex(bundle.model.network.fc_end.weight.detach().cpu().numpy()[0])
    nlist = min(settings.nlist or auto_nlist(count), count)
    seconds: dict[str, float] = {}

    clock = time.perf_counter()
    progress(0, count, "training the index")
    sample = training_rows(count, nlist, settings.seed)
    trained = faiss.index_factory(dim, ivf_factory(nlist, settings.codes))
    trained.train(space.space(_gather(_shards(source, manifest, dim), sample, dim)))
    seconds["train"] = time.perf_counter() - clock

    clock = time.perf_counter()
    vectors = np.lib.format.open_memmap(folder / prebuilt.VECTORS, mode="w+", dtype=np.float32, shape=(count, dim))
    rows = RowTable.create(folder / prebuilt.ROWS)
    filled = faiss.clone_index(trained) if not settings.on_disk else None
    blocks: list[str] = []
    pending: list[np.ndarray] = []
    start = 0
    try:
        for items, shard_vectors in _shards(source, manifest, dim):
            cancel.raise_if_cancelled()
            end = start + len(items)
            vectors[start:end] = shard_vectors
            rows.append(start, items)
            if filled is not None:
                filled.add(space.space(shard_vectors))
            else:
                pending.append(shard_vectors)
                if sum(len(p) for p in pending) >= settings.block_rows:
                    blocks.append(_write_block(folder, trained, space, pending, end, len(blocks)))
            start = end
            progress(start, count, "adding vectors to the index")
        if filled is None and pending:
            blocks.append(_write_block(folder, trained, space, pending, start, len(blocks)))
    finally:
        rows.close()
        vectors.flush()
        del vectors
    if start != count:
        raise SearchIndexError(f"{source}: the shards hold {start} rows, the manifest says {count}; re-embed")
    if filled is None:
        filled = faiss.clone_index(trained)
        merge_ondisk(filled, blocks, str(folder / prebuilt.IVF_DATA))
        for block in blocks:
            os.unlink(block)
    space.index = filled
    space.save(folder / prebuilt.INDEX_FILE)
    seconds["add"] = time.perf_counter() - clock

    kind = describe_index(filled)
    source_manifest = (source / EMBEDDINGS_MANIFEST).read_bytes()
    record = {
        "format": prebuilt.FORMAT,
        "format_version": prebuilt.FORMAT_VERSION,
        "model": manifest["model"],
        "dim": dim,
        "kind": kind,
        "factory": ivf_factory(nlist, settings.codes),
        "nlist": nlist,
        "nprobe": min(settings.nprobe, nlist),
        "on_disk": settings.on_disk,
        "rows": count,
        "files": manifest["files"],
        "train_rows": len(sample),
        "settings": asdict(settings),
        "embeddings": {"path": str(source), "manifest_sha256": hashlib.sha256(source_manifest).hexdigest()},
        "problems": manifest["problems"],
        "seconds": seconds,
        "software": software_versions(extra=("pyarrow",)),
    }
    write_json_atomic(folder / prebuilt.MANIFEST, record)
    logger.info("built a %s index (%d lists) over %d vectors in %s", kind, nlist, count, folder)
    return BuildSummary(folder, kind, nlist, count, seconds)


def _gather(shards: Iterator[tuple[list[ItemRecord], np.ndarray]], rows: np.ndarray, dim: int) -> np.ndarray:
    """The vectors of the sorted ``rows``, read shard by shard."""
    picked = np.empty((len(rows), dim), np.float32)
    start = filled = 0
    for _, vectors in shards:
        end = start + len(vectors)
        stop = int(np.searchsorted(rows, end))
        picked[filled:stop] = vectors[rows[filled:stop] - start]
        filled, start = stop, end
    return picked


def _write_block(
    folder: Path, trained: faiss.Index, space: CandidateIndex, pending: list[np.ndarray], end: int, number: int
) -> str:
    """Add the pending vectors (rows ending at ``end``) to a copy of the trained index and write it to a file."""
    vectors = np.concatenate(pending)
    pending.clear()
    block = faiss.clone_index(trained)
    block.add_with_ids(space.space(vectors), np.arange(end - len(vectors), end, dtype=np.int64))
    path = str(folder / f"block-{number:06d}.faiss")
    faiss.write_index(block, path)
    return path
