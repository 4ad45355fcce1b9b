"""The cost of geometric verification in a real ``lcmem scan``: per synthetic image at depth 20 and 50, cold and
warm caches, beside the same scan without verification and the deepest one without query views (candidates
picked by the image's own score only).

Images are real ones (``--data``: the shared data folder): the reals are train images of chest X-ray and
dermoscopy (long side 512 and 200 px), the synthetic images half edited copies of reals (rotation 5°, JPEG 75)
and half other val images. Generated noise (``bench/scan_scale.py``) has few keypoints and would flatter the
matcher. Each configuration is the real command in a fresh process with a fresh cache folder (cold), then again
(warm: embeddings, features and verdicts cached).

Usage::

    .venv/bin/python bench/verify_cost.py --data ../shared/data [--real 1000] [--synthetic 1000] [--depths 20 50]
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

from common import emit
from PIL import Image
from scan_scale import scan_once


def _files(data: Path, dataset: str, split: str) -> list[Path]:
    with open(data / dataset / "labels.csv", newline="", encoding="utf-8") as f:
        return [data / dataset / r["path"] for r in csv.DictReader(f) if r["split"] == split]


def write_inputs(data: Path, root: Path, n_real: int, n_synthetic: int) -> tuple[Path, Path]:
    """Link ``n_real`` train images into ``root/real``; write ``n_synthetic`` synthetic images (half edited
    copies of reals, half other val images) into ``root/synthetic``."""
    real, synthetic = root / "real", root / "synthetic"
    real.mkdir(parents=True)
    synthetic.mkdir(parents=True)
    pools = [_files(data, "cxr_kermany", "train"), _files(data, "ham10000", "train")]
    reals = [f for pair in zip(*pools, strict=False) for f in pair][:n_real]
    for number, path in enumerate(reals):
        (real / f"r{number:05d}{path.suffix}").symlink_to(path.resolve())
    others = [f for pair in zip(_files(data, "cxr_kermany", "val"), _files(data, "ham10000", "val"), strict=False)
              for f in pair] + _files(data, "ham10000", "test")  # fmt: skip
    for number in range(n_synthetic):
        if number % 2 == 0:
            with Image.open(reals[(number // 2) % len(reals)]) as image:
                image.convert("RGB").rotate(5, resample=Image.Resampling.BILINEAR).save(
                    synthetic / f"s{number:05d}.jpg", quality=75
                )
        else:
            (synthetic / f"s{number:05d}.jpg").symlink_to(others[(number // 2) % len(others)].resolve())
    return real, synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--real", type=int, default=1_000)
    parser.add_argument("--synthetic", type=int, default=1_000)
    parser.add_argument("--depths", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        real, synthetic = write_inputs(args.data, root, args.real, args.synthetic)
        configs = [("no-verify", ["--no-verify"])] + [(f"depth {d}", ["--verify-depth", str(d)]) for d in args.depths]
        deepest = str(max(args.depths))
        configs.append((f"depth {deepest} without query views", ["--verify-depth", deepest, "--no-query-views"]))
        for number, (name, extra) in enumerate(configs):
            out = root / f"m{number}.csv"
            command = ["scan", "--real", str(real), "--synthetic", str(synthetic), "--out", str(out), "--quiet",
                       "--cache-dir", str(root / f"cache{number}"), "--threads", str(args.threads), *extra]  # fmt: skip
            cold_s, cold_rss = scan_once(command)
            cold = json.loads(out.with_name(out.stem + ".run.json").read_text())["summary"]["seconds"]
            warm_s, _ = scan_once(command)
            warm = json.loads(out.with_name(out.stem + ".run.json").read_text())["summary"]["seconds"]
            per_image = 1000 * cold.get("verify", 0.0) / args.synthetic
            print(f"{name}: cold {cold_s:.1f} s (verify {cold.get('verify', 0.0):.1f} s, {per_image:.0f} ms per "
                  f"synthetic image), warm {warm_s:.1f} s (verify {warm.get('verify', 0.0):.1f} s), "
                  f"peak RSS {cold_rss:.0f} MiB")  # fmt: skip
            emit({"benchmark": "verify_cost", "config": name, "real": args.real, "synthetic": args.synthetic,
                  "threads": args.threads, "cold_s": cold_s, "warm_s": warm_s, "stage_seconds_cold": cold,
                  "stage_seconds_warm": warm, "verify_ms_per_synthetic_cold": per_image})  # fmt: skip


if __name__ == "__main__":
    main()
