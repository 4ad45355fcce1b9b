"""In how many places a fit's inliers lie: true sources against unseen identities, on the VAL split.

For every dataset of the shared data's **val** split, the retrieval protocol's gallery and queries
(``lcmem.eval.retrieval``: a seeded fifth of the identities held out; 12 sources × 15 edits, up to 20
re-identification and up to 200 unseen-identity images per dataset) are ranked as ``lcmem scan`` ranks them: the
50 gallery images with the best score of the query or any of its query views. Each of those pairs is verified with
the scan's settings (files at their stored size, long side ≤ 512) but without the spread guard, and its inliers'
*cells* are counted: how many cells of the 8 × 8 grid over the synthetic image, and over the real image, hold an
inlier (the larger of the two; ``lcmem.verify.match.inlier_cells``).

Prints, per dataset and for each candidate ``min_cells``: the unseen-identity images flagged by verification
(≥ N inliers in at least that many cells) and the true sources still verified; then the fewest cells of a
verified true source and the most of an unseen image's fit. Nothing here reads the test split.

Usage::

    .venv/bin/python bench/verify_spread.py --data ../shared/data [--out pairs.jsonl] [--summarise pairs.jsonl]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from common import emit

from lcmem.eval.detectors import LCMemDetector
from lcmem.eval.retrieval import FeatureRanker, RetrievalSettings, build_queries, held_out_identities
from lcmem.eval.verified import best_view_scores, file_loader
from lcmem.model.bundle import load_bundle
from lcmem.model.default import default_bundle_path
from lcmem.train.data import load_labelled
from lcmem.train.pixels import image_cache
from lcmem.verify.features import Features, extract, no_features
from lcmem.verify.match import inlier_cells
from lcmem.verify.settings import VerifySettings
from lcmem.verify.verifier import verify_features

DATASETS = ("cxr_cohen", "cxr_kermany", "cxr_nih50", "faces_yaleb", "ham10000", "natural_caltech")
GRID = (0, 2, 3, 4, 5, 6, 8, 10, 12)


def pair_records(data: Path, datasets: list[str], threads: int) -> list[dict]:
    """Every verified candidate pair of the val queries, with its inliers and cells."""
    torch.set_num_threads(threads)
    records = load_labelled([data / name for name in DATASETS]).split("val")
    scan = VerifySettings()
    settings = replace(scan, match=replace(scan.match, min_cells=0))
    protocol = RetrievalSettings(sources_per_dataset=12, unseen_per_dataset=200, reid_per_dataset=20)
    held = held_out_identities(records, protocol.held_out_fraction, protocol.held_out_minimum, protocol.seed)
    rows = [row for row, record in enumerate(records) if record.identity not in held]
    load = file_loader(records, settings.features.max_side)
    ranker = FeatureRanker(LCMemDetector(load_bundle(default_bundle_path()).model), 64)
    gallery: dict[int, Features] = {}
    found = []
    with tempfile.TemporaryDirectory() as cache:
        pixels = image_cache(records, 256, Path(cache), threads)
        ranker.prepare(np.asarray(pixels[rows]), rows)
        for dataset in datasets:
            queries = build_queries(dataset, records, pixels, rows, held, protocol)
            best = best_view_scores(ranker, queries.pixels, settings.views, ranker.scores(queries))
            for q, (origin, kind) in enumerate(zip(queries.origins, queries.kinds, strict=True)):
                if queries.hidden[q] >= 0:
                    best[q, queries.hidden[q]] = -np.inf
                image = load(origin, kind)
                query = extract(image, settings.features) if image is not None else no_features()
                flipped: list[Features] = []

                def mirrored(image: np.ndarray | None = image, memo: list[Features] = flipped) -> Features:
                    if not memo:
                        memo.append(extract(image, settings.features, mirrored=True) if image is not None
                                    else no_features(mirrored=True))  # fmt: skip
                    return memo[0]

                for g in np.argsort(-best[q], kind="stable")[: settings.depth]:
                    if int(g) not in gallery:
                        real = load(rows[int(g)], "gallery")
                        gallery[int(g)] = extract(real, settings.features) if real is not None else no_features()
                    reference = gallery[int(g)]
                    verdict = verify_features(settings, query, mirrored, reference, points=True)
                    cells = 0
                    if verdict.transform is not None:
                        side = mirrored() if verdict.transform.mirrored else query
                        cells = max(
                            inlier_cells(verdict.synthetic_points / side.to_file, side.size),
                            inlier_cells(verdict.real_points / reference.to_file, reference.size),
                        )
                    found.append({"dataset": dataset, "query": q, "kind": kind, "true": int(g) in queries.sources[q],
                                  "inliers": verdict.inliers, "cells": cells})  # fmt: skip
            print(f"{dataset}: {len(queries.kinds)} queries verified", flush=True)
    return found


def summarise(pairs: list[dict], min_inliers: int) -> None:
    """The table of the module docstring."""
    for dataset in sorted({p["dataset"] for p in pairs}):
        mine = [p for p in pairs if p["dataset"] == dataset]
        sources = [p for p in mine if p["true"] and p["kind"] not in ("reid", "unseen")]
        unseen = [p for p in mine if p["kind"] == "unseen"]
        n_unseen = len({p["query"] for p in unseen})
        cells = []
        for least in GRID:
            kept = [p for p in unseen if p["inliers"] >= min_inliers and p["cells"] >= least]
            verified = float(np.mean([p["inliers"] >= min_inliers and p["cells"] >= least for p in sources]))
            flagged = len({p["query"] for p in kept})
            cells.append(f"{least}: {flagged}/{n_unseen} unseen, sources {verified:.3f}")
            emit({"benchmark": "verify_spread", "dataset": dataset, "min_cells": least,
                  "unseen_flagged": flagged, "n_unseen": n_unseen, "sources_verified": verified})  # fmt: skip
        true_cells = [p["cells"] for p in sources if p["inliers"] >= min_inliers]
        false_cells = [p["cells"] for p in unseen if p["inliers"] >= min_inliers]
        near_cells = [p["cells"] for p in unseen if min_inliers // 2 < p["inliers"] < min_inliers]
        print(f"{dataset}: " + " | ".join(cells))
        print(
            f"  cells of verified true sources: min {min(true_cells, default='–')}; of unseen images' fits with "
            f"≥ {min_inliers} inliers: max {max(false_cells, default='–')}; with {min_inliers // 2 + 1}–"
            f"{min_inliers - 1}: max {max(near_cells, default='–')}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="the shared data folder")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="write every pair as JSON lines")
    parser.add_argument("--summarise", type=Path, default=None, help="only summarise pairs written by --out")
    args = parser.parse_args()
    if args.summarise:
        pairs = [json.loads(line) for line in args.summarise.read_text().splitlines()]
    elif args.data:
        pairs = pair_records(args.data, args.datasets, args.threads)
    else:
        parser.error("give --data (or --summarise)")
    if args.out:
        args.out.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    summarise(pairs, VerifySettings.min_inliers)


if __name__ == "__main__":
    main()
