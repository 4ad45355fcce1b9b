"""embed_files: batched, cached by content, tolerant of bad files, multi-frame aware, cancellable."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lcmem.embed.cache import EmbeddingCache
from lcmem.embed.runner import EmbedSettings, embed_files
from lcmem.errors import Cancelled
from lcmem.io import load_image
from lcmem.model.bundle import load_bundle
from lcmem.model.preprocess import to_model_input
from lcmem.progress import CancelToken
from tests.conftest import write_images, write_multiframe_dicom


def test_second_run_comes_from_the_cache_with_identical_vectors(tiny_bundle, tmp_path: Path) -> None:
    files = write_images(tmp_path / "imgs", list(range(7)))
    with EmbeddingCache(tmp_path / "cache", tiny_bundle.checksum, 512) as cache:
        first = embed_files(files, tiny_bundle, cache=cache, settings=EmbedSettings(batch_size=3))
        moved = tmp_path / "moved"
        shutil.copytree(tmp_path / "imgs", moved)
        second = embed_files(sorted(moved.iterdir()), tiny_bundle, cache=cache)
    assert (first.n_computed_files, first.n_cached_files) == (7, 0)
    assert (second.n_computed_files, second.n_cached_files) == (0, 7)
    assert np.array_equal(first.embeddings, second.embeddings)
    assert [r.sha256 for r in first.refs] == [r.sha256 for r in second.refs]


def test_batching_and_threads_do_not_change_results(tiny_bundle, tmp_path: Path) -> None:
    files = write_images(tmp_path, list(range(5)))
    a = embed_files(files, tiny_bundle, settings=EmbedSettings(batch_size=1, decode_threads=1))
    b = embed_files(files, tiny_bundle, settings=EmbedSettings(batch_size=4, decode_threads=3))
    assert np.allclose(a.embeddings, b.embeddings, atol=1e-5)
    assert [r.path for r in a.refs] == [str(f) for f in files]


def test_bad_files_are_problems_and_the_rest_is_embedded(tiny_bundle, tmp_path: Path) -> None:
    good = write_images(tmp_path, [1, 2])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good[0].read_bytes()[:200])
    missing = tmp_path / "gone.png"
    result = embed_files([good[0], empty, truncated, missing, good[1]], tiny_bundle)
    assert [r.path for r in result.refs] == [str(good[0]), str(good[1])]
    reasons = {Path(p.path).name: p.reason for p in result.problems}
    assert set(reasons) == {"empty.png", "truncated.png", "gone.png"}
    assert all(reason for reason in reasons.values())


def test_duplicate_contents_are_decoded_once_and_share_a_vector(tiny_bundle, tmp_path: Path) -> None:
    (original,) = write_images(tmp_path, [3])
    copy = tmp_path / "copy.png"
    shutil.copy(original, copy)
    result = embed_files([original, copy], tiny_bundle)
    assert result.n_computed_files == 1
    assert np.array_equal(result.embeddings[0], result.embeddings[1])


def test_multiframe_dicom_gives_one_item_per_frame(tiny_bundle, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = (rng.random((3, 32, 32)) * 4000).astype(np.uint16)
    path = write_multiframe_dicom(tmp_path / "volume.dcm", frames)
    result = embed_files([path], tiny_bundle)
    assert [(r.frame, r.n_frames) for r in result.refs] == [(0, 3), (1, 3), (2, 3)]
    assert result.embeddings.shape == (3, 512)
    assert not np.array_equal(result.embeddings[0], result.embeddings[1])


def test_cancel_keeps_finished_batches_in_the_cache(tiny_bundle, tmp_path: Path) -> None:
    files = write_images(tmp_path / "imgs", list(range(8)))
    token = CancelToken()
    calls = []

    def progress(done: int, total: int, text: str) -> None:
        calls.append((done, total, text))
        if text.startswith("embedding") and done >= 2:
            token.cancel()

    with EmbeddingCache(tmp_path / "cache", tiny_bundle.checksum, 512) as cache:
        with pytest.raises(Cancelled):
            embed_files(
                files,
                tiny_bundle,
                cache=cache,
                settings=EmbedSettings(batch_size=2),
                progress=progress,
                cancel=token,
            )
        kept = len(cache)
        resumed = embed_files(files, tiny_bundle, cache=cache, settings=EmbedSettings(batch_size=2))
    assert 2 <= kept < 8
    assert resumed.n_cached_files == kept
    assert resumed.n_computed_files == 8 - kept
    assert any(text.startswith("hashing") for _, _, text in calls)


def test_channels_last_encoding_equals_the_model_in_its_own_layout(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    bundle = load_bundle(tiny_bundle_dir)
    files = write_images(tmp_path, [1, 2, 3])
    inputs = torch.stack([to_model_input(load_image(f), bundle.config.image_size) for f in files])
    with torch.inference_mode():
        reference = bundle.model.embed_images(inputs).numpy()
    embedded = embed_files(files, bundle).embeddings
    first_conv = next(p for p in bundle.model.parameters() if p.dim() == 4 and p.shape[-1] > 1)
    assert first_conv.is_contiguous(memory_format=torch.channels_last)
    assert np.allclose(embedded, reference, atol=1e-4)


def test_views_are_embedded_from_the_same_pixels_and_cached_apart(tiny_bundle, tmp_path: Path) -> None:
    from lcmem.embed.items import encode_inputs
    from lcmem.model.views import apply_views

    files = write_images(tmp_path / "imgs", [3, 4, 5])
    views = ("mirror", "zoom-out-88")
    settings = EmbedSettings(batch_size=2, views=views)
    with EmbeddingCache(tmp_path / "cache", tiny_bundle.checksum, 512) as cache:
        plain = embed_files(files[:1], tiny_bundle, cache=cache)
        first = embed_files(files, tiny_bundle, cache=cache, settings=settings)
        second = embed_files(files, tiny_bundle, cache=cache, settings=settings)
    assert plain.views is None
    assert first.views is not None and first.views.shape == (3, 2, 512)
    assert (first.n_computed_files, first.n_cached_files) == (3, 0)  # the plain entry had no views
    assert (second.n_computed_files, second.n_cached_files) == (0, 3)
    assert np.array_equal(first.views, second.views)
    assert np.allclose(first.embeddings[0], plain.embeddings[0], atol=1e-5)
    pixels = to_model_input(load_image(files[1]), tiny_bundle.config.image_size)
    expected = encode_inputs(tiny_bundle, apply_views(pixels[None], views)[0], "cpu")
    assert np.allclose(first.views[1], expected, atol=1e-4)
    assert not np.allclose(first.views[1, 0], first.embeddings[1], atol=1e-3)
