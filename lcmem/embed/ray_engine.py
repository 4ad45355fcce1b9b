"""The Ray engine of ``lcmem embed``: Ray Data decodes files in CPU tasks and an actor pool runs the encoder.

    file paths (Arrow blocks) ─▶ map_batches(decode_files): hash, DICOM UIDs, every frame as a model input
                              ─▶ map_batches(Encoder, ActorPoolStrategy): the LCMem encoder, CPU or GPU actors
                              ─▶ the driver: rows gathered per work unit, each finished unit written as a shard

Workers decode with the project's own loader and preprocessing (:mod:`lcmem.embed.items`), so a file gives the
same items, vectors and problem reasons as with the local engine. Only the driver writes shards, so only it
needs the embeddings folder; every worker must read the input files and the model bundle at the same paths
(shared storage). ``ray`` is imported only when :meth:`RayEngine.run` is called (the ``cluster`` extra).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from lcmem.embed.archive import UnitDone
from lcmem.embed.items import decode_file, digest_file, encode_inputs
from lcmem.embed.shards import dicom_uids
from lcmem.embed.types import ItemEmbeddings, ItemRecord
from lcmem.embed.units import WorkUnit
from lcmem.errors import BundleError, EmbeddingsError
from lcmem.extras import require
from lcmem.io import DEFAULT_MAX_PIXELS, FileProblem
from lcmem.model.bundle import Bundle, load_bundle
from lcmem.progress import CancelToken

logger = logging.getLogger(__name__)

TEXT_COLUMNS = ("path", "sha256", "study_instance_uid", "series_instance_uid", "sop_instance_uid", "kind", "reason")
"""Text columns of a decoded row; ``kind``/``reason`` are empty unless the file is a problem (then no pixels)."""


@dataclass(frozen=True)
class RaySettings:
    """Where and how wide to run: the cluster address (``None``: start Ray here), encoder batch size, encoder
    actors (``concurrency``), GPUs and CPUs per actor, files per input block, and the pixel limit."""

    address: str | None = None
    batch_size: int = 32
    concurrency: int = 1
    num_gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    files_per_block: int = 64
    max_pixels: int = DEFAULT_MAX_PIXELS


def decode_files(batch: dict[str, np.ndarray], size: int, max_pixels: int) -> dict[str, np.ndarray]:
    """Ray task: one row per item (frame) of every file in ``batch`` (columns ``unit``, ``order``, ``path``).

    A file that cannot be read gives one row with ``kind`` and ``reason`` set and zero pixels.
    """
    rows: list[dict[str, Any]] = []
    pixels: list[torch.Tensor] = []
    blank = torch.zeros(3, size, size)
    for unit, order, path in zip(batch["unit"], batch["order"], batch["path"], strict=True):
        base = {"unit": int(unit), "order": int(order), "path": str(path), "sha256": "", "kind": "", "reason": ""}
        digest = digest_file(str(path))
        decoded = None if isinstance(digest, FileProblem) else decode_file(digest, size, max_pixels)
        problem = digest if decoded is None else decoded.problem
        if problem is not None:
            rows.append({**base, "frame": 0, "n_frames": 1, "kind": problem.kind, "reason": problem.reason})
            pixels.append(blank)
            continue
        uids = dict(zip(TEXT_COLUMNS[2:5], (u or "" for u in dicom_uids(str(path))), strict=True))
        item = {**base, **uids, "sha256": decoded.digest.sha256, "n_frames": len(decoded.tensors)}
        for frame, tensor in enumerate(decoded.tensors):
            rows.append({**item, "frame": frame})
            pixels.append(tensor)
    columns: dict[str, np.ndarray] = {
        name: np.array([r.get(name, "") for r in rows], dtype=object) for name in TEXT_COLUMNS
    }
    for name in ("unit", "order", "frame", "n_frames"):
        columns[name] = np.array([r[name] for r in rows], dtype=np.int64)
    columns["pixels"] = torch.stack(pixels).numpy() if pixels else np.zeros((0, 3, size, size), np.float32)
    return columns


class Encoder:
    """Ray actor: loads the bundle once (refusing another checksum) and replaces ``pixels`` by ``vector``."""

    def __init__(self, bundle_path: str, checksum: str, device: str, threads: int) -> None:
        torch.set_num_threads(max(1, threads))
        self.bundle = load_bundle(bundle_path, device=device)
        if self.bundle.checksum != checksum:
            raise BundleError(
                f"{bundle_path}: on this worker the bundle has checksum {self.bundle.checksum[:12]}…, the driver's "
                f"{checksum[:12]}…; every node must see the same model files"
            )
        self.device = device

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Encode the rows without a problem; problem rows get a zero vector."""
        ok = batch["kind"] == ""
        vectors = np.zeros((len(ok), self.bundle.config.embedding_dim), np.float32)
        if ok.any():
            inputs = torch.from_numpy(np.ascontiguousarray(batch["pixels"][ok]))
            vectors[ok] = encode_inputs(self.bundle, inputs, self.device)
        out = {name: column for name, column in batch.items() if name != "pixels"}
        out["vector"] = vectors
        return out


class UnitAssembler:
    """Gathers encoded rows, which arrive in any order, into finished work units."""

    def __init__(self, units: Sequence[WorkUnit]) -> None:
        self.units = {u.number: u for u in units}
        self._rows: dict[int, list[tuple[int, int, ItemRecord | FileProblem, np.ndarray]]] = defaultdict(list)
        self._frames: dict[tuple[int, int], int] = defaultdict(int)
        self._files: dict[int, int] = defaultdict(int)

    def add(self, batch: dict[str, np.ndarray]) -> Iterator[tuple[WorkUnit, ItemEmbeddings]]:
        """Take a batch of encoded rows; yield each unit that it completes."""
        for i in range(len(batch["unit"])):
            unit, order, frame, n_frames = (int(batch[name][i]) for name in ("unit", "order", "frame", "n_frames"))
            text = {name: str(batch[name][i]) for name in TEXT_COLUMNS}
            if text["kind"]:
                entry: ItemRecord | FileProblem = FileProblem(text["path"], text["reason"], text["kind"])
            else:
                uids = (text[name] or None for name in TEXT_COLUMNS[2:5])
                entry = ItemRecord(text["path"], text["sha256"], frame, n_frames, *uids)
            self._rows[unit].append((order, frame, entry, batch["vector"][i]))
            self._frames[(unit, order)] += 1
            if self._frames[(unit, order)] == n_frames:
                self._files[unit] += 1
                if self._files[unit] == len(self.units[unit].files):
                    yield self.units[unit], self._finish(unit)

    def _finish(self, unit: int) -> ItemEmbeddings:
        rows = sorted(self._rows.pop(unit), key=lambda row: (row[0], row[1]))
        items = tuple(entry for _, _, entry, _ in rows if isinstance(entry, ItemRecord))
        vectors = [vector for _, _, entry, vector in rows if isinstance(entry, ItemRecord)]
        problems = tuple(entry for _, _, entry, _ in rows if isinstance(entry, FileProblem))
        dim = len(rows[0][3]) if rows else 0
        return ItemEmbeddings(items, np.stack(vectors) if vectors else np.zeros((0, dim), np.float32), problems)


def _path_blocks(pa: Any, units: Sequence[WorkUnit], per_block: int) -> list[Any]:
    """The input files as Arrow tables of ``per_block`` rows: ``unit``, ``order`` (place in the unit), ``path``."""
    files = [(u.number, order, path) for u in units for order, path in enumerate(u.files)]
    blocks = []
    for start in range(0, len(files), per_block):
        unit, order, path = zip(*files[start : start + per_block], strict=True)
        blocks.append(pa.table({"unit": list(unit), "order": list(order), "path": list(path)}))
    return blocks


class RayEngine:
    """Embeds work units on a Ray cluster (or a Ray instance started here) with Ray Data."""

    name = "ray"

    def __init__(self, settings: RaySettings | None = None) -> None:
        self.ray_settings = settings or RaySettings()

    def settings(self) -> dict[str, Any]:
        """The Ray settings, as given."""
        return asdict(self.ray_settings)

    def run(self, units: Sequence[WorkUnit], bundle: Bundle, done: UnitDone, cancel: CancelToken) -> None:
        """Stream every file of ``units`` through the decode tasks and encoder actors; call ``done`` per unit."""
        ray = require("ray", "the Ray engine")
        pa = require("pyarrow", "the Ray engine")
        require("ray.data", "the Ray engine")
        started_here = not ray.is_initialized()
        if started_here:
            address = self.ray_settings.address
            try:
                ray.init(address=address, include_dashboard=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {address}" if address else "a Ray instance on this machine"
                raise EmbeddingsError(
                    f"cannot start or join {where} ({exc}); check --address, or leave it out to start Ray here"
                ) from exc
        try:
            for unit, result in self._stream(ray, pa, units, bundle, cancel):
                done(unit, result)
        finally:
            if started_here:
                ray.shutdown()

    def _stream(
        self, ray: Any, pa: Any, units: Sequence[WorkUnit], bundle: Bundle, cancel: CancelToken
    ) -> Iterator[tuple[WorkUnit, ItemEmbeddings]]:
        s = self.ray_settings
        ray.data.DataContext.get_current().enable_progress_bars = False  # lcmem reports progress per shard
        device = "cuda" if s.num_gpus_per_worker > 0 else "cpu"
        dataset = (
            ray.data.from_arrow(_path_blocks(pa, units, s.files_per_block))
            .map_batches(
                decode_files,
                batch_size=s.files_per_block,
                batch_format="numpy",
                fn_kwargs={"size": bundle.config.image_size, "max_pixels": s.max_pixels},
                num_cpus=1,
            )
            .map_batches(
                Encoder,
                batch_size=s.batch_size,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=s.concurrency),
                fn_constructor_kwargs={
                    "bundle_path": str(bundle.path),
                    "checksum": bundle.checksum,
                    "device": device,
                    "threads": int(s.cpus_per_worker),
                },
                num_cpus=s.cpus_per_worker,
                num_gpus=s.num_gpus_per_worker or None,
            )
        )
        assembler = UnitAssembler(units)
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            cancel.raise_if_cancelled()
            yield from assembler.add(batch)
