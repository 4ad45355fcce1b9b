"""Verification metrics: ROC-AUC with a bootstrap CI, precision/recall at best F1 and at a target recall,
a proportion's Wilson interval."""

from __future__ import annotations

import numpy as np


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC-AUC as the Mann–Whitney statistic (ties count one half); NaN without both classes."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(scores)]])
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bootstrap_auc_ci(scores: np.ndarray, labels: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap 95 % CI of the AUC, resampling pairs with replacement (all indices, unlike the
    official ``randint(0, n − 1)``)."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(scores), len(scores))
        value = roc_auc(scores[pick], labels[pick])
        if not np.isnan(value):
            values.append(value)
    if not values:
        return (float("nan"), float("nan"))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval (95 % by default) of the proportion ``successes / n``; NaNs when ``n`` is 0.

    Unlike the normal approximation it stays inside [0, 1] and is honest near 0 and 1, where copy recalls live.
    """
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def _curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds (descending unique scores) with precision and recall of ``score ≥ threshold``."""
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order].astype(np.float64)
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(y)[last]
    flagged = last + 1.0
    return s[last], tp / flagged, tp / max(y.sum(), 1.0)


def best_f1(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Precision, recall and threshold at the F1-maximising threshold (an oracle on these scores)."""
    thresholds, precision, recall = _curve(np.asarray(scores, float), np.asarray(labels, bool))
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    i = int(np.argmax(f1))
    return {"f1": float(f1[i]), "precision": float(precision[i]), "recall": float(recall[i]),
            "threshold": float(thresholds[i])}  # fmt: skip


def precision_at_recall(scores: np.ndarray, labels: np.ndarray, target: float = 0.99) -> dict[str, float]:
    """Precision and FPR at the highest threshold whose recall is at least ``target``."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    thresholds, precision, recall = _curve(scores, labels)
    i = int(np.argmax(recall >= target))
    flagged = scores >= thresholds[i]
    fpr = float((flagged & ~labels).sum() / max((~labels).sum(), 1))
    return {"precision": float(precision[i]), "recall": float(recall[i]), "fpr": fpr, "threshold": float(thresholds[i])}


def threshold_at_fpr(negative_scores: np.ndarray, fpr: float = 0.05) -> float:
    """The score at which ``fpr`` of the negatives pass (their ``1 − fpr`` quantile)."""
    return float(np.quantile(np.asarray(negative_scores, float), 1.0 - fpr))
