"""Reviewer QC by double reading (ANCHORS §8): decided pairs read again blind, and how well the reads agree.

A second reader (or the same reader, later) is shown decided pairs in a fixed random order (``sort="audit"``)
with the decision and the score hidden; each read goes to ``second_reads``, never to the pair's decision.
Agreement between the first decision and the second read is Cohen's κ over accept / reject / unsure, with a
percentile-bootstrap confidence interval (seeded, so the same reads give the same interval). Reads by another
reader (inter-reader agreement) and by the first decision's own reader (intra-reader) are reported apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lcmem.store.project import Project
from lcmem.store.types import DECISION_TEXT, DECISIONS, SecondRead

RESAMPLES = 2000
SEED = 0


@dataclass(frozen=True)
class Agreement:
    """How ``n`` second reads agree with the first decisions.

    ``kappa`` is ``None`` when it is undefined (no reads, or every read on both sides the same answer);
    ``kappa_ci`` when fewer than two reads or no resample gives a defined κ. ``table[first][second]`` counts
    the pairs by first decision and second read.
    """

    n: int
    agreed: int
    kappa: float | None
    kappa_ci: tuple[float, float] | None
    confidence: float
    table: dict[str, dict[str, int]]


def cohens_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's κ of two equally long label sequences: (observed − chance agreement) / (1 − chance agreement),
    chance from each side's own label frequencies; ``None`` when chance agreement is 1 (or no labels)."""
    if len(first) != len(second):
        raise ValueError(f"two reads of the same pairs are needed, not {len(first)} against {len(second)}")
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    counts_first, counts_second = Counter(first), Counter(second)
    chance = sum(counts_first[label] * counts_second[label] for label in counts_first) / n**2
    if chance >= 1.0:
        return None
    return (observed - chance) / (1.0 - chance)


def agreement(reads: Sequence[SecondRead], confidence: float = 0.95, resamples: int = RESAMPLES) -> Agreement:
    """Cohen's κ between each read's first decision and second read, with a bootstrap interval."""
    first = [r.first_decision for r in reads]
    second = [r.decision for r in reads]
    table = {a: {b: 0 for b in DECISIONS} for a in DECISIONS}
    for a, b in zip(first, second, strict=True):
        table[a][b] += 1
    kappa = cohens_kappa(first, second)
    interval = _bootstrap_interval(first, second, confidence, resamples) if len(reads) >= 2 else None
    agreed = sum(a == b for a, b in zip(first, second, strict=True))
    return Agreement(len(reads), agreed, kappa, interval, confidence, table)


def _bootstrap_interval(
    first: Sequence[str], second: Sequence[str], confidence: float, resamples: int
) -> tuple[float, float] | None:
    """The percentile-bootstrap interval of κ (pairs resampled with replacement; resamples with κ undefined are
    left out), computed a block of resamples at a time on label codes."""
    codes = {label: code for code, label in enumerate(DECISIONS)}
    a = np.array([codes[label] for label in first], dtype=np.int8)
    b = np.array([codes[label] for label in second], dtype=np.int8)
    rng = np.random.default_rng(SEED)
    values = []
    block = max(1, min(resamples, 2_000_000 // len(a)))
    for start in range(0, resamples, block):
        chosen = rng.integers(len(a), size=(min(block, resamples - start), len(a)))
        x, y = a[chosen], b[chosen]
        observed = (x == y).mean(axis=1)
        chance = sum((x == code).mean(axis=1) * (y == code).mean(axis=1) for code in range(len(DECISIONS)))
        defined = chance < 1.0
        values.append((observed[defined] - chance[defined]) / (1.0 - chance[defined]))
    kappas = np.concatenate(values)
    if kappas.size == 0:
        return None
    tail = 100 * (1 - confidence) / 2
    return float(np.percentile(kappas, tail)), float(np.percentile(kappas, 100 - tail))


def project_agreement(project: Project) -> tuple[Agreement, Agreement]:
    """The project's double-read agreement: (reads by another reader, re-reads by the first decision's reader)."""
    reads = project.second_reads()
    return (
        agreement([r for r in reads if r.reviewer != r.first_reviewer]),
        agreement([r for r in reads if r.reviewer == r.first_reviewer]),
    )


def _describe(result: Agreement, who: str) -> str:
    text = f"{result.n:,} read again by {who}: {100 * result.agreed / result.n:.0f} % agree"
    if result.kappa is None:
        return text + ", Cohen's κ undefined (every read gave the same answer)"
    text += f", Cohen's κ {result.kappa:.2f}"
    if result.kappa_ci is not None:
        low, high = result.kappa_ci
        text += f" ({100 * result.confidence:.0f} % CI {low:.2f} to {high:.2f})"
    first = [label for label in DECISIONS if sum(result.table[label].values())]
    second = [label for label in DECISIONS if sum(row[label] for row in result.table.values())]
    for side, used in (("first decision", first), ("second read", second)):
        if len(used) == 1:
            return text + f" — every {side} was “{DECISION_TEXT[used[0]]}”, so κ cannot show agreement beyond chance"
    return text


def describe_agreement(between: Agreement, within: Agreement) -> str:
    """The double read in one sentence for the screen and the CLI."""
    if between.n == 0 and within.n == 0:
        return "Double read: no decided pair read again yet (Show: Second read)."
    parts = [_describe(between, "another reader")] if between.n else []
    if within.n:
        parts.append(_describe(within, "the same reader"))
    return "Double read: " + "; ".join(parts) + "."
