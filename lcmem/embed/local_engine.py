"""The local engine of ``lcmem embed``: each work unit through :func:`~lcmem.embed.runner.embed_files`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from lcmem.embed.archive import UnitDone
from lcmem.embed.runner import EmbedSettings, embed_files
from lcmem.embed.shards import dicom_uids
from lcmem.embed.types import EmbeddedSet, ItemEmbeddings, ItemRecord
from lcmem.embed.units import WorkUnit
from lcmem.model.bundle import Bundle
from lcmem.progress import CancelToken


def with_dicom_uids(embedded: EmbeddedSet) -> ItemEmbeddings:
    """The items of ``embedded`` with the DICOM UIDs of their files (read once per file, header only)."""
    uids = {path: dicom_uids(path) for path in dict.fromkeys(ref.path for ref in embedded.refs)}
    items = tuple(ItemRecord(r.path, r.sha256, r.frame, r.n_frames, *uids[r.path]) for r in embedded.refs)
    return ItemEmbeddings(items, embedded.embeddings, embedded.problems)


class LocalEngine:
    """Embeds units one after the other in this process, exactly as a scan embeds its folders."""

    name = "local"

    def __init__(self, settings: EmbedSettings | None = None) -> None:
        self.embed_settings = settings or EmbedSettings()

    def settings(self) -> dict[str, Any]:
        """Batch size, decoding threads, device and pixel limit."""
        return asdict(self.embed_settings)

    def run(self, units: Sequence[WorkUnit], bundle: Bundle, done: UnitDone, cancel: CancelToken) -> None:
        """Embed each unit with :func:`embed_files` (no cache: the shards are the result) and hand it to ``done``."""
        for unit in units:
            embedded = embed_files(list(unit.files), bundle, settings=self.embed_settings, cancel=cancel)
            done(unit, with_dicom_uids(embedded))
