"""App responsiveness, offscreen: launch to a usable window, next pair in the compare view, scrolling a
100k-row match table, and the longest event-loop stall while a scan runs.

It builds (in a temporary folder, with the default model) a project of 1,000 real × 1,000 synthetic
generated 256² images scanned with top-k 100, i.e. 100,000 candidate rows, then:

1. **launch**: starts ``python -m app.main``'s work in a fresh process (interpreter start, imports, window,
   project opened, review table filled) until the event loop runs; median of ``--repeats``;
2. **next pair**: presses *next* (``→``) and waits until both panes show the new pair's pixels; "warm" is the
   reviewer's case (the previous pair was on screen long enough for the prefetch to finish), "cold" presses
   again at once;
3. **scroll**: pages through the table (page-down steps and jumps to random rows), each step painted;
4. **scan stall**: a 10 ms timer ticks in the GUI thread while the app scans 300 + 300 new images on its
   worker thread; the longest gap between ticks is the worst stall the reviewer would feel.

Usage::

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/app_latency.py [--model BUNDLE] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from common import emit, median, model_or_default, write_images

from lcmem.embed.cache import EmbeddingCache
from lcmem.scan.types import ScanSettings
from lcmem.store.ingest import scan_project
from lcmem.store.project import Project

LAUNCH = """
import sys, time
start = time.perf_counter()
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.main_window import MainWindow
from app.settings import AppSettings
app = QApplication([sys.argv[0]])
window = MainWindow(AppSettings(sys.argv[2]))
window.open_project(sys.argv[1])
window.show()
def ready():
    rows = window.review.model.rowCount()
    print(f"ready {time.perf_counter() - start:.4f} {rows}", flush=True)
    app.quit()
QTimer.singleShot(0, ready)
app.exec()
"""


def build_project(root: Path, bundle_path: Path | None, n: int, top_k: int) -> Path:
    """A project over ``n`` real and ``n`` synthetic generated images, scanned with ``top_k``."""
    bundle = model_or_default(bundle_path)
    real = write_images(root / "real", n, seed=1)[0].parent
    synthetic = write_images(root / "synthetic", n, seed=2)[0].parent
    path = root / "bench.lcmem"
    with (
        Project.create(path, [real], [synthetic]) as project,
        EmbeddingCache(root / "cache", bundle.checksum, bundle.config.embedding_dim) as cache,
    ):
        scan_project(project, bundle, ScanSettings(top_k=top_k), cache=cache)
    return path


def launch_seconds(project: Path, settings: Path, repeats: int) -> tuple[list[float], list[float], int]:
    """Wall time from spawning the process to a running event loop, and the child's own figure."""
    walls, inner, rows = [], [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", LAUNCH, str(project), str(settings)],
            capture_output=True, text=True, check=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )  # fmt: skip
        walls.append(time.perf_counter() - start)
        line = next(line for line in out.stdout.splitlines() if line.startswith("ready"))
        inner.append(float(line.split()[1]))
        rows = int(line.split()[2])
    return walls, inner, rows


def wait_for(condition, timeout_s: float = 10.0) -> float:
    """Process events until ``condition()``; return the seconds it took."""
    from PySide6.QtWidgets import QApplication

    start = time.perf_counter()
    while not condition():
        QApplication.processEvents()
        if time.perf_counter() - start > timeout_s:
            raise TimeoutError("the app did not get there in time")
        time.sleep(0.0005)
    return time.perf_counter() - start


def next_pair_seconds(window, steps: int, warm: bool) -> list[float]:
    """Seconds from pressing *next* until both panes show the new pair."""
    from app.compare_view import REAL, SLOTS
    from app.keys import Action

    review, compare = window.review, window.review.compare

    def shown() -> bool:
        pair = compare.pair
        return pair is not None and all(
            compare.shown[slot] is not None
            and compare.shown[slot].key.path == (pair.real_path if slot == REAL else pair.synthetic_path)
            for slot in SLOTS
        )

    times = []
    for _ in range(steps):
        if warm:
            wait_for(lambda: window.loader.idle)
        start = time.perf_counter()
        review.trigger(Action.NEXT)
        wait_for(shown)
        times.append(time.perf_counter() - start)
    return times


def scroll_seconds(window, steps: int, seed: int = 0) -> tuple[list[float], list[float]]:
    """Seconds per painted page-down step and per jump to a random row of the table."""
    from PySide6.QtWidgets import QApplication

    table = window.review.table
    bar = table.verticalScrollBar()
    rng = np.random.default_rng(seed)
    pages, jumps = [], []
    for _ in range(steps):
        start = time.perf_counter()
        bar.setValue(bar.value() + bar.pageStep())
        table.viewport().repaint()
        QApplication.processEvents()
        pages.append(time.perf_counter() - start)
    for _ in range(steps):
        start = time.perf_counter()
        bar.setValue(int(rng.integers(0, bar.maximum() + 1)))
        table.viewport().repaint()
        QApplication.processEvents()
        jumps.append(time.perf_counter() - start)
    return pages, jumps


def scan_stall_seconds(window, root: Path, model: Path | None) -> tuple[float, float]:
    """Longest gap between 10 ms GUI-timer ticks while the app scans a new project; and the scan's time."""
    from PySide6.QtCore import QTimer

    real = write_images(root / "stall-real", 300, seed=3)[0].parent
    synthetic = write_images(root / "stall-synthetic", 300, seed=4)[0].parent
    window.create_project(root / "stall.lcmem", [real], [synthetic])
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    start = time.perf_counter()
    dialog = window.start_scan(model_path=model, top_k=20, auto_start=True)
    wait_for(lambda: not dialog.running, timeout_s=600)
    seconds = time.perf_counter() - start
    timer.stop()
    gaps = np.diff(ticks)
    return float(gaps.max()), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model bundle (default: the bundled one)")
    parser.add_argument("--images", type=int, default=1_000, help="real (and synthetic) images of the project")
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from lcmem.model.default import default_bundle_path

    model = args.model or default_bundle_path()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.environ["LCMEM_CACHE_DIR"] = str(root / "cache")
        start = time.perf_counter()
        project = build_project(root, model, args.images, args.top_k)
        print(f"project of {args.images} + {args.images} images scanned in {time.perf_counter() - start:.0f} s")

        walls, inner, rows = launch_seconds(project, root / "launch.ini", args.repeats)
        print(
            f"launch to a usable window ({rows:,} rows): median {median(walls):.2f} s wall "
            f"({median(inner):.2f} s after the interpreter started), runs {[round(w, 2) for w in walls]}"
        )

        from PySide6.QtWidgets import QApplication

        from app.main_window import MainWindow
        from app.settings import AppSettings

        app = QApplication.instance() or QApplication([sys.argv[0]])
        window = MainWindow(AppSettings(root / "bench.ini"))
        window.resize(1440, 900)
        window.open_project(project)
        window.show()
        window.wait_until_idle()
        warm = next_pair_seconds(window, 30, warm=True)
        cold = next_pair_seconds(window, 30, warm=False)
        print(
            f"next pair: warm (prefetched) median {1000 * median(warm):.0f} ms, max {1000 * max(warm):.0f} ms; "
            f"cold (pressed at once) median {1000 * median(cold):.0f} ms, max {1000 * max(cold):.0f} ms"
        )
        pages, jumps = scroll_seconds(window, 50)
        print(
            f"scroll {rows:,} rows: page-down median {1000 * median(pages):.1f} ms (max {1000 * max(pages):.0f}), "
            f"random jump median {1000 * median(jumps):.1f} ms (max {1000 * max(jumps):.0f})"
        )
        stall, scan_s = scan_stall_seconds(window, root, model)
        print(f"scan of 300 + 300 images in the app ({scan_s:.0f} s): longest event-loop stall {1000 * stall:.0f} ms")
        window.close()
        app.processEvents()
    emit({
        "benchmark": "app_latency", "rows": rows, "launch_s_median": median(walls), "launch_s_runs": walls,
        "launch_after_interpreter_s_median": median(inner), "next_pair_warm_ms_median": 1000 * median(warm),
        "next_pair_warm_ms_max": 1000 * max(warm), "next_pair_cold_ms_median": 1000 * median(cold),
        "next_pair_cold_ms_max": 1000 * max(cold), "scroll_page_ms_median": 1000 * median(pages),
        "scroll_page_ms_max": 1000 * max(pages), "scroll_jump_ms_median": 1000 * median(jumps),
        "scroll_jump_ms_max": 1000 * max(jumps), "scan_stall_ms_max": 1000 * stall, "scan_s": scan_s,
    })  # fmt: skip


if __name__ == "__main__":
    main()
