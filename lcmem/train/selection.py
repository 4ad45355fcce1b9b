"""Choosing a stage's best epoch by detection quality on val: re-identification AUC and copy recall.

The loss on a few val batches can disagree with what the detector is for: resuming the 0.2 stage 2 lowered its
val loss from 0.665 to 0.629 while its val faces AUC fell from 0.936 to 0.908. With ``select="detection"`` a
stage scores the network after every epoch on fixed val inputs, encoded once by the frozen VAE:

- the re-identification pairs of ``lcmem eval`` (seed 42), from the val images at the model's input size;
- copies of one image per val identity (at most ``copy_per_dataset`` per dataset) under every transform and
  strength of the copy benchmark, made at 512 px and resized as ``lcmem eval`` resizes them.

The score is the mean of the per-dataset re-ID AUCs (datasets with at least ``min_positives`` positive pairs)
and the mean copy recall at the threshold where 5 % of the val negatives pass, so that each dataset and copy
detection count once, whatever their size. Only val data is used; the test split never chooses anything.

``select="retrieval"`` adds what a reviewer meets: for a seeded sample of val images per dataset
(``rank_sources``), each retrieval edit of the in-domain protocol (:data:`lcmem.eval.transforms.EDITS`) is ranked
against every val image of its dataset; ``val_rank1:DATASET`` is the share whose source scores strictly highest.
The score is then the mean of three equal parts: the mean re-ID AUC, the copy recall and the mean in-domain
rank-1.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from lcmem.errors import LCMemError
from lcmem.eval.metrics import roc_auc, threshold_at_fpr
from lcmem.eval.pairs import copy_images, reid_pairs
from lcmem.eval.runner import load_original
from lcmem.eval.transforms import EDITS, STRENGTHS, apply_edit, apply_transform
from lcmem.model.siamese import LCMemModel, SiameseNetwork
from lcmem.train.data import Record
from lcmem.train.hard_negatives import pair_logit_matrix
from lcmem.train.pixels import to_float

logger = logging.getLogger(__name__)

SELECT_MODES = ("loss", "detection", "retrieval")


@dataclass(frozen=True)
class SelectionSettings:
    """Sizes of the val inputs that choose the best epoch."""

    copy_per_dataset: int = 25
    min_positives: int = 20
    fpr: float = 0.05
    transform_size: int = 512
    work_size: int = 256
    seed: int = 42
    batch_size: int = 256
    rank_sources: int = 12


def _resized(images: Tensor, size: int) -> Tensor:
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


class DetectionSelector:
    """Scores a :class:`SiameseNetwork` on fixed val latents; higher is better."""

    def __init__(self, latents: Tensor, first: np.ndarray, second: np.ndarray, positive: np.ndarray,
                 datasets: np.ndarray, copies: dict[str, Tensor], settings: SelectionSettings,
                 retrieval: InDomainQueries | None = None) -> None:  # fmt: skip
        self.latents, self.first, self.second = latents, first, second
        self.positive, self.datasets, self.copies, self.settings = positive, datasets, copies, settings
        self.retrieval = retrieval
        counts = {d: int(positive[datasets == d].sum()) for d in sorted(set(datasets.tolist()))}
        self.scored = [d for d, n in counts.items() if n >= settings.min_positives]
        if not self.scored and not copies:
            raise LCMemError(
                "selecting by detection needs val re-identification pairs or copies; "
                "add val images or use select='loss'"
            )

    @classmethod
    def build(cls, model: LCMemModel, records: list[Record], latents: np.ndarray,
              settings: SelectionSettings | None = None,
              pixels: np.ndarray | None = None) -> DetectionSelector:  # fmt: skip
        """Fix the val pairs and copies of ``records`` (whose normalised latents are ``latents``); with ``pixels``
        (their cached images at the model's size) also the in-domain retrieval queries of ``select="retrieval"``."""
        settings = settings or SelectionSettings()
        pairs = reid_pairs(records, settings.seed)
        used = sorted({p.first for p in pairs} | {p.second for p in pairs})
        position = {index: k for k, index in enumerate(used)}
        chosen = torch.from_numpy(np.asarray(latents[used], dtype=np.float32)) if used else torch.zeros(0)
        copies = cls._copy_latents(model, records, settings)
        logger.info("detection selection: %d val pairs over %d images, %d copy originals", len(pairs), len(used),
                    len(next(iter(copies.values()))) if copies else 0)  # fmt: skip
        return cls(
            chosen,
            np.array([position[p.first] for p in pairs], dtype=np.int64),
            np.array([position[p.second] for p in pairs], dtype=np.int64),
            np.array([p.positive for p in pairs], dtype=bool),
            np.array([p.dataset for p in pairs]),
            copies,
            settings,
            InDomainQueries.build(model, records, latents, pixels, settings) if pixels is not None else None,
        )

    @staticmethod
    def _copy_latents(model: LCMemModel, records: list[Record], settings: SelectionSettings) -> dict[str, Tensor]:
        """Latents of the originals (key ``"original"``) and of each ``transform:strength`` copy."""
        chosen = copy_images(records, settings.copy_per_dataset, settings.seed)
        originals = [o for o in (load_original(records[i], settings.transform_size) for i in chosen) if o is not None]
        if not originals:
            return {}
        size = model.config.image_size
        generator = torch.Generator().manual_seed(settings.seed)

        def encode(images: list[Tensor]) -> Tensor:
            batch = _resized(_resized(torch.stack(images), settings.work_size), size)
            with torch.inference_mode():
                return torch.cat([model.encoder(chunk) for chunk in batch.split(settings.batch_size)])

        out = {"original": encode(originals)}
        for name, strengths in STRENGTHS.items():
            for strength in strengths:
                out[f"{name}:{strength:g}"] = encode([apply_transform(o, name, strength, generator) for o in originals])
        return out

    def _embed(self, network: SiameseNetwork, latents: Tensor) -> Tensor:
        return torch.cat([network.embed(chunk) for chunk in latents.split(self.settings.batch_size)])

    def __call__(self, network: SiameseNetwork) -> dict[str, float]:
        """``val_score`` and its parts: ``val_auc:DATASET``, ``val_copy_mean``, ``val_copy_min``."""
        network.eval()
        out: dict[str, float] = {}
        parts: list[float] = []
        with torch.inference_mode():
            threshold = float("inf")
            if len(self.first):
                features = self._embed(network, self.latents)
                scores = torch.sigmoid(network.pair_logits(features[self.first], features[self.second])).numpy()
                for dataset in self.scored:
                    mask = self.datasets == dataset
                    out[f"val_auc:{dataset}"] = roc_auc(scores[mask], self.positive[mask])
                    parts.append(out[f"val_auc:{dataset}"])
                threshold = threshold_at_fpr(scores[~self.positive], self.settings.fpr)
            if self.copies:
                base = self._embed(network, self.copies["original"])
                recalls = []
                for key, latents in self.copies.items():
                    if key != "original":
                        probability = torch.sigmoid(network.pair_logits(base, self._embed(network, latents)))
                        recalls.append(float((probability.numpy() >= threshold).mean()))
                out["val_copy_mean"], out["val_copy_min"] = float(np.mean(recalls)), float(np.min(recalls))
                parts.append(out["val_copy_mean"])
        if self.retrieval is None:
            out["val_score"] = float(np.mean(parts))
            return out
        with torch.inference_mode():
            ranks = self.retrieval.rank1(network, self._embed)
        out.update({f"val_rank1:{d}": r for d, r in ranks.items()})
        out["val_rank1"] = float(np.mean(list(ranks.values())))
        aucs = [out[f"val_auc:{d}"] for d in self.scored]
        groups = [float(np.mean(aucs))] if aucs else []
        groups += [out["val_copy_mean"]] if "val_copy_mean" in out else []
        out["val_score"] = float(np.mean([*groups, out["val_rank1"]]))
        return out


@dataclass(frozen=True)
class InDomainQueries:
    """Edited val images and the val gallery of their dataset, as latents fixed once."""

    gallery: Tensor
    gallery_datasets: np.ndarray
    queries: Tensor
    sources: np.ndarray

    @classmethod
    def build(cls, model: LCMemModel, records: list[Record], latents: np.ndarray, pixels: np.ndarray,
              settings: SelectionSettings) -> InDomainQueries:  # fmt: skip
        """Each retrieval edit of ``rank_sources`` seeded val images per dataset, at the model's size."""
        datasets = np.array([r.dataset for r in records])
        sources: list[int] = []
        for dataset in sorted(set(datasets.tolist())):
            rows = np.flatnonzero(datasets == dataset).tolist()
            rng = random.Random(f"{settings.seed}:{dataset}:selection")
            sources += sorted(rng.sample(rows, min(settings.rank_sources, len(rows))))
        queries_of = [(row, edit) for row in sources for edit in EDITS]
        images = [apply_edit(torch.from_numpy(to_float(np.asarray(pixels[row]))), edit) for row, edit in queries_of]
        sources = [row for row, _ in queries_of]
        with torch.inference_mode():
            queries = torch.cat([model.encoder(torch.stack(images[i : i + settings.batch_size]))
                                 for i in range(0, len(images), settings.batch_size)])  # fmt: skip
        gallery = torch.from_numpy(np.asarray(latents, dtype=np.float32))
        return cls(gallery, datasets, queries, np.array(sources, dtype=np.int64))

    def rank1(self, network: SiameseNetwork, embed) -> dict[str, float]:
        """Per dataset, the share of queries whose source scores strictly above every other gallery image."""
        gallery, queries = embed(network, self.gallery), embed(network, self.queries)
        hits: dict[str, list[float]] = {}
        for dataset in sorted(set(self.gallery_datasets.tolist())):
            rows = np.flatnonzero(self.gallery_datasets == dataset)
            mine = np.flatnonzero(self.gallery_datasets[self.sources] == dataset)
            if not len(mine) or len(rows) < 2:
                continue
            logits = pair_logit_matrix(network, queries[mine], gallery[rows]).numpy()
            column = np.searchsorted(rows, self.sources[mine])
            source = logits[np.arange(len(mine)), column]
            logits[np.arange(len(mine)), column] = -np.inf
            hits[dataset] = (source > logits.max(axis=1)).astype(float).tolist()
        return {d: float(np.mean(h)) for d, h in hits.items()}
