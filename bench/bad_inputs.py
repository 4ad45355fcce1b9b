"""Peak memory and time of a scan's decoding step on the worst inputs: bombs, honest giants, placeholders.

Each file is decoded as a scan decodes it (every item at the model's input size, then the model's resize) in a
fresh child process, which reports its decoding time; its peak anonymous RSS (sampled every 5 ms) above what it
held after its imports is the memory cost (medians over ``--repeats`` children). Then ``lcmem scan`` over all of
them mixed with six good images (the issue's case), and over the six alone, report their peak anonymous RSS and time.
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
import threading
import time
from pathlib import Path

from bench.common import emit, median, write_images
from tests.reliability import bombs

CHILD = """
import json, sys, time
from lcmem.errors import ImageReadError
from lcmem.io import iter_frames
from lcmem.model.preprocess import to_model_input
def anon_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:")) / 1024
size = int(sys.argv[1])
before = anon_mb()
started = time.perf_counter()
try:
    items = [to_model_input(image, size) for image in iter_frames(sys.argv[2], target=size)]
    outcome = f"embedded {len(items)} item(s)"
except ImageReadError as exc:
    outcome = f"problem: {exc.reason}"
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "before_mb": before, "outcome": outcome}))
"""
SAMPLE_SECONDS = 0.005


def anon_mb(pid: int) -> float:
    """The anonymous resident memory of a process in MB (0 once it has ended)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:")) / 1024
    except (OSError, StopIteration):
        return 0.0


def run_child(args: list[str]) -> tuple[float, float, str]:
    """Run a child; return its wall time (s), peak anonymous RSS (MB, sampled every 5 ms) and last output line.

    Anonymous memory, not ``ru_maxrss``: on a busy machine the kernel drops the child's mapped library pages,
    which hides allocations from the high-water mark; anonymous pages cannot be dropped (no swap here).
    """
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = [0.0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], anon_mb(process.pid))
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample)
    sampler.start()
    output, _ = process.communicate()
    sampler.join()
    elapsed = time.perf_counter() - started
    lines = output.strip().splitlines() or [f"exit status {process.returncode}"]
    return elapsed, peak[0], lines[-1]


def decode_cost(path: Path, size: int, repeats: int) -> dict:
    """Median decoding time and peak anonymous RSS above the child's after its imports, over ``repeats`` runs."""
    args = [sys.executable, "-c", CHILD, str(size), str(path)]
    runs = []
    for _ in range(repeats):
        _, peak, line = run_child(args)
        record = json.loads(line)
        runs.append({**record, "rss_mb": max(0.0, peak - record["before_mb"])})
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
        print(f"lcmem scan of the 6 good images alone: {base_seconds:.1f} s, {base_rss:.0f} MB peak anonymous RSS")
        print(f"lcmem scan of them + all {len(cases)} inputs: {seconds:.1f} s, {rss:.0f} MB peak anonymous RSS")
        print(f"  {outcome}")
        results.append({"input": "lcmem scan, good only", "seconds": base_seconds, "peak_rss_mb": base_rss})
        results.append({"input": "lcmem scan, all", "seconds": seconds, "peak_rss_mb": rss, "outcome": outcome})
        emit({"size": args.size, "repeats": args.repeats, "results": results})


if __name__ == "__main__":
    main()
