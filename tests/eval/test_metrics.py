"""Metrics against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lcmem.eval.metrics import (
    best_f1,
    bootstrap_auc_ci,
    precision_at_recall,
    roc_auc,
    threshold_at_fpr,
    wilson_interval,
)


def test_auc_counts_pairs_and_half_ties() -> None:
    assert roc_auc(np.array([0.9, 0.8, 0.3, 0.1]), np.array([1, 1, 0, 0])) == 1.0
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([1, 1, 0, 0])) == 0.0
    # positives 0.9, 0.5; negatives 0.5, 0.2: pairs (0.9>0.5, 0.9>0.2, 0.5=0.5 half, 0.5>0.2) → 3.5/4
    assert roc_auc(np.array([0.9, 0.5, 0.5, 0.2]), np.array([1, 1, 0, 0])) == pytest.approx(0.875)
    assert np.isnan(roc_auc(np.array([0.1, 0.2]), np.array([1, 1])))


def test_bootstrap_interval_brackets_the_auc() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random(400) < 0.5
    scores = labels + rng.normal(0, 0.8, 400)
    auc = roc_auc(scores, labels)
    low, high = bootstrap_auc_ci(scores, labels, n_boot=300)
    assert low < auc < high and high - low < 0.2


def test_best_f1_and_precision_at_recall() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    labels = np.array([1, 0, 1, 1, 0, 0], dtype=bool)
    f1 = best_f1(scores, labels)
    assert (f1["precision"], f1["recall"], f1["threshold"]) == (0.75, 1.0, 0.6)
    at = precision_at_recall(scores, labels, 0.99)
    assert (at["threshold"], at["precision"], at["fpr"]) == (0.6, 0.75, pytest.approx(1 / 3))


def test_threshold_at_fpr_lets_that_share_of_negatives_pass() -> None:
    negatives = np.linspace(0, 1, 1001)
    threshold = threshold_at_fpr(negatives, 0.05)
    assert np.mean(negatives >= threshold) == pytest.approx(0.05, abs=0.002)


def test_wilson_interval_matches_published_values() -> None:
    # Newcombe (1998), Table I: 0/10, 5/10 and 10/10 at 95 %
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    low, high = wilson_interval(349, 468)
    assert low < 349 / 468 < high and high - low < 0.09
    assert all(np.isnan(wilson_interval(0, 0)))
