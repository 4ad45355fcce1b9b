"""A prebuilt index as a scan's real side: the same matches as a local scan, on-disk lists, model checks, projects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow")

from lcmem.cli.main import main
from lcmem.errors import SearchIndexError
from lcmem.index import prebuilt
from lcmem.index.build import BuildSettings, build_index
from lcmem.model.bundle import load_bundle
from lcmem.review.compare import unshown_text
from lcmem.scan.pipeline import run_scan
from lcmem.scan.real_side import RealIndex
from lcmem.scan.types import Candidate, ScanSettings, ScanSummary
from lcmem.store.project import Project
from lcmem.store.queries import list_pairs
from tests.cluster.conftest import Archive

Matches = dict[tuple[str, int], list[tuple[str, int, float]]]


def scan(reals, archive: Archive, bundle, top_k: int = 4) -> tuple[Matches, ScanSummary]:
    found: list[Candidate] = []
    summary = run_scan(reals, [archive.synthetic], bundle, found.extend, settings=ScanSettings(top_k=top_k))
    matches: Matches = {}
    for c in found:
        matches.setdefault((c.synthetic.path, c.synthetic.frame), []).append((c.real.path, c.real.frame, c.score))
    return matches, summary


@pytest.fixture(scope="module")
def local_scan(archive: Archive, tiny_bundle) -> tuple[Matches, ScanSummary]:
    return scan([archive.real], archive, tiny_bundle)


@pytest.fixture(scope="module")
def sq8_index(local_embeddings: Path, tiny_bundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("indexes") / "sq8"
    build_index(local_embeddings, out, tiny_bundle, BuildSettings(nlist=2))
    return out


def assert_same_top1(matches: Matches, expected: Matches) -> None:
    assert sorted(matches) == sorted(expected)
    for key, candidates in expected.items():
        assert matches[key][0][:2] == candidates[0][:2], key
        assert matches[key][0][2] == pytest.approx(candidates[0][2], abs=1e-5)


def test_an_exhaustive_index_gives_the_candidates_and_scores_of_a_local_scan(
    archive: Archive, local_embeddings: Path, tiny_bundle, local_scan, tmp_path: Path
) -> None:
    built = build_index(local_embeddings, tmp_path / "index", tiny_bundle, BuildSettings(codes="flat", nlist=2))
    assert (built.kind, built.nlist, built.rows) == ("ivf-flat", 2, 13)
    matches, summary = scan(RealIndex(tmp_path / "index", nprobe=2), archive, tiny_bundle)
    expected, expected_summary = local_scan
    assert sorted(matches) == sorted(expected)
    for key, candidates in expected.items():
        assert [m[:2] for m in matches[key]] == [c[:2] for c in candidates], key
        np.testing.assert_allclose([m[2] for m in matches[key]], [c[2] for c in candidates], atol=1e-6)
    assert summary.problems == expected_summary.problems  # corrupt.png of the archive, recorded when it was embedded
    assert (summary.n_real_files, summary.n_real_items) == (12, 13)
    assert summary.index_kind == "ivf-flat" and summary.n_null_scores == 0


def test_an_sq8_index_gives_the_top_match_of_a_local_scan(
    archive: Archive, sq8_index: Path, tiny_bundle, local_scan
) -> None:
    manifest = json.loads((sq8_index / prebuilt.MANIFEST).read_text())
    assert (manifest["kind"], manifest["nlist"], manifest["nprobe"], manifest["rows"]) == ("ivf-sq8", 2, 2, 13)
    assert manifest["model"]["name"] == "tiny-test" and len(manifest["embeddings"]["manifest_sha256"]) == 64
    matches, _ = scan([sq8_index], archive, tiny_bundle)  # a real "folder" that is an index is read as one
    assert_same_top1(matches, local_scan[0])
    copy = matches[(str(archive.synthetic / "copy_21.png"), 0)][0]
    assert copy[:2] == (str(archive.real / "sub" / "img_0021.png"), 0)


def test_a_scan_searches_on_disk_lists(
    archive: Archive, local_embeddings: Path, tiny_bundle, local_scan, tmp_path: Path
) -> None:
    build_index(local_embeddings, tmp_path / "index", tiny_bundle, BuildSettings(nlist=2, on_disk=True, block_rows=5))
    matches, summary = scan(RealIndex(tmp_path / "index"), archive, tiny_bundle)
    assert_same_top1(matches, local_scan[0])
    assert summary.index_kind == "ivf-sq8"


def test_a_scan_refuses_an_index_of_another_model(archive: Archive, sq8_index: Path, other_bundle_dir: Path) -> None:
    with pytest.raises(SearchIndexError, match=r"built with model .*scan with that model"):
        scan(RealIndex(sq8_index), archive, load_bundle(other_bundle_dir))


def test_scan_cli_writes_the_usual_outputs_from_an_index(
    archive: Archive, sq8_index: Path, tiny_bundle_dir: Path, other_bundle_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "matches.csv"
    common = ["--synthetic", str(archive.synthetic), "--out", str(out), "--top-k", "2", "--threads", "1", "--quiet"]
    assert main(["scan", "--real-index", str(sq8_index), *common, "--model", str(tiny_bundle_dir)]) == 0
    record = json.loads((tmp_path / "matches.run.json").read_text())
    assert record["inputs"]["real_index"] == str(sq8_index) and record["settings"]["index"]["nprobe"] == 2
    assert len(out.read_text().splitlines()) == 1 + 2 * 7  # 4 images and a 3-frame DICOM, 2 candidates each
    assert str(archive.real / "corrupt.png") in (tmp_path / "matches.problems.csv").read_text()
    assert main(["scan", "--real-index", str(sq8_index), *common, "--model", str(other_bundle_dir)]) == 1


def test_a_project_scans_against_an_index_and_names_unreachable_reals(
    archive: Archive, local_embeddings: Path, tiny_bundle, tiny_bundle_dir: Path, tmp_path: Path
) -> None:
    build_index(local_embeddings, tmp_path / "index", tiny_bundle, BuildSettings(nlist=2))
    project_file = tmp_path / "audit.lcmem"
    new = ["project", "new", str(project_file), "--real-index", str(tmp_path / "index")]
    assert main([*new, "--synthetic", str(archive.synthetic)]) == 0
    assert main(["project", "scan", str(project_file), "--model", str(tiny_bundle_dir), "--top-k", "2", "--quiet"]) == 0
    with Project.open(project_file, read_only=True) as project:
        assert [s.path for s in project.sources("real")] == [str(tmp_path / "index")]
        pairs = list_pairs(project, limit=100)
    assert len(pairs) == 2 * 7
    by_synthetic = {Path(p.synthetic_path).name: p for p in pairs if p.rank == 1}
    assert by_synthetic["copy_3.png"].real_path == str(archive.real / "img_0003.png")
    assert all(Path(p.real_path).is_relative_to(archive.real) for p in pairs)
    assert "Cannot show this image" in unshown_text(str(archive.real / "img_0003.png"), "damaged")
    gone = str(tmp_path / "elsewhere" / "img_0003.png")
    assert unshown_text(gone, "cannot open: file not found").startswith(f"Not reachable from this workstation:\n{gone}")


def test_project_new_refuses_a_folder_that_is_not_an_index(archive: Archive, tmp_path: Path) -> None:
    args = ["project", "new", str(tmp_path / "p.lcmem"), "--real-index", str(archive.real)]
    assert main([*args, "--synthetic", str(archive.synthetic)]) == 1
    assert not (tmp_path / "p.lcmem").exists()
