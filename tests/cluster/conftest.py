"""Fixtures of the large-archive tests: an archive of images, its local embeddings, a second model, a Ray cluster.

The Ray cluster is a 2-CPU local instance started once per session, with a small object store.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import save_untrained_bundle, write_images, write_multiframe_dicom

FILES_PER_SHARD = 4


@dataclass(frozen=True)
class Archive:
    """Real images (PNGs, a 3-frame DICOM, a corrupt file, a subfolder) and synthetic ones (copies among them)."""

    real: Path
    synthetic: Path


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    root = tmp_path_factory.mktemp("archive")
    real, synthetic = root / "real", root / "synthetic"
    write_images(real, list(range(8)))
    write_images(real / "sub", [20, 21])
    frames = (np.random.default_rng(1).random((3, 24, 24)) * 3000).astype(np.uint16)
    write_multiframe_dicom(real / "ct.dcm", frames, patient_id="PAT-NEVER-WRITTEN")
    (real / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not a png at all")
    write_images(synthetic, [40, 41])
    shutil.copy(real / "img_0003.png", synthetic / "copy_3.png")
    shutil.copy(real / "sub" / "img_0021.png", synthetic / "copy_21.png")
    shutil.copy(real / "ct.dcm", synthetic / "ct_copy.dcm")
    return Archive(real, synthetic)


@pytest.fixture(scope="session")
def local_embeddings(archive: Archive, tiny_bundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real archive embedded with the local engine."""
    pytest.importorskip("pyarrow")
    from lcmem.embed.archive import run_embed_job
    from lcmem.embed.local_engine import LocalEngine

    out = tmp_path_factory.mktemp("embeddings") / "local"
    run_embed_job(archive.real, tiny_bundle, out, LocalEngine(), files_per_shard=FILES_PER_SHARD)
    return out


@pytest.fixture(scope="session")
def other_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second tiny bundle (another seed, so another checksum)."""
    return save_untrained_bundle(tmp_path_factory.mktemp("bundles") / "other", "tiny-other", seed=8)


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray instance (2 CPUs, 100 MiB object store) for the session; yields the ``ray`` module."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("pyarrow")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=100 * 1024 * 1024,
        log_to_driver=False,
        configure_logging=False,
    )
    yield ray
    ray.shutdown()


def read_folder(folder: Path) -> tuple[dict[tuple[str, int], tuple], list[tuple[str, str, str]], dict]:
    """An embeddings folder as ``{(path, frame): (sha256, n_frames, UIDs, vector)}``, its problems and manifest."""
    from lcmem.embed.archive import SHARDS, read_manifest
    from lcmem.embed.shards import read_shard

    manifest = read_manifest(folder)
    rows: dict[tuple[str, int], tuple] = {}
    for shard in manifest["shards"]:
        items, vectors = read_shard(folder / SHARDS / shard["name"], shard["sha256"], manifest["dim"])
        for item, vector in zip(items, vectors, strict=True):
            assert (item.path, item.frame) not in rows, f"duplicate row {item.path} frame {item.frame}"
            uids = (item.study_instance_uid, item.series_instance_uid, item.sop_instance_uid)
            rows[(item.path, item.frame)] = (item.sha256, item.n_frames, uids, vector)
    problems = [(p["path"], p["kind"], p["reason"]) for p in manifest["problems"]]
    return rows, problems, manifest


def assert_same_embeddings(folder: Path, reference: Path) -> dict:
    """Both folders hold the same items, UIDs and problems, and vectors equal to float tolerance."""
    rows, problems, manifest = read_folder(folder)
    expected, expected_problems, _ = read_folder(reference)
    assert sorted(rows) == sorted(expected)
    for key, (sha, n_frames, uids, vector) in expected.items():
        assert rows[key][:3] == (sha, n_frames, uids), key
        np.testing.assert_allclose(rows[key][3], vector, rtol=0, atol=1e-5)
    assert problems == expected_problems
    assert manifest["rows"] == len(rows)
    return manifest
