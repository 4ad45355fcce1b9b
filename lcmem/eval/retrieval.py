"""The in-domain retrieval protocol: find an image's true source among look-alikes of its own domain.

Within one split, a seeded share of each dataset's identities is held out (:func:`held_out_identities`); the
gallery is every other image of the split, so each dataset's images meet the other datasets' as distractors.
Queries of a dataset are (a) edited copies (:data:`lcmem.eval.transforms.EDITS`, applied at the working size)
of a seeded sample of its gallery images, whose true source is the unedited image, (b) re-identification: one
image of a gallery identity with others in the gallery, hidden from its own ranking, whose sources are the
identity's other images, and (c) unseen: images of the held-out identities, which have no source and must
not be flagged. Every detector ranks the whole gallery for every query through the :class:`Ranker`
protocol; a second-stage re-ranker is one more ``Ranker`` (it sees the query and gallery pixels):
:class:`VerifyRanker` is LCMem + geometric verification as the scan runs it.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from tqdm import tqdm

from lcmem.eval.detectors import Detector, MseDetector, NccDetector, SsimDetector, Thumbnail
from lcmem.eval.metrics import average_precision, expected_rank1, null_threshold
from lcmem.eval.transforms import EDITS, apply_edit
from lcmem.train.data import Record
from lcmem.train.pixels import to_float


@dataclass(frozen=True)
class RetrievalSettings:
    """Query caps, the identity hold-out, how pixel baselines are run, the null quantile and µAP's top-k."""

    sources_per_dataset: int = 8
    reid_per_dataset: int = 20
    unseen_per_dataset: int = 40
    held_out_fraction: float = 0.2
    held_out_minimum: int = 2
    pixel_size: int = 32
    ssim_stride: int = 4
    null_quantile: float = 0.999
    top_k: int = 10
    batch_size: int = 32
    seed: int = 42


class Ranker(Protocol):
    """Scores every query against the whole gallery; images are uint8 ``(N, 3, S, S)`` at the working size."""

    name: str

    def prepare(self, gallery: np.ndarray, rows: Sequence[int]) -> None:
        """Take the gallery (e.g. compute its features) before any query; ``rows``: its images' rows in the
        split's records (for a ranker that reads the images at another size)."""
        ...

    def scores(self, queries: QuerySet) -> np.ndarray:
        """Similarity ``(Q, G)`` of each query to each gallery image, higher ranks first."""
        ...

    def flags(self, scores: np.ndarray, threshold: float) -> np.ndarray:
        """Which (query, gallery) pairs of the last :meth:`scores` are flagged at ``threshold`` (bool ``(Q, G)``)."""
        ...

    def gallery_scores(self) -> np.ndarray:
        """Similarity ``(G, G)`` of the gallery to itself (what the null threshold is drawn from)."""
        ...


class FeatureRanker:
    """A :class:`~lcmem.eval.detectors.Detector` as a ranker: gallery features once, then one matrix per batch."""

    def __init__(self, detector: Detector, batch_size: int = 32) -> None:
        self.detector = detector
        self.name = detector.name
        self.batch_size = batch_size
        self._gallery: torch.Tensor | None = None

    def _features(self, images: np.ndarray) -> torch.Tensor:
        chunks = [
            self.detector.features(torch.from_numpy(to_float(np.asarray(images[start : start + self.batch_size]))))
            for start in range(0, len(images), self.batch_size)
        ]
        return torch.cat(chunks)

    def prepare(self, gallery: np.ndarray, rows: Sequence[int] = ()) -> None:
        self._gallery = self._features(gallery)

    def scores(self, queries: QuerySet) -> np.ndarray:
        return self._matrix(self._features(queries.pixels))

    def flags(self, scores: np.ndarray, threshold: float) -> np.ndarray:
        return scores >= threshold

    def gallery_scores(self) -> np.ndarray:
        return self._matrix(self._prepared())

    def scores_of(self, images: torch.Tensor) -> np.ndarray:
        """Similarity ``(B, G)`` of float images ``(B, 3, S, S)`` in [0, 1] to the gallery."""
        return self._matrix(torch.cat([self.detector.features(c) for c in images.split(self.batch_size)]))

    def _prepared(self) -> torch.Tensor:
        if self._gallery is None:
            raise RuntimeError("FeatureRanker.prepare(gallery) must come before any scores")
        return self._gallery

    def _matrix(self, features: torch.Tensor) -> np.ndarray:
        gallery = self._prepared()
        rows = [self.detector.matrix(chunk, gallery).numpy() for chunk in features.split(256)]
        return np.concatenate(rows).astype(np.float64) if rows else np.zeros((0, len(gallery)))


def retrieval_detectors(detectors: list[Detector], settings: RetrievalSettings) -> list[Detector]:
    """The detectors as this protocol runs them: MSE, NCC and SSIM on ``pixel_size`` thumbnails (SSIM at every
    ``ssim_stride``-th window position), since their full-size query × gallery matrices are beyond a CPU run;
    the others unchanged."""
    out: list[Detector] = []
    for detector in detectors:
        if isinstance(detector, SsimDetector):
            out.append(Thumbnail(SsimDetector(settings.ssim_stride), settings.pixel_size))
        elif isinstance(detector, MseDetector | NccDetector):
            out.append(Thumbnail(detector, settings.pixel_size))
        else:
            out.append(detector)
    return out


def held_out_identities(records: list[Record], fraction: float, minimum: int, seed: int) -> frozenset[str]:
    """The identities kept out of the gallery: per dataset, ``fraction`` of its identities (at least
    ``minimum``, at most half), drawn with a generator seeded by ``seed`` and the dataset's name."""
    by_dataset: dict[str, set[str]] = defaultdict(set)
    for record in records:
        by_dataset[record.dataset].add(record.identity)
    held: set[str] = set()
    for dataset, identities in sorted(by_dataset.items()):
        names = sorted(identities)
        random.Random(f"{seed}:{dataset}").shuffle(names)
        count = min(max(minimum, round(fraction * len(names))), len(names) // 2)
        held.update(names[:count])
    return frozenset(held)


@dataclass(frozen=True)
class QuerySet:
    """One dataset's queries: pixels (uint8, working size), kind (an edit, ``"reid"`` or ``"unseen"``), the
    gallery positions of each query's sources (empty for unseen), the position hidden from it (−1: none) and
    the split row of the image it is made from (``origins``; empty when not known)."""

    dataset: str
    pixels: np.ndarray
    kinds: tuple[str, ...]
    sources: tuple[tuple[int, ...], ...]
    hidden: tuple[int, ...]
    origins: tuple[int, ...] = ()


def build_queries(dataset: str, records: list[Record], pixels: np.ndarray, gallery_rows: list[int],
                  held: frozenset[str], settings: RetrievalSettings) -> QuerySet:  # fmt: skip
    """The seeded queries of ``dataset`` (see the module docstring); ``pixels`` are the split's images."""
    rng = random.Random(f"{settings.seed}:{dataset}:queries")
    position = {row: g for g, row in enumerate(gallery_rows)}
    mine = [row for row in gallery_rows if records[row].dataset == dataset]
    images: list[np.ndarray] = []
    kinds: list[str] = []
    sources: list[tuple[int, ...]] = []
    hidden: list[int] = []
    origins: list[int] = []
    for row in sorted(rng.sample(mine, min(settings.sources_per_dataset, len(mine)))):
        original = torch.from_numpy(to_float(np.asarray(pixels[row])))
        for edit in EDITS:
            images.append((apply_edit(original, edit).numpy() * 255 + 0.5).astype(np.uint8))
            kinds.append(edit)
            sources.append((position[row],))
            hidden.append(-1)
            origins.append(row)
    members: dict[str, list[int]] = defaultdict(list)
    for row in mine:
        members[records[row].identity].append(row)
    repeated = sorted(name for name, rows in members.items() if len(rows) > 1)
    for name in sorted(rng.sample(repeated, min(settings.reid_per_dataset, len(repeated)))):
        query = rng.choice(members[name])
        images.append(np.asarray(pixels[query]))
        kinds.append("reid")
        sources.append(tuple(position[row] for row in members[name] if row != query))
        hidden.append(position[query])
        origins.append(query)
    unseen = [row for row, r in enumerate(records) if r.dataset == dataset and r.identity in held]
    for row in sorted(rng.sample(unseen, min(settings.unseen_per_dataset, len(unseen)))):
        images.append(np.asarray(pixels[row]))
        kinds.append("unseen")
        sources.append(())
        hidden.append(-1)
        origins.append(row)
    stacked = np.stack(images) if images else np.zeros((0, *pixels.shape[1:]), np.uint8)
    return QuerySet(dataset, stacked, tuple(kinds), tuple(sources), tuple(hidden), tuple(origins))


@dataclass(frozen=True)
class Outcomes:
    """Per-query results of one ranker: rank-1 (ties shared), AP, margin (best source − best other), the best
    source score, the best score of all, and whether the query is *found* at the val threshold and at the null
    threshold (a source flagged; for an unseen query: any gallery image flagged, a false positive)."""

    kinds: np.ndarray
    rank1: np.ndarray
    ap: np.ndarray
    margin: np.ndarray
    best_source: np.ndarray
    best: np.ndarray
    found: np.ndarray
    found_null: np.ndarray


def query_outcomes(scores: np.ndarray, queries: QuerySet, flagged: np.ndarray, flagged_null: np.ndarray) -> Outcomes:
    """Score every query's ranking of the gallery; ``scores`` is ``(Q, G)``, ``flagged`` and ``flagged_null``
    the pairs flagged at the val and at the null threshold (bool ``(Q, G)``)."""
    n = len(queries.kinds)
    rank1, ap, margin, best_source, best = (np.full(n, np.nan) for _ in range(5))
    found, found_null = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    for q in range(n):
        row = scores[q].astype(np.float64)
        valid = np.ones(len(row), dtype=bool)
        if queries.hidden[q] >= 0:
            valid[queries.hidden[q]] = False
        best[q] = row[valid].max()
        if not queries.sources[q]:
            found[q], found_null[q] = flagged[q][valid].any(), flagged_null[q][valid].any()
            continue
        found[q] = flagged[q][list(queries.sources[q])].any()
        found_null[q] = flagged_null[q][list(queries.sources[q])].any()
        labels = np.zeros(len(row), dtype=bool)
        labels[list(queries.sources[q])] = True
        rank1[q] = expected_rank1(row[valid], labels[valid])
        ap[q] = average_precision(row[valid], labels[valid])
        best_source[q] = row[labels].max()
        others = valid & ~labels
        margin[q] = best_source[q] - (row[others].max() if others.any() else -np.inf)
    return Outcomes(np.array(queries.kinds), rank1, ap, margin, best_source, best, found, found_null)


def micro_ap(scores: np.ndarray, queries: QuerySet, top_k: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """DISC21-style predictions of the edited and unseen queries: each query's ``top_k`` gallery images (ties
    broken by a seeded random key, never by position), as (scores, is-the-source, number of sourced queries)."""
    rng = np.random.default_rng(seed)
    values, hits, positives = [], [], 0
    for q, kind in enumerate(queries.kinds):
        if kind == "reid":
            continue
        row = scores[q]
        top = np.lexsort((rng.random(len(row)), -row))[:top_k]
        values.append(row[top])
        hits.append(np.isin(top, queries.sources[q]))
        positives += bool(queries.sources[q])
    if not values:
        return np.zeros(0), np.zeros(0, dtype=bool), 0
    return np.concatenate(values), np.concatenate(hits), positives


def summarize(outcomes: Outcomes, mask: np.ndarray) -> dict[str, Any]:
    """Means of rank-1 and AP, the median margin and the recalls at the val and null thresholds of ``mask``."""
    if not mask.any():
        return {"n_queries": 0}
    return {
        "rank1": float(np.mean(outcomes.rank1[mask])), "map": float(np.mean(outcomes.ap[mask])),
        "margin": float(np.median(outcomes.margin[mask])), "recall_at_threshold": float(np.mean(outcomes.found[mask])),
        "recall_at_null_threshold": float(np.mean(outcomes.found_null[mask])), "n_queries": int(mask.sum()),
    }  # fmt: skip


def summary(outcomes: Outcomes, threshold: float) -> dict[str, Any]:
    """One dataset's (or the pooled) figures: edited copies overall and per edit, re-identification, unseen;
    ``threshold`` (the val threshold the outcomes were flagged at) is recorded."""
    edited = np.isin(outcomes.kinds, list(EDITS))
    unseen = outcomes.kinds == "unseen"
    result = summarize(outcomes, edited)
    result["by_edit"] = {edit: summarize(outcomes, outcomes.kinds == edit) for edit in EDITS}
    result["reid"] = summarize(outcomes, outcomes.kinds == "reid")
    result["unseen_fpr"] = float(np.mean(outcomes.found[unseen])) if unseen.any() else float("nan")
    result["unseen_fpr_at_null_threshold"] = (
        float(np.mean(outcomes.found_null[unseen])) if unseen.any() else float("nan")
    )
    result["n_unseen"] = int(unseen.sum())
    result["threshold"] = threshold
    return result


def _concat(parts: list[Outcomes]) -> Outcomes:
    return Outcomes(*(np.concatenate([getattr(p, f) for p in parts]) for f in Outcomes.__dataclass_fields__))


def nearest_other_identity(scores: np.ndarray, identities: np.ndarray) -> np.ndarray:
    """Each gallery image's best score against gallery images of another identity (``scores`` is ``(G, G)``)."""
    masked = np.where(identities[:, None] == identities[None, :], -np.inf, scores)
    return masked.max(1)


def evaluate_retrieval(detectors: list[Detector], records: list[Record], pixels: np.ndarray,
                       thresholds: dict[str, float], settings: RetrievalSettings,
                       rankers: list[Ranker] | None = None) -> dict[str, Any]:  # fmt: skip
    """Run the protocol on one split (``records`` and their uint8 ``pixels``); ``thresholds`` are the val
    thresholds by detector name. Returns ``{"detectors": {NAME: {DATASET: …, "pooled": …}}, "protocol": …}``.

    ``rankers``, when given, are used instead of each detector as a :class:`FeatureRanker` (e.g. those plus a
    re-ranker that wraps one of them); each needs a threshold under its name.
    """
    held = held_out_identities(records, settings.held_out_fraction, settings.held_out_minimum, settings.seed)
    gallery_rows = [row for row, record in enumerate(records) if record.identity not in held]
    gallery = np.asarray(pixels[gallery_rows])
    identities = np.array([records[row].identity for row in gallery_rows])
    datasets_of = np.array([records[row].dataset for row in gallery_rows])
    rankers = rankers or [FeatureRanker(d, settings.batch_size) for d in detectors]
    datasets = sorted({record.dataset for record in records})
    nulls: dict[str, dict[str, dict[str, Any]]] = {}
    for ranker in tqdm(rankers, desc="retrieval: gallery", unit="detector"):
        ranker.prepare(gallery, gallery_rows)
        nearest = nearest_other_identity(ranker.gallery_scores(), identities)
        nulls[ranker.name] = {d: null_threshold(nearest[datasets_of == d], settings.null_quantile) for d in datasets}
    outcomes: dict[str, dict[str, Outcomes]] = {r.name: {} for r in rankers}
    pooled_uap: dict[str, list[tuple[np.ndarray, np.ndarray, int]]] = {r.name: [] for r in rankers}
    results: dict[str, dict[str, Any]] = {r.name: {} for r in rankers}
    counts = {}
    for dataset in tqdm(datasets, desc="retrieval: queries", unit="dataset"):
        queries = build_queries(dataset, records, pixels, gallery_rows, held, settings)
        mine = {record.identity for record in records if record.dataset == dataset}
        counts[dataset] = {"gallery": int((datasets_of == dataset).sum()), "queries": len(queries.kinds),
                           "held_out_identities": len(mine & held)}  # fmt: skip
        for ranker in rankers:
            scores = ranker.scores(queries)
            null = nulls[ranker.name][dataset]
            flagged = ranker.flags(scores, thresholds[ranker.name])
            found = query_outcomes(scores, queries, flagged, ranker.flags(scores, null["value"]))
            outcomes[ranker.name][dataset] = found
            predictions = micro_ap(scores, queries, settings.top_k, settings.seed)
            pooled_uap[ranker.name].append(predictions)
            result = summary(found, thresholds[ranker.name])
            results[ranker.name][dataset] = {**result, "null_threshold": null, "uap": average_precision(*predictions)}
    for ranker in rankers:
        pooled = summary(_concat(list(outcomes[ranker.name].values())), thresholds[ranker.name])
        predictions = pooled_uap[ranker.name]
        values, hits = np.concatenate([p[0] for p in predictions]), np.concatenate([p[1] for p in predictions])
        uap = average_precision(values, hits, sum(p[2] for p in predictions))
        results[ranker.name]["pooled"] = {**pooled, "uap": uap}
    protocol = {"settings": settings.__dict__, "edits": list(EDITS), "gallery": len(gallery_rows),
                "working_size": int(pixels.shape[-1]), "datasets": counts}  # fmt: skip
    return {"detectors": results, "protocol": protocol}
