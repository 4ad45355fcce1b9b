"""``PairPages``: the pair list of a review screen, read a page at a time from a fixed snapshot of ids.

The snapshot (the ordered candidate ids under a filter) is taken once; rows are read in pages when first
asked for and kept in a bounded cache. A table of 10^5 pairs therefore costs one id query and a page per
screenful, and deciding a pair under an "undecided" filter never shifts the rows below it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace

from lcmem.store.project import Project
from lcmem.store.queries import PairFilter, get_pairs, list_pair_ids
from lcmem.store.types import PairKey, PairRow, SecondRead

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_PAGES = 64


class PairPages:
    """A read-mostly sequence of :class:`PairRow` over a snapshot of candidate ids.

    Args:
        project: the open project.
        pair_filter: which pairs, in which order (fixed for the life of this object).
        page_size: rows read per query.
        max_pages: pages kept in memory (least recently used ones are dropped and read again when needed).
        second_reader: show this reviewer's second reads (:mod:`lcmem.review.double_read`) in place of the
            pairs' decisions, which are then never in a row: a blind second read.
    """

    def __init__(
        self,
        project: Project,
        pair_filter: PairFilter | None = None,
        page_size: int = PAGE_SIZE,
        max_pages: int = MAX_PAGES,
        second_reader: str | None = None,
    ) -> None:
        self.project = project
        self.pair_filter = pair_filter or PairFilter()
        self.page_size = page_size
        self.max_pages = max_pages
        self.ids = list_pair_ids(project, self.pair_filter)
        self.second_reads: dict[PairKey, SecondRead] | None = None
        if second_reader is not None:
            self.second_reads = {r.key: r for r in project.second_reads(second_reader)}
        self._pages: OrderedDict[int, list[PairRow | None]] = OrderedDict()
        self._changed: dict[int, PairRow] = {}
        self.pages_read = 0

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, index: int) -> PairRow | None:
        """The row at ``index``, or ``None`` when its pair has left the project (a newer scan replaced it).

        Raises:
            IndexError: ``index`` is outside the list.
        """
        if not 0 <= index < len(self.ids):
            raise IndexError(f"pair {index} is outside the list of {len(self.ids)}")
        if index in self._changed:
            return self._changed[index]
        return self._page(index // self.page_size)[index % self.page_size]

    def __getitem__(self, index: int) -> PairRow:
        row = self.get(index)
        if row is None:
            raise IndexError(f"pair {index} is no longer in the project's current scan; reload the list")
        return row

    def __setitem__(self, index: int, row: PairRow) -> None:
        """Replace a row as the caller now knows it (e.g. after a decision), without reading the store."""
        if not 0 <= index < len(self.ids):
            raise IndexError(f"pair {index} is outside the list of {len(self.ids)}")
        self._changed[index] = row

    def index_of(self, candidate_id: int) -> int | None:
        """Where a candidate is in the list, or ``None``."""
        try:
            return self.ids.index(candidate_id)
        except ValueError:
            return None

    def _second_read_row(self, row: PairRow) -> PairRow:
        read = self.second_reads.get(row.key) if self.second_reads is not None else None
        if read is None:
            return replace(row, decision=None, reviewer=None, decided_at=None, kind=None)
        return replace(row, decision=read.decision, reviewer=read.reviewer, decided_at=read.decided_at, kind=None)

    def _page(self, number: int) -> list[PairRow | None]:
        page = self._pages.get(number)
        if page is not None:
            self._pages.move_to_end(number)
            return page
        ids = self.ids[number * self.page_size : (number + 1) * self.page_size]
        found = get_pairs(self.project, ids)
        page = [found.get(candidate_id) for candidate_id in ids]
        if self.second_reads is not None:
            page = [None if row is None else self._second_read_row(row) for row in page]
        self.pages_read += 1
        self._pages[number] = page
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)
        return page
