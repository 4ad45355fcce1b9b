"""ROC and precision–recall curves of reviewer labels, with percentile-bootstrap bands, score histograms, and
the percentiles of the real→real null distribution.

Positives are accepted pairs (memorized / same patient), negatives rejected ones; a pair is flagged when its
score is at or above the threshold, as in :mod:`lcmem.review.calibrate`. Curves are sampled on a fixed grid
(false-positive rate for ROC, recall for PR) so that bootstrap resamples can be combined point by point.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

GRID = np.linspace(0.0, 1.0, 101)
GridFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]
N_BOOT = 200


@dataclass(frozen=True)
class Curve:
    """A curve on :data:`GRID` with a 95 % band; ``area`` is the area under ``y``, ``area_ci`` its 95 % percentile
    bootstrap interval (``(area, area)`` when no resample had both classes)."""

    x: np.ndarray
    y: np.ndarray
    low: np.ndarray
    high: np.ndarray
    area: float
    area_ci: tuple[float, float]


def _area(y: np.ndarray) -> float:
    """The trapezoid area under ``y`` on :data:`GRID`."""
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(GRID)))


def _rates(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True-positive rate, false-positive rate and precision at every distinct threshold, strictest first."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_positive = scores[order], positive[order]
    last_of_tie = np.r_[np.nonzero(np.diff(sorted_scores))[0], len(sorted_scores) - 1]
    true_positives = np.cumsum(sorted_positive)[last_of_tie].astype(np.float64)
    flagged = (last_of_tie + 1).astype(np.float64)
    false_positives = flagged - true_positives
    n_positive, n_negative = max(int(positive.sum()), 1), max(int((~positive).sum()), 1)
    return true_positives / n_positive, false_positives / n_negative, true_positives / flagged


def roc_on_grid(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """The best true-positive rate reachable at each false-positive rate of :data:`GRID`."""
    tpr, fpr, _ = _rates(scores, positive)
    fpr, tpr = np.r_[0.0, fpr], np.r_[0.0, tpr]
    best = np.maximum.accumulate(tpr)
    return best[np.searchsorted(fpr, GRID, side="right") - 1]


def pr_on_grid(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """The best precision reachable at each recall of :data:`GRID` (interpolated precision)."""
    recall, _, precision = _rates(scores, positive)
    best_from_here = np.maximum.accumulate(precision[::-1])[::-1]
    index = np.searchsorted(recall, GRID, side="left")
    inside = index < len(recall)
    out = np.zeros_like(GRID)
    out[inside] = best_from_here[index[inside]]
    return out


def has_both_classes(positive: np.ndarray) -> bool:
    """Whether there is at least one accepted and one rejected label (curves need both)."""
    return bool(positive.any() and (~positive).any())


def _curve(scores: np.ndarray, positive: np.ndarray, on_grid: GridFunction, n_boot: int, seed: int) -> Curve:
    y = on_grid(scores, positive)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(scores), len(scores))
        if has_both_classes(positive[pick]):
            samples.append(on_grid(scores[pick], positive[pick]))
    area = _area(y)
    if not samples:
        return Curve(GRID, y, y.copy(), y.copy(), area, (area, area))
    low, high = np.percentile(np.array(samples), [2.5, 97.5], axis=0)
    area_low, area_high = np.percentile([_area(sample) for sample in samples], [2.5, 97.5])
    return Curve(GRID, y, low, high, area, (float(area_low), float(area_high)))


def roc_curve(scores: np.ndarray, positive: np.ndarray, n_boot: int = N_BOOT, seed: int = 0) -> Curve | None:
    """The ROC curve (true-positive against false-positive rate) with its bootstrap band.

    Returns:
        ``None`` unless both classes are present.
    """
    if not has_both_classes(positive):
        return None
    return _curve(scores, positive, roc_on_grid, n_boot, seed)


def pr_curve(scores: np.ndarray, positive: np.ndarray, n_boot: int = N_BOOT, seed: int = 0) -> Curve | None:
    """The precision–recall curve with its bootstrap band.

    Returns:
        ``None`` unless both classes are present.
    """
    if not has_both_classes(positive):
        return None
    return _curve(scores, positive, pr_on_grid, n_boot, seed)


def score_histogram(scores: np.ndarray, bins: int = 20, low: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Counts of scores in ``bins`` equal bins over [``low``, 1] (lower scores count in the first bin).

    Returns:
        ``(counts, edges)``.
    """
    return np.histogram(np.clip(scores, low, 1.0), bins=bins, range=(low, 1.0))


def histogram_floor(scores: np.ndarray, step: float = 0.1) -> float:
    """Where a score histogram should start so the labelled scores fill it: the lowest score rounded down to
    ``step`` (0 without scores), at most ``1 - 2 * step``."""
    if scores.size == 0:
        return 0.0
    return float(min(np.floor(float(scores.min()) / step) * step, 1.0 - 2 * step))


@dataclass(frozen=True)
class NullLine:
    """Percentiles of the real→real null scores (each real against its best different real image / patient).

    A pair scoring above ``p999`` is closer than 99.9 % of real images get to any other real patient.
    """

    n: int
    p99: float
    p999: float


def null_line(scores: np.ndarray) -> NullLine | None:
    """The 99th and 99.9th percentiles (linear interpolation) of null ``scores``; ``None`` without scores."""
    if scores.size == 0:
        return None
    p99, p999 = np.percentile(scores, [99.0, 99.9])
    return NullLine(int(scores.size), float(p99), float(p999))
