"""Verification inside a scan: the true source first among look-alikes, the cache reused, CSV columns."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lcmem.cli.main import main
from lcmem.embed.types import ImageRef
from lcmem.scan.pipeline import run_scan
from lcmem.scan.types import Candidate, ScanSettings
from lcmem.scan.verification import rerank
from lcmem.verify import verifier as verifier_module
from lcmem.verify.cache import FeatureCache
from lcmem.verify.settings import FeatureSettings, VerifySettings
from lcmem.verify.verifier import Verifier
from tests.verify.conftest import rotated, save_png, textured

VERIFY = VerifySettings(depth=12, features=FeatureSettings(max_side=256, n_features=400), threads=2)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """Twelve textured reals (look-alikes of one another), a 10°-rotated and a mirrored copy of real 7."""
    real, synthetic = tmp_path / "real", tmp_path / "synthetic"
    real.mkdir()
    synthetic.mkdir()
    for seed in range(12):
        save_png(textured(seed), real / f"real_{seed:02d}.png")
    source = textured(7)
    save_png(rotated(source, 10.0), synthetic / "rotated.png")
    save_png(np.ascontiguousarray(source[:, ::-1]), synthetic / "mirrored.png")
    save_png(np.full((96, 96), 0.4, np.float32), synthetic / "flat.png")
    return real, synthetic


def test_rotated_and_mirrored_copies_come_first_and_a_flat_image_is_not_verified(
    tiny_bundle, folders: tuple[Path, Path], tmp_path: Path
) -> None:
    real, synthetic = folders
    rows: list[Candidate] = []
    with FeatureCache.for_settings(tmp_path / "cache", VERIFY) as cache:
        run_scan([real], [synthetic], tiny_bundle, rows.extend, settings=ScanSettings(top_k=5, verify=VERIFY),
                 feature_cache=cache)  # fmt: skip
    first = {Path(c.synthetic.path).name: c for c in rows if c.rank == 1}
    for name in ("rotated.png", "mirrored.png"):
        assert Path(first[name].real.path).name == "real_07.png"
        assert first[name].inliers >= 30
    assert first["mirrored.png"].transform.mirrored and not first["rotated.png"].transform.mirrored
    assert all(c.inliers == 0 and c.transform is None for c in rows if c.synthetic.path.endswith("flat.png"))
    assert len(rows) == 3 * 5 and all(c.inliers is not None for c in rows)
    others = [c for c in rows if c.rank > 1 and not c.synthetic.path.endswith("flat.png")]
    assert all(c.inliers < VERIFY.min_inliers for c in others)


def test_rerank_puts_verified_pairs_first_by_inliers_then_the_rest_by_score() -> None:
    def cand(name: str, score: float, inliers: int) -> Candidate:
        return Candidate(ImageRef("s", "s"), ImageRef(name, name), 0, score, inliers)

    ranked = rerank([cand("a", 0.9, 3), cand("b", 0.5, 40), cand("c", 0.7, 9), cand("d", 0.95, 0)], 8, 3)
    assert [(c.real.path, c.rank) for c in ranked] == [("b", 1), ("c", 2), ("d", 3)]


def test_features_are_read_back_from_the_cache_not_extracted_again(
    folders: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, synthetic = folders
    refs = [ImageRef(str(p), p.name) for p in (synthetic / "rotated.png", real / "real_07.png")]
    calls = []
    extract = verifier_module.extract
    monkeypatch.setattr(verifier_module, "extract", lambda *a, **k: calls.append(1) or extract(*a, **k))
    with FeatureCache.for_settings(tmp_path / "cache", VERIFY) as cache:
        first = Verifier(VERIFY, cache).verify(*refs)
        assert len(calls) == 2 and len(cache) == 2
        again = Verifier(VERIFY, cache).verify(*refs)
        assert len(calls) == 2
        verdicts = Verifier(VERIFY, cache).verify_pairs([tuple(refs)])
        assert next(iter(verdicts.values())).inliers == first.inliers == again.inliers >= 30
        monkeypatch.setattr(verifier_module, "verify_pair", lambda *a, **k: pytest.fail("matched again"))
        cached = Verifier(VERIFY, cache).verify_pairs([tuple(refs)])
        assert cached == {k: replace(v, synthetic_points=None, real_points=None) for k, v in verdicts.items()}
    other = VerifySettings(features=FeatureSettings(max_side=128))
    with FeatureCache.for_settings(tmp_path / "cache", other) as cache:
        assert len(cache) == 0  # other settings never read these features


def test_the_cache_stays_within_its_bound(folders: tuple[Path, Path], tmp_path: Path) -> None:
    real, _ = folders
    with FeatureCache(tmp_path / "cache", VERIFY.features, VERIFY.match, max_bytes=120_000) as cache:
        verifier = Verifier(VERIFY, cache, memory=1)
        for path in sorted(real.iterdir()):
            verifier.features(ImageRef(str(path), path.name))
        assert 0 < len(cache) < 12
        kept = cache.get_features((sorted(real.iterdir())[-1].name, 0, False))
        assert kept is not None and len(kept) > 0  # the newest entry survives eviction


def test_lcmem_scan_writes_inliers_and_no_verify_leaves_them_empty(
    tiny_bundle_dir: Path, folders: tuple[Path, Path], tmp_path: Path
) -> None:
    real, synthetic = folders
    base = ["scan", "--real", str(real), "--synthetic", str(synthetic), "--model", str(tiny_bundle_dir)]
    base += ["--top-k", "3", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main([*base, "--out", str(tmp_path / "v.csv")]) == 0
    assert main([*base, "--out", str(tmp_path / "q.csv"), "--no-verify"]) == 0
    verified = list(csv.DictReader((tmp_path / "v.csv").open(encoding="utf-8")))
    quick = list(csv.DictReader((tmp_path / "q.csv").open(encoding="utf-8")))
    rotated_first = next(r for r in verified if r["synthetic_path"].endswith("rotated.png") and r["rank"] == "1")
    assert rotated_first["real_path"].endswith("real_07.png") and int(rotated_first["inliers"]) >= 30
    assert "rotated" in rotated_first["transform"]
    assert all(r["inliers"] == "" and r["transform"] == "" for r in quick)
