"""Batched, cached embedding of image files with threaded decoding, progress and cancellation."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lcmem.embed.cache import EmbeddingCache
from lcmem.embed.items import DecodedFile, FileDigest, decode_file, digest_file, encode_inputs
from lcmem.embed.types import EmbeddedSet, ImageRef
from lcmem.io import DEFAULT_MAX_PIXELS, FileProblem
from lcmem.model.bundle import Bundle
from lcmem.model.views import apply_views
from lcmem.progress import NEVER_CANCELLED, CancelToken, Progress, null_progress

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedSettings:
    """How to embed: batch size (0: :func:`default_batch_size` for the device), decoding threads, device, pixel
    limit, and the query views (:mod:`lcmem.model.views`) embedded beside each item (none by default)."""

    batch_size: int = 0
    decode_threads: int = 2
    device: str = "cpu"
    max_pixels: int = DEFAULT_MAX_PIXELS
    views: tuple[str, ...] = ()


def views_key(sha256: str, views: tuple[str, ...]) -> str:
    """The cache key of a file's view embeddings (``(items × views, dim)``, item by item)."""
    return f"{sha256}:views:{'+'.join(views)}"


def default_batch_size(device: str) -> int:
    """Images per encoder batch: 16 on a CPU, 64 on an accelerator.

    On this 2-core CPU, 16 is as fast per image as 32 (smaller activations stay in cache) and the first batch
    is ready sooner, which makes a 40 + 40 image scan ~25 % faster (docs/BENCHMARKS.md); a GPU wants more.
    """
    return 16 if device == "cpu" else 64


def embed_files(
    files: Sequence[str | Path],
    bundle: Bundle,
    *,
    cache: EmbeddingCache | None = None,
    settings: EmbedSettings | None = None,
    progress: Progress = null_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    label: str = "images",
) -> EmbeddedSet:
    """Embed every item (frame) of ``files``, reusing and filling ``cache``.

    Files are hashed, looked up in the cache by content, and only the missing ones are decoded (in
    ``settings.decode_threads`` threads) and encoded in batches. With ``settings.views`` each item is also
    embedded under each view, from the same decoded pixels, and the result's ``views`` holds them. A file that
    cannot be read becomes a :class:`FileProblem` and the run goes on; identical files are decoded once.

    Args:
        files: image files, in the order of the result.
        bundle: the model.
        cache: an embedding cache for ``bundle``'s checksum, or ``None``.
        settings: batching, threads, device and pixel limit.
        progress: receives ``(files done, files total, text)``.
        cancel: checked between batches; raises :class:`lcmem.errors.Cancelled`. Finished batches are
            already in the cache, so a rerun resumes.
        label: names the set in progress texts (``"real images"``).
    """
    settings = settings or EmbedSettings()
    views = settings.views
    digests, problems = _hash_files(files, settings.decode_threads, progress, cancel, label)
    cached = cache.get_many(d.sha256 for d in digests) if cache is not None else {}
    cached_views: dict[str, np.ndarray] = {}
    if views and cache is not None and cached:
        found = cache.get_many(views_key(digest, views) for digest in cached)
        cached_views = {d: found[views_key(d, views)] for d in cached if views_key(d, views) in found}
        cached = {d: array for d, array in cached.items() if d in cached_views}
    missing = list({d.sha256: d for d in digests if d.sha256 not in cached}.values())
    computed, computed_views, failed = _compute(missing, bundle, cache, settings, progress, cancel, label,
                                                len(cached))  # fmt: skip
    by_digest = {**cached, **computed}
    views_by_digest = {**cached_views, **computed_views}
    refs: list[ImageRef] = []
    vectors: list[np.ndarray] = []
    view_vectors: list[np.ndarray] = []
    for digest in digests:
        array = by_digest.get(digest.sha256)
        if array is None:
            problem = failed[digest.sha256]
            problems.append(FileProblem(digest.path, problem.reason, problem.kind))
            continue
        n_frames = array.shape[0]
        refs.extend(ImageRef(digest.path, digest.sha256, frame, n_frames) for frame in range(n_frames))
        vectors.append(array)
        if views:
            view_vectors.append(views_by_digest[digest.sha256].reshape(n_frames, len(views), -1))
    dim = bundle.config.embedding_dim
    embeddings = np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32)
    stacked_views = None
    if views:
        stacked_views = np.concatenate(view_vectors) if view_vectors else np.zeros((0, len(views), dim), np.float32)
    from_cache = f" ({len(cached):,} from the cache)" if cached else ""
    progress(len(digests), len(digests), f"embedded {label}{from_cache}")
    return EmbeddedSet(tuple(refs), embeddings, tuple(problems), len(cached), len(computed), stacked_views)


def _hash_files(
    files: Sequence[str | Path], threads: int, progress: Progress, cancel: CancelToken, label: str
) -> tuple[list[FileDigest], list[FileProblem]]:
    digests: list[FileDigest] = []
    problems: list[FileProblem] = []
    total = len(files)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for done, outcome in enumerate(pool.map(digest_file, files), start=1):
            cancel.raise_if_cancelled()
            if isinstance(outcome, FileProblem):
                problems.append(outcome)
            else:
                digests.append(outcome)
            if done % 64 == 0 or done == total:
                progress(done, total, f"hashing {label}")
    return digests, problems


def _compute(
    missing: list[FileDigest],
    bundle: Bundle,
    cache: EmbeddingCache | None,
    settings: EmbedSettings,
    progress: Progress,
    cancel: CancelToken,
    label: str,
    n_done_before: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, FileProblem]]:
    """Decode and encode ``missing``; return embeddings, view embeddings (``(items × views, dim)``; empty
    without ``settings.views``) and problems, all by content sha256."""
    computed: dict[str, np.ndarray] = {}
    computed_views: dict[str, np.ndarray] = {}
    views = settings.views
    problems: dict[str, FileProblem] = {}
    total = n_done_before + len(missing)
    size = bundle.config.image_size
    batch_size = settings.batch_size or default_batch_size(settings.device)
    batch: list[tuple[FileDigest, int, torch.Tensor]] = []
    pending: dict[str, list[np.ndarray | None]] = {}

    def flush() -> None:
        cancel.raise_if_cancelled()
        images = torch.stack([t for _, _, t in batch])
        if views:
            images = torch.cat([images, apply_views(images, views).flatten(0, 1)])
        encoded = encode_inputs(bundle, images, settings.device)
        vectors = encoded[: len(batch)]
        extra = encoded[len(batch) :].reshape(len(batch), len(views), encoded.shape[-1])
        finished: dict[str, np.ndarray] = {}
        finished_views: dict[str, np.ndarray] = {}
        for row, (digest, frame, _) in enumerate(batch):
            slots = pending[digest.sha256]
            slots[frame] = np.concatenate([vectors[row : row + 1], extra[row]])
            if all(v is not None for v in slots):
                frames = np.stack(slots)  # type: ignore[arg-type]
                finished[digest.sha256] = frames[:, 0]
                if views:
                    finished_views[views_key(digest.sha256, views)] = frames[:, 1:].reshape(-1, frames.shape[-1])
                    computed_views[digest.sha256] = finished_views[views_key(digest.sha256, views)]
                del pending[digest.sha256]
        batch.clear()
        computed.update(finished)
        if cache is not None:
            cache.put_many({**finished, **finished_views})
        progress(n_done_before + len(computed) + len(problems), total, f"embedding {label}")

    decode: Callable[[FileDigest], DecodedFile] = lambda d: decode_file(d, size, settings.max_pixels)  # noqa: E731
    for item in _ordered_map(decode, missing, settings.decode_threads, cancel):
        if item.problem is not None:
            problems[item.digest.sha256] = item.problem
            progress(n_done_before + len(computed) + len(problems), total, f"embedding {label}")
            continue
        pending[item.digest.sha256] = [None] * len(item.tensors)
        for frame, tensor in enumerate(item.tensors):
            batch.append((item.digest, frame, tensor))
            if len(batch) >= batch_size:
                flush()
    if batch:
        flush()
    return computed, computed_views, problems


def _ordered_map(
    func: Callable[[FileDigest], DecodedFile], items: list[FileDigest], threads: int, cancel: CancelToken
) -> Iterator[DecodedFile]:
    """Map ``func`` over ``items`` in a thread pool, in order, with a bounded number of files in flight."""
    window = max(2, 4 * threads)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        queue: deque[Future[DecodedFile]] = deque()
        iterator = iter(items)
        try:
            for item in iterator:
                queue.append(pool.submit(func, item))
                if len(queue) >= window:
                    yield queue.popleft().result()
                cancel.raise_if_cancelled()
            while queue:
                yield queue.popleft().result()
        finally:
            for future in queue:
                future.cancel()
