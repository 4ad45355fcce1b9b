"""Id snapshots and pages by id: the same rows, order and filters as ``list_pairs``."""

from __future__ import annotations

from pathlib import Path

from lcmem.store.project import Project
from lcmem.store.queries import PairFilter, get_pairs, list_pair_ids, list_pairs, synthetic_candidates


def test_ids_follow_every_filter_and_order(scanned_project: Project) -> None:
    rows = list_pairs(scanned_project)
    scanned_project.set_decision(rows[0].key, "accept", "ana")
    filters = [
        PairFilter(),
        PairFilter(status="undecided"),
        PairFilter(status="accept"),
        PairFilter(min_score=rows[5].score),
        PairFilter(text="copy_"),
        PairFilter(sort="real", descending=False),
        PairFilter(sort="decision"),
        PairFilter(sort="rank"),
    ]
    for pair_filter in filters:
        expected = [r.candidate_id for r in list_pairs(scanned_project, pair_filter, 0, 100)]
        assert list_pair_ids(scanned_project, pair_filter) == expected, pair_filter


def test_get_pairs_by_id(scanned_project: Project) -> None:
    rows = list_pairs(scanned_project)
    found = get_pairs(scanned_project, [rows[3].candidate_id, rows[7].candidate_id, -5])
    assert found == {rows[3].candidate_id: rows[3], rows[7].candidate_id: rows[7]}
    assert get_pairs(scanned_project, []) == {}


def test_candidates_of_one_synthetic_image(scanned_project: Project) -> None:
    row = next(r for r in list_pairs(scanned_project) if r.synthetic_path.endswith("copy_2.png"))
    strip = synthetic_candidates(scanned_project, row)
    assert [r.rank for r in strip] == [1, 2, 3]
    assert {Path(r.synthetic_path).name for r in strip} == {"copy_2.png"}
    assert Path(strip[0].real_path).name == "img_0002.png"


def test_the_text_filter_takes_underscores_and_percent_signs_literally(scanned_project) -> None:
    names = {Path(r.synthetic_path).name for r in list_pairs(scanned_project, PairFilter(text="copy_"), 0, 100)}
    assert names == {"copy_2.png", "copy_7.png"}, "'_' is no wildcard: ct_copy.dcm does not match"
    assert list_pairs(scanned_project, PairFilter(text="%"), 0, 100) == []
