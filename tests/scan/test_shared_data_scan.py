"""``lcmem scan`` on real data from ../shared/data: planted exact copies are found at rank 1.

Skipped with a message where the shared data folder is absent. Nothing from it is written outside tmp_path.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from PIL import Image

from lcmem.cli.main import main
from tests.conftest import require_shared_data

DATASETS = ("ham10000", "cxr_kermany", "faces_yaleb", "natural_caltech", "cxr_nih50")


def pick_images(n_per_dataset: int) -> list[Path]:
    picked = []
    for name in DATASETS:
        folder = require_shared_data(name)
        with (folder / "labels.csv").open(newline="", encoding="utf-8") as stream:
            rows = [r for r in csv.DictReader(stream) if r["split"] == "test"]
        picked += [folder / r["path"] for r in rows[:n_per_dataset]]
    return picked


def test_exact_and_recompressed_copies_of_shared_images(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    images = pick_images(12)
    real, synthetic = tmp_path / "real", tmp_path / "synthetic"
    real.mkdir()
    synthetic.mkdir()
    reals = []
    for i, source in enumerate(images[::2]):
        target = real / f"{i:03d}_{source.name}"
        shutil.copy(source, target)
        reals.append(target)
    for i, source in enumerate(images[1::2][:10]):
        shutil.copy(source, synthetic / f"unrelated_{i:03d}{source.suffix}")
    exact = {}
    for source in reals[::3]:
        exact[f"exact_{source.name}"] = source.name
        shutil.copy(source, synthetic / f"exact_{source.name}")
    for source in reals[1::6]:
        with Image.open(source) as im:
            im.convert("RGB").save(synthetic / f"jpeg_{source.stem}.jpg", quality=70)

    out = tmp_path / "matches.csv"
    code = main(
        [
            "scan",
            "--real",
            str(real),
            "--synthetic",
            str(synthetic),
            "--out",
            str(out),
            "--model",
            str(tiny_bundle_dir),
            "--top-k",
            "5",
            "--quiet",
        ]
    )
    assert code == 0
    with out.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    top = {Path(r["synthetic_path"]).name: Path(r["real_path"]).name for r in rows if r["rank"] == "1"}
    assert len(exact) >= 9
    for copy_name, real_name in exact.items():
        assert top[copy_name] == real_name
    assert len(top) == len(list(synthetic.iterdir()))
