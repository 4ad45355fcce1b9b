"""The miss-rate audit below the threshold (ANCHORS §7): how many memorized pairs can the threshold be hiding?

The pairs scoring below the threshold are put in a fixed random order (:func:`~lcmem.store.queries.list_pair_ids`
with ``sort="audit"``). The reviewer decides them from the start of that order; the longest run of decided
pairs (memorized or not a match) from the start is a simple random sample of the pairs below the threshold, so
``found`` memorized among ``reviewed`` gives an exact (Clopper-Pearson) upper bound on the fraction of
memorized pairs the threshold lets through: 0 found in 300 reviewed → below 1.0 % with 95 % confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lcmem.review.pages import PairPages
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter

CHUNK = 500


@dataclass(frozen=True)
class AuditEstimate:
    """The audit sample below ``threshold``: its size, what it found and the miss-rate bound.

    ``upper`` is ``None`` until at least one pair of the sample is decided.
    """

    threshold: float
    below: int
    reviewed: int
    found: int
    confidence: float
    upper: float | None


def binomial_upper(found: int, n: int, confidence: float = 0.95) -> float:
    """The exact one-sided upper confidence bound on a proportion after ``found`` successes in ``n`` trials.

    The p with ``P(X <= found | n, p) = 1 - confidence`` (Clopper-Pearson); ``1 - (1 - confidence)^(1/n)``
    when ``found`` is 0. ``n`` must be positive.
    """
    if n <= 0 or not 0 <= found <= n:
        raise ValueError(f"need 0 <= found <= n and n > 0, not found={found}, n={n}")
    if found == n:
        return 1.0
    alpha = 1.0 - confidence
    low, high = found / n, 1.0
    for _ in range(100):
        middle = (low + high) / 2
        if _binomial_cdf(found, n, middle) > alpha:
            low = middle
        else:
            high = middle
    return high


def _binomial_cdf(k: int, n: int, p: float) -> float:
    if p >= 1.0:
        return 0.0 if k < n else 1.0
    log_p, log_q = math.log(p) if p > 0 else -math.inf, math.log1p(-p)
    total = 0.0
    for i in range(k + 1):
        term = math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        total += math.exp(term)
    return min(total, 1.0)


def audit_estimate(project: Project, threshold: float, confidence: float = 0.95) -> AuditEstimate:
    """The audit of the current scan's pairs below ``threshold`` from their decisions so far."""
    pages = PairPages(project, PairFilter(max_score=threshold, sort="audit"), page_size=CHUNK)
    reviewed = found = 0
    for index in range(len(pages)):
        row = pages.get(index)
        if row is None or row.decision not in ("accept", "reject"):
            break
        reviewed += 1
        found += row.decision == "accept"
    upper = binomial_upper(found, reviewed, confidence) if reviewed else None
    return AuditEstimate(threshold, len(pages), reviewed, found, confidence, upper)


def describe_audit(estimate: AuditEstimate) -> str:
    """The audit in one sentence for the screen and the CLI."""
    if estimate.below == 0:
        return f"No pair scores below the threshold {estimate.threshold:.3f}: nothing to audit."
    if estimate.upper is None:
        return (
            f"Audit below the threshold {estimate.threshold:.3f}: none of the {estimate.below:,} pairs reviewed yet "
            "in audit order (Show: Audit sample)."
        )
    return (
        f"Audit below the threshold {estimate.threshold:.3f}: {estimate.found} memorized in the first "
        f"{estimate.reviewed:,} of {estimate.below:,} pairs in audit order → at most "
        f"{100 * estimate.upper:.1f} % of the pairs below the threshold are memorized "
        f"({100 * estimate.confidence:.0f} % confidence)."
    )
