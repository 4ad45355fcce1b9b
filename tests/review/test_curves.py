"""ROC and PR curves with bootstrap bands; nothing to draw without both classes."""

from __future__ import annotations

import numpy as np
import pytest

from lcmem.review.curves import (
    GRID,
    histogram_floor,
    null_line,
    pr_curve,
    roc_curve,
    score_histogram,
)

SCORES = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
POSITIVE = np.array([1, 1, 0, 1, 0, 1, 0, 0, 0, 0], dtype=bool)


def test_roc_area_is_the_rank_statistic() -> None:
    roc = roc_curve(SCORES, POSITIVE, n_boot=100)
    wins = sum(p > n for p in SCORES[POSITIVE] for n in SCORES[~POSITIVE])
    assert roc.area == pytest.approx(wins / (POSITIVE.sum() * (~POSITIVE).sum()), abs=0.01)
    assert roc.y[0] == 0.5 and roc.y[-1] == 1.0
    assert np.all(roc.low <= roc.y + 1e-9) and np.all(roc.y <= roc.high + 1e-9)
    low, high = roc.area_ci
    assert low < roc.area < high, "ten labels leave the area wide open"
    perfect = roc_curve(SCORES, np.arange(10) < 5, n_boot=100)
    assert perfect.area == perfect.area_ci[0] == perfect.area_ci[1] == 1.0, "the bootstrap cannot show that"


def test_precision_recall_is_interpolated_precision() -> None:
    pr = pr_curve(SCORES, POSITIVE, n_boot=50)
    assert pr.x is GRID
    assert pr.y[0] == 1.0 and pr.y[50] == 1.0 and pr.y[75] == pytest.approx(0.75)
    assert pr.y[-1] == pytest.approx(4 / 6)
    assert np.all(np.diff(pr.y) <= 1e-12)


def test_one_class_gives_no_curve_and_histograms_count_every_score() -> None:
    assert roc_curve(SCORES, np.ones(10, dtype=bool)) is None
    assert pr_curve(SCORES, np.zeros(10, dtype=bool)) is None
    counts, edges = score_histogram(np.array([0.0, 0.04, 0.5, 1.0, 1.2]))
    assert counts.sum() == 5 and counts[0] == 2 and counts[-1] == 2 and len(edges) == 21


def test_the_histogram_can_start_where_the_scores_do() -> None:
    assert histogram_floor(np.array([0.63, 0.9])) == pytest.approx(0.6)
    assert histogram_floor(np.array([0.97])) == pytest.approx(0.8)
    assert histogram_floor(np.zeros(0)) == 0.0
    counts, edges = score_histogram(np.array([0.1, 0.65, 0.99]), bins=4, low=0.6)
    assert edges[0] == pytest.approx(0.6) and counts.tolist() == [2, 0, 0, 1]


def test_null_line_is_the_99th_and_99_9th_percentile() -> None:
    scores = np.linspace(0.0, 1.0, 1001)
    line = null_line(scores)
    assert line is not None and line.n == 1001
    assert (line.p99, line.p999) == pytest.approx((0.99, 0.999))
    assert null_line(np.zeros(0)) is None
