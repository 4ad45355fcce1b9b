"""``lcmem eval`` end to end at tiny scale: pairs as the official protocol, report shape, plots."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from lcmem.cli.main import main
from lcmem.eval.detectors import PHashDetector, SsimDetector, score_pairs
from lcmem.eval.pairs import copy_images, reid_pairs
from lcmem.eval.transforms import STRENGTHS
from lcmem.model.bundle import read_bundle_config
from lcmem.train.data import load_labelled
from tests.conftest import make_labelled_dataset


def test_reid_pairs_are_balanced_intra_dataset_and_seeded(tmp_path: Path) -> None:
    a = make_labelled_dataset(tmp_path / "a", identities=6, per_identity=3, domain="x")
    b = make_labelled_dataset(tmp_path / "b", identities=6, per_identity=2, domain="y")
    records = load_labelled([a, b]).records
    pairs = reid_pairs(list(records))
    assert sum(p.positive for p in pairs) * 2 == len(pairs) == 2 * (6 * 3 + 6 * 2)
    for pair in pairs:
        first, second = records[pair.first], records[pair.second]
        assert first.dataset == second.dataset == pair.dataset
        assert (first.identity == second.identity) == pair.positive
        assert pair.first != pair.second
    assert pairs == reid_pairs(list(records))
    chosen = copy_images(list(records), per_dataset=4)
    assert len(chosen) == 8 and len({records[i].identity for i in chosen}) == 8


def test_a_dataset_with_one_identity_gives_no_reid_pairs(tmp_path: Path) -> None:
    a = make_labelled_dataset(tmp_path / "a", identities=6, per_identity=3, domain="x")
    b = make_labelled_dataset(tmp_path / "b", identities=6, per_identity=3, domain="y")
    records = [r for r in load_labelled([a, b]).records if r.dataset == "a" or r.identity == "b:person0"]
    pairs = reid_pairs(records)
    assert pairs and {p.dataset for p in pairs} == {"a"}


def test_baselines_score_identical_images_highest() -> None:
    x = torch.rand(4, 3, 64, 64)
    y = torch.rand(4, 3, 64, 64)
    for detector in (SsimDetector(), PHashDetector()):
        same, other = score_pairs(detector, x, x), score_pairs(detector, x, y)
        assert (same > other).all(), detector.name


def test_eval_command_writes_the_report(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    data = make_labelled_dataset(tmp_path / "toy", identities=12, per_identity=3)
    out = tmp_path / "eval"
    bundle_dir = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_dir, bundle_dir)
    args = [
        "eval",
        "--model",
        str(bundle_dir),
        "--data",
        str(data),
        "--out",
        str(out),
        "--work-size",
        "64",
        "--copy-per-dataset",
        "3",
        "--bootstrap",
        "50",
        "--record-threshold",
        "--retrieval-sources",
        "1",
        "--retrieval-reid",
        "1",
        "--retrieval-unseen",
        "1",
    ]
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["detectors"]) == {"lcmem", "mse", "ssim", "ncc", "phash", "vae_latent_cosine"}
    lcmem = report["detectors"]["lcmem"]
    assert set(lcmem["reid"]) == {"pooled", "toy"}
    assert lcmem["reid"]["pooled"]["n_pairs"] == 2 * 6 and 0 <= lcmem["reid"]["pooled"]["auc"] <= 1
    assert len(lcmem["reid"]["pooled"]["auc_ci"]) == 2
    assert set(lcmem["copy"]) == set(STRENGTHS)
    assert all(len(v) == 4 for v in lcmem["copy"].values())
    cell = lcmem["copy"]["jpeg"]["10"]
    assert 1 <= cell["n"] <= 3 and cell["recall"] == cell["n_found"] / cell["n"]
    assert cell["recall_ci"][0] <= cell["recall"] <= cell["recall_ci"][1]
    assert isinstance(lcmem["threshold"], float)
    assert set(lcmem["val_reid_auc"]) == {"pooled", "toy"} and 0 <= lcmem["val_reid_auc"]["pooled"] <= 1
    assert all(set(r["retrieval"]) == {"toy", "pooled"} for r in report["detectors"].values())
    markdown = (out / "report.md").read_text()
    assert "Val split, pooled re-identification ROC-AUC" in markdown and "## In-domain retrieval" in markdown
    assert "Lowest cell of each detector" in markdown and "- lcmem: " in markdown
    assert report["model"]["checksum"]
    recorded = read_bundle_config(bundle_dir)
    assert recorded.default_threshold == lcmem["threshold"] and recorded.checksum == report["model"]["checksum"]
    assert (out / "report.md").read_text().startswith("# Evaluation")
    assert (out / "roc.png").stat().st_size > 1000 and (out / "copy_recall.png").stat().st_size > 1000
