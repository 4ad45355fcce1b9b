"""``bench/generator_memorization.py`` at tiny scale: every stage end to end, resume, ground truth and figures."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import REPO, make_labelled_dataset


@pytest.fixture()
def bench(monkeypatch: pytest.MonkeyPatch):
    """The benchmark module (``bench/`` is a folder of scripts, not a package)."""
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    return importlib.import_module("generator_memorization")


def _argv(work: Path, dataset: Path, bundle: Path, *extra: str) -> list[str]:
    return [
        "--work", str(work), "--dataset", str(dataset), "--model", str(bundle),
        "--n-train", "4", "--n-heldout", "3", "--distractors", "2", "--size", "16", "--widths", "8", "16",
        "--steps", "4", "--batch", "4", "--snapshot-every", "2", "--samples", "3", "--curve-samples", "2",
        "--control-step", "2", "--ddim-steps", "3", "--shift", "1", "--checkpoint-every", "0", *extra,
    ]  # fmt: skip


def test_every_stage_end_to_end_with_resume(bench, tmp_path: Path, tiny_bundle_dir: Path, capsys) -> None:
    dataset = make_labelled_dataset(tmp_path / "data", identities=12, per_identity=2)
    work = tmp_path / "work"

    assert bench.main(_argv(work, dataset, tiny_bundle_dir, "--stage", "train", "--max-minutes", "0")) == {}
    state = torch.load(work / "checkpoint.pt", weights_only=False)
    assert state["step"] == 1 and not (work / "ema_step000004.pt").exists()

    report = bench.main(_argv(work, dataset, tiny_bundle_dir))
    assert "resuming at step 1" in capsys.readouterr().out
    straight = tmp_path / "straight"
    bench.main(_argv(straight, dataset, tiny_bundle_dir, "--stage", "train"))
    resumed = torch.load(work / "ema_step000004.pt", weights_only=True)
    uninterrupted = torch.load(straight / "ema_step000004.pt", weights_only=True)
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in resumed)

    manifest = json.loads((work / "manifest.json").read_text())
    assert len({r["identity"] for r in manifest["train"]}) == 4
    assert not {r["identity"] for r in manifest["train"]} & {r["identity"] for r in manifest["heldout"]}
    assert [row["step"] for row in report["curve"]] == [2, 4]
    assert all(row["of"] == 2 for row in report["curve"])
    counts = report["labels"]["counts"]
    assert sum(counts["final"].values()) == sum(counts["control"].values()) == 3
    assert counts["heldout"]["heldout"] == 3
    sheet = Image.open(report["labels"]["contact_sheet"])
    assert sheet.mode == "L" and sheet.width > 6 * 2 * 16
    scan = report["scan"]
    assert (scan["n_real"], scan["n_synthetic"]) == (6, 9)
    assert set(scan["detectors"]) == {"lcmem", "mse", "ssim", "ncc", "phash", "vae_latent_cosine"}
    for figures in scan["detectors"].values():
        assert {"threshold", "recall_rank1", "rank1", "fpr_novel", "fpr_heldout", "auc", "seconds"} <= set(figures)
        assert 0.0 <= figures["fpr_heldout"] <= 1.0
    assert report["key"] == manifest["key"]
    lcmem = scan["detectors"]["lcmem"]
    assert {"score_only", "at_model_default", "min_inliers", "verified_rank1"} <= set(lcmem)
    assert lcmem["fpr_heldout"] >= lcmem["score_only"]["fpr_heldout"]
    rows = (work / "per_image.csv").read_text().splitlines()
    assert len(rows) == 10 and rows[0].startswith("name,label,ncc,nearest,lcmem_best,lcmem_match")

    checkpoint_time = (work / "checkpoint.pt").stat().st_mtime_ns
    again = bench.main(_argv(work, dataset, tiny_bundle_dir, "--stage", "scan"))
    assert (work / "checkpoint.pt").stat().st_mtime_ns == checkpoint_time
    assert again["labels"] == report["labels"]
    assert again["scan"]["detectors"]["ncc"]["threshold"] == scan["detectors"]["ncc"]["threshold"]

    with pytest.raises(SystemExit, match="other settings"):
        bench.main(_argv(work, dataset, tiny_bundle_dir, "--stage", "train", "--lr", "0.01"))


def test_ground_truth_finds_shifted_copies_and_figures_count_them(bench) -> None:
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (3, 16, 16), dtype=np.uint8)
    copy = np.clip(np.roll(train[2], 1, axis=1).astype(int) + rng.integers(-8, 9, (16, 16)), 0, 255)
    synthetic = np.stack([copy.astype(np.uint8), rng.integers(0, 256, (16, 16), dtype=np.uint8), train[0],
                          rng.integers(0, 256, (16, 16), dtype=np.uint8)])  # fmt: skip
    labels = bench.label_samples(train, synthetic, ["final", "control", "final", "heldout"], cutoff=0.9, shift=1)
    assert [labels.label(i) for i in range(4)][::2] == ["reproduction", "reproduction"]
    assert list(labels.nearest[[0, 2]]) == [2, 0]
    assert labels.ncc[2] == pytest.approx(1.0)
    assert labels.label(3) == "heldout"
    assert labels.novel_below == pytest.approx(labels.ncc[3])
    assert labels.label(1) == ("novel" if labels.ncc[1] < labels.ncc[3] else "ambiguous")

    best = np.array([0.9, 0.2, 0.8, 0.7])
    figures = bench.detector_figures(best, np.array([2, 1, 1, 0]), labels, 0.75, np.array([0.5]))
    assert figures["recall"] == 1.0 and figures["recall_rank1"] == 0.5 and figures["rank1"] == 0.5
    assert figures["fpr_heldout"] == 0.0
    assert figures["auc"] == 1.0
