"""Calibration: operating points from labels, with CIs; the default until there are enough labels."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lcmem.model.bundle import load_bundle, record_metrics
from lcmem.review.calibrate import (
    DEFAULT_THRESHOLD,
    LCMEM_DEFAULT,
    DefaultThreshold,
    calibrate_project,
    choose_threshold,
    default_threshold,
    latest_card,
    operating_point,
    precision_recall_at,
)
from lcmem.review.export import export_pairs
from lcmem.store.project import Project
from lcmem.store.queries import list_pairs
from tests.conftest import write_scanned_project

SCORES = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
POSITIVE = np.array([1, 1, 0, 1, 0, 1, 0, 0, 0, 0], dtype=bool)


def test_precision_recall_at() -> None:
    assert precision_recall_at(SCORES, POSITIVE, 0.8) == (0.75, 0.75)
    assert precision_recall_at(SCORES, POSITIVE, 0.99) == (1.0, 0.0)


def test_targets_pick_the_documented_thresholds() -> None:
    assert choose_threshold(SCORES, POSITIVE, target_recall=1.0) == 0.6
    assert choose_threshold(SCORES, POSITIVE, target_recall=0.5) == 0.9
    assert choose_threshold(SCORES, POSITIVE, target_precision=1.0) == 0.9
    assert choose_threshold(SCORES, POSITIVE, target_precision=0.6) == 0.6
    with pytest.raises(ValueError):
        choose_threshold(SCORES, POSITIVE)


def test_bootstrap_intervals_contain_the_estimate() -> None:
    point = operating_point(SCORES, POSITIVE, 0.6, n_boot=300)
    assert point.precision_ci[0] <= point.precision <= point.precision_ci[1]
    assert point.recall_ci[0] <= point.recall <= point.recall_ci[1]
    assert point.precision_ci[1] - point.precision_ci[0] > 0


def test_project_calibration_default_then_fitted(scanned_project: Project) -> None:
    card = calibrate_project(scanned_project, "m", target_recall=0.99)
    assert card.rule == "default" and card.threshold == DEFAULT_THRESHOLD
    rows = list_pairs(scanned_project)
    for row in rows[:10]:
        scanned_project.set_decision(row.key, "accept", "ana")
    for row in rows[10:]:
        scanned_project.set_decision(row.key, "reject", "ana")
    card = calibrate_project(scanned_project, "m", target_recall=0.99)
    assert card.rule == "target_recall" and card.n_accepted == 10 and card.n_rejected == 11
    assert card.recall >= 0.99
    assert card.threshold == pytest.approx(min(r.score for r in rows[:10]))
    assert latest_card(scanned_project, "m") == card


def test_a_model_threshold_is_the_default_until_calibrated(tmp_path: Path, tiny_bundle_dir: Path) -> None:
    bundle_dir = tmp_path / "with-threshold"
    shutil.copytree(tiny_bundle_dir, bundle_dir)
    before = load_bundle(bundle_dir).checksum
    config = record_metrics(bundle_dir, default_threshold=0.731, default_threshold_rule="val split, FPR 0.05")
    bundle = load_bundle(bundle_dir)
    assert bundle.checksum == before == config.checksum and bundle.config.default_threshold == 0.731
    with Project.open(write_scanned_project(tmp_path / "p", bundle)) as project:
        default = default_threshold(project, bundle.checksum)
        assert default == DefaultThreshold(0.731, from_model=True) and "0.731" in default.explanation
        assert default_threshold(project, "another model") == LCMEM_DEFAULT
        card = calibrate_project(project, bundle.checksum, target_recall=0.99, save=False)
        assert card.rule == "default" and card.threshold == 0.731 and "model default 0.731" in card.note
        out = tmp_path / "flagged.csv"
        export_pairs(project, out, None, bundle.checksum, include_all=True)
        rows = list(csv.DictReader(out.open()))
        assert rows and {r["threshold"] for r in rows} == {"0.731000"}
        written = json.loads(out.with_suffix(".threshold.json").read_text())
        assert (written["value"], written["model_default"]) == (0.731, 0.731)


def test_a_model_threshold_outside_zero_one_is_ignored(tiny_bundle_dir: Path) -> None:
    config = load_bundle(tiny_bundle_dir).config
    assert config.default_threshold is None
    assert replace(config, metrics={"default_threshold": 3.0}).default_threshold is None
    assert replace(config, metrics={"default_threshold": "0.7"}).default_threshold is None


def test_a_rejected_verified_pair_raises_the_inliers_that_flag_and_never_lowers_them(scanned_project: Project) -> None:
    from sqlalchemy import update

    from lcmem.review.calibrate import threshold_in_force
    from lcmem.scan.threshold import MIN_INLIERS
    from lcmem.store.project import pair_condition
    from lcmem.store.schema import candidates

    rows = list_pairs(scanned_project)
    with scanned_project.connect() as conn:
        conn.execute(update(candidates).values(inliers=None))
        for row, inliers in zip(rows[:3], (MIN_INLIERS + 5, MIN_INLIERS - 8, MIN_INLIERS + 30), strict=True):
            conn.execute(update(candidates).where(*pair_condition(candidates, row.key)).values(inliers=inliers))
        conn.commit()
    assert threshold_in_force(scanned_project, None, "m").min_inliers == MIN_INLIERS
    scanned_project.set_decision(rows[1].key, "reject", "ana")  # too few inliers to have been flagged by them
    assert threshold_in_force(scanned_project, None, "m").min_inliers == MIN_INLIERS
    scanned_project.set_decision(rows[0].key, "reject", "ana")
    raised = threshold_in_force(scanned_project, None, "m")
    assert raised.min_inliers == MIN_INLIERS + 6
    assert not raised.flags(0.0, MIN_INLIERS + 5) and raised.flags(0.0, MIN_INLIERS + 6)
    assert f"had {MIN_INLIERS + 5}" in raised.text
    scanned_project.set_decision(rows[2].key, "accept", "ana")  # an accepted pair never moves it
    assert threshold_in_force(scanned_project, None, "m").min_inliers == MIN_INLIERS + 6
    scanned_project.set_decision(rows[0].key, "accept", "ana")  # the rejection taken back
    assert threshold_in_force(scanned_project, None, "m").min_inliers == MIN_INLIERS
