"""Verification metrics: ROC-AUC with a bootstrap CI, precision/recall at best F1 and at a target recall,
a proportion's Wilson interval; retrieval metrics: average precision, rank-1 with fair ties, a null-anchored
threshold."""

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


def average_precision(scores: np.ndarray, labels: np.ndarray, n_positive: int | None = None) -> float:
    """Area under the precision–recall steps of ``score ≥ t`` over the distinct scores.

    Tied scores form one step, so ties are never broken in the positives' favour: a constant score gives the
    positives' share. ``n_positive`` (default: the positives among ``labels``) is the recall's denominator; a
    larger one counts positives that are missing from the list (DISC21's µAP over top-k predictions). NaN
    without positives.
    """
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    total = int(labels.sum()) if n_positive is None else n_positive
    if total == 0:
        return float("nan")
    if not labels.any():
        return 0.0
    _, precision, recall = _curve(scores, labels)
    found = recall * labels.sum() / total
    return float(np.sum(np.diff(np.r_[0.0, found]) * precision))


def expected_rank1(scores: np.ndarray, labels: np.ndarray) -> float:
    """Chance that the top-scored item is a positive when ties at the top are broken at random."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    top = scores == scores.max()
    return float((top & labels).sum() / top.sum())


def null_threshold(nearest: np.ndarray, quantile: float = 0.999) -> dict[str, float | int | str]:
    """A threshold anchored on real images: the ``quantile`` of their nearest-other-identity scores, or their
    maximum when there are fewer than ``1 / (1 − quantile)`` of them; NaN without any.

    Returns ``{"value", "rule", "n"}``.
    """
    nearest = np.asarray(nearest, float)
    nearest = nearest[np.isfinite(nearest)]
    n = len(nearest)
    if n == 0:
        return {"value": float("nan"), "rule": "no real images", "n": 0}
    if n < round(1 / (1 - quantile)):
        return {"value": float(nearest.max()), "rule": f"maximum of {n} nearest-other-identity scores", "n": n}
    return {"value": float(np.quantile(nearest, quantile)), "n": n,
            "rule": f"{quantile:.1%} quantile of {n} nearest-other-identity scores"}  # fmt: skip
