"""The embedding cache is keyed by content and model, survives reopening, and isolates models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lcmem.embed.cache import EmbeddingCache, default_cache_dir
from lcmem.errors import CacheError


def test_put_get_survives_reopening(tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).random((3, 8), dtype=np.float32)
    with EmbeddingCache(tmp_path, "m" * 64, 8) as cache:
        cache.put_many({"a" * 64: vectors, "b" * 64: vectors[:1]})
    with EmbeddingCache(tmp_path, "m" * 64, 8) as cache:
        found = cache.get_many(["a" * 64, "b" * 64, "c" * 64])
        assert len(cache) == 2
    assert np.array_equal(found["a" * 64], vectors)
    assert found["b" * 64].shape == (1, 8)
    assert "c" * 64 not in found


def test_models_do_not_share_vectors(tmp_path: Path) -> None:
    with EmbeddingCache(tmp_path, "1" * 64, 4) as cache:
        cache.put_many({"a" * 64: np.ones((1, 4), np.float32)})
    with EmbeddingCache(tmp_path, "2" * 64, 4) as cache:
        assert cache.get_many(["a" * 64]) == {}


def test_a_vector_of_another_width_is_ignored(tmp_path: Path) -> None:
    with EmbeddingCache(tmp_path, "1" * 64, 4) as cache:
        cache.put_many({"a" * 64: np.ones((1, 4), np.float32)})
    with EmbeddingCache(tmp_path, "1" * 64, 5) as cache:
        assert cache.get_many(["a" * 64]) == {}


def test_unusable_cache_folder_is_a_cache_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheError, match="cache"):
        EmbeddingCache(blocker / "sub", "1" * 64, 4)


def test_default_cache_dir_honours_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LCMEM_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
