"""The app's scan as a job for a worker process: open the project under its parent's lock, load, scan.

This module is imported by the app at start-up, so it imports nothing heavy at module level: torch, diffusers
and FAISS are loaded only inside :func:`scan_project_file`, in the worker process that runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lcmem.progress import NEVER_CANCELLED, CancelToken, Progress, null_progress

if TYPE_CHECKING:
    from lcmem.scan.types import ScanSummary


def scan_project_file(
    project_path: str | Path,
    model_path: str | Path,
    top_k: int,
    max_pixels: int | None = None,
    verify: bool = True,
    *,
    progress: Progress = null_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> ScanSummary:
    """Load the model and scan the project at ``project_path``, whose write lock the calling process holds.

    Run by :func:`lcmem.worker_process.run_in_worker_process`: the project is opened without taking the lock
    its parent holds, the model on the best device, and embeddings and local features are cached in the default
    cache folder. ``max_pixels`` overrides the project's pixel limit for this scan; ``verify``: verify the
    candidates geometrically (off: a quick pass by LCMem score alone).

    Raises:
        BundleError: the model folder is not a valid bundle.
        Cancelled: ``cancel`` was set; finished work is kept.
        ProjectError: the project cannot be scanned or written.
    """
    from lcmem.embed.cache import EmbeddingCache, default_cache_dir
    from lcmem.embed.runner import EmbedSettings
    from lcmem.model.bundle import load_bundle
    from lcmem.runtime import resolve_device
    from lcmem.scan.types import ScanSettings
    from lcmem.store.ingest import scan_project
    from lcmem.store.project import Project
    from lcmem.verify.settings import verify_settings

    progress(0, 0, "loading the model")
    device = resolve_device("auto")
    bundle = load_bundle(model_path, device=device)
    cancel.raise_if_cancelled()
    with (
        Project.open(project_path, take_lock=False) as project,
        EmbeddingCache(default_cache_dir(), bundle.checksum, bundle.config.embedding_dim) as cache,
    ):
        embed = EmbedSettings(device=device, max_pixels=max_pixels or project.max_pixels)
        settings = ScanSettings(top_k=top_k, embed=embed, verify=verify_settings(verify))
        return scan_project(
            project, bundle, settings, cache=cache, progress=progress, cancel=cancel, cache_dir=cache.directory
        )
