"""The calibrated probability: isotonic bands of the labels, and what a score means on them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lcmem.review.probability import describe_fit, describe_probability, fit_isotonic


def _min_max_isotonic(values: np.ndarray, k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The isotonic fit by its closed form: f_i = max over j ≤ i of min over l ≥ i of mean(j..l) (weighted)."""
    fit = np.empty(len(values))
    for i in range(len(values)):
        fit[i] = max(
            min(k[j : end + 1].sum() / n[j : end + 1].sum() for end in range(i, len(values))) for j in range(i + 1)
        )
    return fit


def test_bands_pool_violators_and_tie_equal_scores() -> None:
    scores = np.repeat([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 10)
    labels = np.repeat([False, True, False, True, True, True], 10)
    fit = fit_isotonic(scores, labels)
    assert [(b.low, b.high, b.memorized, b.labelled) for b in fit.bands] == [
        (0.1, 0.1, 0, 10),
        (0.2, 0.3, 10, 20),
        (0.4, 0.6, 30, 30),
    ]
    assert fit.probability(0.25) == 0.5 and fit.probability(0.35) == 0.5 and fit.probability(0.05) == 0.0
    assert fit.covers(0.6) and not fit.covers(0.7)
    mixed = fit_isotonic(np.array([0.5] * 10 + [0.6] * 10), np.array([True, False] * 10))
    assert len(mixed.bands) == 1 and mixed.bands[0].rate == 0.5  # equal rates pool into one band


def test_the_fit_is_the_isotonic_regression() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        scores = np.round(rng.uniform(0, 1, 60), 2)
        labels = rng.uniform(0, 1, 60) < scores
        if min(labels.sum(), (~labels).sum()) < 10:
            continue
        fit = fit_isotonic(scores, labels)
        values, inverse = np.unique(scores, return_inverse=True)
        k = np.bincount(inverse, weights=labels.astype(float))
        n = np.bincount(inverse).astype(float)
        expected = _min_max_isotonic(values, k, n)
        assert np.allclose([fit.probability(v) for v in values], expected)
        rates = [b.rate for b in fit.bands]
        assert all(a < b for a, b in itertools.pairwise(rates)) and fit.n_labels == 60


def test_too_few_labels_give_no_fit_and_the_texts_say_so() -> None:
    assert fit_isotonic(np.linspace(0, 1, 30), np.arange(30) > 25) is None
    assert "needs 10 memorized" in describe_probability(None, 0.5) and "not yet" in describe_fit(None)
    fit = fit_isotonic(np.repeat([0.2, 0.8], 10), np.repeat([False, True], 10))
    assert describe_probability(fit, 0.9) == (
        "P(memorized) 1.00 (outside the labelled scores: nearest band): 10 of 10 labelled pairs scoring "
        "0.800–0.800 were memorized"
    )
    assert describe_fit(fit).startswith("Calibrated probability (isotonic fit of 20 labels, 2 score bands): 0 %")
    with pytest.raises(ValueError):
        fit_isotonic(np.zeros(3), np.zeros(2, dtype=bool))


def test_the_live_fit_follows_decisions_as_a_fresh_read_would(scanned_project) -> None:
    from lcmem.review.probability import LiveFit, project_fit
    from lcmem.store.queries import list_pairs

    rows = list_pairs(scanned_project)
    for number, row in enumerate(rows[:-1]):
        scanned_project.set_decision(row.key, "accept" if number < 10 else "reject", "ana")
    live = LiveFit(scanned_project)
    assert live.fit == project_fit(scanned_project)
    for row, decision in ((rows[-1], "accept"), (rows[0], "reject"), (rows[1], "unsure"), (rows[2], None)):
        scanned_project.set_decision(row.key, decision or "cleared", "ana")
        assert live.update(row.key, row.score, decision) == project_fit(scanned_project)
    assert len(live.labels) == len(rows) - 2 and live.fit is None  # 9 memorized left: below the minimum of 10
