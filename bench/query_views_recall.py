"""Where LCMem's search ranks the source of each edited val image, alone and with each set of query views.

For every dataset of the shared data's **val** split, the retrieval protocol's gallery and edited queries
(``lcmem.eval.retrieval``: a seeded fifth of the identities held out, 12 sources × 15 edits per dataset) are
scored by the model; a real image's rank for verification is the best score the query or any of its views
(``lcmem.model.views``) gives it, as ``lcmem scan`` picks its candidates. Prints recall@50 (the source among the
50 that the scan verifies) per dataset and view set, and the worst edits' ranks.

Usage::

    .venv/bin/python bench/query_views_recall.py --data ../shared/data [--model BUNDLE] [--depth 50]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from common import emit

from lcmem.eval.detectors import LCMemDetector
from lcmem.eval.retrieval import RetrievalSettings, build_queries, held_out_identities
from lcmem.model.bundle import load_bundle
from lcmem.model.default import default_bundle_path
from lcmem.model.views import DEFAULT_VIEWS, apply_views
from lcmem.train.data import load_labelled
from lcmem.train.pixels import image_cache, to_float

DATASETS = ("cxr_cohen", "cxr_kermany", "cxr_nih50", "faces_yaleb", "ham10000", "natural_caltech")
VIEW_SETS = {"alone": (), "mirror": ("mirror",), "rotation ±8°": ("rotate+8", "rotate-8"),
             "zoom-out 88 %": ("zoom-out-88",), "all four": DEFAULT_VIEWS}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--model", type=Path, default=None, help="bundle (default: the bundled model)")
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    records = load_labelled([args.data / name for name in DATASETS]).split("val")
    detector = LCMemDetector(load_bundle(args.model or default_bundle_path()).model)
    settings = RetrievalSettings(sources_per_dataset=12, unseen_per_dataset=80)
    held = held_out_identities(records, settings.held_out_fraction, settings.held_out_minimum, settings.seed)
    rows = [row for row, record in enumerate(records) if record.identity not in held]
    with tempfile.TemporaryDirectory() as cache:
        pixels = image_cache(records, 256, Path(cache), args.threads)

        def embed(images: torch.Tensor) -> torch.Tensor:
            return torch.cat([detector.features(chunk) for chunk in images.split(64)])

        def scores(features: torch.Tensor) -> np.ndarray:
            with torch.inference_mode():
                return torch.cat([detector.model.score(c[:, None], gallery[None]) for c in features.split(16)]).numpy()

        gallery = embed(torch.from_numpy(to_float(np.asarray(pixels[rows]))))
        for dataset in DATASETS:
            queries = build_queries(dataset, records, pixels, rows, held, settings)
            edited = [q for q, kind in enumerate(queries.kinds) if kind not in ("reid", "unseen")]
            images = torch.from_numpy(to_float(queries.pixels[edited]))
            own = scores(embed(images))
            viewed = apply_views(images, DEFAULT_VIEWS)
            by_view = {name: scores(embed(viewed[:, v])) for v, name in enumerate(DEFAULT_VIEWS)}
            source = np.array([queries.sources[q][0] for q in edited])
            kinds = np.array([queries.kinds[q] for q in edited])
            line = [f"{dataset} ({len(edited)} edited):"]
            for label, names in VIEW_SETS.items():
                best = np.maximum.reduce([own, *(by_view[n] for n in names)])
                rank = (best > best[np.arange(len(source)), source][:, None]).sum(1) + 1
                recall = float(np.mean(rank <= args.depth))
                worst = {e: float(np.mean(rank[kinds == e] <= args.depth)) for e in ("crop_85", "rotation_10")}
                line.append(f"{label} {recall:.3f}")
                emit({"benchmark": "query_views_recall", "dataset": dataset, "views": label, "depth": args.depth,
                      "recall": recall, "n": len(edited), **{f"recall_{e}": r for e, r in worst.items()}})  # fmt: skip
            print(" | ".join(line))


if __name__ == "__main__":
    main()
