"""run_scan end to end: planted exact copies come out at rank 1; bad files are listed; output streams."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from lcmem.embed.cache import EmbeddingCache
from lcmem.errors import Cancelled
from lcmem.progress import CancelToken
from lcmem.scan.pipeline import run_scan
from lcmem.scan.types import Candidate, ScanSettings
from lcmem.verify.settings import VerifySettings
from tests.conftest import make_image, write_images


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """Real images and synthetic ones, some exact copies of reals (synthetic name → real name)."""
    real = tmp_path / "real"
    write_images(real / "nested" / "deeper", list(range(0, 12)))
    write_images(real, list(range(12, 20)))
    synthetic = tmp_path / "synthetic"
    write_images(synthetic, list(range(100, 106)))
    planted = {}
    for seed in (3, 14, 19):
        source = next(real.rglob(f"img_{seed:04d}.png"))
        target = synthetic / f"copy_of_{seed}.png"
        shutil.copy(source, target)
        planted[target.name] = source.name
    (synthetic / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (real / "notes.txt").write_text("not an image")
    return real, synthetic, planted


def collect(real: Path, synthetic: Path, bundle, **kwargs) -> tuple[list[Candidate], object]:
    rows: list[Candidate] = []
    summary = run_scan([real], [synthetic], bundle, rows.extend, **kwargs)
    return rows, summary


def test_planted_exact_copies_are_rank_one(tiny_bundle, folders) -> None:
    real, synthetic, planted = folders
    rows, summary = collect(real, synthetic, tiny_bundle, settings=ScanSettings(top_k=5))
    top = {Path(c.synthetic.path).name: c for c in rows if c.rank == 1}
    for copy_name, real_name in planted.items():
        assert Path(top[copy_name].real.path).name == real_name
        assert top[copy_name].synthetic.sha256 == top[copy_name].real.sha256
    assert summary.n_real_items == 20 and summary.n_synthetic_items == 9
    assert summary.n_candidates == 9 * 5 == len(rows)
    assert [Path(p.path).name for p in summary.problems] == ["broken.png"]


def test_each_synthetic_gets_ranks_one_to_k_by_descending_score(tiny_bundle, folders) -> None:
    real, synthetic, _ = folders
    rows, _ = collect(real, synthetic, tiny_bundle, settings=ScanSettings(top_k=4))
    by_synthetic: dict[str, list[Candidate]] = {}
    for row in rows:
        by_synthetic.setdefault(row.synthetic.path, []).append(row)
    for candidates in by_synthetic.values():
        assert [c.rank for c in candidates] == [1, 2, 3, 4]
        scores = [c.score for c in candidates]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert len({c.real.path for c in candidates}) == 4


def test_results_stream_in_query_chunks(tiny_bundle, folders) -> None:
    real, synthetic, _ = folders
    chunks: list[int] = []
    run_scan(
        [real],
        [synthetic],
        tiny_bundle,
        lambda c: chunks.append(len(c)),
        settings=ScanSettings(top_k=2, query_chunk=4),
    )
    assert chunks == [8, 8, 2]


def test_rescan_reuses_the_cache_and_gives_identical_rows(tiny_bundle, folders, tmp_path: Path) -> None:
    real, synthetic, _ = folders
    with EmbeddingCache(tmp_path / "cache", tiny_bundle.checksum, 512) as cache:
        first, s1 = collect(real, synthetic, tiny_bundle, cache=cache)
        second, s2 = collect(real, synthetic, tiny_bundle, cache=cache)
    # three synthetics are byte copies of reals, but synthetics are embedded with their query views, which the
    # reals' cache entries lack, so they are computed once
    assert (s1.computed_files, s1.cached_files) == (29, 0)
    assert (s2.computed_files, s2.cached_files) == (0, 29)  # the broken file is never cached
    assert first == second
    alone = ScanSettings(verify=replace(VerifySettings(threads=1), views=()))
    with EmbeddingCache(tmp_path / "plain", tiny_bundle.checksum, 512) as cache:
        _, s3 = collect(real, synthetic, tiny_bundle, cache=cache, settings=alone)
    assert (s3.computed_files, s3.cached_files) == (26, 3)


def test_cancel_raises_and_nothing_is_emitted_after(tiny_bundle, folders) -> None:
    real, synthetic, _ = folders
    token = CancelToken()
    token.cancel()
    rows: list[Candidate] = []
    with pytest.raises(Cancelled):
        run_scan([real], [synthetic], tiny_bundle, rows.extend, cancel=token)
    assert rows == []


def test_grey_and_odd_sized_images_are_scanned(tiny_bundle, tmp_path: Path) -> None:
    real = tmp_path / "r"
    real.mkdir()
    make_image(1, (300, 17), "L").save(real / "wide.png")
    make_image(2, (5, 90)).save(real / "tall.jpg")
    make_image(3, (1, 1)).save(real / "dot.bmp")
    synthetic = tmp_path / "s"
    synthetic.mkdir()
    shutil.copy(real / "wide.png", synthetic / "wide_copy.png")
    rows, summary = collect(real, synthetic, tiny_bundle, settings=ScanSettings(top_k=3))
    assert summary.problems == ()
    assert Path(rows[0].real.path).name == "wide.png" and rows[0].rank == 1
