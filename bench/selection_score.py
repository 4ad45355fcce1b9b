"""A bundle's val selection figures, as a stage-2 run with ``--select retrieval`` scores each epoch.

Prints the mean val re-ID AUC per dataset, the copy recall and the in-domain rank-1 of the retrieval edits
(:mod:`lcmem.train.selection`), and the score that chooses the best epoch. The model card compares the
hard-negative runs' epochs with the shipped model's figures from this script.

Usage::

    .venv/bin/python bench/selection_score.py --data ../shared/data [--model BUNDLE]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from common import emit

from lcmem.model.bundle import load_bundle
from lcmem.model.default import default_bundle_path
from lcmem.train.data import load_labelled
from lcmem.train.pixels import image_cache
from lcmem.train.run import encode_latents
from lcmem.train.selection import DetectionSelector

DATASETS = ("cxr_cohen", "cxr_kermany", "cxr_nih50", "faces_yaleb", "ham10000", "natural_caltech")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--model", type=Path, default=None, help="bundle (default: the bundled model)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_bundle(args.model or default_bundle_path()).model.eval()
    records = load_labelled([args.data / name for name in DATASETS]).split("val")
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch)
        pixels = image_cache(records, model.config.image_size, cache, args.threads)
        latents = encode_latents(model, pixels, cache, "val")
        figures = DetectionSelector.build(model, records, latents, pixels=pixels)(model.network)
    for key, value in sorted(figures.items()):
        print(f"{key}: {value:.4f}")
    emit({"benchmark": "selection_score", "model": str(args.model or "default"), **figures})


if __name__ == "__main__":
    main()
