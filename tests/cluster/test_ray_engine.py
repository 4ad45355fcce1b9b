"""The Ray engine (Ray Data, local 2-CPU cluster): the same embeddings as the local engine, and a real crash resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytest.importorskip("pyarrow")

from lcmem.embed.archive import MANIFEST, SHARDS, run_embed_job
from lcmem.embed.ray_engine import RayEngine, RaySettings
from lcmem.errors import EmbeddingsError
from tests.cluster.conftest import FILES_PER_SHARD, Archive, assert_same_embeddings

REPO = Path(__file__).resolve().parents[2]


def test_a_ray_job_writes_the_embeddings_of_a_local_job(
    ray_cluster, archive: Archive, tiny_bundle, local_embeddings: Path, tmp_path: Path
) -> None:
    engine = RayEngine(RaySettings(batch_size=3, concurrency=1, files_per_block=2))
    summary = run_embed_job(archive.real, tiny_bundle, tmp_path / "ray", engine, files_per_shard=FILES_PER_SHARD)
    manifest = assert_same_embeddings(tmp_path / "ray", local_embeddings)
    assert manifest["engine"] == "ray" and manifest["settings"]["batch_size"] == 3
    assert summary.n_resumed == 0 and [p.path for p in summary.problems] == [str(archive.real / "corrupt.png")]
    assert ray_cluster.is_initialized()  # the engine used the running cluster and left it running


def test_a_killed_ray_job_resumes_without_duplicates(
    ray_cluster, archive: Archive, tiny_bundle, tiny_bundle_dir: Path, local_embeddings: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ray"
    address = ray_cluster.get_runtime_context().gcs_address
    child = [sys.executable, str(Path(__file__).with_name("embed_child.py"))]
    args = [address, str(archive.real), str(tiny_bundle_dir), str(out), "2", "2"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([*child, *args], env=env, capture_output=True, timeout=300, check=False)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode(errors="replace")[-3000:]
    written = sorted(p.name for p in (out / SHARDS).glob("part-*.parquet"))
    assert len(written) == 2
    assert json.loads((out / MANIFEST).read_text())["status"] == "running"

    summary = run_embed_job(archive.real, tiny_bundle, out, RayEngine(RaySettings(batch_size=4)))
    assert summary.n_resumed == 2 and summary.n_shards == 6  # 12 files, 2 a shard
    manifest = assert_same_embeddings(out, local_embeddings)  # every (path, frame) once, equal vectors
    assert manifest["resumed_shards"] == 2 and manifest["settings"]["files_per_shard"] == 2
    assert set(written) <= {s["name"] for s in manifest["shards"]}


def test_a_cluster_that_cannot_be_joined_is_an_lcmem_error(
    archive: Archive, tiny_bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    def refuse(**_options: object) -> None:
        raise ConnectionError("GCS at 10.0.0.9:6379 did not answer")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    engine = RayEngine(RaySettings(address="10.0.0.9:6379"))
    with pytest.raises(EmbeddingsError, match=r"cannot start or join the Ray cluster at 10\.0\.0\.9:6379.*--address"):
        run_embed_job(archive.real, tiny_bundle, tmp_path / "emb", engine, files_per_shard=FILES_PER_SHARD)
