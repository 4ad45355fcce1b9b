"""``run_scan``: discover → embed (cached) → FAISS candidates → exact LCMem re-scoring, streamed out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from lcmem.embed.cache import EmbeddingCache
from lcmem.embed.runner import embed_files
from lcmem.embed.types import EmbeddedSet
from lcmem.index.faiss_index import CandidateIndex
from lcmem.index.rescore import search_candidates
from lcmem.io import discover_images
from lcmem.model.bundle import Bundle
from lcmem.progress import NEVER_CANCELLED, CancelToken, Progress, null_progress
from lcmem.scan.null import IdentityFunction, NullScore, nearest_other_scores
from lcmem.scan.types import Candidate, ScanSettings, ScanSummary

logger = logging.getLogger(__name__)

CandidateSink = Callable[[list[Candidate]], None]
ItemsSink = Callable[[str, EmbeddedSet], None]
NullSink = Callable[[list[NullScore]], None]


def run_scan(
    real_roots: Sequence[str | Path],
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
) -> ScanSummary:
    """Find, for every synthetic image, its ``top_k`` most similar real images, scored exactly.

    Candidates are handed to ``sink`` one synthetic chunk at a time, each synthetic item's candidates
    ranked 1…k by the LCMem pair probability; no N×M matrix is ever held. Unreadable files are listed in the
    summary's problems. Embeddings go to ``cache`` as they are computed, so a cancelled or crashed scan
    resumes where it stopped.

    Args:
        real_roots: folders (or files) of real training images, walked recursively.
        synthetic_roots: folders (or files) of synthetic images.
        bundle: the LCMem model.
        sink: receives lists of :class:`Candidate`.
        settings: top-k, embedding and index settings.
        cache: the embedding cache for ``bundle`` (``None``: no caching).
        progress: receives ``(done, total, text)`` for each stage.
        cancel: checked between batches; raises :class:`lcmem.errors.Cancelled`.
        on_items: receives ``("real" | "synthetic", EmbeddedSet)`` once each side is embedded, before any
            candidate is emitted (a project records its images there).
        on_null: receives, after the candidates, the real→real null scores (:mod:`lcmem.scan.null`): for
            up to ``settings.null_sample`` reals, the best score against a different real item. ``None``:
            they are not computed.
        real_identity: a real item's identity (e.g. its pseudonymised patient id), or ``None`` if unknown;
            reals of the same identity do not count as different for ``on_null``. It is called only after
            ``on_items``, so a caller may derive identities from what it recorded there.
    """
    settings = settings or ScanSettings()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    real_files = discover_images(real_roots)
    synthetic_files = discover_images(synthetic_roots)
    seconds["discover"] = time.perf_counter() - clock

    def embed(files: Iterable[Path], label: str) -> EmbeddedSet:
        start = time.perf_counter()
        result = embed_files(
            list(files),
            bundle,
            cache=cache,
            settings=settings.embed,
            progress=progress,
            cancel=cancel,
            label=label,
        )
        seconds[f"embed {label}"] = time.perf_counter() - start
        return result

    reals = embed(real_files.files, "real images")
    synthetics = embed(synthetic_files.files, "synthetic images")
    if on_items is not None:
        on_items("real", reals)
        on_items("synthetic", synthetics)

    clock = time.perf_counter()
    progress(0, 1, "building the search index")
    index = CandidateIndex(bundle.model.network.fc_end.weight.detach().cpu().numpy()[0], settings.index)
    index.build(reals.embeddings)
    seconds["index"] = time.perf_counter() - clock

    clock = time.perf_counter()
    n_candidates = _search_and_rescore(reals, synthetics, index, bundle, settings, sink, progress, cancel)
    seconds["search"] = time.perf_counter() - clock

    n_null = 0
    if on_null is not None:
        clock = time.perf_counter()
        null_scores = nearest_other_scores(
            reals,
            index,
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

    problems = (*real_files.problems, *reals.problems, *synthetic_files.problems, *synthetics.problems)
    return ScanSummary(
        model_checksum=bundle.checksum,
        model_name=bundle.config.name,
        n_real_files=len(real_files.files),
        n_synthetic_files=len(synthetic_files.files),
        n_real_items=len(reals),
        n_synthetic_items=len(synthetics),
        n_candidates=n_candidates,
        index_kind=index.kind,
        problems=tuple(sorted(problems, key=lambda p: p.path)),
        cached_files=reals.n_cached_files + synthetics.n_cached_files,
        computed_files=reals.n_computed_files + synthetics.n_computed_files,
        seconds=seconds,
        n_null_scores=n_null,
    )


def _search_and_rescore(
    reals: EmbeddedSet,
    synthetics: EmbeddedSet,
    index: CandidateIndex,
    bundle: Bundle,
    settings: ScanSettings,
    sink: CandidateSink,
    progress: Progress,
    cancel: CancelToken,
) -> int:
    total = len(synthetics)
    emitted = 0
    for start in range(0, total, settings.query_chunk):
        cancel.raise_if_cancelled()
        queries = synthetics.embeddings[start : start + settings.query_chunk]
        ranked = search_candidates(
            index, bundle.model.network, queries, reals.embeddings, settings.top_k, settings.oversample
        )
        chunk: list[Candidate] = []
        for row, synthetic in enumerate(synthetics.refs[start : start + len(queries)]):
            rank = 0
            for real_index, score, valid in zip(
                ranked.indices[row], ranked.scores[row], ranked.valid[row], strict=True
            ):
                if not valid:
                    continue
                rank += 1
                chunk.append(Candidate(synthetic, reals.refs[int(real_index)], rank, float(score)))
        sink(chunk)
        emitted += len(chunk)
        progress(min(start + len(queries), total), total, "searching and scoring candidates")
    return emitted
