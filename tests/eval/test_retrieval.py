"""The in-domain retrieval protocol: metrics on hand-made scores, fair ties, the seeded identity hold-out, the
queries, every detector's query × gallery matrix, and the report keys of ``lcmem eval``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lcmem.cli.main import main
from lcmem.eval.detectors import (
    LCMemDetector,
    MseDetector,
    NccDetector,
    PHashDetector,
    SsimDetector,
    Thumbnail,
    VaeLatentCosine,
)
from lcmem.eval.metrics import average_precision, expected_rank1, null_threshold
from lcmem.eval.retrieval import (
    FeatureRanker,
    QuerySet,
    RetrievalSettings,
    build_queries,
    evaluate_retrieval,
    held_out_identities,
    micro_ap,
    nearest_other_identity,
    query_outcomes,
    summary,
)
from lcmem.eval.transforms import EDITS, apply_edit
from lcmem.train.data import load_labelled
from lcmem.train.pixels import image_cache
from tests.conftest import make_labelled_dataset

SMALL = RetrievalSettings(sources_per_dataset=2, reid_per_dataset=3, unseen_per_dataset=4, batch_size=8)


def test_average_precision_and_rank1_on_hand_made_rankings() -> None:
    assert average_precision(np.array([0.9, 0.8, 0.7, 0.6]), np.array([0, 1, 0, 1])) == pytest.approx(0.5)
    assert average_precision(np.array([0.9, 0.8, 0.7]), np.array([1, 0, 0])) == 1.0
    assert average_precision(np.array([0.9, 0.8]), np.array([1, 0]), n_positive=2) == pytest.approx(0.5)
    assert average_precision(np.array([0.9, 0.8]), np.array([0, 0]), n_positive=3) == 0.0
    assert expected_rank1(np.array([0.2, 0.9, 0.5]), np.array([0, 1, 0])) == 1.0
    assert expected_rank1(np.array([0.9, 0.2, 0.5]), np.array([0, 1, 0])) == 0.0


def test_ties_are_never_broken_in_the_true_sources_favour() -> None:
    labels = np.array([1, 0, 0, 0])
    assert expected_rank1(np.full(4, 0.7), labels) == pytest.approx(0.25)
    assert average_precision(np.full(4, 0.7), labels) == pytest.approx(0.25)
    assert expected_rank1(np.array([0.9, 0.9, 0.1, 0.1]), labels) == pytest.approx(0.5)


def test_null_threshold_is_the_quantile_or_the_maximum_when_too_few() -> None:
    few = null_threshold(np.array([0.1, 0.5, 0.3, -np.inf]))
    assert few["value"] == 0.5 and few["n"] == 3 and "maximum" in few["rule"]
    many = null_threshold(np.linspace(0, 1, 2001))
    assert many["value"] == pytest.approx(0.999) and many["n"] == 2001 and "99.9%" in many["rule"]
    assert np.isnan(null_threshold(np.array([]))["value"])


def _hand_made_queries() -> QuerySet:
    pixels = np.zeros((4, 3, 2, 2), np.uint8)
    return QuerySet("toy", pixels, ("rotation_3", "hflip", "reid", "unseen"), ((0,), (2,), (1, 2), ()), (-1, -1, 3, -1))


def test_outcomes_margin_and_unseen_fpr_on_a_hand_made_matrix() -> None:
    scores = np.array([
        [0.9, 0.5, 0.4, 0.1],  # source 0 first: rank-1, AP 1, margin 0.4
        [0.8, 0.5, 0.6, 0.1],  # source 2 second: rank-1 0, AP 0.5, margin −0.2
        [0.2, 0.7, 0.3, 0.99],  # re-ID: position 3 (the query itself) hidden; sources 1 and 2 rank 1 and 2
        [0.3, 0.75, 0.2, 0.1],  # unseen: best 0.75
    ])  # fmt: skip
    queries = _hand_made_queries()
    found = query_outcomes(scores, queries, null=0.72)
    np.testing.assert_allclose(found.rank1[:3], [1, 0, 1])
    np.testing.assert_allclose(found.ap[:3], [1, 0.5, 1])
    np.testing.assert_allclose(found.margin[:3], [0.4, -0.2, 0.5])
    assert found.best[3] == 0.75 and found.best[2] == 0.7
    result = summary(found, threshold=0.7)
    assert result["rank1"] == 0.5 and result["map"] == 0.75 and result["margin"] == pytest.approx(0.1)
    assert result["recall_at_threshold"] == 0.5 and result["recall_at_null_threshold"] == 0.5
    assert result["unseen_fpr"] == 1.0 and result["unseen_fpr_at_null_threshold"] == 1.0
    assert summary(found, threshold=0.8)["unseen_fpr"] == 0.0
    assert result["by_edit"]["hflip"]["rank1"] == 0 and result["by_edit"]["crop_95"] == {"n_queries": 0}
    assert result["reid"]["rank1"] == 1 and result["reid"]["n_queries"] == 1 and result["n_unseen"] == 1


def test_micro_ap_pools_one_ranking_with_unseen_queries_as_false_positives() -> None:
    scores = np.array([[0.9, 0.1, 0.0, 0.0], [0.8, 0.6, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.95, 0.0, 0.0, 0.0]])
    values, hits, positives = micro_ap(scores, _hand_made_queries(), top_k=1, seed=0)
    assert positives == 2 and hits.tolist() == [True, False, False]
    # one ranking: 0.95 (unseen, false) then 0.9 (hit): precision 1/2 at recall 1/2; the hflip copy is missed
    assert average_precision(values, hits, positives) == pytest.approx(0.25)


def test_nearest_other_identity_skips_the_image_itself_and_its_identity() -> None:
    scores = np.array([[1.0, 0.9, 0.2], [0.9, 1.0, 0.4], [0.2, 0.4, 1.0]])
    np.testing.assert_allclose(nearest_other_identity(scores, np.array(["a", "a", "b"])), [0.2, 0.4, 0.4])


def _toy_split(tmp_path: Path) -> tuple[list, np.ndarray]:
    a = make_labelled_dataset(tmp_path / "a", identities=30, per_identity=2, domain="x")
    b = make_labelled_dataset(tmp_path / "b", identities=30, per_identity=2, domain="y")
    records = load_labelled([a, b]).split("train")
    return records, image_cache(records, 32, tmp_path / "cache", threads=1)


def test_identity_hold_out_is_seeded_disjoint_and_sized(tmp_path: Path) -> None:
    records, pixels = _toy_split(tmp_path)
    held = held_out_identities(records, 0.2, 2, seed=42)
    assert held == held_out_identities(records, 0.2, 2, seed=42)
    assert held != held_out_identities(records, 0.2, 2, seed=43)
    for dataset in ("a", "b"):
        identities = {r.identity for r in records if r.dataset == dataset}
        assert len(identities & held) == 4  # 20 % of 20 identities
    tiny = held_out_identities(records, 0.01, 3, seed=0)
    assert len(tiny) == 6  # the minimum, per dataset
    assert len(held_out_identities(records, 0.9, 2, seed=0)) == 20  # at most half
    queries = build_queries("a", records, pixels, [], held, SMALL)
    assert queries.kinds.count("unseen") == 4


def test_queries_edit_gallery_images_hide_the_reid_query_and_draw_unseen_from_held_out(tmp_path: Path) -> None:
    records, pixels = _toy_split(tmp_path)
    held = held_out_identities(records, 0.2, 2, seed=42)
    gallery = [row for row, r in enumerate(records) if r.identity not in held]
    queries = build_queries("a", records, pixels, gallery, held, SMALL)
    assert queries.pixels.shape == (2 * len(EDITS) + 3 + 4, 3, 32, 32) and queries.pixels.dtype == np.uint8
    assert [k for k in queries.kinds if k in EDITS] == list(EDITS) * 2
    for kind, sources, hidden in zip(queries.kinds, queries.sources, queries.hidden, strict=True):
        if kind == "reid":
            assert hidden >= 0 and hidden not in sources and len(sources) == 1
            assert records[gallery[hidden]].identity == records[gallery[sources[0]]].identity
        elif kind == "unseen":
            assert sources == () and hidden == -1
        else:
            assert len(sources) == 1 and records[gallery[sources[0]]].dataset == "a"
    assert build_queries("a", records, pixels, gallery, held, SMALL).kinds == queries.kinds


class ConstantDetector:
    """Ranks by a constant: the protocol must give it chance, whatever the gallery order."""

    name = "constant"

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :1]

    def compare(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(f1))

    def matrix(self, queries: torch.Tensor, gallery: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(queries), len(gallery))


def test_a_constant_detector_gets_chance_and_a_pixel_detector_finds_the_sources(tmp_path: Path) -> None:
    records, pixels = _toy_split(tmp_path)
    result = evaluate_retrieval([ConstantDetector(), MseDetector()], records, pixels,
                                {"constant": 0.0, "mse": -0.01}, SMALL)  # fmt: skip
    gallery = result["protocol"]["gallery"]
    constant, mse = result["detectors"]["constant"], result["detectors"]["mse"]
    assert gallery == 80 - 16
    for dataset in ("a", "b"):
        assert constant[dataset]["rank1"] == pytest.approx(1 / gallery)
        assert constant[dataset]["map"] == pytest.approx(1 / gallery)
        assert constant[dataset]["margin"] == 0 and constant[dataset]["unseen_fpr"] == 1.0
        assert constant[dataset]["recall_at_threshold"] == 1.0
        assert mse[dataset]["rank1"] > 0.5 and mse[dataset]["by_edit"]["jpeg_75"]["rank1"] >= 0.5
    assert constant["pooled"]["uap"] < 0.1 < mse["pooled"]["uap"]
    assert constant["pooled"]["n_queries"] == 2 * 2 * len(EDITS)


def test_every_detectors_matrix_matches_its_pair_scores(tiny_bundle) -> None:
    torch.manual_seed(0)
    queries, gallery = torch.rand(3, 3, 64, 64), torch.rand(5, 3, 64, 64)
    gallery[1] = queries[2]
    detectors = [LCMemDetector(tiny_bundle.model), VaeLatentCosine(tiny_bundle.model), MseDetector(),
                 NccDetector(), SsimDetector(), Thumbnail(SsimDetector(stride=3), 32), PHashDetector()]  # fmt: skip
    for detector in detectors:
        fq, fg = detector.features(queries), detector.features(gallery)
        pairs = torch.stack([detector.compare(fq[[q] * len(fg)], fg) for q in range(len(fq))])
        torch.testing.assert_close(detector.matrix(fq, fg), pairs, atol=1e-5, rtol=1e-5, msg=detector.name)


def test_feature_ranker_scores_the_whole_gallery(tmp_path: Path) -> None:
    _, pixels = _toy_split(tmp_path)
    ranker = FeatureRanker(MseDetector(), batch_size=7)
    ranker.prepare(pixels[:20])
    scores = ranker.scores(pixels[5:8])
    assert scores.shape == (3, 20) and (scores.argmax(1) == [5, 6, 7]).all()


def test_edits_keep_the_size_and_change_the_image() -> None:
    image = torch.rand(3, 40, 40)
    for edit in EDITS:
        edited = apply_edit(image, edit)
        assert edited.shape == image.shape and 0 <= edited.min() <= edited.max() <= 1, edit
        assert not torch.equal(edited, image), edit
    assert torch.equal(apply_edit(image, "hflip"), image.flip(-1))


def test_eval_retrieval_only_writes_the_keys_for_every_detector(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    a = make_labelled_dataset(tmp_path / "a", identities=30, per_identity=2, domain="x")
    b = make_labelled_dataset(tmp_path / "b", identities=30, per_identity=2, domain="y")
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_dir, bundle)
    out = tmp_path / "eval"
    caps = ["--retrieval-sources", "1", "--retrieval-reid", "2", "--retrieval-unseen", "2"]
    data = ["--data", str(a), "--data", str(b)]
    args = ["eval", "--model", str(bundle), *data, "--out", str(out), "--work-size", "32", "--retrieval-only", *caps]
    assert main(args) == 0
    assert not (out / "report.json").exists()
    report = json.loads((out / "retrieval.json").read_text())
    assert set(report["detectors"]) == {"lcmem", "mse", "ssim", "ncc", "phash", "vae_latent_cosine"}
    for name, result in report["detectors"].items():
        assert set(result["retrieval"]) == {"a", "b", "pooled"}, name
        for dataset in ("a", "b"):
            cell = result["retrieval"][dataset]
            for key in ("rank1", "map", "unseen_fpr", "recall_at_threshold", "margin", "uap",
                        "unseen_fpr_at_null_threshold", "recall_at_null_threshold"):  # fmt: skip
                assert isinstance(cell[key], float), (name, key)
            assert cell["n_queries"] == len(EDITS) and set(cell["by_edit"]) == set(EDITS)
            assert cell["reid"]["n_queries"] == 2 and cell["n_unseen"] == 2 and cell["null_threshold"]["n"] == 6
        if name in ("lcmem", "phash", "vae_latent_cosine"):  # the others run on thumbnails: their own val threshold
            assert result["retrieval"]["pooled"]["threshold"] == result["threshold"]
        assert 0 <= result["retrieval"]["pooled"]["uap"] <= 1
    markdown = (out / "retrieval.md").read_text()
    assert "## In-domain retrieval (test split)" in markdown and "| pooled | lcmem |" in markdown
    assert "| combined |" in markdown and "Re-identification: ROC-AUC" not in markdown
