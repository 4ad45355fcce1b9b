"""Calibration: operating points from labels, with CIs; the default until there are enough labels."""

from __future__ import annotations

import numpy as np
import pytest

from lcmem.review.calibrate import (
    DEFAULT_THRESHOLD,
    calibrate_project,
    choose_threshold,
    latest_card,
    operating_point,
    precision_recall_at,
)
from lcmem.store.project import Project
from lcmem.store.queries import list_pairs

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
