"""Exact LCMem scoring of search candidates: the pair head on every (synthetic, real) candidate.

FAISS distances stop here: they only break ties between equal scores. What leaves this module is the
LCMem pair probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lcmem.index.faiss_index import CandidateIndex
from lcmem.model.siamese import SiameseNetwork

SCORE_BLOCK = 64
"""Queries scored at a time: their ``(64, K, D)`` candidate differences stay in cache (about 3× faster than
scoring a whole 1024-query chunk at once at K = 80 on this CPU, docs/BENCHMARKS.md)."""

OVERSAMPLE = 4
"""The index proposes this many times ``top_k`` candidates; all are scored exactly and the best ``top_k`` kept.

The search distance (L2 in the head-scaled space) only approximates the pair score (a weighted L1 with weights
of both signs), so among near-ties the best-scoring real can sit just outside the index's own top ``k``: with
10^6 reals, 2.5 % of novel queries missed their exact top-1 at ``k`` = 20, none at 4 × 20, for 17 % more
search time (docs/BENCHMARKS.md)."""


@dataclass(frozen=True)
class RankedCandidates:
    """For ``Q`` queries: real indices ``(Q, K)`` ordered by score, their scores, and valid-slot mask."""

    indices: np.ndarray
    scores: np.ndarray
    valid: np.ndarray


def rescore_candidates(
    network: SiameseNetwork,
    queries: np.ndarray,
    reals: np.ndarray,
    candidates: np.ndarray,
    distances: np.ndarray,
) -> RankedCandidates:
    """Score every candidate exactly with the pair head and sort each row by score, best first.

    Ties (equal scores, e.g. several exact copies) are broken by the search distance, then by index.

    Args:
        network: the model's network (its ``pair_logits`` head is used).
        queries: synthetic embeddings ``(Q, D)``.
        reals: all real embeddings ``(N, D)``; only the candidates' rows are read (it may be memory-mapped).
        candidates: real indices ``(Q, K)`` from the search; ``-1`` marks an empty slot.
        distances: the search distances ``(Q, K)``.
    """
    valid = candidates >= 0
    safe = np.where(valid, candidates, 0)
    scores = np.empty(candidates.shape, np.float32)
    device = network.fc_end.weight.device
    with torch.inference_mode():
        for start in range(0, len(candidates), SCORE_BLOCK):
            block = slice(start, start + SCORE_BLOCK)
            q = torch.from_numpy(np.ascontiguousarray(queries[block], dtype=np.float32)).unsqueeze(1)
            r = torch.from_numpy(np.ascontiguousarray(reals[safe[block]], dtype=np.float32))
            logits = network.pair_logits(q.to(device), r.to(device))
            scores[block] = torch.sigmoid(logits).float().cpu().numpy()
    scores = np.where(valid, scores, -1.0)
    order = np.lexsort((safe, np.where(valid, distances, np.inf), -scores), axis=-1)
    rows = np.arange(len(candidates))[:, None]
    return RankedCandidates(candidates[rows, order], scores[rows, order], valid[rows, order])


def search_candidates(
    index: CandidateIndex,
    network: SiameseNetwork,
    queries: np.ndarray,
    reals: np.ndarray,
    top_k: int,
    oversample: int = OVERSAMPLE,
) -> RankedCandidates:
    """Each query's ``top_k`` best reals by exact score, chosen from ``oversample × top_k`` index candidates.

    Args:
        index: the index built over ``reals``.
        network: the model's network (its pair head scores the candidates).
        queries: synthetic embeddings ``(Q, D)``.
        reals: all real embeddings ``(N, D)``, in the index's order.
        top_k: candidates kept per query.
        oversample: how many times ``top_k`` candidates the index proposes (at least 1).
    """
    distances, indices = index.search(queries, top_k * max(1, oversample))
    ranked = rescore_candidates(network, queries, reals, indices, distances)
    return RankedCandidates(ranked.indices[:, :top_k], ranked.scores[:, :top_k], ranked.valid[:, :top_k])


def search_with_views(
    index: CandidateIndex,
    network: SiameseNetwork,
    queries: np.ndarray,
    views: np.ndarray,
    reals: np.ndarray,
    top_k: int,
    oversample: int = OVERSAMPLE,
) -> RankedCandidates:
    """Each query's ``top_k`` reals by the best exact score of the query or any of its views.

    Each view ``views[:, v]`` searches as a query of its own (:func:`search_candidates`); the union of the
    candidates is ordered by the best score any view (or the query) gives a real, ties by the query's own score,
    then by index. The scores returned are the query's own: views only choose which reals are candidates.

    Args:
        views: view embeddings ``(Q, V, D)`` of the queries (:mod:`lcmem.model.views`).
    """
    lists = [search_candidates(index, network, queries, reals, top_k, oversample)]
    lists += [search_candidates(index, network, views[:, v], reals, top_k, oversample) for v in range(views.shape[1])]
    indices = np.full((len(queries), top_k), -1, np.int64)
    scores = np.full((len(queries), top_k), -1.0, np.float32)
    device = network.fc_end.weight.device
    for q in range(len(queries)):
        best: dict[int, float] = {}
        for ranked in lists:
            for real, score in zip(ranked.indices[q][ranked.valid[q]], ranked.scores[q][ranked.valid[q]], strict=True):
                best[int(real)] = max(best.get(int(real), -1.0), float(score))
        if not best:
            continue
        found = np.sort(np.fromiter(best, np.int64, len(best)))  # ascending: reals may be memory-mapped
        with torch.inference_mode():
            query = torch.from_numpy(np.ascontiguousarray(queries[q], dtype=np.float32)).to(device)
            rows = torch.from_numpy(np.ascontiguousarray(reals[found], dtype=np.float32)).to(device)
            own = torch.sigmoid(network.pair_logits(query, rows)).float().cpu().numpy()
        fused = np.array([best[int(r)] for r in found], np.float32)
        order = np.lexsort((found, -own, -fused))[:top_k]
        indices[q, : len(order)], scores[q, : len(order)] = found[order], own[order]
    return RankedCandidates(indices, scores, indices >= 0)
