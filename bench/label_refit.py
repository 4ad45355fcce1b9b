"""What a decision costs the calibrated probability: the isotonic refit after each click, at N labels.

It builds (in a temporary folder, by direct inserts: no images, no model) a project of N scored candidate
pairs, each accepted (30 %) or rejected, then times, median of ``--repeats``:

1. **full read**: :func:`lcmem.review.probability.project_fit`, one query over every labelled pair plus the fit
   (what the review screen did after each decision before :class:`~lcmem.review.probability.LiveFit`);
2. **live update**: :meth:`LiveFit.update` of one pair, i.e. the fit of the labels held in memory (what it
   does now).

Usage::

    .venv/bin/python bench/label_refit.py [--sizes 1000 10000 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import emit, median
from sqlalchemy import insert

from lcmem.review.probability import LiveFit, project_fit
from lcmem.store.project import Project
from lcmem.store.schema import candidates, decisions, images, scans


def _project(folder: Path, n: int) -> Project:
    rng = np.random.default_rng(0)
    project = Project.create(folder / "refit.lcmem")
    sha = [f"{i:064x}" for i in range(2 * n)]
    with project.transaction() as conn:
        conn.execute(
            insert(scans).values(
                id=1, status="done", model_checksum="m", model_name="m", model_path="m", settings="{}", started_at="t"
            )
        )
        conn.execute(
            insert(images),
            [
                {"id": i + 1, "role": ("synthetic", "real")[i % 2], "path": f"/{i}.png", "frame": 0, "n_frames": 1,
                 "sha256": sha[i]}
                for i in range(2 * n)
            ],
        )  # fmt: skip
        conn.execute(
            insert(candidates),
            [
                {"scan_id": 1, "synthetic_image_id": 2 * i + 1, "real_image_id": 2 * i + 2, "rank": 1,
                 "synthetic_sha256": sha[2 * i], "synthetic_frame": 0, "real_sha256": sha[2 * i + 1], "real_frame": 0,
                 "score": float(s)}
                for i, s in enumerate(rng.uniform(0, 1, n))
            ],
        )  # fmt: skip
        conn.execute(
            insert(decisions),
            [
                {"synthetic_sha256": sha[2 * i], "synthetic_frame": 0, "real_sha256": sha[2 * i + 1], "real_frame": 0,
                 "decision": "accept" if accepted else "reject", "reviewer": "bench", "decided_at": "t", "note": "",
                 "log_id": i}
                for i, accepted in enumerate(rng.uniform(0, 1, n) < 0.3)
            ],
        )  # fmt: skip
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp, _project(Path(tmp), n) as project:
            full = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                project_fit(project)
                full.append(time.perf_counter() - start)
            live = LiveFit(project)
            key = next(iter(live.labels))
            updates = []
            for repeat in range(args.repeats):
                start = time.perf_counter()
                live.update(key, 0.5, ("accept", "reject")[repeat % 2])
                updates.append(time.perf_counter() - start)
            print(f"N={n:,}: full read {1000 * median(full):.0f} ms, live update {1000 * median(updates):.0f} ms")
            emit({"bench": "label_refit", "labels": n, "full_read_ms": 1000 * median(full),
                  "live_update_ms": 1000 * median(updates), "repeats": args.repeats})  # fmt: skip


if __name__ == "__main__":
    main()
