"""``lcmem dataset from-dicom``: keyed-hash identities, no raw PatientID, split by identity, reproducible."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from lcmem.cli.main import main
from lcmem.train.data import read_labelled_folder
from lcmem.train.dicom_dataset import assign_splits
from tests.conftest import write_multiframe_dicom


def test_from_dicom(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    frames = (np.random.default_rng(0).random((1, 16, 16)) * 1000).astype(np.uint16)
    for patient in range(10):
        for study in range(2):
            write_multiframe_dicom(archive / f"p{patient}_{study}.dcm", frames, patient_id=f"MRN-{patient:04d}")
    (archive / "notes.txt").write_text("not an image")
    out = archive / "labels.csv"
    assert main(["dataset", "from-dicom", str(archive), "--out", str(out), "--seed", "3"]) == 0
    text = out.read_text()
    assert "MRN-" not in text
    with out.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 20
    splits = defaultdict(set)
    for row in rows:
        splits[row["identity"]].add(row["split"])
    assert len(splits) == 10 and all(len(s) == 1 for s in splits.values())
    assert {row["domain"] for row in rows} == {"ot"}
    records, _ = read_labelled_folder(archive)
    assert len(records) == 20
    first = out.read_text()
    assert main(["dataset", "from-dicom", str(archive), "--out", str(out), "--seed", "3"]) == 0
    assert out.read_text() == first  # the key file makes identities stable
    assert (out.with_suffix(".key").stat().st_mode & 0o077) == 0


def test_split_fractions() -> None:
    splits = assign_splits([f"id{i}" for i in range(100)], seed=1)
    counts = {name: list(splits.values()).count(name) for name in ("train", "val", "test")}
    assert counts == {"train": 70, "val": 15, "test": 15}
    assert splits == assign_splits([f"id{i}" for i in range(99, -1, -1)], seed=1)
