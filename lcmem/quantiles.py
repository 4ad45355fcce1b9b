"""The order-statistic quantile behind every null-anchored threshold (the scan's and the evaluation's)."""

from __future__ import annotations

import math

import numpy as np


def order_statistic(sorted_scores: np.ndarray, quantile: float) -> tuple[float, float] | None:
    """``(score, effective quantile)`` of ascending scores: the score of rank ``k = ⌈q·(n+1)⌉`` (1-based),
    capped at ``n``, and ``k/(n+1)`` — a new exchangeable score exceeds it with probability ``1 − k/(n+1)``;
    ``None`` without scores."""
    n = int(sorted_scores.size)
    if n == 0:
        return None
    k = min(math.ceil(quantile * (n + 1) - 1e-9), n)
    return float(sorted_scores[k - 1]), k / (n + 1)
