"""Peak memory and time of a scan's decoding step on the worst inputs: bombs, honest giants, placeholders.

Each file is decoded as a scan decodes it (every item at the model's input size, then the model's resize) in a
fresh child process, which reports its decoding time and its peak RSS above what it held after its imports
(medians over ``--repeats`` children; 0 MB: no more than the imports took). Then ``lcmem scan`` over all of
them mixed with six good images (the issue's case), and over the six alone, report their peak RSS and time.
The issue's target: no file up to 10 MB above 1.5 GB or 30 s.

    PYTHONPATH=. python bench/bad_inputs.py [--repeats 3] [--size 128]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import emit, median, write_images
from tests.reliability import bombs

CHILD = """
import json, resource, sys, time
from lcmem.errors import ImageReadError
from lcmem.io import iter_frames
from lcmem.model.preprocess import to_model_input
size = int(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    items = [to_model_input(image, size) for image in iter_frames(sys.argv[2], target=size)]
    outcome = f"embedded {len(items)} item(s)"
except ImageReadError as exc:
    outcome = f"problem: {exc.reason}"
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "rss_mb": (peak - before) / 1024, "outcome": outcome}))
"""


def run_child(args: list[str]) -> tuple[float, float, str]:
    """Run a child; return its wall time (s), peak RSS (MB) and last output line."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    lines = output.strip().splitlines() or [f"exit status {status}"]
    return elapsed, usage.ru_maxrss / 1024, lines[-1]


def decode_cost(path: Path, size: int, repeats: int) -> dict:
    """Median decoding time and peak RSS above the child's own after its imports, over ``repeats`` children."""
    args = [sys.executable, "-c", CHILD, str(size), str(path)]
    runs = [json.loads(run_child(args)[2]) for _ in range(repeats)]
    return {
        "seconds": median([r["seconds"] for r in runs]),
        "rss_mb": median([r["rss_mb"] for r in runs]),
        "outcome": runs[-1]["outcome"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=128, help="the model's input size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases = bombs.write_bombs(root / "bad")
        cases.append(bombs.Bomb("zero-filled .dcm, 128 MB", bombs.zero_filled(root / "bad" / "z128.dcm"), "problem"))
        good = write_images(root / "good", 6, size=256)
        print(f"{'input':38s} {'MB on disk':>10s} {'time s':>7s} {'+RSS MB':>8s}  outcome")
        results = []
        for case in cases:
            cost = decode_cost(case.path, args.size, args.repeats)
            disk = case.path.stat().st_size / 2**20
            print(f"{case.kind:38s} {disk:10.2f} {cost['seconds']:7.2f} {cost['rss_mb']:8.0f}  {cost['outcome'][:80]}")
            results.append({"input": case.kind, **cost})
        mixed = root / "mixed"
        mixed.mkdir()
        for case in cases:
            os.link(case.path, mixed / case.path.name)
        for path in good:
            os.link(path, mixed / path.name)
        outputs = root / "out"
        outputs.mkdir()

        def scan(real: Path) -> tuple[float, float, str]:
            command = [sys.executable, "-m", "lcmem.cli.main", "scan", "--real", str(real)]
            command += ["--synthetic", str(root / "good"), "--out", str(outputs / f"{real.name}.csv")]
            return run_child([*command, "--no-cache", "--quiet", "--threads", "2"])

        good_runs = [scan(root / "good") for _ in range(args.repeats)]
        mixed_runs = [scan(mixed) for _ in range(args.repeats)]
        base_seconds, base_rss = median([r[0] for r in good_runs]), median([r[1] for r in good_runs])
        seconds, rss, outcome = (
            median([r[0] for r in mixed_runs]),
            median([r[1] for r in mixed_runs]),
            mixed_runs[-1][2],
        )
        print(f"lcmem scan of the 6 good images alone: {base_seconds:.1f} s, {base_rss:.0f} MB peak RSS")
        print(f"lcmem scan of them + all {len(cases)} inputs: {seconds:.1f} s, {rss:.0f} MB peak RSS ({outcome})")
        results.append({"input": "lcmem scan, good only", "seconds": base_seconds, "peak_rss_mb": base_rss})
        results.append({"input": "lcmem scan, all", "seconds": seconds, "peak_rss_mb": rss, "outcome": outcome})
        emit({"size": args.size, "repeats": args.repeats, "results": results})


if __name__ == "__main__":
    main()
