from __future__ import annotations

import numpy as np
import pytest

from lcmem.verify.features import Features, extract
from lcmem.verify.match import inlier_cells, match_features, mutual_matches, verify_pair
from lcmem.verify.settings import FeatureSettings, MatchSettings
from tests.verify.conftest import rotated, textured

SETTINGS = FeatureSettings(max_side=256, n_features=400)


def verdict(synthetic: np.ndarray, real: np.ndarray, *, points: bool = False):
    return verify_pair(
        extract(synthetic, SETTINGS),
        lambda: extract(synthetic, SETTINGS, mirrored=True),
        extract(real, SETTINGS),
        MatchSettings(),
        enough=8,
        points=points,
    )


def test_a_rotated_copy_is_verified_with_its_rotation(scene: np.ndarray) -> None:
    found = verdict(rotated(scene, 10.0), scene)
    assert found.inliers >= 30
    assert found.transform is not None and not found.transform.mirrored
    assert abs(abs(found.transform.rotation) - 10.0) < 1.5 and abs(found.transform.scale - 1.0) < 0.05


def test_a_mirrored_copy_is_verified_through_the_mirrored_image(scene: np.ndarray) -> None:
    flipped = np.ascontiguousarray(scene[:, ::-1])
    unmirrored = match_features(extract(flipped, SETTINGS), extract(scene, SETTINGS), MatchSettings())
    found = verdict(flipped, scene, points=True)
    assert found.transform is not None and found.transform.mirrored
    assert found.inliers >= 30 and found.inliers > 3 * unmirrored.inliers
    # the inlier points are given in each file's own coordinates: mirrored back, they coincide
    assert found.synthetic_points is not None and found.real_points is not None
    mirrored_back = found.synthetic_points.copy()
    mirrored_back[:, 0] = scene.shape[1] - 1 - mirrored_back[:, 0]
    assert np.median(np.abs(mirrored_back - found.real_points)) < 1.5


def test_look_alikes_get_few_inliers(scene: np.ndarray) -> None:
    assert all(verdict(textured(seed), scene).inliers < 8 for seed in range(20, 25))


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_a_featureless_image_gets_no_inliers_not_an_error(scene: np.ndarray, value: float) -> None:
    flat = np.full((64, 80), value, np.float32)
    assert len(extract(flat, SETTINGS)) == 0
    assert verdict(flat, scene).inliers == 0 and verdict(scene, flat).inliers == 0
    assert verdict(flat, flat).transform is None


def features(points: np.ndarray, descriptors: np.ndarray) -> Features:
    return Features(points.astype(np.float32), descriptors.astype(np.uint8), (512, 512), 1.0)


def test_many_to_one_matches_are_cut_to_one_and_give_no_inliers() -> None:
    rng = np.random.default_rng(0)
    shared = rng.integers(0, 255, 128)
    reference = features(rng.uniform(0, 512, (8, 2)), np.vstack([shared, rng.integers(0, 255, (7, 128))]))
    # 150 query keypoints all nearest to the same reference keypoint (a repeated texture)
    query = features(rng.uniform(0, 512, (150, 2)), shared + rng.integers(-1, 2, (150, 128)))
    _, r = mutual_matches(query, reference, 0.75)
    assert len(set(r.tolist())) == len(r) <= 1
    assert match_features(query, reference, MatchSettings()).inliers == 0


def test_a_fit_of_absurd_scale_is_no_fit() -> None:
    rng = np.random.default_rng(1)
    descriptors = rng.integers(0, 255, (60, 128))
    points = rng.uniform(0, 512, (60, 2))
    reference = features(points, descriptors)
    tiny = features(points * 0.01, descriptors)
    assert match_features(features(points + 3.0, descriptors), reference, MatchSettings()).inliers == 60
    assert match_features(tiny, reference, MatchSettings()).inliers == 0
    assert match_features(tiny, reference, MatchSettings(max_scale=200.0)).inliers == 60


def marked(image: np.ndarray, places: list[tuple[int, int]]) -> np.ndarray:
    """``image`` with a different small patch pasted at each of ``places`` (top, left): a radiograph's side
    marker and its burned-in text, the same on every film of a department."""
    out = image.copy()
    for n, (top, left) in enumerate(places):
        out[top : top + 30, left : left + 40] = textured(90 + n, size=80)[:30, :40]
    return out


@pytest.mark.parametrize(
    "places", [[(40, 8)], [(4, 4), (4, 276), (286, 276)]], ids=["marker", "marker-and-text-in-corners"]
)
def test_a_fit_on_shared_overlays_only_is_no_fit(places: list[tuple[int, int]]) -> None:
    settings = FeatureSettings(max_side=512, n_features=400)
    first, second = marked(textured(30, size=320), places), marked(textured(31, size=320), places)
    loose = MatchSettings(min_cells=0)
    on_overlays = match_features(extract(first, settings), extract(second, settings), loose, points=True)
    assert on_overlays.inliers >= 10 and on_overlays.real_points is not None
    assert inlier_cells(on_overlays.real_points, (320, 320)) < MatchSettings().min_cells
    assert match_features(extract(first, settings), extract(second, settings), MatchSettings()).inliers == 0
    # an edited copy of a marked image is still verified: its inliers fill the image
    assert verdict(rotated(first, 5.0), first).inliers >= 30


def test_inlier_cells_counts_the_grid_cells_holding_a_point() -> None:
    points = np.array([[1, 1], [2, 2], [99, 99], [50, 1], [99, 0]], np.float64)
    assert inlier_cells(points, (100, 100), grid=2) == 3
    assert inlier_cells(points, (100, 100), grid=8) == 4
    assert inlier_cells(points[:0], (100, 100)) == 0
    assert inlier_cells(points, (0, 0)) == 0
