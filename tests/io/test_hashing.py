"""Tests for lcmem.io.hashing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lcmem.errors import ImageReadError
from lcmem.io import sha256_file


def test_small_file_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"hello lcmem")
    assert sha256_file(path) == hashlib.sha256(b"hello lcmem").hexdigest()


def test_file_larger_than_one_chunk(tmp_path: Path) -> None:
    data = bytes(range(256)) * (10 * 1024 + 7)  # 2.5 MiB and a bit: several 1 MiB chunks
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert sha256_file(str(path)) == hashlib.sha256(data).hexdigest()


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert sha256_file(path) == hashlib.sha256(b"").hexdigest()


def test_missing_file_raises_image_read_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.png"
    with pytest.raises(ImageReadError) as info:
        sha256_file(path)
    assert info.value.path == str(path)
    assert "not found" in info.value.reason


def test_folder_raises_image_read_error(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="folder"):
        sha256_file(tmp_path)
