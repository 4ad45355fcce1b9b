"""``evaluate``: re-identification and copy detection (the paper's protocols) and in-domain retrieval
(:mod:`lcmem.eval.retrieval`) for LCMem and the baselines on the same pairs and queries.

Thresholds for copy detection are fitted on the **val** split's re-identification pairs with one rule for
every detector: the score at which 5 % of val negatives pass (FPR 5 %). Test pairs never choose anything.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from lcmem.errors import ImageReadError
from lcmem.eval.detectors import Detector, LCMemDetector, baselines
from lcmem.eval.metrics import (
    best_f1,
    bootstrap_auc_ci,
    precision_at_recall,
    roc_auc,
    threshold_at_fpr,
    wilson_interval,
)
from lcmem.eval.pairs import Pair, copy_images, reid_pairs
from lcmem.eval.retrieval import FeatureRanker, Ranker, RetrievalSettings, evaluate_retrieval, retrieval_detectors
from lcmem.eval.transforms import STRENGTHS, apply_transform
from lcmem.eval.verified import NAME as VERIFY_NAME
from lcmem.eval.verified import NO_VIEWS_NAME, VerifyRanker, file_loader
from lcmem.io import load_image
from lcmem.model.bundle import Bundle
from lcmem.model.preprocess import to_model_input
from lcmem.train.data import Record, load_labelled
from lcmem.train.pixels import image_cache, to_float
from lcmem.verify.settings import VerifySettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalSettings:
    """Sizes and sample caps of an evaluation run."""

    split: str = "test"
    work_size: int = 256
    transform_size: int = 512
    copy_per_dataset: int | None = 150
    fpr: float = 0.05
    n_boot: int = 1000
    batch_size: int = 32
    seed: int = 42
    paper: bool = True
    retrieval_sources: int = 8
    retrieval_reid: int = 20
    retrieval_unseen: int = 40
    retrieval_verify: bool = True
    retrieval_without_views: bool = False
    without: tuple[str, ...] = ()
    known_thresholds: dict[str, float] | None = None


def _pair_scores(detectors: list[Detector], pixels: np.ndarray, pairs: list[Pair], batch: int) -> dict[str, np.ndarray]:
    scores: dict[str, list[np.ndarray]] = {d.name: [] for d in detectors}
    for start in tqdm(range(0, len(pairs), batch), desc="scoring pairs", unit="batch", leave=False):
        chunk = pairs[start : start + batch]
        x1 = torch.from_numpy(to_float(np.asarray(pixels[[p.first for p in chunk]])))
        x2 = torch.from_numpy(to_float(np.asarray(pixels[[p.second for p in chunk]])))
        for detector in detectors:
            scores[detector.name].append(detector.compare(detector.features(x1), detector.features(x2)).numpy())
    return {name: np.concatenate(values) if values else np.zeros(0) for name, values in scores.items()}


def _reid_metrics(scores: np.ndarray, labels: np.ndarray, n_boot: int) -> dict[str, Any]:
    auc = roc_auc(scores, labels)
    f1 = best_f1(scores, labels)
    at_recall = precision_at_recall(scores, labels, 0.99)
    return {
        "auc": auc, "auc_ci": list(bootstrap_auc_ci(scores, labels, n_boot)), "n_pairs": len(labels),
        "n_positive": int(labels.sum()), "precision_bestF1": f1["precision"], "recall_bestF1": f1["recall"],
        "precision_atR99": at_recall["precision"], "fpr_atR99": at_recall["fpr"],
    }  # fmt: skip


def load_original(record: Record, size: int) -> torch.Tensor | None:
    """The record's image at ``size`` for copy transforms, or ``None`` (logged) when it cannot be read."""
    try:
        return to_model_input(load_image(record.path), size)
    except ImageReadError as exc:
        logger.warning("copy detection skips an unreadable image: %s", exc.reason)
        return None


def _copy_recall(detectors: list[Detector], records: list[Record], indices: list[int], thresholds: dict[str, float],
                 settings: EvalSettings) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:  # fmt: skip
    hits = {d.name: {t: {s: [] for s in STRENGTHS[t]} for t in STRENGTHS} for d in detectors}
    generator = torch.Generator().manual_seed(0)
    down = settings.work_size
    for start in tqdm(range(0, len(indices), settings.batch_size), desc="copy detection", unit="batch"):
        originals = [
            load_original(records[i], settings.transform_size) for i in indices[start : start + settings.batch_size]
        ]
        originals = [o for o in originals if o is not None]
        if not originals:
            continue
        base = torch.nn.functional.interpolate(
            torch.stack(originals), size=(down, down), mode="bilinear", antialias=True
        )
        base_features = {d.name: d.features(base) for d in detectors}
        for name, strengths in STRENGTHS.items():
            for strength in strengths:
                copies = torch.stack([apply_transform(o, name, strength, generator) for o in originals])
                copies = torch.nn.functional.interpolate(copies, size=(down, down), mode="bilinear", antialias=True)
                for detector in detectors:
                    score = detector.compare(base_features[detector.name], detector.features(copies)).numpy()
                    hits[detector.name][name][strength].extend((score >= thresholds[detector.name]).tolist())
    return {
        d: {t: {_key(s): _recall_cell(v) for s, v in per.items()} for t, per in by_t.items()}
        for d, by_t in hits.items()
    }


def _recall_cell(hits: list[bool]) -> dict[str, Any]:
    """Recall of one transform × strength cell, with its count and 95 % Wilson interval."""
    found = int(np.sum(hits))
    return {"recall": found / len(hits) if hits else float("nan"), "recall_ci": list(wilson_interval(found, len(hits))),
            "n": len(hits), "n_found": found}  # fmt: skip


def _key(strength: float) -> str:
    return str(int(strength)) if float(strength).is_integer() else str(strength)


def evaluate(bundle: Bundle, data_dirs: list[str | Path], out_dir: str | Path, settings: EvalSettings | None = None,
             threads: int = 2) -> dict[str, Any]:  # fmt: skip
    """Run the paper's benchmarks (unless ``settings.paper`` is false) and the retrieval protocol; return the report
    dictionary (also written by :mod:`lcmem.eval.report`)."""
    settings = settings or EvalSettings()
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = load_labelled(data_dirs)
    kept = [b for b in baselines(bundle.model) if b.name not in settings.without]
    detectors: list[Detector] = [LCMemDetector(bundle.model), *kept]
    torch.manual_seed(settings.seed)

    val_records, test_records = data.split("val"), data.split(settings.split)
    val_pixels = image_cache(val_records, settings.work_size, out / "cache", threads)
    val_pairs = reid_pairs(val_records, settings.seed)
    known = settings.known_thresholds or {}
    val_scores = _pair_scores([d for d in detectors if d.name not in known], val_pixels, val_pairs, settings.batch_size)
    val_labels = np.array([p.positive for p in val_pairs])
    val_datasets = np.array([p.dataset for p in val_pairs])
    thresholds = {**known, **{name: threshold_at_fpr(s[~val_labels], settings.fpr) for name, s in val_scores.items()}}

    test_pixels = image_cache(test_records, settings.work_size, out / "cache", threads)
    report: dict[str, Any] = {"model": _model_summary(bundle), "settings": settings.__dict__,
                              "detectors": {d.name: {"threshold": thresholds[d.name]} for d in detectors}}  # fmt: skip
    for name, scores in val_scores.items():
        report["detectors"][name]["val_reid_auc"] = _aucs(scores, val_labels, val_datasets)
    if settings.paper:
        _paper_protocols(report, detectors, test_records, test_pixels, thresholds, settings)
    retrieval_settings = RetrievalSettings(
        sources_per_dataset=settings.retrieval_sources, reid_per_dataset=settings.retrieval_reid,
        unseen_per_dataset=settings.retrieval_unseen, batch_size=settings.batch_size, seed=settings.seed,
    )  # fmt: skip
    ranked = retrieval_detectors(detectors, retrieval_settings)
    rescored = _pair_scores([d for d in ranked if d not in detectors], val_pixels, val_pairs, settings.batch_size)
    own = {name: threshold_at_fpr(s[~val_labels], settings.fpr) for name, s in rescored.items()}
    rankers: list[Ranker] = [FeatureRanker(d, settings.batch_size) for d in ranked]
    if settings.retrieval_verify:
        first = FeatureRanker(detectors[0], settings.batch_size)
        verify = VerifySettings()
        loader = file_loader(test_records, verify.features.max_side)
        rankers.append(VerifyRanker(first, verify, loader))
        own[VERIFY_NAME] = thresholds[detectors[0].name]
        report["detectors"][VERIFY_NAME] = {"threshold": own[VERIFY_NAME]}
        report["detectors"][VERIFY_NAME]["views"] = list(verify.views)
        if settings.retrieval_without_views:
            alone = FeatureRanker(detectors[0], settings.batch_size)
            rankers.append(VerifyRanker(alone, replace(verify, views=()), loader, NO_VIEWS_NAME))
            own[NO_VIEWS_NAME] = own[VERIFY_NAME]
            report["detectors"][NO_VIEWS_NAME] = {"threshold": own[NO_VIEWS_NAME], "views": []}
    retrieval = evaluate_retrieval(ranked, test_records, test_pixels, {**thresholds, **own}, retrieval_settings,
                                   rankers)  # fmt: skip
    for name, result in retrieval["detectors"].items():
        report["detectors"][name]["retrieval"] = result
    report["retrieval"] = retrieval["protocol"]
    report["n_images"] = {"val": len(val_records), settings.split: len(test_records)}
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def _paper_protocols(report: dict[str, Any], detectors: list[Detector], records: list[Record], pixels: np.ndarray,
                     thresholds: dict[str, float], settings: EvalSettings) -> None:  # fmt: skip
    """Re-identification pairs and copy detection of the official benchmarks, added to ``report``."""
    pairs = reid_pairs(records, settings.seed)
    test_scores = _pair_scores(detectors, pixels, pairs, settings.batch_size)
    labels = np.array([p.positive for p in pairs])
    datasets = np.array([p.dataset for p in pairs])
    copy = _copy_recall(detectors, records, copy_images(records, settings.copy_per_dataset, settings.seed),
                        thresholds, settings)  # fmt: skip
    for detector in detectors:
        scores = test_scores[detector.name]
        reid = {"pooled": _reid_metrics(scores, labels, settings.n_boot)}
        for dataset in sorted(set(datasets.tolist())):
            mask = datasets == dataset
            reid[dataset] = _reid_metrics(scores[mask], labels[mask], settings.n_boot)
        report["detectors"][detector.name].update({
            "reid": reid, "copy": copy[detector.name],
            "copy_mean_recall": float(np.mean([c["recall"] for t in copy[detector.name].values() for c in t.values()])),
        })  # fmt: skip
    report["curves"] = {name: {"scores": s.tolist(), "labels": labels.tolist()} for name, s in test_scores.items()}


def _aucs(scores: np.ndarray, labels: np.ndarray, datasets: np.ndarray) -> dict[str, float]:
    """ROC-AUC pooled and per dataset (no bootstrap): the val figures that choose between models."""
    aucs = {"pooled": roc_auc(scores, labels)}
    for dataset in sorted(set(datasets.tolist())):
        aucs[dataset] = roc_auc(scores[datasets == dataset], labels[datasets == dataset])
    return aucs


def _model_summary(bundle: Bundle) -> dict[str, Any]:
    config = bundle.config
    return {"name": config.name, "checksum": config.checksum, "backbone": config.backbone,
            "image_size": config.image_size, "path": str(bundle.path), "metrics": config.metrics}  # fmt: skip
