"""``lcmem index build``: the index folder, its manifest and row table, on-disk lists, and model checks."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow")

from lcmem.cli.main import main
from lcmem.errors import EmbeddingsError, SearchIndexError
from lcmem.index import prebuilt
from lcmem.index.build import BuildSettings, build_index
from lcmem.index.prebuilt import PrebuiltIndex
from lcmem.model.bundle import load_bundle
from tests.cluster.conftest import Archive, read_folder


def assert_each_vector_finds_itself(index: PrebuiltIndex) -> None:
    _, found = index.index.search(np.asarray(index.vectors), 1)
    assert np.array_equal(found[:, 0], np.arange(len(index.vectors)))


def test_an_index_folder_holds_the_vectors_rows_and_a_manifest(
    local_embeddings: Path, archive: Archive, tiny_bundle, tmp_path: Path
) -> None:
    summary = build_index(local_embeddings, tmp_path / "index", tiny_bundle, BuildSettings(nlist=2, nprobe=8))
    manifest = json.loads((tmp_path / "index" / prebuilt.MANIFEST).read_text())
    assert (summary.kind, manifest["kind"], manifest["factory"]) == ("ivf-sq8", "ivf-sq8", "IVF2,SQ8")
    assert (manifest["nlist"], manifest["nprobe"], manifest["rows"], manifest["files"]) == (2, 2, 13, 12)
    assert manifest["model"]["checksum"] == tiny_bundle.checksum and manifest["on_disk"] is False
    source = (local_embeddings / "manifest.json").read_bytes()
    assert manifest["embeddings"]["manifest_sha256"] == hashlib.sha256(source).hexdigest()
    assert [p["path"] for p in manifest["problems"]] == [str(archive.real / "corrupt.png")]
    rows, _, _ = read_folder(local_embeddings)
    index = PrebuiltIndex.open(tmp_path / "index", tiny_bundle.checksum)
    try:
        assert index.index.index.nprobe == 2 and len(index.rows) == 13
        items = index.rows.lookup(range(13))
        for row, item in items.items():
            sha, n_frames, uids, vector = rows[(item.path, item.frame)]
            assert (item.sha256, item.n_frames) == (sha, n_frames)
            assert (item.study_instance_uid, item.series_instance_uid, item.sop_instance_uid) == uids
            np.testing.assert_array_equal(index.vectors[row], vector)
        assert_each_vector_finds_itself(index)
    finally:
        index.close()


def test_on_disk_lists_are_merged_from_blocks_and_found_after_a_move(
    local_embeddings: Path, tiny_bundle, tmp_path: Path
) -> None:
    settings = BuildSettings(codes="fp16", nlist=2, on_disk=True, block_rows=5)
    build_index(local_embeddings, tmp_path / "built", tiny_bundle, settings)
    assert sorted(p.name for p in (tmp_path / "built").iterdir()) == sorted(
        ["index.faiss", "index.faiss.scale.npy", "index.ivfdata", "manifest.json", "rows.sqlite", "vectors.npy"]
    )
    shutil.move(tmp_path / "built", tmp_path / "moved")
    index = PrebuiltIndex.open(tmp_path / "moved", tiny_bundle.checksum)
    try:
        assert index.index.kind == "ivf-fp16" and len(index.index) == 13
        assert_each_vector_finds_itself(index)
    finally:
        index.close()


def test_a_build_refuses_another_model_an_unfinished_job_and_an_existing_folder(
    local_embeddings: Path, other_bundle_dir: Path, tiny_bundle, tmp_path: Path
) -> None:
    with pytest.raises(SearchIndexError, match=r"embedded with model .*build the index with that model"):
        build_index(local_embeddings, tmp_path / "index", load_bundle(other_bundle_dir))
    assert not (tmp_path / "index").exists() and not list(tmp_path.glob(".index.building-*"))
    unfinished = tmp_path / "unfinished"
    shutil.copytree(local_embeddings, unfinished)
    manifest = json.loads((unfinished / "manifest.json").read_text())
    (unfinished / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    with pytest.raises(EmbeddingsError, match="rerun the same lcmem embed command"):
        build_index(unfinished, tmp_path / "index", tiny_bundle)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    with pytest.raises(SearchIndexError, match="not empty"):
        build_index(local_embeddings, tmp_path / "taken", tiny_bundle)


def test_index_build_cli_takes_the_model_that_embedded(local_embeddings: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    args = ["index", "build", str(local_embeddings), "--out", str(out), "--codes", "flat", "--nlist", "3"]
    assert main([*args, "--threads", "1", "--quiet"]) == 0
    assert json.loads((out / prebuilt.MANIFEST).read_text())["kind"] == "ivf-flat"
    assert main([*args, "--quiet"]) == 1  # the folder now exists
