"""``PairPages``: a fixed snapshot of ids, rows read a page at a time, local edits, vanished pairs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lcmem.review.pages import PairPages
from lcmem.scan.types import ScanSettings
from lcmem.store.ingest import scan_project
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter, list_pairs


def test_rows_match_list_pairs_and_are_read_in_pages(scanned_project: Project) -> None:
    pages = PairPages(scanned_project, PairFilter(), page_size=5)
    expected = list_pairs(scanned_project)
    assert len(pages) == len(expected) == 21
    assert pages[20] == expected[20] and pages.pages_read == 1
    assert [pages[i] for i in range(21)] == expected
    assert pages.pages_read == 5
    with pytest.raises(IndexError):
        pages.get(21)


def test_the_snapshot_does_not_shift_when_pairs_are_decided(scanned_project: Project) -> None:
    pages = PairPages(scanned_project, PairFilter(status="undecided"), page_size=4, max_pages=1)
    first, fifth = pages[0], pages[4]
    scanned_project.set_decision(first.key, "accept", "ana")
    assert len(pages) == 21 and pages[4] == fifth
    assert pages[0].decision == "accept"
    assert pages.index_of(fifth.candidate_id) == 4 and pages.index_of(-1) is None


def test_local_edits_and_pairs_that_left_the_project(scanned_project: Project, tiny_bundle) -> None:
    pages = PairPages(scanned_project, page_size=5, max_pages=1)
    pages[3] = replace(pages[3], decision="reject")
    assert pages[3].decision == "reject"
    scan_project(scanned_project, tiny_bundle, ScanSettings(top_k=3))
    assert pages.get(10) is None, "the rescan replaced the candidates of the snapshot"
    with pytest.raises(IndexError, match="reload"):
        pages[10]
    assert pages[3].decision == "reject"
    assert len(PairPages(scanned_project)) == 21
