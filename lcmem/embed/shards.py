"""Parquet shards of an embeddings folder: one per work unit, written atomically, verified before reuse.

Columns: ``sha256``, ``path``, ``frame``, ``n_frames``, the DICOM ``study/series/sop_instance_uid`` (null for
other files) and ``vector`` (a fixed-size list of float32, the model's width). Rows follow the unit's file
order, then frame order. The Parquet schema metadata holds the unit's number and file-list sha256, the model
checksum and the unit's unreadable files (JSON), so a shard is self-describing and its problems survive a
resume. pyarrow is imported only here (the ``cluster`` extra).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from lcmem.embed.types import ItemEmbeddings, ItemRecord
from lcmem.embed.units import WorkUnit
from lcmem.errors import EmbeddingsError
from lcmem.extras import require
from lcmem.io import FileProblem, read_dicom_identifiers

if TYPE_CHECKING:
    import pyarrow

UID_COLUMNS = ("study_instance_uid", "series_instance_uid", "sop_instance_uid")
META_UNIT = b"lcmem.unit"
META_DIGEST = b"lcmem.unit_sha256"
META_MODEL = b"lcmem.model_checksum"
META_FILES = b"lcmem.files"
META_PROBLEMS = b"lcmem.problems"


@dataclass(frozen=True)
class ShardInfo:
    """A finished shard: file name, unit, row and file counts, sha256 of its bytes, its unit's problems."""

    name: str
    unit: int
    rows: int
    files: int
    sha256: str
    problems: tuple[FileProblem, ...]


def _arrow() -> tuple[ModuleType, ModuleType]:
    return require("pyarrow", "embedding shards"), require("pyarrow.parquet", "embedding shards")


def dicom_uids(path: str) -> tuple[str | None, str | None, str | None]:
    """Study, series and SOP instance UIDs of a DICOM file (header only); ``None`` each for other files."""
    ids = read_dicom_identifiers(path)
    if ids is None:
        return None, None, None
    return ids.study_instance_uid, ids.series_instance_uid, ids.sop_instance_uid


def shard_schema(dim: int) -> pyarrow.Schema:
    """The Arrow schema of a shard whose vectors have ``dim`` components."""
    pa, _ = _arrow()
    return pa.schema(
        [
            ("sha256", pa.string()),
            ("path", pa.string()),
            ("frame", pa.int32()),
            ("n_frames", pa.int32()),
            *((name, pa.string()) for name in UID_COLUMNS),
            ("vector", pa.list_(pa.float32(), dim)),
        ]
    )


def write_shard(folder: Path, unit: WorkUnit, result: ItemEmbeddings, model_checksum: str, dim: int) -> ShardInfo:
    """Write the shard of ``unit`` into ``folder``: a temporary file, synced, then renamed into place.

    Raises:
        EmbeddingsError: the shard cannot be written.
    """
    pa, pq = _arrow()
    items = result.items
    vectors = np.ascontiguousarray(result.vectors, dtype=np.float32).reshape(len(items), dim)
    columns = {
        "sha256": [i.sha256 for i in items],
        "path": [i.path for i in items],
        "frame": [i.frame for i in items],
        "n_frames": [i.n_frames for i in items],
        **{name: [getattr(i, name) for i in items] for name in UID_COLUMNS},
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), dim),
    }
    problems = tuple(sorted(result.problems, key=lambda p: p.path))
    metadata = {
        META_UNIT: str(unit.number),
        META_DIGEST: unit.digest,
        META_MODEL: model_checksum,
        META_FILES: str(len(unit.files)),
        META_PROBLEMS: json.dumps([[p.path, p.kind, p.reason] for p in problems]),
    }
    table = pa.table(columns, schema=shard_schema(dim).with_metadata(metadata))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data = sink.getvalue().to_pybytes()
    target = folder / unit.shard_name
    temp = folder / f".{unit.shard_name}.{os.getpid()}.tmp"
    try:
        with open(temp, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise EmbeddingsError(f"{target}: cannot write the shard ({exc}); check free space and permissions") from exc
    digest = hashlib.sha256(data).hexdigest()
    return ShardInfo(unit.shard_name, unit.number, len(items), len(unit.files), digest, problems)


def verify_shard(folder: Path, unit: WorkUnit, model_checksum: str) -> ShardInfo | None:
    """The shard of ``unit`` if it exists, is readable and was written for this unit and model; else ``None``."""
    pa, pq = _arrow()
    path = folder / unit.shard_name
    try:
        data = path.read_bytes()
        parquet = pq.ParquetFile(pa.BufferReader(data))
        metadata = parquet.schema_arrow.metadata or {}
        problems = tuple(FileProblem(p, reason, kind) for p, kind, reason in json.loads(metadata[META_PROBLEMS]))
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None
    expected = {META_UNIT: str(unit.number), META_DIGEST: unit.digest, META_MODEL: model_checksum}
    if any(metadata.get(key) != value.encode() for key, value in expected.items()):
        return None
    digest = hashlib.sha256(data).hexdigest()
    return ShardInfo(unit.shard_name, unit.number, parquet.metadata.num_rows, len(unit.files), digest, problems)


def read_shard(path: Path, sha256: str, dim: int) -> tuple[list[ItemRecord], np.ndarray]:
    """The items and vectors ``(n, dim)`` of a shard whose bytes must have ``sha256``.

    Raises:
        EmbeddingsError: the shard is missing, altered (another sha256) or unreadable.
    """
    pa, pq = _arrow()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EmbeddingsError(f"{path}: cannot read the shard ({exc}); was the embeddings folder moved?") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise EmbeddingsError(
            f"{path}: the shard's sha256 differs from its manifest; it was altered. Delete it and rerun lcmem embed"
        )
    try:
        table = pq.read_table(pa.BufferReader(data))
    except pa.ArrowException as exc:
        raise EmbeddingsError(f"{path}: not a readable shard ({exc}); delete it and rerun lcmem embed") from exc
    vectors = table.column("vector").combine_chunks().flatten().to_numpy().astype(np.float32, copy=False)
    columns = {name: table.column(name).to_pylist() for name in ("path", "sha256", "frame", "n_frames", *UID_COLUMNS)}
    items = [ItemRecord(*values) for values in zip(*columns.values(), strict=True)]
    return items, vectors.reshape(len(items), dim)
