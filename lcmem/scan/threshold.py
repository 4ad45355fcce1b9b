"""The threshold in force: the score at or above which a pair is *flagged*, and why it is that number.

Until a reviewer calibrates (a threshold card, :mod:`lcmem.review.calibrate`), the threshold is anchored on the
reviewer's own real images: the real→real null scores of the scan (:mod:`lcmem.scan.null`: each real image
against its nearest *different* real image or patient) at the quantile :data:`NULL_QUANTILE`, never below the
model's own default. "Flagged" then means "closer to a training image than 99.9 % of training images are to
their nearest other training image": two different patients of the reviewer's own domain rarely are, and an
image of another domain (a photo against chest X-rays) never is, whatever its raw score against the model's
default.

The quantile of ``n`` null scores is the order statistic of rank ``k = ⌈q·(n+1)⌉`` (1-based; a new different
image scores above it with probability ``1 − k/(n+1)`` when the scores are exchangeable), so 99.9 % needs at
least 999 real images. With fewer, ``k`` is capped at ``n``: the threshold is the *maximum* null score, whose
effective quantile ``n/(n+1)`` is stated (150 reals: 99.3 %). With fewer than :data:`MIN_NULL_SCORES` null
scores even the maximum is passed by more than 5 % of different images, so the model default is used and the
text says why.

Where the real images hold several images of one patient that the scan cannot tell apart (no DICOM PatientID),
those pairs count as "different" and can push the quantile up to the score of an exact copy: the threshold is
therefore never above the model's exact-copy score (``copy_score``: the pair score of two identical images),
less :data:`COPY_MARGIN`, so a byte copy of a training image is always flagged. The decision "flagged or not"
is made in one place, :meth:`ThresholdInForce.flags`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from lcmem.quantiles import order_statistic
from lcmem.verify.rule import flagged
from lcmem.verify.settings import VerifySettings

NULL_QUANTILE = 0.999
"""The quantile of the real→real null scores that anchors the threshold before calibration."""
MIN_NULL_SCORES = 20
"""Fewer null scores than this: the model default is used (a different image passes the maximum of ``n`` null
scores with probability ``1/(n+1)``, below 5 % from 20 on)."""
COPY_MARGIN = 1e-6
"""How far below the exact-copy score the threshold stays at most (float rounding never unflags a copy)."""
LCMEM_DEFAULT_THRESHOLD = 0.5
"""The LCMem decision threshold of the official training and test code (pair probability 0.5): the floor when
the model carries no default of its own."""

MIN_INLIERS = VerifySettings.min_inliers
"""Inliers that flag a pair whatever its score (chosen on val data, docs/VERIFY.md)."""

RULE_CARD = "threshold card"
RULE_NULL = "real→real null"
RULE_MODEL = "model default"
RULE_LCMEM = "LCMem default"


@dataclass(frozen=True)
class ThresholdInForce:
    """The threshold that flags pairs and where it comes from.

    Attributes:
        value: pairs scoring at or above it are flagged.
        rule: :data:`RULE_CARD`, :data:`RULE_NULL`, :data:`RULE_MODEL` or :data:`RULE_LCMEM`.
        quantile: the (effective) quantile of the null scores at ``null_value``; ``None`` without them.
        n_null: how many real→real null scores (real images) it rests on (0: none).
        model_default: the model's own default threshold (``None``: the model carries none).
        text: one line for a person: what being flagged means.
        null_value: the null score at ``quantile`` (``None`` without enough null scores).
        copy_score: the model's score of two identical images (``None``: not known); the threshold stays below it.
        min_inliers: a pair with at least this many inliers of geometric verification is flagged whatever its
            score (:data:`MIN_INLIERS`, chosen on val; ``None``: verification does not flag).
    """

    value: float
    rule: str
    quantile: float | None
    n_null: int
    model_default: float | None
    text: str
    null_value: float | None = None
    copy_score: float | None = None
    min_inliers: int | None = MIN_INLIERS

    def flags(self, score: float, inliers: int | None = None) -> bool:
        """Whether a pair is flagged (the one place where that is decided): its score is at or above the
        threshold, or geometric verification found at least ``min_inliers`` inliers (``inliers`` ``None``: the
        pair was not verified)."""
        return flagged(score, inliers, self.value, self.min_inliers)

    @property
    def label(self) -> str:
        """A short note for a status bar: the rule, the quantile and the number of real images behind it."""
        if self.rule == RULE_NULL:
            capped = (
                ", capped below an exact copy" if self.null_value is not None and self.value < self.null_value else ""
            )
            return f"{RULE_NULL}, {_percent(self.quantile)} of {self.n_null:,} real images{capped}"
        if self.rule == RULE_CARD:
            return "calibrated (threshold card)"
        if self.n_null < MIN_NULL_SCORES:
            return f"{self.rule}: {self.n_null} real→real scores, too few (need {MIN_NULL_SCORES})"
        return f"{self.rule}, above the real→real {_percent(self.quantile)} of {self.n_null:,} real images"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of every field."""
        return asdict(self)


def with_labelled_inliers(threshold: ThresholdInForce, most_rejected: int | None) -> ThresholdInForce:
    """``threshold`` with its inlier count refit by the reviewer's labels: raised above the most inliers of any
    pair marked not a match (so verification never flags what a reviewer rejected), never lowered below
    :data:`MIN_INLIERS` (the labels rarely hold enough verified negatives to show that fewer would do)."""
    if threshold.min_inliers is None or most_rejected is None or most_rejected < threshold.min_inliers:
        return threshold
    raised = most_rejected + 1
    note = (
        f"; verified pairs need at least {raised} matched keypoints, raised from {threshold.min_inliers}: a pair "
        f"marked not a match had {most_rejected}"
    )
    return replace(threshold, min_inliers=raised, text=threshold.text + note)


def _percent(fraction: float | None) -> str:
    if fraction is None:
        return "–"
    text = f"{100 * fraction:.1f}"
    return f"{text} %" if text != "100.0" else f"{100 * fraction:.2f} %"


def null_quantile(sorted_scores: np.ndarray, quantile: float = NULL_QUANTILE) -> tuple[float, float] | None:
    """``(score, effective quantile)`` of ascending null scores: rank ``k = ⌈q·(n+1)⌉`` capped at ``n``,
    effective quantile ``k/(n+1)``; ``None`` with fewer than :data:`MIN_NULL_SCORES` scores."""
    if sorted_scores.size < MIN_NULL_SCORES:
        return None
    return order_statistic(sorted_scores, quantile)


def null_fraction_below(sorted_scores: np.ndarray, score: float) -> float | None:
    """The fraction of null scores (ascending) strictly below ``score``: 0.995 means the pair is closer than
    99.5 % of real images are to their nearest other real image; ``None`` without null scores."""
    if sorted_scores.size == 0:
        return None
    return float(np.searchsorted(sorted_scores, score, side="left")) / sorted_scores.size


def null_anchored_threshold(
    null_scores: Sequence[float] | np.ndarray,
    model_default: float | None,
    copy_score: float | None = None,
    quantile: float = NULL_QUANTILE,
) -> ThresholdInForce:
    """The threshold in force before calibration: the null scores' ``quantile`` (see the module docstring),
    never below ``model_default`` (or :data:`LCMEM_DEFAULT_THRESHOLD` when the model carries none) and never
    above ``copy_score`` less :data:`COPY_MARGIN`."""
    scores = np.sort(np.asarray(null_scores, dtype=np.float64))
    n = int(scores.size)
    floor = model_default if model_default is not None else LCMEM_DEFAULT_THRESHOLD
    floor_rule = RULE_MODEL if model_default is not None else RULE_LCMEM
    floor_name = f"the {'model' if model_default is not None else 'LCMem'} default {floor:.3f}"
    anchor = null_quantile(scores, quantile)
    if anchor is None:
        text = (
            f"{floor_name}: only {n} real→real score{'s' if n != 1 else ''}, too few to anchor the threshold "
            f"on your real images (at least {MIN_NULL_SCORES} real images are needed)"
        )
        return ThresholdInForce(floor, floor_rule, None, n, model_default, text, None, copy_score)
    value, effective = anchor
    if effective >= quantile - 1e-9:
        meaning = (
            f"closer to a training image than {_percent(effective)} of the {n:,} training images are to their "
            "nearest other training image"
        )
        detail = ""
    else:
        meaning = (
            f"at least as close to a training image as the closest of the {n:,} training images is to its nearest "
            "other training image"
        )
        detail = (
            f"; the largest real→real score, an expected {_percent(effective)} quantile: {_percent(quantile)} "
            f"needs {math.ceil(1 / (1 - quantile) - 1 - 1e-9):,} real images"
        )
    if value < floor:
        text = f"{floor_name}, above the real→real threshold {value:.3f} ({meaning}{detail})"
        return ThresholdInForce(floor, floor_rule, effective, n, model_default, text, value, copy_score)
    if copy_score is not None and value > copy_score - COPY_MARGIN:
        text = (
            f"as close to a training image as an exact copy (score ≥ {copy_score - COPY_MARGIN:.6f}): the "
            f"real→real threshold of the {n:,} training images ({_percent(effective)} quantile, {value:.6f}) is at or "
            f"above an exact copy's score {copy_score:.6f}, so some of them are near copies of each other (one "
            "patient's images that no DICOM PatientID tells apart?)"
        )
        return ThresholdInForce(
            copy_score - COPY_MARGIN, RULE_NULL, effective, n, model_default, text, value, copy_score
        )
    text = f"{meaning} (score ≥ {value:.3f}{detail}); never below {floor_name}"
    return ThresholdInForce(value, RULE_NULL, effective, n, model_default, text, value, copy_score)


def calibrated_threshold(
    value: float,
    description: str,
    null_scores: Sequence[float] | np.ndarray,
    model_default: float | None,
    copy_score: float | None = None,
) -> ThresholdInForce:
    """The threshold of a reviewer's threshold card (it wins over the null anchoring); ``description`` says what
    it was chosen for (e.g. "calibrated for recall ≥ 0.99 on 12 memorized and 30 not-a-match labels")."""
    scores = np.sort(np.asarray(null_scores, dtype=np.float64))
    fraction = null_fraction_below(scores, value)
    where = (
        f"; closer than {_percent(fraction)} of {scores.size:,} real images are to their nearest other"
        if fraction is not None
        else ""
    )
    text = f"{description} (score ≥ {value:.3f}){where}"
    return ThresholdInForce(value, RULE_CARD, fraction, int(scores.size), model_default, text, None, copy_score)
