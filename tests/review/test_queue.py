"""The review queue: decide, skip, undo, navigate; every decision is on disk at once."""

from __future__ import annotations

from lcmem.review.queue import ReviewQueue
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter


def test_decide_moves_on_and_is_on_disk(scanned_project: Project) -> None:
    queue = ReviewQueue(scanned_project, "ana", model_checksum="m")
    assert len(queue) == 21 and queue.index == 0
    first = queue.current
    queue.decide("accept")
    assert queue.index == 1
    queue.decide("reject")
    queue.skip()
    queue.decide("unsure")
    with Project.open(scanned_project.path, read_only=True) as reader:
        decided = {d.key: d.decision for d in reader.decisions()}
    assert decided[first.key] == "accept"
    assert list(decided.values()) == ["accept", "reject", "unsure"]
    assert queue.rows[0].decision == "accept"


def test_undo_restores_the_previous_state_in_order(scanned_project: Project) -> None:
    queue = ReviewQueue(scanned_project, "ana")
    key = queue.current.key
    queue.decide("reject")
    queue.previous()
    queue.decide("accept")
    assert scanned_project.decision(key).decision == "accept"
    queue.undo()
    assert scanned_project.decision(key).decision == "reject"
    assert queue.index == 0 and queue.current.decision == "reject"
    queue.undo()
    assert scanned_project.decision(key) is None
    assert not queue.can_undo
    assert queue.undo() is queue.current


def test_filters_and_stable_cursor(scanned_project: Project) -> None:
    queue = ReviewQueue(scanned_project, "ana", PairFilter(status="undecided"))
    queue.decide("accept")
    assert len(queue) == 21  # the list is fixed until reloaded
    queue.reload()
    assert len(queue) == 20
    queue.reload(PairFilter(status="accept"))
    assert len(queue) == 1
    queue.reload(PairFilter(min_score=2.0))
    assert len(queue) == 0 and queue.current is None


def test_navigation_is_clamped(scanned_project: Project) -> None:
    queue = ReviewQueue(scanned_project, "ana")
    queue.previous()
    assert queue.index == 0
    queue.go_to(1000)
    assert queue.index == len(queue) - 1
    queue.next()
    assert queue.index == len(queue) - 1


def test_undo_after_a_reload_restores_the_pair_that_was_decided(scanned_project: Project) -> None:
    queue = ReviewQueue(scanned_project, "ana")
    decided = queue.current
    queue.decide("accept")
    queue.reload(PairFilter(sort="real", descending=False))
    queue.go_to(0)
    other = queue.current
    queue.undo()
    assert scanned_project.decision(decided.key) is None
    assert other.key == decided.key or scanned_project.decision(other.key) is None
    assert queue.current.candidate_id == decided.candidate_id and queue.current.decision is None


def test_a_blind_decision_is_recorded_as_made_with_the_score_hidden(scanned_project: Project) -> None:
    queue = ReviewQueue(scanned_project, "ana")
    seen = queue.current.key
    queue.decide("reject")
    queue.scores_hidden = True
    blind = queue.current.key
    queue.decide("accept")
    with Project.open(scanned_project.path, read_only=True) as reader:
        hidden = {d.key: d.score_hidden for d in reader.decisions()}
        scores = {d.key: d.score for d in reader.decisions()}
    assert hidden == {seen: False, blind: True}
    assert scores[blind] == queue.rows[1].score
    queue.undo()
    assert scanned_project.decision(blind) is None
    with scanned_project.connect() as conn:
        log = conn.exec_driver_sql("SELECT decision, score_hidden FROM decision_log ORDER BY id").all()
    assert [tuple(r) for r in log] == [("reject", 0), ("accept", 1), ("cleared", 1)]


def test_undo_restores_the_note_the_decision_had(scanned_project: Project) -> None:
    queue = ReviewQueue(scanned_project, "ana")
    key = queue.current.key
    queue.decide("accept", note="same patient")
    queue.previous()
    queue.decide("reject", note="on second look, another patient")
    queue.undo()
    assert (scanned_project.decision(key).decision, scanned_project.decision(key).note) == ("accept", "same patient")
