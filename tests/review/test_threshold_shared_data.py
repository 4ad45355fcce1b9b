"""The threshold in force on real data (issue 19's target), with the default model ``lcmem-small``.

A project whose real images are one domain's (chest X-rays) and whose synthetic images are byte copies of some of
them, other patients of that domain, natural photos and faces: with no labels and no card, the export of flagged
pairs holds every exact copy, no photo, no face and at most 5 % of the other patients. And a photo against chest
X-rays and CTs is never flagged, even where its raw score clears the model's default threshold.

Images are held-out (val/test) images of ``../shared/data`` (skipped where it is absent), copied into tmp_path.
"""

from __future__ import annotations

import csv
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lcmem.embed.cache import EmbeddingCache
from lcmem.model.bundle import Bundle, load_bundle
from lcmem.model.default import default_bundle_path
from lcmem.review.calibrate import threshold_in_force
from lcmem.review.export import export_pairs
from lcmem.scan.threshold import RULE_NULL
from lcmem.scan.types import ScanSettings
from lcmem.store.ingest import scan_project
from lcmem.store.project import Project
from tests.conftest import require_shared_data

N_REAL, N_COPIES, N_OTHER, N_PHOTOS, N_FACES = 150, 10, 60, 20, 20


def _rows(dataset: str, splits: tuple[str, ...] = ("val", "test")) -> list[dict[str, str]]:
    with (require_shared_data(dataset) / "labels.csv").open(newline="", encoding="utf-8") as stream:
        return [r for r in csv.DictReader(stream) if r["split"] in splits]


def _copy(dataset: str, rows: list[dict[str, str]], folder: Path, prefix: str = "") -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for row in rows:
        source = require_shared_data(dataset) / row["path"]
        shutil.copy(source, folder / f"{prefix}{source.name}")
        names.append(f"{prefix}{source.name}")
    return names


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    path = default_bundle_path()
    if path is None:
        pytest.skip("the default model resources/models/lcmem-small is not installed")
    return load_bundle(path)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the module: the photos and the byte copies are embedded once."""
    return tmp_path_factory.mktemp("cache")


def _scanned(root: Path, bundle: Bundle, cache_dir: Path) -> Project:
    project = Project.create(root / "p.lcmem", [root / "real"], [root / "synthetic"])
    with EmbeddingCache(cache_dir, bundle.checksum, bundle.config.embedding_dim) as cache:
        scan_project(project, bundle, ScanSettings(top_k=5), cache=cache)
    return project


def _flagged(project: Project, out: Path) -> list[dict[str, str]]:
    """The export of flagged pairs with no labels and no card."""
    export_pairs(project, out, None, project.scans()[-1].model_checksum)
    with out.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture(scope="module")
def chest_xrays(
    tmp_path_factory: pytest.TempPathFactory, bundle: Bundle, cache_dir: Path
) -> Iterator[tuple[Project, list[str]]]:
    """Reals: 150 held-out Kermany chest X-rays. Synthetics: byte copies of 10, 60 other patients, photos, faces."""
    rows = _rows("cxr_kermany")
    random.Random(19).shuffle(rows)
    real, rest = rows[:N_REAL], rows[N_REAL:]
    identities = {r["identity"] for r in real}
    others = [r for r in rest if r["identity"] not in identities][:N_OTHER]
    root = tmp_path_factory.mktemp("chest")
    copies = _copy("cxr_kermany", real[:N_COPIES], root / "synthetic", "copy_")
    _copy("cxr_kermany", real, root / "real")
    _copy("cxr_kermany", others, root / "synthetic", "other_")
    _copy("natural_caltech", _rows("natural_caltech", ("test",))[:N_PHOTOS], root / "synthetic", "photo_")
    _copy("faces_yaleb", _rows("faces_yaleb", ("test",))[::15][:N_FACES], root / "synthetic", "face_")
    project = _scanned(root, bundle, cache_dir)
    yield project, copies
    project.close()


def test_flagged_pairs_hold_every_copy_no_photo_no_face_and_few_other_patients(
    chest_xrays: tuple[Project, list[str]], tmp_path: Path
) -> None:
    project, copies = chest_xrays
    threshold = threshold_in_force(project, None, project.scans()[-1].model_checksum)
    assert (threshold.rule, threshold.n_null) == (RULE_NULL, N_REAL)
    assert threshold.value > threshold.model_default  # the model default alone flags most other patients
    rows = _flagged(project, tmp_path / "flagged.csv")
    pairs = {(Path(r["synthetic_path"]).name, Path(r["real_path"]).name) for r in rows}
    assert {(name, name.removeprefix("copy_")) for name in copies} <= pairs
    flagged = {Path(r["synthetic_path"]).name for r in rows}
    assert not {n for n in flagged if n.startswith(("photo_", "face_"))}
    other = {n for n in flagged if n.startswith("other_")}
    assert len(other) <= 0.05 * N_OTHER, sorted(other)
    assert flagged <= set(copies) | other


def test_a_photo_against_chest_images_is_not_flagged_whatever_its_raw_score(
    tmp_path: Path, bundle: Bundle, cache_dir: Path
) -> None:
    _copy("cxr_cohen", _rows("cxr_cohen"), tmp_path / "real")  # 182 held-out chest X-rays and CTs
    _copy("natural_caltech", _rows("natural_caltech", ("test",))[:N_PHOTOS], tmp_path / "synthetic", "photo_")
    with _scanned(tmp_path, bundle, cache_dir) as project:
        threshold = threshold_in_force(project, None, project.scans()[-1].model_checksum)
        export_pairs(project, tmp_path / "all.csv", None, project.scans()[-1].model_checksum, include_all=True)
        with (tmp_path / "all.csv").open(newline="", encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream))
    above_default = {r["synthetic_path"] for r in rows if float(r["score"]) >= threshold.model_default}
    assert len(above_default) >= 2  # photos that the model's default threshold alone would flag (issue 19: 0.910)
    assert threshold.rule == RULE_NULL and not [r for r in rows if r["flag"]]
