"""The audit below the threshold: a fixed random order, the run of decided pairs from its start, the bound."""

from __future__ import annotations

import math

import pytest

from lcmem.review.audit import audit_estimate, binomial_upper, describe_audit
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter, list_pair_ids, list_pairs


def test_the_upper_bound_is_clopper_pearson() -> None:
    assert binomial_upper(0, 300) == pytest.approx(1 - 0.05 ** (1 / 300), rel=1e-9)
    assert binomial_upper(0, 300) < 0.01
    assert binomial_upper(1, 100) == pytest.approx(0.0466, abs=1e-4)
    assert binomial_upper(5, 50, 0.99) > binomial_upper(5, 50, 0.95) > 0.1
    assert binomial_upper(3, 3) == 1.0
    p = binomial_upper(2, 40)
    assert sum(math.comb(40, i) * p**i * (1 - p) ** (40 - i) for i in range(3)) == pytest.approx(0.05, abs=1e-9)
    with pytest.raises(ValueError):
        binomial_upper(1, 0)


def test_the_audit_order_is_fixed_and_any_subsets_order_is_its_restriction(scanned_project: Project) -> None:
    everything = list_pair_ids(scanned_project, PairFilter(sort="audit"))
    by_score = list_pair_ids(scanned_project)
    assert sorted(everything) == sorted(by_score) and everything != by_score
    assert list_pair_ids(scanned_project, PairFilter(sort="audit")) == everything
    rows = {r.candidate_id: r for r in list_pairs(scanned_project, PairFilter(), 0, 1000)}
    threshold = sorted(r.score for r in rows.values())[len(rows) // 2]
    below = list_pair_ids(scanned_project, PairFilter(sort="audit", max_score=threshold))
    assert below == [i for i in everything if rows[i].score < threshold]
    assert [r.candidate_id for r in list_pairs(scanned_project, PairFilter(sort="audit"), 3, 5)] == everything[3:8]


def test_the_estimate_counts_the_decided_run_from_the_start(scanned_project: Project) -> None:
    rows = {r.candidate_id: r for r in list_pairs(scanned_project, PairFilter(), 0, 1000)}
    threshold = sorted(r.score for r in rows.values())[-3]
    order = list_pair_ids(scanned_project, PairFilter(sort="audit", max_score=threshold))
    first = audit_estimate(scanned_project, threshold)
    assert (first.below, first.reviewed, first.found, first.upper) == (len(order), 0, 0, None)
    assert "none of the" in describe_audit(first)
    for candidate, decision in zip(order[:4], ("reject", "accept", "reject", "reject"), strict=True):
        scanned_project.set_decision(rows[candidate].key, decision, "ana")
    scanned_project.set_decision(rows[order[5]].key, "accept", "ana")  # after a gap: not part of the sample
    estimate = audit_estimate(scanned_project, threshold)
    assert (estimate.reviewed, estimate.found) == (4, 1)
    assert estimate.upper == pytest.approx(binomial_upper(1, 4))
    assert "1 memorized in the first 4 of" in describe_audit(estimate)
    scanned_project.set_decision(rows[order[4]].key, "unsure", "ana")
    assert audit_estimate(scanned_project, threshold).reviewed == 4
    scanned_project.set_decision(rows[order[4]].key, "reject", "ana")
    assert (audit_estimate(scanned_project, threshold).reviewed, audit_estimate(scanned_project, threshold).found) == (
        6,
        2,
    )
