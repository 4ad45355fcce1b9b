"""Embeddings folders with the local engine: format, problems, resume, stale shards, model refusal, list inputs."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")

import pyarrow.parquet as pq

from lcmem.embed.archive import MANIFEST, PROBLEMS, SHARDS, run_embed_job
from lcmem.embed.local_engine import LocalEngine
from lcmem.embed.units import plan_units
from lcmem.errors import EmbeddingsError, MissingExtraError
from lcmem.model.bundle import load_bundle
from tests.cluster.conftest import FILES_PER_SHARD, Archive, assert_same_embeddings, read_folder


def test_units_are_fixed_by_the_sorted_list() -> None:
    files = [f"/a/{i:03d}.png" for i in range(10)]
    units = plan_units(files, 4)
    assert [len(u.files) for u in units] == [4, 4, 2]
    assert [u.shard_name for u in plan_units(files, 4)] == [u.shard_name for u in units]
    assert units[1].shard_name.startswith("part-00000001-")
    changed = plan_units([*files[:5], "/a/004b.png", *files[5:]], 4)
    assert changed[0].shard_name == units[0].shard_name
    assert changed[1].shard_name != units[1].shard_name


def test_a_local_job_writes_shards_a_manifest_and_its_problems(local_embeddings: Path, archive: Archive) -> None:
    rows, problems, manifest = read_folder(local_embeddings)
    assert manifest["status"] == "complete" and manifest["engine"] == "local"
    assert manifest["files"] == 12 and manifest["rows"] == 10 + 3  # ten PNGs, three frames; corrupt.png fails
    assert len(manifest["shards"]) == 3 and sum(s["rows"] for s in manifest["shards"]) == len(rows)
    assert manifest["model"]["name"] == "tiny-test" and manifest["dim"] == len(next(iter(rows.values()))[3])
    assert manifest["software"]["pyarrow"] != "not installed"
    ct = str(archive.real / "ct.dcm")
    assert [rows[(ct, f)][1] for f in range(3)] == [3, 3, 3]
    assert all(uid for uid in rows[(ct, 0)][2]) and rows[(str(archive.real / "img_0001.png"), 0)][2] == (None,) * 3
    assert [p[0] for p in problems] == [str(archive.real / "corrupt.png")]
    with (local_embeddings / PROBLEMS).open(newline="", encoding="utf-8") as stream:
        assert [r["path"] for r in csv.DictReader(stream)] == [str(archive.real / "corrupt.png")]
    table = pq.read_table(local_embeddings / SHARDS / manifest["shards"][0]["name"])
    assert table.column_names == [
        "sha256", "path", "frame", "n_frames", "study_instance_uid", "series_instance_uid", "sop_instance_uid", "vector"
    ]  # fmt: skip
    assert str(table.schema.field("vector").type) == f"fixed_size_list<element: float>[{manifest['dim']}]"
    assert b"PAT-NEVER-WRITTEN" not in b"".join(p.read_bytes() for p in (local_embeddings / SHARDS).iterdir())


def test_a_rerun_keeps_verified_shards_redoes_a_damaged_one_and_drops_strays(
    local_embeddings: Path, archive: Archive, tiny_bundle, tmp_path: Path
) -> None:
    out = tmp_path / "emb"
    shutil.copytree(local_embeddings, out)
    manifest = json.loads((out / MANIFEST).read_text())
    damaged = out / SHARDS / manifest["shards"][1]["name"]
    damaged.write_bytes(damaged.read_bytes()[:100])
    (out / SHARDS / "part-00000099-0000000000000000.parquet").write_bytes(b"left by another input list")
    (out / SHARDS / ".part-00000002-abc.parquet.123.tmp").write_bytes(b"half a shard")
    summary = run_embed_job(archive.real, tiny_bundle, out, LocalEngine())
    assert summary.n_resumed == 2 and summary.n_shards == 3
    assert sorted(p.name for p in (out / SHARDS).iterdir()) == sorted(s["name"] for s in manifest["shards"])
    assert_same_embeddings(out, local_embeddings)


def test_a_folder_of_another_model_is_refused(
    local_embeddings: Path, archive: Archive, other_bundle_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "emb"
    shutil.copytree(local_embeddings, out)
    with pytest.raises(EmbeddingsError, match=r"holds embeddings of model .*resume with that model"):
        run_embed_job(archive.real, load_bundle(other_bundle_dir), out, LocalEngine())


def test_a_list_file_gives_its_files_and_records_missing_ones(archive: Archive, tiny_bundle, tmp_path: Path) -> None:
    shutil.copytree(archive.real / "sub", tmp_path / "data" / "sub")
    listing = tmp_path / "lists" / "inputs.txt"
    listing.parent.mkdir()
    missing = tmp_path / "gone.png"
    listing.write_text(
        f"# a file, a missing file, a relative folder\n{archive.real / 'img_0002.png'}\n\n{missing}\n../data/sub\n"
    )
    summary = run_embed_job(listing, tiny_bundle, tmp_path / "emb", LocalEngine(), files_per_shard=FILES_PER_SHARD)
    rows, problems, _ = read_folder(tmp_path / "emb")
    assert summary.n_files == 3
    assert sorted(Path(p).name for p, _ in rows) == ["img_0002.png", "img_0020.png", "img_0021.png"]
    assert [(p, kind) for p, kind, _ in problems] == [(str(missing), "FolderError")]


def test_without_pyarrow_a_job_says_how_to_install_it(
    archive: Archive, tiny_bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # what `import` sees when it is not installed
    with pytest.raises(MissingExtraError, match=r"pyarrow.*pip install 'lcmem\[cluster\]'"):
        run_embed_job(archive.real, tiny_bundle, tmp_path / "emb", LocalEngine())
    assert not (tmp_path / "emb").exists()
