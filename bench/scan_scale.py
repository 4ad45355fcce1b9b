"""``lcmem scan`` end to end on generated folders: cold cache, warm cache, and the peak memory of each run.

Each run is the real command in a fresh process (``lcmem scan --real R --synthetic S --out …``): interpreter
start, imports, model load, hashing, decoding, encoding, FAISS, re-scoring and CSV writing all count. The
first run has an empty embedding cache (cold); the second scans the same images again (warm). Peak RSS is the
process's own high-water mark (``ru_maxrss``), read as it exits.

Usage::

    .venv/bin/python bench/scan_scale.py [--real 1000] [--synthetic 1000] [--size 256] [--model BUNDLE]
    .venv/bin/python bench/scan_scale.py --real 50000 --synthetic 50000 --size 64     # the 10^5 memory run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import emit, write_images

RUN = """
import resource, sys
from lcmem.cli.main import main
code = main(sys.argv[1:])
print("PEAK_RSS_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def scan_once(args: list[str]) -> tuple[float, float]:
    """Run ``lcmem`` with ``args`` in a new process; return its wall seconds and peak RSS in MiB."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"lcmem scan failed ({done.returncode}):\n{done.stderr[-2000:]}")
    peak = next(line for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KIB"))
    return seconds, int(peak.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=int, default=1_000)
    parser.add_argument("--synthetic", type=int, default=1_000)
    parser.add_argument("--size", type=int, default=256, help="side of the generated PNGs in pixels")
    parser.add_argument("--model", type=Path, default=None, help="model bundle (default: the bundled one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="folder for images and cache (default: temporary)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.work or Path(scratch)
        start = time.perf_counter()
        real = write_images(root / "real", args.real, args.size, seed=1)[0].parent
        synthetic = write_images(root / "synthetic", args.synthetic, args.size, seed=2, prefix="syn")[0].parent
        print(f"wrote {args.real} + {args.synthetic} images of {args.size}² in {time.perf_counter() - start:.0f} s")
        command = ["scan", "--real", str(real), "--synthetic", str(synthetic), "--out", str(root / "matches.csv"),
                   "--cache-dir", str(root / "cache"), "--threads", str(args.threads), "--quiet"]  # fmt: skip
        if args.model is not None:
            command += ["--model", str(args.model)]
        cold_s, cold_rss = scan_once(command)
        record = json.loads((root / "matches.run.json").read_text())
        warm_s, warm_rss = scan_once(command)
        with (root / "matches.csv").open() as handle:
            rows = sum(1 for _ in handle) - 1
    images = args.real + args.synthetic
    print(f"cold cache: {cold_s:.1f} s ({images / cold_s:.0f} images/s end to end), peak RSS {cold_rss:.0f} MiB")
    print(f"warm cache: {warm_s:.1f} s, peak RSS {warm_rss:.0f} MiB; {rows:,} candidate rows written")
    emit({
        "benchmark": "scan_scale", "real": args.real, "synthetic": args.synthetic, "size": args.size,
        "threads": args.threads, "cold_s": cold_s, "warm_s": warm_s, "cold_peak_rss_mib": cold_rss,
        "warm_peak_rss_mib": warm_rss, "rows": rows, "stage_seconds_cold": record["summary"]["seconds"],
        "model": record["summary"]["model_name"],
    })  # fmt: skip


if __name__ == "__main__":
    main()
