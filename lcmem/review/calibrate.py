"""Threshold calibration from reviewer labels: operating points with bootstrap CIs, and threshold cards.

A threshold is stated as an operating point ("recall ≥ 0.99 on N labelled pairs: precision p [lo, hi]"),
never as a bare number. Until both classes have :data:`MIN_LABELS_PER_CLASS` labels, the threshold in force
(:func:`threshold_in_force`) is anchored on the project's real images (:mod:`lcmem.scan.threshold`: the
real→real null scores' 99.9 % quantile), never below the default: the scanning model's own threshold where its
bundle carries one (fitted by ``lcmem eval`` on its val split), else the documented :data:`DEFAULT_THRESHOLD`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
from sqlalchemy import select

from lcmem.errors import ProjectError
from lcmem.scan.threshold import LCMEM_DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from lcmem.scan.threshold import (
    ThresholdInForce,
    calibrated_threshold,
    null_anchored_threshold,
    with_labelled_inliers,
)
from lcmem.store.project import Project, utc_now
from lcmem.store.queries import labelled_scores, most_rejected_inliers, real_null_scores
from lcmem.store.schema import threshold_cards

MIN_LABELS_PER_CLASS = 10


@dataclass(frozen=True)
class DefaultThreshold:
    """The threshold in use before calibration, and where it comes from."""

    value: float
    from_model: bool

    @property
    def kind(self) -> str:
        """``model default`` or ``default``."""
        return "model default" if self.from_model else "default"

    @property
    def note(self) -> str:
        """``model default, not calibrated`` or ``default, not calibrated``."""
        return f"{self.kind}, not calibrated"

    @property
    def explanation(self) -> str:
        """One sentence on what the default is."""
        if self.from_model:
            return (
                f"the model's default threshold {self.value:.3f}, fitted on its validation data (5 % of "
                "different-identity pairs pass)"
            )
        return f"the default LCMem threshold {self.value:g} of the original training code"


LCMEM_DEFAULT = DefaultThreshold(DEFAULT_THRESHOLD, from_model=False)


def default_threshold(project: Project, model_checksum: str | None) -> DefaultThreshold:
    """The default for ``model_checksum``: its bundle's threshold as recorded by the latest scan with it that
    recorded one, else :data:`LCMEM_DEFAULT`."""
    for scan in reversed(project.scans()):
        if scan.model_checksum == model_checksum and scan.model_threshold is not None:
            return DefaultThreshold(scan.model_threshold, from_model=True)
    return LCMEM_DEFAULT


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold with the precision and recall it gives on the labels, and their 95 % bootstrap CIs."""

    threshold: float
    precision: float
    recall: float
    precision_ci: tuple[float, float]
    recall_ci: tuple[float, float]


@dataclass(frozen=True)
class ThresholdCard:
    """A saved operating point: which model, which rule, how many labels, what it achieves."""

    model_checksum: str
    rule: str
    target: float | None
    threshold: float
    n_accepted: int
    n_rejected: int
    precision: float | None
    recall: float | None
    precision_ci: tuple[float, float] | None
    recall_ci: tuple[float, float] | None
    created_at: str
    note: str = ""


def card_is_calibrated(card: ThresholdCard | None) -> bool:
    """Whether a card holds a fitted operating point (not the stand-in saved with too few labels)."""
    return card is not None and card.rule != "default"


def describe_target(card: ThresholdCard) -> str:
    """``calibrated for recall ≥ 0.99 on 12 memorized and 30 not-a-match labels``."""
    target = "recall" if card.rule == "target_recall" else "precision"
    return (
        f"calibrated for {target} ≥ {card.target:g} on {card.n_accepted} memorized and {card.n_rejected} "
        "not-a-match labels"
    )


def threshold_in_force(project: Project, card: ThresholdCard | None, model_checksum: str | None) -> ThresholdInForce:
    """The threshold that flags the project's pairs: a calibrated ``card``'s, else the current scan's real→real
    null scores at their 99.9 % quantile, never below the :func:`default_threshold` nor above the exact-copy score
    of the scan's model (:func:`~lcmem.scan.threshold.null_anchored_threshold`). Either way the inliers that flag
    a verified pair are refit by the labels (:func:`~lcmem.scan.threshold.with_labelled_inliers`): above the most
    of any pair marked not a match."""
    default = default_threshold(project, model_checksum)
    model_default = default.value if default.from_model else None
    null = real_null_scores(project)
    copy = next((s.copy_score for s in reversed(project.scans()) if s.model_checksum == model_checksum), None)
    if card is not None and card_is_calibrated(card):
        threshold = calibrated_threshold(card.threshold, describe_target(card), null, model_default, copy)
    else:
        threshold = null_anchored_threshold(null, model_default, copy)
    return with_labelled_inliers(threshold, most_rejected_inliers(project))


def precision_recall_at(scores: np.ndarray, positive: np.ndarray, threshold: float) -> tuple[float, float]:
    """Precision and recall of the rule ``score ≥ threshold`` (precision 1.0 when nothing is flagged)."""
    flagged = scores >= threshold
    true_positives = float(np.sum(flagged & positive))
    precision = true_positives / flagged.sum() if flagged.any() else 1.0
    recall = true_positives / positive.sum() if positive.any() else 0.0
    return precision, recall


def choose_threshold(
    scores: np.ndarray,
    positive: np.ndarray,
    *,
    target_recall: float | None = None,
    target_precision: float | None = None,
) -> float:
    """The threshold that meets the target: the highest one with recall ≥ ``target_recall``, or the lowest
    one with precision ≥ ``target_precision`` (the most recall at that precision).

    Raises:
        ValueError: no or both targets given, or no threshold reaches the precision target.
    """
    if (target_recall is None) == (target_precision is None):
        raise ValueError("give exactly one of target_recall and target_precision")
    candidates = np.unique(scores)
    if target_recall is not None:
        for threshold in candidates[::-1]:
            if precision_recall_at(scores, positive, threshold)[1] >= target_recall:
                return float(threshold)
        return float(candidates[0])
    for threshold in candidates:
        if precision_recall_at(scores, positive, threshold)[0] >= target_precision:
            return float(threshold)
    raise ValueError(f"no threshold reaches precision {target_precision} on these labels")


def operating_point(
    scores: np.ndarray, positive: np.ndarray, threshold: float, n_boot: int = 1000, seed: int = 0
) -> OperatingPoint:
    """Precision and recall at ``threshold`` with percentile-bootstrap 95 % CIs over the labelled pairs."""
    precision, recall = precision_recall_at(scores, positive, threshold)
    rng = np.random.default_rng(seed)
    samples = np.empty((n_boot, 2))
    for b in range(n_boot):
        pick = rng.integers(0, len(scores), len(scores))
        samples[b] = precision_recall_at(scores[pick], positive[pick], threshold)
    low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    return OperatingPoint(
        threshold, precision, recall, (float(low[0]), float(high[0])), (float(low[1]), float(high[1]))
    )


def calibrate_project(
    project: Project,
    model_checksum: str,
    *,
    target_recall: float | None = None,
    target_precision: float | None = None,
    save: bool = True,
) -> ThresholdCard:
    """Fit a threshold card from the project's accept/reject labels on its current scan (and save it).

    With too few labels the card has rule ``"default"`` and carries the :func:`threshold_in_force` before
    calibration (it does not count as calibrated).
    """
    labelled = labelled_scores(project)
    scores = np.array([s for s, _ in labelled], dtype=np.float64)
    positive = np.array([p for _, p in labelled], dtype=bool)
    n_accepted, n_rejected = int(positive.sum()), int((~positive).sum())
    target = target_recall if target_recall is not None else target_precision
    if min(n_accepted, n_rejected) < MIN_LABELS_PER_CLASS:
        anchored = threshold_in_force(project, None, model_checksum)
        card = ThresholdCard(
            model_checksum,
            "default",
            target,
            anchored.value,
            n_accepted,
            n_rejected,
            None,
            None,
            None,
            None,
            utc_now(),
            f"fewer than {MIN_LABELS_PER_CLASS} accepted and {MIN_LABELS_PER_CLASS} rejected labels: the "
            f"threshold in force stays {anchored.value:.3f}, {anchored.rule}: {anchored.text}",
        )
    else:
        try:
            threshold = choose_threshold(
                scores, positive, target_recall=target_recall, target_precision=target_precision
            )
        except ValueError as exc:
            raise ProjectError(f"cannot calibrate: {exc}") from exc
        point = operating_point(scores, positive, threshold)
        rule = "target_recall" if target_recall is not None else "target_precision"
        card = ThresholdCard(
            model_checksum,
            rule,
            target,
            threshold,
            n_accepted,
            n_rejected,
            point.precision,
            point.recall,
            point.precision_ci,
            point.recall_ci,
            utc_now(),
        )
    if save:
        with project.transaction() as conn:
            conn.execute(
                threshold_cards.insert().values(
                    created_at=card.created_at, model_checksum=model_checksum, card=json.dumps(asdict(card))
                )
            )
    return card


def latest_card(project: Project, model_checksum: str | None = None) -> ThresholdCard | None:
    """The most recent saved card (for ``model_checksum`` if given)."""
    query = select(threshold_cards.c.card).order_by(threshold_cards.c.id.desc()).limit(1)
    if model_checksum is not None:
        query = query.where(threshold_cards.c.model_checksum == model_checksum)
    with project.connect() as conn:
        text = conn.execute(query).scalar()
    if text is None:
        return None
    data = json.loads(text)
    for key in ("precision_ci", "recall_ci"):
        if data[key] is not None:
            data[key] = tuple(data[key])
    return ThresholdCard(**data)
