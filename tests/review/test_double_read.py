"""Double reading (reviewer QC): blind second reads kept apart from the decisions, and Cohen's κ over them."""

from __future__ import annotations

import pytest

from lcmem.errors import ProjectError
from lcmem.review.double_read import agreement, cohens_kappa, describe_agreement, project_agreement
from lcmem.review.queue import ReviewQueue
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter
from lcmem.store.types import PairKey, SecondRead

SAMPLE = PairFilter(status="decided", sort="audit")


def _reads(pairs: list[tuple[str, str]], reviewer: str = "ben", first_reviewer: str = "ana") -> list[SecondRead]:
    return [
        SecondRead(PairKey(f"s{i}", 0, f"r{i}", 0), reviewer, second, "t", first, first_reviewer)
        for i, (first, second) in enumerate(pairs)
    ]


def test_kappa_matches_a_hand_computation() -> None:
    # 50 pairs: 20 both accept, 5 accept/reject, 10 reject/accept, 15 both reject.
    first = ["accept"] * 25 + ["reject"] * 25
    second = ["accept"] * 20 + ["reject"] * 5 + ["accept"] * 10 + ["reject"] * 15
    # observed 35/50 = 0.7; chance (25·30 + 25·20) / 2500 = 0.5; κ = (0.7 − 0.5) / 0.5 = 0.4
    assert cohens_kappa(first, second) == pytest.approx(0.4)
    assert cohens_kappa(first, first) == pytest.approx(1.0)
    assert cohens_kappa(["accept", "reject"], ["reject", "accept"]) == pytest.approx(-1.0)
    assert cohens_kappa(["unsure"] * 4, ["unsure"] * 4) is None
    assert cohens_kappa([], []) is None
    with pytest.raises(ValueError):
        cohens_kappa(["accept"], [])


def test_agreement_counts_the_table_and_brackets_kappa() -> None:
    pairs = [("accept", "accept")] * 20 + [("accept", "reject")] * 5 + [("reject", "accept")] * 10
    pairs += [("reject", "reject")] * 14 + [("unsure", "reject")]
    result = agreement(_reads(pairs))
    assert (result.n, result.agreed) == (50, 34)
    assert result.table["accept"]["reject"] == 5 and result.table["unsure"]["reject"] == 1
    assert result.table["unsure"]["unsure"] == 0
    low, high = result.kappa_ci
    assert low < result.kappa < high and high - low < 0.6
    assert agreement(_reads(pairs)) == result  # seeded: the same reads give the same interval
    assert agreement(_reads(pairs[:1])).kappa_ci is None
    perfect = agreement(_reads([("accept", "accept"), ("reject", "reject")] * 5))
    assert perfect.kappa == 1.0 and perfect.kappa_ci == (1.0, 1.0)
    empty = agreement([])
    assert (empty.n, empty.kappa, empty.kappa_ci) == (0, None, None)


def test_the_sentence_names_both_kinds_of_reader() -> None:
    nothing = agreement([])
    assert "no decided pair read again yet" in describe_agreement(nothing, nothing)
    between = agreement(_reads([("accept", "accept"), ("reject", "reject"), ("reject", "accept")]))
    within = agreement(_reads([("reject", "reject")] * 2, reviewer="ana"))
    text = describe_agreement(between, within)
    assert "3 read again by another reader: 67 % agree, Cohen's κ" in text
    assert "2 read again by the same reader: 100 % agree, Cohen's κ undefined" in text
    one_sided = agreement(_reads([("reject", "reject")] * 7 + [("reject", "accept")]))
    assert one_sided.kappa == 0.0
    assert describe_agreement(one_sided, nothing).endswith(
        "— every first decision was “not a match”, so κ cannot show agreement beyond chance."
    )


def test_a_second_read_never_shows_or_changes_the_decision(scanned_project: Project) -> None:
    first = ReviewQueue(scanned_project, "ana")
    for decision in ("accept", "reject", "reject", "unsure"):
        first.decide(decision)
    decided = {d.key: d for d in scanned_project.decisions()}
    second = ReviewQueue(scanned_project, "ben", SAMPLE, second_read=True)
    assert len(second) == 4 and {second.rows[i].key for i in range(4)} == set(decided)
    assert all(second.rows[i].decision is None and second.rows[i].reviewer is None for i in range(4))
    reads = ["accept", "reject", "accept"]
    keys = []
    for read in reads:
        keys.append(second.current.key)
        second.decide(read)
    assert {d.key: d for d in scanned_project.decisions()} == decided
    stored = {r.key: r for r in scanned_project.second_reads()}
    assert [stored[k].decision for k in keys] == reads
    assert [stored[k].first_decision for k in keys] == [decided[k].decision for k in keys]
    assert {r.first_reviewer for r in stored.values()} == {"ana"}
    assert second.rows[0].decision == reads[0] and second.rows[0].reviewer == "ben"
    with pytest.raises(ProjectError, match="no note"):
        second.annotate("x")

    again = ReviewQueue(scanned_project, "ben", SAMPLE, second_read=True)
    assert again.first_undecided() == 3
    assert [again.rows[i].decision for i in range(3)] == reads
    other = ReviewQueue(scanned_project, "cy", SAMPLE, second_read=True)
    assert other.first_undecided() == 0 and other.rows[0].decision is None

    between, within = project_agreement(scanned_project)
    assert (between.n, within.n) == (3, 0)
    assert between.agreed == sum(decided[k].decision == r for k, r in zip(keys, reads, strict=True))


def test_undo_withdraws_or_restores_a_second_read(scanned_project: Project) -> None:
    ReviewQueue(scanned_project, "ana").decide("accept")
    queue = ReviewQueue(scanned_project, "ana", SAMPLE, second_read=True)
    key = queue.current.key
    queue.decide("reject")
    queue.go_to(0)
    queue.decide("unsure")
    assert [r.decision for r in scanned_project.second_reads()] == ["unsure"]
    queue.undo()
    assert [r.decision for r in scanned_project.second_reads()] == ["reject"]
    assert queue.current.decision == "reject"
    queue.undo()
    assert scanned_project.second_reads() == [] and queue.current.decision is None
    assert scanned_project.decision(key).decision == "accept"
    _, within = project_agreement(scanned_project)
    assert within.n == 0

    queue.decide("reject")
    scanned_project.set_second_read(key, "ben", "unsure")
    queue.reviewer = "ben"
    queue.reload()
    queue.undo()  # ana's read is withdrawn; ben's list shows ben's read, untouched
    assert [(r.reviewer, r.decision) for r in scanned_project.second_reads()] == [("ben", "unsure")]
    assert queue.current.decision == "unsure"
    queue.decide("accept")
    queue.reload(second_read=False)
    queue.undo()  # a second read undone from the decisions list: the decisions list is untouched
    assert [(r.reviewer, r.decision) for r in scanned_project.second_reads()] == [("ben", "unsure")]
    assert queue.rows[0].decision == "accept"


def test_only_a_decided_pair_can_be_read_again(scanned_project: Project) -> None:
    key = ReviewQueue(scanned_project, "ana").current.key
    with pytest.raises(ProjectError, match="no decision to read again"):
        scanned_project.set_second_read(key, "ben", "accept")
    scanned_project.set_decision(key, "reject", "ana")
    with pytest.raises(ProjectError, match="must be one of"):
        scanned_project.set_second_read(key, "ben", "cleared")
    with pytest.raises(ProjectError, match="reviewer name"):
        scanned_project.set_second_read(key, " ", "accept")
    read = scanned_project.set_second_read(key, "ben", "accept")
    assert (read.first_decision, read.first_reviewer) == ("reject", "ana")
    scanned_project.set_decision(key, "accept", "ana")
    assert scanned_project.second_reads()[0].first_decision == "reject"  # the first read as it was then
