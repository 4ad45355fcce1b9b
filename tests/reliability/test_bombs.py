"""Bombs, giants and placeholders (issue 22): refused with the real cause, or decoded in bounded memory.

The decoding runs in a child process under an address-space limit (``RLIMIT_AS``), so that a regression fails
fast with a MemoryError instead of eating the machine.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lcmem.errors import ImageReadError, ImageTooLargeError
from lcmem.io import dicom_streams, load_image
from lcmem.io.budget import DecodeBudget
from lcmem.io.loader import count_frames
from lcmem.io.raster import count_raster_frames
from lcmem.io.reduce import REDUCE_ABOVE_PIXELS, reduce_array, reduction_factor
from lcmem.store.project import Project
from tests.reliability import bombs

ADDRESS_LIMIT = 2 * 2**30 + 512 * 2**20
"""Address space for the child: the interpreter with numpy, Pillow, pydicom and torch, plus 1.5 GB or so."""

CHILD = """
import json, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from lcmem.errors import ImageReadError
from lcmem.io import iter_frames
from lcmem.model.preprocess import to_model_input
out = {}
for path in sys.argv[2:]:
    try:
        items = [to_model_input(image, 128) for image in iter_frames(path, target=128)]
        out[path] = {"items": len(items)}
    except ImageReadError as exc:
        out[path] = {"reason": exc.reason}
print(json.dumps(out))
"""


def decode_in_child(paths: list[Path]) -> dict[str, dict[str, object]]:
    """Decode ``paths`` as a scan does (``iter_frames`` at the model's size) in a child with bounded memory."""
    args = [sys.executable, "-c", CHILD, str(ADDRESS_LIMIT), *map(str, paths)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_lying_compressed_dicoms_are_refused_unread(tmp_path: Path) -> None:
    expected = {write(tmp_path / f"{i}.dcm"): bombs.LYING_REASON for i, write in enumerate(bombs.LYING_DICOMS.values())}
    expected[bombs.short_rle_dicom(tmp_path / "rle.dcm")] = bombs.RLE_SHORT_REASON
    expected[bombs.deflate_bomb_dicom(tmp_path / "deflate.dcm")] = bombs.DEFLATE_REASON
    outcome = decode_in_child(list(expected))
    for path, pattern in expected.items():
        reason = str(outcome[str(path)].get("reason", ""))
        assert re.search(pattern, reason), (path.name, reason)


@pytest.mark.slow
def test_honest_giants_are_decoded_reduced_in_bounded_memory(tmp_path: Path) -> None:
    giants = [
        bombs.honest_rle_dicom(tmp_path / "giant.dcm"),
        bombs.honest_j2k_dicom(tmp_path / "giant-j2k.dcm"),
        bombs.honest_png(tmp_path / "giant.png"),
        bombs.honest_jpeg(tmp_path / "giant.jpg"),
    ]
    outcome = decode_in_child(giants)
    assert all(outcome[str(path)] == {"items": 1} for path in giants), outcome


def test_giant_is_reduced_for_the_model_only(tmp_path: Path) -> None:
    path = bombs.honest_png(tmp_path / "wide.png", side=4200, rgb=False)
    reduced = load_image(path, target=128)
    assert reduced.pixels.shape == (263, 263)  # 4200 / 16, the partial edge block kept
    assert "from 4200x4200" in reduced.meta.extra["reduced"]
    assert load_image(path).pixels.shape == (4200, 4200)


def test_jpeg2000_dicom_is_decoded_at_a_resolution_level(tmp_path: Path) -> None:
    path = bombs.honest_j2k_dicom(tmp_path / "j2k.dcm", side=4200)
    reduced = load_image(path, target=128)
    full = load_image(path)
    assert reduced.pixels.shape == (263, 263)  # 4200 / 2**4, rounded up
    assert "resolution level 4" in reduced.meta.extra["reduced"]
    assert full.pixels.shape == (4200, 4200)
    box = reduce_array(full.pixels, 16)
    assert np.abs(reduced.pixels[:262, :262] - box).mean() < 0.02


def test_small_images_are_not_reduced(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    Image.fromarray(np.arange(512 * 512, dtype=np.uint32).reshape(512, 512).astype(np.uint8)).save(path)
    assert np.array_equal(load_image(path, target=128).pixels, load_image(path).pixels)


def test_reduce_array_keeps_type_and_means() -> None:
    arr = np.arange(16, dtype=np.uint16).reshape(4, 4)
    assert reduce_array(arr, 2).tolist() == [[2, 4], [10, 12]]  # rounded means of 2x2 blocks, half to even
    assert reduce_array(arr, 2).dtype == np.uint16
    assert reduce_array(arr, 2, nearest=True).tolist() == [[0, 2], [8, 10]]
    assert reduction_factor(4096, 4096, 128) == 1
    assert reduction_factor(16000, 16000, 128) == 62
    assert reduction_factor(16000, 16000, None) == 1
    assert REDUCE_ABOVE_PIXELS == 4096 * 4096


def test_max_pixels_raises_past_pillows_own_limit(tmp_path: Path) -> None:
    path = bombs.declared_png(tmp_path / "big.png", 20000, 20000)  # 4e8 pixels: Pillow alone refuses (> 2 x 1.8e8)
    before = Image.MAX_IMAGE_PIXELS
    count_raster_frames(path, max_pixels=500_000_000)
    with pytest.raises(ImageTooLargeError, match="more than the limit of 268435456"):
        count_frames(path)
    assert before == Image.MAX_IMAGE_PIXELS


def test_max_pixels_is_per_call_across_threads(tmp_path: Path) -> None:
    path = bombs.declared_png(tmp_path / "big.png", 20000, 20000)
    results: dict[int, str] = {}

    def check(limit: int) -> None:
        for _ in range(20):
            try:
                count_raster_frames(path, max_pixels=limit)
                results[limit] = "ok"
            except Exception as exc:
                results[limit] = type(exc).__name__

    threads = [threading.Thread(target=check, args=(limit,)) for limit in (10**6, 10**9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {10**6: "ImageTooLargeError", 10**9: "ok"}


def test_zero_filled_files_are_refused_at_once(tmp_path: Path) -> None:
    for name in ("zeros.dcm", "zeros.png", "zeros"):
        path = bombs.zero_filled(tmp_path / name, 64 * 2**20)
        started = time.monotonic()
        with pytest.raises(ImageReadError, match=bombs.ZERO_REASON) as info:
            load_image(path)
        assert time.monotonic() - started < 5, "a placeholder must not be parsed"
        assert "re-copy" in str(info.value)


def test_dicom_of_millions_of_empty_elements_is_given_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dicom_streams, "MAX_DATASET_READS", 20_000)
    path = bombs.zeros_after_preamble(tmp_path / "dicm-zeros.dcm", 2**20)
    with pytest.raises(ImageReadError, match=bombs.ELEMENTS_REASON):
        load_image(path)


def test_budget_runs_giants_one_at_a_time() -> None:
    budget = DecodeBudget(100)
    peak: list[int] = []

    def decode(weight: int) -> None:
        with budget.reserve(weight):
            peak.append(budget.held)
            time.sleep(0.05)

    threads = [threading.Thread(target=decode, args=(w,)) for w in (80, 80, 500, 10, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(peak) <= 100
    assert budget.held == 0


def test_project_keeps_its_pixel_limit(tmp_path: Path) -> None:
    real, synthetic = tmp_path / "real", tmp_path / "synthetic"
    real.mkdir()
    synthetic.mkdir()
    with Project.create(tmp_path / "p.lcmem", [real], [synthetic], max_pixels=400_000_000) as project:
        assert project.max_pixels == 400_000_000
        project.set_max_pixels(1000)
    with Project.open(tmp_path / "p.lcmem") as project:
        assert project.max_pixels == 1000
