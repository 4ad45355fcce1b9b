"""Candidate search: exact for the flat index, high recall for IVF-SQ8, persistent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lcmem.errors import SearchIndexError
from lcmem.index.faiss_index import CandidateIndex, IndexSettings


def clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.random((max(1, n // 50), dim), dtype=np.float32)
    labels = rng.integers(0, len(centers), n)
    return np.clip(centers[labels] + rng.normal(0, 0.05, (n, dim)).astype(np.float32), 0, 1)


def weighted_l2_top1(reals: np.ndarray, queries: np.ndarray, weight: np.ndarray) -> np.ndarray:
    diff = (queries[:, None, :] - reals[None, :, :]) ** 2 @ np.abs(weight)
    return diff.argmin(axis=1)


def test_flat_index_returns_the_exact_weighted_nearest_neighbour() -> None:
    reals = clustered(600)
    queries = clustered(40, seed=1)
    weight = -np.random.default_rng(2).random(64).astype(np.float32)
    index = CandidateIndex(weight, IndexSettings(kind="flat"))
    index.build(reals)
    _, indices = index.search(queries, 5)
    assert index.kind == "flat"
    assert np.array_equal(indices[:, 0], weighted_l2_top1(reals, queries, weight))


def test_ivf_sq8_finds_the_true_neighbour_for_nearly_every_query() -> None:
    reals = clustered(5000)
    queries = reals[::50] + np.random.default_rng(3).normal(0, 0.01, (100, 64)).astype(np.float32)
    weight = -np.ones(64, np.float32)
    index = CandidateIndex(weight, IndexSettings(kind="ivf-sq8", nprobe=16))
    index.build(reals)
    _, indices = index.search(queries, 10)
    truth = weighted_l2_top1(reals, queries, weight)
    recall = np.mean([t in row for t, row in zip(truth, indices, strict=True)])
    assert index.kind == "ivf-sq8"
    assert recall >= 0.95


def test_auto_kind_is_flat_for_small_sets() -> None:
    index = CandidateIndex(np.ones(8, np.float32))
    index.build(clustered(100, dim=8))
    assert index.kind == "flat"


def test_fewer_reals_than_k_and_empty_index() -> None:
    index = CandidateIndex(np.ones(8, np.float32))
    index.build(clustered(3, dim=8))
    _, indices = index.search(clustered(2, dim=8, seed=5), 10)
    assert indices.shape == (2, 3)
    empty = CandidateIndex(np.ones(8, np.float32))
    empty.build(np.zeros((0, 8), np.float32))
    assert empty.search(clustered(2, dim=8), 5)[1].shape == (2, 0)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    reals = clustered(300)
    weight = -np.linspace(0.1, 1, 64).astype(np.float32)
    index = CandidateIndex(weight, IndexSettings(kind="flat"))
    index.build(reals)
    index.save(tmp_path / "reals.faiss")
    loaded = CandidateIndex.load(tmp_path / "reals.faiss")
    queries = clustered(10, seed=9)
    assert np.array_equal(index.search(queries, 4)[1], loaded.search(queries, 4)[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reals.faiss", "reals.faiss.scale.npy"]


def test_errors_are_search_index_errors(tmp_path: Path) -> None:
    index = CandidateIndex(np.ones(8, np.float32))
    with pytest.raises(SearchIndexError, match="not been built"):
        index.search(clustered(1, dim=8), 1)
    index.build(clustered(10, dim=8))
    with pytest.raises(SearchIndexError, match="shape"):
        index.search(np.zeros((1, 9), np.float32), 1)
    with pytest.raises(SearchIndexError, match="cannot read"):
        CandidateIndex.load(tmp_path / "missing.faiss")
    with pytest.raises(SearchIndexError, match="unknown index kind"):
        CandidateIndex(np.ones(8), IndexSettings(kind="hnsw"))
