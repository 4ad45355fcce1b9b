"""``ReviewQueue``: the Qt-free presenter of the review screen: the pair list, the current pair, decide, undo.

The app renders it and forwards keys to it; tests drive it directly. Every decision goes straight to the
project (durable on return). The list is fixed when the queue is (re)loaded, so deciding a pair never makes
the cursor jump, even under an "undecided" filter; its rows are read a page at a time (:class:`PairPages`).

In second-read mode (``second_read=True``, reviewer QC: :mod:`lcmem.review.double_read`) the rows carry the
reviewer's own second reads instead of the pairs' decisions, and ``decide`` / ``undo`` record and withdraw
second reads; the pairs' decisions are neither shown nor changed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lcmem.errors import ProjectError
from lcmem.review.pages import PairPages
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter
from lcmem.store.types import CLEARED, DECISIONS, PairRow


@dataclass(frozen=True)
class _UndoStep:
    row: PairRow
    previous: str | None
    previous_reviewer: str | None
    previous_note: str
    second_reader: str | None  # whose second read this step recorded; None for a decision
    previous_kind: str | None = None


class ReviewQueue:
    """Navigation over a filtered list of pairs with accept / reject / unsure / skip / undo.

    Args:
        project: an open, writable project.
        reviewer: the name stored with each decision.
        pair_filter: which pairs, in which order.
        model_checksum: recorded with each decision.
        second_read: record blind second reads instead of decisions (see the module's docstring).

    ``scores_hidden`` is recorded with each decision: set it while the screen hides the scores (blind review).
    """

    def __init__(
        self,
        project: Project,
        reviewer: str,
        pair_filter: PairFilter | None = None,
        model_checksum: str | None = None,
        second_read: bool = False,
    ) -> None:
        self.project = project
        self.reviewer = reviewer
        self.pair_filter = pair_filter or PairFilter()
        self.model_checksum = model_checksum
        self.second_read = second_read
        self.rows = self._pages()
        self.index = 0
        self.scores_hidden = False
        self._undo: list[_UndoStep] = []

    def _pages(self) -> PairPages:
        return PairPages(self.project, self.pair_filter, second_reader=self.reviewer if self.second_read else None)

    def reload(self, pair_filter: PairFilter | None = None, second_read: bool | None = None) -> None:
        """Read the pair list again (after a scan, a new filter or reviewer, or into or out of second-read mode);
        keeps the cursor in range."""
        if pair_filter is not None:
            self.pair_filter = pair_filter
        if second_read is not None:
            self.second_read = second_read
        self.rows = self._pages()
        self.index = min(self.index, max(len(self.rows) - 1, 0))

    def first_undecided(self) -> int:
        """The index of the first row without a decision (in second-read mode: not yet read again), else 0."""
        for index in range(len(self.rows)):
            row = self.rows.get(index)
            if row is not None and row.decision is None:
                return index
        return 0

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def current(self) -> PairRow | None:
        """The pair under the cursor, or ``None`` for an empty list."""
        return self.rows.get(self.index) if self.rows else None

    def go_to(self, index: int) -> PairRow | None:
        """Move the cursor (clamped to the list)."""
        if self.rows:
            self.index = max(0, min(index, len(self.rows) - 1))
        return self.current

    def next(self) -> PairRow | None:
        """Move to the next pair (stays on the last one)."""
        return self.go_to(self.index + 1)

    def previous(self) -> PairRow | None:
        """Move to the previous pair (stays on the first one)."""
        return self.go_to(self.index - 1)

    def skip(self) -> PairRow | None:
        """Leave the current pair undecided and move on."""
        return self.next()

    def decide(self, decision: str, note: str = "", kind: str | None = None) -> PairRow | None:
        """Record ``decision`` (accept / reject / unsure) on the current pair, then move to the next one.

        An empty ``note`` keeps the note the pair's decision already had; ``kind`` says what an accepted pair
        is (copy / patient; not recorded with a second read).

        Raises:
            ProjectError: no current pair, an unknown decision, or the write failed (the list is unchanged).
        """
        row = self.current
        if row is None:
            raise ProjectError("there is no pair to decide on")
        if decision not in DECISIONS:
            raise ProjectError(f"decision must be one of {DECISIONS}, not {decision!r}")
        if self.second_read:
            self.project.set_second_read(row.key, self.reviewer, decision)
            self._undo.append(_UndoStep(row, row.decision, row.reviewer, "", second_reader=self.reviewer))
            self.rows[self.index] = replace(row, decision=decision, reviewer=self.reviewer)
            return self.next()
        before = self.project.decision(row.key)
        previous_note, previous_kind = (before.note, before.kind) if before is not None else ("", None)
        self.project.set_decision(
            row.key,
            decision,
            self.reviewer,
            note=note or previous_note,
            score=row.score,
            model_checksum=self.model_checksum,
            score_hidden=self.scores_hidden,
            kind=kind,
        )
        self._undo.append(_UndoStep(row, row.decision, row.reviewer, previous_note, None, previous_kind))
        self.rows[self.index] = replace(row, decision=decision, reviewer=self.reviewer, kind=kind)
        return self.next()

    def annotate(self, note: str) -> None:
        """Give the current pair's decision a new note (the decision itself stays; the log keeps both).

        Raises:
            ProjectError: no current pair, the pair is undecided, or the write failed.
        """
        row = self.current
        if self.second_read:
            raise ProjectError("a second read has no note; notes go with the pairs' decisions")
        if row is None or row.decision is None:
            raise ProjectError("decide the pair before writing a note on it (the note goes with a decision)")
        self.project.set_decision(
            row.key,
            row.decision,
            self.reviewer,
            note=note,
            score=row.score,
            model_checksum=self.model_checksum,
            score_hidden=self.scores_hidden,
            kind=row.kind,
        )
        self.rows[self.index] = replace(row, reviewer=self.reviewer)

    @property
    def can_undo(self) -> bool:
        """Whether a decision of this session can be undone."""
        return bool(self._undo)

    def undo(self) -> PairRow | None:
        """Restore the pair decided last to what it was before (decision and note, or the second read), and put
        the cursor on it.

        The pair is found by its candidate id, so an undo after :meth:`reload` (another filter or order) still
        restores the right pair; if the list no longer shows it, the cursor stays where it is.
        """
        if not self._undo:
            return self.current
        step = self._undo.pop()
        row = step.row
        if step.second_reader is None:
            self._restore_decision(step)
        elif step.previous is None:
            self.project.clear_second_read(row.key, step.second_reader)
        else:
            self.project.set_second_read(row.key, step.second_reader, step.previous)
        shown_here = step.second_reader == self.reviewer if self.second_read else step.second_reader is None
        index = self.rows.index_of(row.candidate_id) if shown_here else None
        if index is None:
            return self.current
        shown = self.rows.get(index) or row
        kind = step.previous_kind if step.second_reader is None else None
        self.rows[index] = replace(shown, decision=step.previous, reviewer=step.previous_reviewer, kind=kind)
        return self.go_to(index)

    def _restore_decision(self, step: _UndoStep) -> None:
        row = step.row
        self.project.set_decision(
            row.key,
            step.previous or CLEARED,
            self.reviewer,
            note=step.previous_note if step.previous else "",
            score=row.score,
            model_checksum=self.model_checksum,
            score_hidden=self.scores_hidden,
            kind=step.previous_kind if step.previous == "accept" else None,
        )
