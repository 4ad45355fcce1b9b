"""Query views on real faces: an 85 % crop or a 10° rotation of a face among every val face of Yale B has its
source verified at rank 1 only when the views pick the candidates (docs/VERIFY.md).

The four sources were found on the val split with the bundled model (lcmem-small 0.4): without views each
crop's or rotation's source is beyond the 50 candidates that are verified. Skipped where the shared data is
absent; everything is written under tmp_path.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from PIL import Image

from lcmem.model.bundle import load_bundle
from lcmem.model.default import default_bundle_path
from lcmem.scan.pipeline import run_scan
from lcmem.scan.types import Candidate, ScanSettings
from lcmem.verify.settings import verify_settings
from tests.conftest import require_shared_data

CROPPED = (222, 234)
ROTATED = (42, 150)


def _centre_crop(image: Image.Image, keep: float) -> Image.Image:
    width, height = image.size
    w, h = round(width * keep), round(height * keep)
    left, top = (width - w) // 2, (height - h) // 2
    return image.crop((left, top, left + w, top + h)).resize((width, height), Image.Resampling.BILINEAR)


def test_views_bring_the_source_of_a_cropped_or_rotated_face_to_rank_one(tmp_path: Path) -> None:
    folder = require_shared_data("faces_yaleb")
    with (folder / "labels.csv").open(newline="", encoding="utf-8") as stream:
        rows = [r for r in csv.DictReader(stream) if r["split"] == "val"]
    real, synthetic = tmp_path / "real", tmp_path / "synthetic"
    real.mkdir()
    synthetic.mkdir()
    for number, row in enumerate(rows):
        shutil.copy(folder / row["path"], real / f"{number:04d}.png")
    for number in CROPPED + ROTATED:
        with Image.open(real / f"{number:04d}.png") as image:
            rgb = image.convert("RGB")
            edited = _centre_crop(rgb, 0.85) if number in CROPPED else rgb.rotate(10, Image.Resampling.BILINEAR)
            edited.save(synthetic / f"{number:04d}.png")
    bundle = load_bundle(default_bundle_path())
    first: dict[bool, dict[str, Candidate]] = {}
    for views in (True, False):
        found: list[Candidate] = []
        settings = ScanSettings(top_k=5, verify=verify_settings(True, threads=2, views=views))
        run_scan([real], [synthetic], bundle, found.extend, settings=settings)
        first[views] = {Path(c.synthetic.path).name: c for c in found if c.rank == 1}
    for name, candidate in first[True].items():
        assert Path(candidate.real.path).name == name, name
        assert candidate.inliers is not None and candidate.inliers >= 20
        assert Path(first[False][name].real.path).name != name, f"{name}: found without views too; re-pick"
