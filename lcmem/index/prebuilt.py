"""A prebuilt index folder (``lcmem index build``), opened for searching as a scan's real side.

    INDEX_DIR/manifest.json     model checksum and name, width, index kind, codes, nlist, default nprobe, on-disk
                                or not, counts, the source embeddings manifest's sha256, the embedding problems
    INDEX_DIR/index.faiss       the IVF index (+ index.faiss.scale.npy: the search-space scale sqrt|w|)
    INDEX_DIR/index.ivfdata     the inverted lists, when built ``--on-disk`` (memory-mapped, not loaded)
    INDEX_DIR/vectors.npy       every real embedding, float32 ``(N, D)`` in row order, memory-mapped at scan time
    INDEX_DIR/rows.sqlite       row → (sha256, path, frame, n_frames, DICOM UIDs) (:mod:`lcmem.index.rows`)

The exact LCMem score needs the real embeddings of every candidate. They are kept here as a raw ``.npy``
rather than read back from the Parquet shards: a scan reads ``top_k`` scattered rows per synthetic image, and
a memory-mapped array serves each with one page read where Parquet would decode a whole page of a column
chunk. The cost is a second copy of the vectors (4·D bytes per item); the shards can then be archived.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lcmem.errors import SearchIndexError
from lcmem.index.faiss_index import CandidateIndex, IndexSettings
from lcmem.index.rows import RowTable
from lcmem.json_files import read_manifest

FORMAT = "lcmem-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
INDEX_FILE = "index.faiss"
IVF_DATA = "index.ivfdata"
VECTORS = "vectors.npy"
ROWS = "rows.sqlite"


def read_index_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a prebuilt index folder.

    Raises:
        SearchIndexError: the folder holds no readable index manifest of a known format.
    """
    return read_manifest(
        Path(folder) / MANIFEST, FORMAT, FORMAT_VERSION, SearchIndexError, "build an index with lcmem index build"
    )


def is_index_dir(path: str | Path) -> bool:
    """Whether ``path`` is a prebuilt index folder (it has our index manifest)."""
    try:
        read_index_manifest(path)
    except SearchIndexError:
        return False
    return True


@dataclass
class PrebuiltIndex:
    """An opened index folder: the FAISS index, the memory-mapped vectors and the row table."""

    folder: Path
    manifest: dict[str, Any]
    index: CandidateIndex
    vectors: np.ndarray
    rows: RowTable

    @classmethod
    def open(cls, folder: str | Path, model_checksum: str, nprobe: int | None = None) -> PrebuiltIndex:
        """Open ``folder`` for a model; ``nprobe`` (``None``: the manifest's default) lists are probed per query.

        Raises:
            SearchIndexError: the folder is not a complete index, or it was built with another model.
        """
        path = Path(folder).resolve()
        manifest = read_index_manifest(path)
        built_with = manifest.get("model", {}).get("checksum", "")
        if built_with != model_checksum:
            raise SearchIndexError(
                f"{path}: built with model {built_with[:12]}… ({manifest.get('model', {}).get('name')}), not "
                f"{model_checksum[:12]}…; scan with that model (--model), or rebuild the index with this one"
            )
        probes = nprobe or int(manifest.get("nprobe", IndexSettings().nprobe))
        index = CandidateIndex.load(path / INDEX_FILE, IndexSettings(kind="auto", nprobe=probes))
        try:
            vectors = np.load(path / VECTORS, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise SearchIndexError(f"{path / VECTORS}: cannot read the embeddings ({exc}); rebuild the index") from exc
        if vectors.shape != (len(index), index.dim):
            raise SearchIndexError(f"{path}: {VECTORS} does not match the index ({vectors.shape}); rebuild the index")
        return cls(path, manifest, index, vectors, RowTable.open(path / ROWS))

    def close(self) -> None:
        """Close the row table."""
        self.rows.close()
