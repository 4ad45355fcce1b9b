"""FAISS candidate search over LCMem embeddings: it proposes candidates, it never scores them.

Vectors are searched in a space shaped by the pair head: each embedding component is multiplied by
``sqrt(|w_i|)`` (``w`` = the head's weights), so the L2 distance weighs components as the head does. The
exact score of every candidate is computed afterwards by :mod:`lcmem.index.rescore`.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from lcmem.errors import SearchIndexError

logger = logging.getLogger(__name__)

FLAT_LIMIT = 200_000
"""Up to this many vectors the ``auto`` kind uses an exact flat index; above, IVF with SQ8 codes."""
INDEX_KINDS = ("auto", "flat", "ivf-sq8")
IVF_CODES = {"sq8": "SQ8", "fp16": "SQfp16", "flat": "Flat"}
"""How an IVF index stores its vectors: 8-bit or 16-bit scalar quantisation, or full float32."""


def auto_nlist(count: int) -> int:
    """IVF lists for ``count`` vectors: about 2·√N, with at least 39 training vectors per list."""
    return max(1, min(int(2 * math.sqrt(count)), count // 39))


def training_rows(count: int, nlist: int, seed: int) -> np.ndarray:
    """The sorted rows of a seeded sample (39 per list, FAISS's minimum, or 10 000) that an IVF index is trained on."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(count, size=min(count, max(39 * nlist, 10_000)), replace=False))


def ivf_factory(nlist: int, codes: str = "sq8") -> str:
    """The FAISS factory string of an IVF index with ``nlist`` lists and ``codes`` in :data:`IVF_CODES`."""
    if codes not in IVF_CODES:
        raise SearchIndexError(f"unknown IVF codes {codes!r}; choose one of {tuple(IVF_CODES)}")
    return f"IVF{nlist},{IVF_CODES[codes]}"


def describe_index(index: faiss.Index) -> str:
    """``flat`` for an exact index, else ``ivf-<codes>`` (``ivf-sq8``, ``ivf-fp16``, ``ivf-flat``)."""
    if isinstance(index, faiss.IndexFlat):
        return "flat"
    ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
    if isinstance(ivf, faiss.IndexIVFScalarQuantizer):
        return "ivf-fp16" if ivf.sq.qtype == faiss.ScalarQuantizer.QT_fp16 else "ivf-sq8"
    return "ivf-flat" if isinstance(ivf, faiss.IndexIVFFlat) else "ivf"


@dataclass(frozen=True)
class IndexSettings:
    """Which index to build: ``kind`` in :data:`INDEX_KINDS`; IVF lists (``nlist``, 0 = auto) and probes.

    The automatic ``nlist`` is :func:`auto_nlist` (``2·√N``), trained on :func:`training_rows` (``39·nlist``):
    at 10^6 reals that builds in about two minutes on two cores, where ``4·√N`` on ``64·nlist`` would take
    about ten, and each query probes 1.6 % of the vectors (docs/BENCHMARKS.md).
    """

    kind: str = "auto"
    nlist: int = 0
    nprobe: int = 32
    seed: int = 0


class CandidateIndex:
    """A FAISS index over real-image embeddings, searched with synthetic-image embeddings.

    Args:
        head_weight: the pair head's weight vector ``(D,)``; it scales the search space.
        settings: the index kind and IVF parameters.
    """

    def __init__(self, head_weight: np.ndarray, settings: IndexSettings | None = None) -> None:
        self.settings = settings or IndexSettings()
        if self.settings.kind not in INDEX_KINDS:
            raise SearchIndexError(f"unknown index kind {self.settings.kind!r}; choose one of {INDEX_KINDS}")
        self.scale = np.sqrt(np.abs(np.asarray(head_weight, dtype=np.float32))).reshape(1, -1)
        self.dim = self.scale.shape[1]
        self.index: faiss.Index | None = None

    @property
    def kind(self) -> str:
        """The kind built or loaded (:func:`describe_index`), or the requested kind before :meth:`build`."""
        if self.index is None:
            return self.settings.kind
        return describe_index(self.index)

    def __len__(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)

    def space(self, embeddings: np.ndarray) -> np.ndarray:
        """``embeddings`` ``(n, D)`` in the search space: each component times ``sqrt(|w_i|)``, float32."""
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise SearchIndexError(f"expected embeddings of shape (n, {self.dim}), got {vectors.shape}")
        return np.ascontiguousarray(vectors * self.scale)

    def build(self, embeddings: np.ndarray, chunk: int = 65_536) -> None:
        """Build the index over ``embeddings`` ``(N, D)``; IVF kinds are trained on a seeded sample."""
        count = len(embeddings)
        kind = self.settings.kind
        if kind == "auto":
            kind = "flat" if count <= FLAT_LIMIT else "ivf-sq8"
        if kind == "flat" or count == 0:
            index: faiss.Index = faiss.IndexFlatL2(self.dim)
        else:
            nlist = self.settings.nlist or auto_nlist(count)
            index = faiss.index_factory(self.dim, ivf_factory(nlist))
            index.train(self.space(embeddings[training_rows(count, nlist, self.settings.seed)]))
            index.nprobe = min(self.settings.nprobe, nlist)
        for start in range(0, count, chunk):
            index.add(self.space(embeddings[start : start + chunk]))
        self.index = index
        logger.info("built a %s index over %d vectors", self.kind, count)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(distances, indices)``, each ``(Q, min(k, N))``; index ``-1`` marks an empty slot."""
        if self.index is None:
            raise SearchIndexError("the index has not been built")
        k = min(k, len(self))
        if k <= 0 or len(queries) == 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        distances, indices = self.index.search(self.space(queries), k)
        return distances, indices

    def save(self, path: str | Path) -> None:
        """Write the index atomically (temporary file, then rename)."""
        if self.index is None:
            raise SearchIndexError("the index has not been built")
        target = Path(path)
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(handle)
        try:
            faiss.write_index(self.index, temp)
            np.save(temp + ".scale.npy", self.scale)
            os.replace(temp + ".scale.npy", str(target) + ".scale.npy")
            os.replace(temp, target)
        except (OSError, RuntimeError) as exc:
            raise SearchIndexError(f"{target}: cannot write the index ({exc})") from exc
        finally:
            for leftover in (temp, temp + ".scale.npy"):
                if os.path.exists(leftover):
                    os.unlink(leftover)

    @classmethod
    def load(cls, path: str | Path, settings: IndexSettings | None = None) -> CandidateIndex:
        """Read an index written by :meth:`save` (on-disk inverted lists are found beside it)."""
        target = Path(path)
        try:
            scale = np.load(str(target) + ".scale.npy", allow_pickle=False)
            index = faiss.read_index(str(target), faiss.IO_FLAG_ONDISK_SAME_DIR)
        except (OSError, RuntimeError, ValueError) as exc:
            raise SearchIndexError(f"{target}: cannot read the index ({exc})") from exc
        loaded = cls(np.square(scale.reshape(-1)), settings)
        loaded.index = index
        if hasattr(index, "nprobe"):
            index.nprobe = min(loaded.settings.nprobe, index.nlist)
        return loaded
