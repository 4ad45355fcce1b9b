"""Geometric verification on the VAL split: rank-1 of the true source (LCMem alone, LCMem + verification),
recall under the flag and the unseen-identity false-positive rate, per dataset and per edit.

Per dataset, a seeded fifth of the val identities is held out: their images are the negatives (unseen
identities). The other val images form the gallery; ``--sources`` of them are edited (rotation 3/5/10°, crop
95/85 %, brightness and contrast ×0.8/×1.25, blur σ 1, flip, ×0.5 downscale, JPEG 50/75, combined) into
queries. One scan without verification gives each query its ``--depth`` LCMem candidates and the gallery's
real→real null (another identity's best score); every candidate pair is then verified, so depth, N and the
ranking rule are read off one run. The flag in force is ``score ≥ max(model default, null 99.9 %)`` or
``inliers ≥ N``. Nothing here reads the test split.

Usage::

    .venv/bin/python bench/verify_val.py --data ../shared/data [--datasets cxr_kermany faces_yaleb ham10000]
        [--sources 25] [--max-side 512] [--features 500] [--work DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lcmem.embed.cache import EmbeddingCache
from lcmem.io import load_image
from lcmem.model.bundle import load_bundle
from lcmem.model.default import default_bundle_path
from lcmem.scan.null import NullScore
from lcmem.scan.pipeline import run_scan
from lcmem.scan.types import Candidate, ScanSettings
from lcmem.train.augment import adjust_brightness, adjust_contrast, gaussian_blur, jpeg, rotate
from lcmem.verify.cache import FeatureCache
from lcmem.verify.settings import FeatureSettings, VerifySettings
from lcmem.verify.verifier import Verifier


def center_crop(image: torch.Tensor, keep: float) -> torch.Tensor:
    """The central ``keep`` of each side, resized back to the original size."""
    _, h, w = image.shape
    ch, cw = max(1, round(h * keep)), max(1, round(w * keep))
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = image[:, top : top + ch, left : left + cw].unsqueeze(0)
    return torch.nn.functional.interpolate(crop, size=(h, w), mode="bilinear", antialias=True)[0]


def downscale(image: torch.Tensor) -> torch.Tensor:
    """Half the size on each side."""
    _, h, w = image.shape
    size = (max(1, h // 2), max(1, w // 2))
    return torch.nn.functional.interpolate(image.unsqueeze(0), size=size, mode="bilinear", antialias=True)[0]


EDITS = {
    "rotation_3": lambda x: rotate(x, 3.0),
    "rotation_5": lambda x: rotate(x, 5.0),
    "rotation_10": lambda x: rotate(x, 10.0),
    "crop_95": lambda x: center_crop(x, 0.95),
    "crop_85": lambda x: center_crop(x, 0.85),
    "brightness_0.8": lambda x: adjust_brightness(x, 0.8),
    "brightness_1.25": lambda x: adjust_brightness(x, 1.25),
    "contrast_0.8": lambda x: adjust_contrast(x, 0.8),
    "contrast_1.25": lambda x: adjust_contrast(x, 1.25),
    "blur_1": lambda x: gaussian_blur(x, 1.0),
    "hflip": lambda x: x.flip(-1),
    "downscale_0.5": downscale,
    "jpeg_50": lambda x: jpeg(x, 50),
    "jpeg_75": lambda x: jpeg(x, 75),
    "combined": lambda x: jpeg(adjust_brightness(center_crop(rotate(x, 3.0), 0.95), 1.1), 75),
}


def read_val(folder: Path) -> list[tuple[Path, str]]:
    with open(folder / "labels.csv", newline="", encoding="utf-8") as f:
        return [(folder / r["path"], r["identity"]) for r in csv.DictReader(f) if r["split"] == "val"]


def as_tensor(path: Path) -> torch.Tensor:
    pixels = load_image(path).pixels
    image = torch.from_numpy(pixels)
    return image.unsqueeze(0).expand(3, -1, -1).contiguous() if image.ndim == 2 else image.permute(2, 0, 1)


def save(image: torch.Tensor, path: Path) -> None:
    array = (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    Image.fromarray(array).save(path)


def prepare(dataset: Path, work: Path, n_sources: int, seed: int) -> tuple[list[Path], dict[str, tuple], dict]:
    """Gallery files, queries ``{name: (kind, source path or None)}`` (written under ``work``), identities."""
    rows = read_val(dataset)
    identity = {str(p): i for p, i in rows}
    ids = sorted({i for _, i in rows})
    rng = random.Random(f"{seed}:{dataset.name}")
    held = set(rng.sample(ids, max(1, len(ids) // 5)))
    gallery = [p for p, i in rows if i not in held]
    negatives = [p for p, i in rows if i in held]
    if len(ids) < 20:  # few identities (faces): hold out whole identities, but keep the gallery large
        held = set(rng.sample(ids, 1))
        gallery = [p for p, i in rows if i not in held]
        negatives = [p for p, i in rows if i in held]
    queries_dir = work / f"queries-{n_sources}-{seed}"
    queries_dir.mkdir(parents=True, exist_ok=True)
    queries: dict[str, tuple[str, str | None]] = {}
    for n, source in enumerate(rng.sample(gallery, min(n_sources, len(gallery)))):
        image = as_tensor(source)
        for edit, fn in EDITS.items():
            name = f"q{n:03d}_{edit}.png"
            if not (queries_dir / name).exists():
                save(fn(image), queries_dir / name)
            queries[str(queries_dir / name)] = (edit, str(source))
    for n, negative in enumerate(rng.sample(negatives, min(len(negatives), 4 * n_sources))):
        name = f"neg{n:03d}.png"
        if not (queries_dir / name).exists():
            save(as_tensor(negative), queries_dir / name)
        queries[str(queries_dir / name)] = ("unseen", None)
    return gallery, queries, identity


def lcmem_candidates(gallery, queries_dir, bundle, cache_dir, depth, identity):
    found: dict[str, list[Candidate]] = defaultdict(list)
    nulls: list[NullScore] = []
    with EmbeddingCache(cache_dir, bundle.checksum, bundle.config.embedding_dim) as cache:
        run_scan(
            gallery,
            [queries_dir],
            bundle,
            lambda chunk: [found[c.synthetic.path].append(c) for c in chunk],
            settings=ScanSettings(top_k=depth, verify=None),
            cache=cache,
            on_null=nulls.extend,
            real_identity=lambda ref: identity.get(ref.path),
        )
    return found, np.asarray([n.score for n in nulls])


def verify_query(verifier, candidates, dataset, query, edit, source, threshold) -> list[dict]:
    """One query's candidates verified, as records."""
    verdicts = verifier.verify_pairs((c.synthetic, c.real) for c in candidates)
    return [
        {
            "dataset": dataset,
            "query": query,
            "edit": edit,
            "true": c.real.path == source,
            "lcmem_rank": c.rank,
            "score": c.score,
            "inliers": verdicts[(c.synthetic.sha256, c.synthetic.frame, c.real.sha256, c.real.frame)].inliers,
            "threshold": threshold,
        }
        for c in candidates
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--datasets", nargs="+", default=["cxr_kermany", "faces_yaleb", "ham10000"])
    parser.add_argument("--sources", type=int, default=25)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--features", type=int, default=500)
    parser.add_argument("--contrast", type=float, default=0.01)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--work", type=Path, default=Path("/tmp/lcmem-verify-val"))
    parser.add_argument("--out", type=Path, default=None, help="JSON lines of every pair (for choosing N)")
    parser.add_argument("--summarise", type=Path, nargs="*", default=None, help="only summarise these JSON lines")
    args = parser.parse_args()
    if args.summarise:
        summarise([json.loads(line) for path in args.summarise for line in path.read_text().splitlines()])
        return
    bundle = load_bundle(default_bundle_path())
    feature_settings = FeatureSettings(args.max_side, args.features, args.contrast)
    settings = VerifySettings(depth=args.depth, features=feature_settings, threads=args.threads)
    records = []
    for name in args.datasets:
        work = args.work / name
        gallery, queries, identity = prepare(args.data / name, work, args.sources, args.seed)
        queries_dir = work / f"queries-{args.sources}-{args.seed}"
        found, null = lcmem_candidates(gallery, queries_dir, bundle, args.work / "cache", args.depth, identity)
        threshold = max(bundle.config.default_threshold or 0.0, float(np.quantile(null, 0.999)))
        clock = time.perf_counter()
        with FeatureCache.for_settings(args.work / "cache", settings) as features:
            verifier = Verifier(settings, features)
            jobs = [(verifier, found[path], name, path, *queries[path], threshold) for path in sorted(queries)]
            with ThreadPoolExecutor(args.threads) as pool:
                rows = [r for chunk in pool.map(lambda job: verify_query(*job), jobs) for r in chunk]
        seconds = time.perf_counter() - clock
        print(
            f"{name}: gallery {len(gallery)}, queries {len(queries)}, threshold {threshold:.3f}, "
            f"verification {seconds:.0f} s ({1000 * seconds / max(1, len(rows)):.1f} ms/pair incl. features)"
        )
        records.extend(rows)
    if args.out:
        with open(args.out, "w") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
    summarise(records)


def ranked(rows: list[dict], depth: int, n: int | None) -> list[dict]:
    """One query's candidates within ``depth`` in the rule's order (``n`` None: LCMem score alone)."""
    inside = [r for r in rows if r["lcmem_rank"] <= depth]
    if n is None:
        return sorted(inside, key=lambda r: -r["score"])
    return sorted(inside, key=lambda r: (r["inliers"] < n, -r["inliers"] if r["inliers"] >= n else 0, -r["score"]))


def summarise(records: list[dict], ns: tuple[int, ...] = (8, 12, 16, 20, 25, 30)) -> None:
    by_query: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        by_query[(r["dataset"], r["query"])].append(r)
    for dataset in sorted({d for d, _ in by_query}):
        queries = {q: rows for (d, q), rows in by_query.items() if d == dataset}
        edited = {q: rows for q, rows in queries.items() if rows and rows[0]["edit"] != "unseen"}
        unseen = {q: rows for q, rows in queries.items() if rows and rows[0]["edit"] == "unseen"}
        threshold = next(iter(queries.values()))[0]["threshold"]
        print(
            f"\n== {dataset}: {len(edited)} edited copies, {len(unseen)} unseen-identity images, "
            f"threshold in force {threshold:.3f}"
        )
        for k in (20, 50):
            recall = np.mean([any(r["true"] and r["lcmem_rank"] <= k for r in rows) for rows in edited.values()])
            print(f"recall@{k} (LCMem search) {recall:.3f}")
        true_inliers = [r["inliers"] for rows in edited.values() for r in rows if r["true"]]
        best_unseen = [max((r["inliers"] for r in rows), default=0) for rows in unseen.values()]
        print(
            f"inliers of true sources: 5th pct {np.percentile(true_inliers, 5):.0f}, median "
            f"{np.median(true_inliers):.0f}; best inliers of unseen images: max {max(best_unseen, default=0)}, "
            f"99th pct {np.percentile(best_unseen, 99) if best_unseen else 0:.0f}"
        )
        rank1 = {
            "LCMem@20": {q: ranked(rows, 20, None)[0]["true"] for q, rows in edited.items()},
            **{
                f"verify@{d} N={n}": {q: ranked(rows, d, n)[0]["true"] for q, rows in edited.items()}
                for d in (20, 50)
                for n in (8, 12)
            },
        }
        print("rank-1: " + ", ".join(f"{k} {np.mean(list(v.values())):.3f}" for k, v in rank1.items()))
        score_flag_fpr = np.mean([max(r["score"] for r in rows) >= threshold for rows in unseen.values()])
        score_flag_recall = np.mean(
            [any(r["true"] and r["score"] >= threshold for r in rows) for rows in edited.values()]
        )
        print(f"flag score ≥ threshold: recall {score_flag_recall:.3f}, unseen FPR {score_flag_fpr:.3f}")
        for n in ns:
            recall = np.mean(
                [
                    any(r["true"] and (r["score"] >= threshold or r["inliers"] >= n) for r in rows)
                    for rows in edited.values()
                ]
            )
            fpr = np.mean([any(r["score"] >= threshold or r["inliers"] >= n for r in rows) for rows in unseen.values()])
            print(f"flag score ≥ threshold or inliers ≥ {n}: recall {recall:.3f}, unseen FPR {fpr:.3f}")
        per_edit = defaultdict(list)
        for q, rows in edited.items():
            per_edit[rows[0]["edit"]].append(q)
        print("by edit (rank-1 LCMem@20 → verify@50 N=8):")
        for edit in EDITS:
            qs = per_edit.get(edit, [])
            if qs:
                a = np.mean([rank1["LCMem@20"][q] for q in qs])
                b = np.mean([rank1["verify@50 N=8"][q] for q in qs])
                print(f"  {edit:16s} {a:.2f} → {b:.2f}  (n={len(qs)})")


if __name__ == "__main__":
    main()
