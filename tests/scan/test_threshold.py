"""The threshold in force: the real→real null quantile, its small-sample rules, the model-default floor."""

from __future__ import annotations

import numpy as np
import pytest

from lcmem.scan.threshold import (
    COPY_MARGIN,
    LCMEM_DEFAULT_THRESHOLD,
    MIN_NULL_SCORES,
    RULE_CARD,
    RULE_LCMEM,
    RULE_MODEL,
    RULE_NULL,
    calibrated_threshold,
    null_anchored_threshold,
    null_fraction_below,
    null_quantile,
)


def test_the_999_quantile_of_enough_null_scores_is_an_order_statistic() -> None:
    scores = np.random.default_rng(0).permutation(np.linspace(0.0, 0.9, 5000))
    threshold = null_anchored_threshold(scores, model_default=0.4)
    ordered = np.sort(scores)
    assert threshold.rule == RULE_NULL
    assert threshold.value == ordered[4995]  # rank ⌈0.999 · 5001⌉ = 4996
    assert threshold.quantile == pytest.approx(0.999, abs=1e-4)
    assert threshold.n_null == 5000 and threshold.model_default == 0.4 and threshold.null_value == threshold.value
    assert null_fraction_below(ordered, threshold.value) == pytest.approx(0.999)
    assert "99.9 % of the 5,000 training images" in threshold.text and "never below the model default 0.400" in (
        threshold.text
    )
    assert "99.9 % of 5,000 real images" in threshold.label


def test_fewer_reals_than_the_quantile_needs_use_the_maximum_and_state_its_quantile() -> None:
    scores = np.random.default_rng(1).uniform(0.2, 0.9, 150)
    threshold = null_anchored_threshold(scores, model_default=0.3)
    assert threshold.rule == RULE_NULL and threshold.value == scores.max()
    assert threshold.quantile == pytest.approx(150 / 151)
    assert "closest of the 150 training images" in threshold.text and "99.9 % needs 999 real images" in threshold.text
    assert null_quantile(np.sort(scores[:19])) is None
    assert null_quantile(np.sort(scores[:20]))[0] == scores[:20].max()


def test_a_few_hundred_reals_flag_no_different_image_of_the_same_distribution_above_a_few_percent() -> None:
    rng = np.random.default_rng(2)
    reals, other_patients = rng.normal(0.88, 0.02, 300), rng.normal(0.88, 0.02, 10_000)
    threshold = null_anchored_threshold(reals, model_default=0.65)
    flagged = np.mean([threshold.flags(s) for s in other_patients])
    assert flagged < 0.02  # the model default would flag every one of them
    assert all(threshold.flags(s) for s in (0.96, threshold.value)) and not threshold.flags(threshold.value - 1e-9)


def test_too_few_null_scores_fall_back_to_the_model_default_and_say_so() -> None:
    threshold = null_anchored_threshold([0.9] * (MIN_NULL_SCORES - 1), model_default=0.651)
    assert threshold.rule == RULE_MODEL and threshold.value == 0.651 and threshold.quantile is None
    assert threshold.n_null == MIN_NULL_SCORES - 1 and threshold.null_value is None
    assert f"only {MIN_NULL_SCORES - 1} real→real scores, too few" in threshold.text
    assert "too few" in threshold.label
    none = null_anchored_threshold([], model_default=None)
    assert none.rule == RULE_LCMEM and none.value == LCMEM_DEFAULT_THRESHOLD and none.n_null == 0


def test_never_below_the_model_default() -> None:
    scores = np.linspace(0.1, 0.5, 400)
    threshold = null_anchored_threshold(scores, model_default=0.651)
    assert threshold.rule == RULE_MODEL and threshold.value == 0.651
    assert threshold.null_value == 0.5 and threshold.n_null == 400
    assert "above the real→real threshold 0.500" in threshold.text
    assert null_anchored_threshold(scores, model_default=None).value == 0.5  # the LCMem default 0.5 ties it


def test_a_card_wins_and_is_placed_among_the_null_scores() -> None:
    scores = np.linspace(0.0, 0.99, 100)
    threshold = calibrated_threshold(0.5, "calibrated for recall ≥ 0.99", scores, 0.651)
    assert threshold.rule == RULE_CARD and threshold.value == 0.5 and threshold.model_default == 0.651
    assert threshold.quantile == pytest.approx(null_fraction_below(scores, 0.5))
    assert threshold.flags(0.5) and not threshold.flags(0.49)
    assert threshold.text.startswith("calibrated for recall ≥ 0.99 (score ≥ 0.500); closer than")
    assert threshold.to_dict()["rule"] == RULE_CARD and set(threshold.to_dict()) >= {"value", "quantile", "n_null"}


def test_null_fraction_below_counts_the_null_scores_strictly_below() -> None:
    null = np.array([0.1, 0.2, 0.3, 0.4])
    assert null_fraction_below(null, 0.25) == 0.5
    assert null_fraction_below(null, 0.3) == 0.5
    assert null_fraction_below(null, 0.05) == 0.0
    assert null_fraction_below(null, 0.9) == 1.0
    assert null_fraction_below(np.zeros(0), 0.5) is None


def test_never_above_the_score_of_an_exact_copy() -> None:
    scores = np.append(np.linspace(0.5, 0.9, 300), [0.97, 0.97])  # two unidentified images of one patient
    threshold = null_anchored_threshold(scores, model_default=0.651, copy_score=0.961)
    assert threshold.rule == RULE_NULL and threshold.null_value == 0.97 and threshold.copy_score == 0.961
    assert threshold.value == pytest.approx(0.961 - COPY_MARGIN) and threshold.flags(0.961)
    assert "exact copy" in threshold.text and "capped below an exact copy" in threshold.label
    below = null_anchored_threshold(scores[:300], model_default=0.651, copy_score=0.961)
    assert below.value == 0.9 and below.copy_score == 0.961 and "capped" not in below.label


def test_labelled_inliers_only_raise_the_count_and_leave_unverified_scans_alone() -> None:
    from dataclasses import replace

    from lcmem.scan.threshold import MIN_INLIERS, with_labelled_inliers

    base = null_anchored_threshold(np.linspace(0.5, 0.9, 100), model_default=0.651)
    assert with_labelled_inliers(base, None) == base
    assert with_labelled_inliers(base, MIN_INLIERS - 1) == base
    raised = with_labelled_inliers(base, MIN_INLIERS)
    assert raised.min_inliers == MIN_INLIERS + 1 and raised.value == base.value
    assert raised.text.startswith(base.text) and "marked not a match" in raised.text
    assert base.flags(0.0, MIN_INLIERS) and not raised.flags(0.0, MIN_INLIERS)
    unverified = replace(base, min_inliers=None)
    assert with_labelled_inliers(unverified, 500) == unverified
