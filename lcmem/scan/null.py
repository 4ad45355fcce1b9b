"""The real→real null distribution: how close two *different* real images (or patients) get under a model.

For each real item of a seeded sample, the best LCMem pair score against another real item that is not the
same content (sha256: the item itself, its byte-identical duplicates and the other frames of its file) and,
where an identity is known, not the same identity (patient). A synthetic image that scores above nearly all
of these is closer to a training image than any two real patients are.

Candidates come from the scan's :class:`~lcmem.index.faiss_index.CandidateIndex` (``k`` per query, one query
chunk at a time: no N×N matrix) and are scored exactly by :func:`~lcmem.index.rescore.rescore_candidates`.
A query whose ``k`` candidates are all excluded (e.g. the other slices of the same CT series) is searched
again with four times ``k``, up to ``max_k``; if still none is left it gets no null score.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lcmem.embed.types import EmbeddedSet, ImageRef
from lcmem.index.faiss_index import CandidateIndex
from lcmem.index.rescore import rescore_candidates
from lcmem.io import read_dicom_identifiers
from lcmem.model.siamese import SiameseNetwork
from lcmem.progress import NEVER_CANCELLED, CancelToken, Progress, null_progress

IdentityFunction = Callable[[ImageRef], str | None]
"""The identity (e.g. a pseudonymised patient id) of a real item, or ``None`` when it is unknown."""
NULL_SEED = 0
"""Seed of the sample of reals taken when there are more than the cap."""


@dataclass(frozen=True)
class NullScore:
    """A real item, the different real item that scores best against it, and that LCMem pair score."""

    real: ImageRef
    nearest: ImageRef
    score: float


def exact_copy_score(network: SiameseNetwork) -> float:
    """The pair score of two identical images (``|f1 − f2| = 0``): what a byte copy of a real image scores."""
    weight = network.fc_end.weight
    zero = torch.zeros(1, weight.shape[1], dtype=weight.dtype, device=weight.device)
    with torch.inference_mode():
        return float(torch.sigmoid(network.pair_logits(zero, zero))[0])


def dicom_patient_identity() -> IdentityFunction:
    """An item's DICOM PatientID (each file's header read once), ``None`` for other files: the identity a project
    gives (pseudonymised), for ``lcmem scan``, which keeps no project."""

    @functools.cache
    def patient(path: str) -> str | None:
        identifiers = read_dicom_identifiers(path)
        return identifiers.patient_id if identifiers else None

    return lambda ref: patient(ref.path)


def _codes(values: list[str | None]) -> np.ndarray:
    """Integer codes per value; ``-1`` for ``None`` (unknown never equals anything)."""
    table: dict[str, int] = {}
    return np.array([-1 if v is None else table.setdefault(v, len(table)) for v in values], dtype=np.int64)


def nearest_other_scores(
    reals: EmbeddedSet,
    index: CandidateIndex,
    network: SiameseNetwork,
    *,
    identity: IdentityFunction | None = None,
    sample: int = 20_000,
    k: int = 8,
    max_k: int = 256,
    chunk: int = 1024,
    progress: Progress = null_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> list[NullScore]:
    """Score every real item of a seeded sample against its best different real item.

    Args:
        reals: the real items; ``index`` must have been built over ``reals.embeddings``.
        index: the search index over the reals.
        network: the model's network (its pair head scores the candidates).
        identity: an item's identity (patient); items of the same identity are not "different". ``None``:
            only content (sha256) decides.
        sample: at most this many reals are scored (a sample seeded with :data:`NULL_SEED`); 0 scores none.
        k: candidates searched per real at first.
        max_k: the largest ``k`` tried for a real whose candidates are all excluded.
        chunk: reals searched at a time.
        progress: receives ``(done, total, text)``.
        cancel: checked between chunks.

    Returns:
        One :class:`NullScore` per sampled real that has a different real item, in item order.
    """
    count = len(reals)
    if count < 2 or sample <= 0:
        return []
    chosen = np.arange(count)
    if count > sample:
        chosen = np.sort(np.random.default_rng(NULL_SEED).choice(count, size=sample, replace=False))
    contents = _codes([r.sha256 for r in reals.refs])
    identities = _codes([identity(r) for r in reals.refs]) if identity is not None else np.full(count, -1)
    out: list[NullScore] = []
    for start in range(0, len(chosen), chunk):
        cancel.raise_if_cancelled()
        queries = chosen[start : start + chunk]
        nearest, scores = _best_others(reals.embeddings, index, network, queries, contents, identities, k, max_k)
        out.extend(
            NullScore(reals.refs[int(q)], reals.refs[int(n)], float(s))
            for q, n, s in zip(queries, nearest, scores, strict=True)
            if n >= 0
        )
        progress(min(start + chunk, len(chosen)), len(chosen), "scoring real→real nearest other images")
    return out


def _best_others(
    embeddings: np.ndarray,
    index: CandidateIndex,
    network: SiameseNetwork,
    queries: np.ndarray,
    contents: np.ndarray,
    identities: np.ndarray,
    k: int,
    max_k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The best different item (``-1``: none) and its score for each query item index."""
    nearest = np.full(len(queries), -1, dtype=np.int64)
    scores = np.full(len(queries), -1.0)
    pending = np.arange(len(queries))
    width = min(k, len(index))
    while len(pending):
        rows = queries[pending]
        distances, candidates = index.search(embeddings[rows], width)
        safe = np.where(candidates >= 0, candidates, 0)
        same_content = contents[safe] == contents[rows][:, None]
        same_identity = (identities[safe] == identities[rows][:, None]) & (identities[rows][:, None] >= 0)
        candidates = np.where(same_content | same_identity, -1, candidates)
        ranked = rescore_candidates(network, embeddings[rows], embeddings, candidates, distances)
        found = ranked.valid[:, 0] if ranked.valid.shape[1] else np.zeros(len(rows), dtype=bool)
        nearest[pending[found]] = ranked.indices[found, 0]
        scores[pending[found]] = ranked.scores[found, 0]
        if width >= min(max_k, len(index)):
            break
        pending = pending[~found]
        width = min(width * 4, max_k, len(index))
    return nearest, scores
