"""Thumbnails: shrunk, never enlarged, stored by content hash, read back instead of decoded again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lcmem.errors import ImageReadError
from lcmem.io import sha256_file
from lcmem.review import thumbnails
from lcmem.review.thumbnails import ThumbnailStore, render_thumbnail
from tests.conftest import write_images, write_multiframe_dicom


def test_render_fits_the_box_and_keeps_colour(tmp_path: Path) -> None:
    (path,) = write_images(tmp_path, [3])
    small = render_thumbnail(path, size=24)
    assert small.dtype == np.uint8 and small.ndim == 3 and max(small.shape[:2]) == 24
    assert render_thumbnail(path, size=500).shape[:2] == (40, 48)


def test_store_writes_once_by_content_and_reads_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frames = (np.random.default_rng(1).random((2, 30, 20)) * 4000).astype(np.uint16)
    dicom = write_multiframe_dicom(tmp_path / "ct.dcm", frames)
    store = ThumbnailStore(tmp_path / "thumbs", size=16)
    digest = sha256_file(dicom)
    first = store.get(dicom, digest, 1)
    assert store.path_for(digest, 1).is_file() and first.shape == (16, 11)
    monkeypatch.setattr(thumbnails, "render_thumbnail", lambda *a, **k: pytest.fail("decoded again"))
    assert np.array_equal(store.get(dicom, digest, 1), first)


def test_unreadable_files_raise_and_an_unwritable_store_still_returns(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ImageReadError):
        ThumbnailStore(tmp_path / "t").get(broken, "0" * 64)
    (path,) = write_images(tmp_path / "img", [4])
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    assert ThumbnailStore(blocker, size=8).get(path, "1" * 64).shape[:2] == (7, 8)
