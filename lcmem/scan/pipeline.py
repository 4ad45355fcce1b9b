"""``run_scan``: real side (folders embedded now, or a prebuilt index) → FAISS candidates → exact re-scoring."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from lcmem.embed.cache import EmbeddingCache
from lcmem.embed.runner import embed_files
from lcmem.embed.types import EmbeddedSet
from lcmem.index.rescore import search_candidates, search_with_views
from lcmem.io import discover_images
from lcmem.model.bundle import Bundle
from lcmem.progress import NEVER_CANCELLED, CancelToken, Progress, null_progress
from lcmem.scan.null import IdentityFunction, NullScore, nearest_other_scores
from lcmem.scan.real_side import RealSet, RealSide, real_side_for
from lcmem.scan.types import Candidate, ScanSettings, ScanSummary
from lcmem.scan.verification import verify_chunk
from lcmem.verify.cache import FeatureCache
from lcmem.verify.verifier import Verifier

logger = logging.getLogger(__name__)

CandidateSink = Callable[[list[Candidate]], None]
ItemsSink = Callable[[str, EmbeddedSet], None]
NullSink = Callable[[list[NullScore]], None]


def run_scan(
    reals: Sequence[str | Path] | RealSide,
    synthetic_roots: Sequence[str | Path],
    bundle: Bundle,
    sink: CandidateSink,
    *,
    settings: ScanSettings | None = None,
    cache: EmbeddingCache | None = None,
    progress: Progress = null_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    on_items: ItemsSink | None = None,
    on_null: NullSink | None = None,
    real_identity: IdentityFunction | None = None,
    feature_cache: FeatureCache | None = None,
) -> ScanSummary:
    """Find, for every synthetic image, its ``top_k`` most similar real images, scored exactly.

    Candidates are handed to ``sink`` one synthetic chunk at a time, each synthetic item's candidates
    ranked 1…k by the LCMem pair probability; no N×M matrix is ever held. Unreadable files are listed in the
    summary's problems. Embeddings go to ``cache`` as they are computed, so a cancelled or crashed scan
    resumes where it stopped.

    Args:
        reals: folders (or files) of real training images, walked recursively, or a :class:`RealSide` (such
            as :class:`~lcmem.scan.real_side.RealIndex`, a prebuilt index); folders holding just one prebuilt
            index folder are read as that index.
        synthetic_roots: folders (or files) of synthetic images.
        bundle: the LCMem model.
        sink: receives lists of :class:`Candidate`.
        settings: top-k, embedding and index settings.
        cache: the embedding cache for ``bundle`` (``None``: no caching).
        progress: receives ``(done, total, text)`` for each stage.
        cancel: checked between batches; raises :class:`lcmem.errors.Cancelled`.
        on_items: receives ``("real" | "synthetic", EmbeddedSet)`` before any candidate naming those items is
            emitted (a project records its images there): each side once, after it is embedded; a prebuilt
            index, which may hold 10^7 reals, hands instead each chunk's new real candidates.
        on_null: receives, before any candidate (so that a sink can place each candidate among them, e.g. to
            apply the threshold in force, :mod:`lcmem.scan.threshold`), the real→real null scores
            (:mod:`lcmem.scan.null`): for up to ``settings.null_sample`` reals, the best score against a different
            real item. ``None``: they are not computed; nor are they for a prebuilt index.
        real_identity: a real item's identity (e.g. its pseudonymised patient id), or ``None`` if unknown;
            reals of the same identity do not count as different for ``on_null``. It is called only after
            ``on_items``, so a caller may derive identities from what it recorded there.
        feature_cache: local features and verdicts of the verification stage (``settings.verify``), kept by
            content; ``None``: computed afresh.
    """
    settings = settings or ScanSettings()
    seconds: dict[str, float] = {}

    def embed(files: Sequence[Path], label: str, views: tuple[str, ...] = ()) -> EmbeddedSet:
        start = time.perf_counter()
        result = embed_files(
            list(files),
            bundle,
            cache=cache,
            settings=replace(settings.embed, views=views),
            progress=progress,
            cancel=cancel,
            label=label,
        )
        seconds[f"embed {label}"] = time.perf_counter() - start
        return result

    side = reals if isinstance(reals, RealSide) else real_side_for(reals)
    real = side.open(bundle, settings.index, embed, progress)
    try:
        clock = time.perf_counter()
        synthetic_files = discover_images(synthetic_roots)
        seconds["discover"] = real.seconds.pop("discover", 0.0) + time.perf_counter() - clock
        seconds.update(real.seconds)
        views = settings.verify.views if settings.verify is not None else ()
        synthetics = embed(synthetic_files.files, "synthetic images", views)
        if on_items is not None:
            if real.embedded is not None:
                on_items("real", real.embedded)
            on_items("synthetic", synthetics)

        n_null = 0
        if on_null is not None and real.embedded is not None:
            clock = time.perf_counter()
            null_scores = nearest_other_scores(
                real.embedded,
                real.index,
                bundle.model.network,
                identity=real_identity,
                sample=settings.null_sample,
                k=settings.null_k,
                chunk=settings.query_chunk,
                progress=progress,
                cancel=cancel,
            )
            on_null(null_scores)
            n_null = len(null_scores)
            seconds["null"] = time.perf_counter() - clock

        clock = time.perf_counter()
        verifier = Verifier(settings.verify, feature_cache) if settings.verify is not None else None
        n_candidates = _search_and_rescore(
            real, synthetics, bundle, settings, sink, on_items, progress, cancel, verifier, seconds
        )
        seconds["search"] = time.perf_counter() - clock - seconds.get("verify", 0.0)
    finally:
        real.close()

    problems = (*real.problems, *synthetic_files.problems, *synthetics.problems)
    embedded = [e for e in (real.embedded, synthetics) if e is not None]
    return ScanSummary(
        model_checksum=bundle.checksum,
        model_name=bundle.config.name,
        n_real_files=real.n_files,
        n_synthetic_files=len(synthetic_files.files),
        n_real_items=len(real),
        n_synthetic_items=len(synthetics),
        n_candidates=n_candidates,
        index_kind=real.index.kind,
        problems=tuple(sorted(problems, key=lambda p: p.path)),
        cached_files=sum(e.n_cached_files for e in embedded),
        computed_files=sum(e.n_computed_files for e in embedded),
        seconds=seconds,
        n_null_scores=n_null,
    )


def _search_and_rescore(
    real: RealSet,
    synthetics: EmbeddedSet,
    bundle: Bundle,
    settings: ScanSettings,
    sink: CandidateSink,
    on_items: ItemsSink | None,
    progress: Progress,
    cancel: CancelToken,
    verifier: Verifier | None,
    seconds: dict[str, float],
) -> int:
    total = len(synthetics)
    emitted = 0
    announced: set[int] = set()
    for start in range(0, total, settings.query_chunk):
        cancel.raise_if_cancelled()
        queries = synthetics.embeddings[start : start + settings.query_chunk]
        network = bundle.model.network
        if synthetics.views is not None and synthetics.views.shape[1]:
            views = synthetics.views[start : start + settings.query_chunk]
            ranked = search_with_views(
                real.index, network, queries, views, real.vectors, settings.search_k, settings.oversample
            )
        else:
            ranked = search_candidates(
                real.index, network, queries, real.vectors, settings.search_k, settings.oversample
            )
        refs = real.refs(ranked.indices[ranked.valid])
        if on_items is not None and real.embedded is None:
            new = sorted(set(refs) - announced)
            announced.update(new)
            if new:
                on_items("real", EmbeddedSet(tuple(refs[r] for r in new), np.asarray(real.vectors[new]), ()))
        chunk: list[Candidate] = []
        for row, synthetic in enumerate(synthetics.refs[start : start + len(queries)]):
            rank = 0
            for real_index, score, valid in zip(
                ranked.indices[row], ranked.scores[row], ranked.valid[row], strict=True
            ):
                if not valid:
                    continue
                rank += 1
                chunk.append(Candidate(synthetic, refs[int(real_index)], rank, float(score)))
        if verifier is not None:
            progress(start, total, "verifying candidates")
            clock = time.perf_counter()
            chunk = verify_chunk(verifier, chunk, settings.top_k, cancel)
            seconds["verify"] = seconds.get("verify", 0.0) + time.perf_counter() - clock
        sink(chunk)
        emitted += len(chunk)
        progress(min(start + len(queries), total), total, "searching and scoring candidates")
    return emitted
