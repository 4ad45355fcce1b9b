"""The audit sample on the review screen and its estimate on the calibration screen."""

from __future__ import annotations

import pytest

from app import calibrate_view
from app.calibrate_view import CalibrateView
from app.keys import Action
from app.review_view import ReviewView
from lcmem.review.audit import audit_estimate, describe_audit
from lcmem.scan.threshold import calibrated_threshold
from lcmem.store.queries import PairFilter, list_pair_ids, list_pairs, real_null_scores


def test_the_audit_sample_lists_pairs_below_the_threshold_in_audit_order(
    qtbot, review: ReviewView, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = review.queue.project
    scores = sorted(r.score for r in list_pairs(project, PairFilter(), 0, 1000))
    threshold = scores[len(scores) // 2]
    review.set_threshold(threshold, "test")
    review.status.setCurrentIndex(review.status.findData("audit"))
    expected = list_pair_ids(project, PairFilter(sort="audit", max_score=threshold))
    assert review.queue.rows.ids == expected and 0 < len(expected) < len(scores)
    for _ in range(3):
        review.trigger(Action.REJECT)
    review.status.setCurrentIndex(review.status.findData("all"))
    assert review.queue.pair_filter.sort == "score" and review.queue.pair_filter.max_score is None

    card = calibrated_threshold(threshold, "at the median score", real_null_scores(project), None)
    monkeypatch.setattr(calibrate_view, "threshold_in_force", lambda _p, _c, _m: card)
    calibration = CalibrateView()
    qtbot.addWidget(calibration)
    calibration.set_project(project, None)
    shown = audit_estimate(project, threshold)
    assert (shown.reviewed, shown.found) == (3, 0)
    assert calibration.audit.text() == describe_audit(shown)
    assert "0 memorized in the first 3" in calibration.audit.text()
