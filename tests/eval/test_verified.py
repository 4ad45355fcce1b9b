"""LCMem + verification as a retrieval detector: the scan's verification and rule over a first stage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lcmem.eval.metrics import expected_rank1
from lcmem.eval.retrieval import FeatureRanker, QuerySet, query_outcomes
from lcmem.eval.transforms import EDITS, apply_edit
from lcmem.eval.verified import VerifyRanker
from lcmem.verify.settings import VerifySettings
from tests.eval.test_retrieval import ConstantDetector
from tests.verify.conftest import textured

FLAT = 99
"""The split row of a featureless image."""


def load(row: int, kind: str) -> np.ndarray:
    """A textured scene per row (FLAT: uniform grey) at 192 px, with the edit ``kind`` applied."""
    grey = np.full((192, 192), 0.5, np.float32) if row == FLAT else textured(row)
    image = torch.from_numpy(grey).unsqueeze(0).expand(3, -1, -1).contiguous()
    if kind in EDITS:
        image = apply_edit(image, kind)
    return image.permute(1, 2, 0).numpy()


def queries_of(kinds: tuple[str, ...], origins: tuple[int, ...], sources: tuple[tuple[int, ...], ...]) -> QuerySet:
    pixels = np.zeros((len(kinds), 3, 8, 8), np.uint8)  # the constant first stage never looks at them
    return QuerySet("toy", pixels, kinds, sources, (-1,) * len(kinds), origins)


@pytest.fixture
def ranker() -> VerifyRanker:
    ranker = VerifyRanker(FeatureRanker(ConstantDetector()), VerifySettings(threads=1, views=()), load)
    rows = list(range(8))
    ranker.prepare(np.zeros((len(rows), 3, 8, 8), np.uint8), rows)
    return ranker


def test_mirrored_and_rotated_copies_come_first_where_the_constant_first_stage_gives_chance(
    ranker: VerifyRanker,
) -> None:
    queries = queries_of(("hflip", "rotation_10", "combined"), (5, 2, 6), ((5,), (2,), (6,)))
    scores = ranker.scores(queries)
    constant = ranker.first.scores(queries)
    for q, (source,) in enumerate(queries.sources):
        labels = np.arange(8) == source
        assert expected_rank1(scores[q], labels) == 1.0, queries.kinds[q]
        assert expected_rank1(constant[q], labels) == pytest.approx(1 / 8)
    found = query_outcomes(scores, queries, ranker.flags(scores, 0.5), ranker.flags(scores, 0.5))
    assert found.rank1.tolist() == [1.0, 1.0, 1.0] and found.found.all()  # flagged by inliers, score 0 < 0.5


def test_a_featureless_query_gets_no_inliers_and_no_flag(ranker: VerifyRanker) -> None:
    queries = queries_of(("unseen",), (FLAT,), ((),))
    scores = ranker.scores(queries)
    assert not ranker.flags(scores, 0.5).any() and ranker.flags(scores, 0.0).all()  # the score rule still holds
    assert (scores == scores[0, 0]).all()  # no verified pair: the constant scores' tie is kept


def test_only_the_first_stages_top_depth_is_verified_and_the_hidden_query_never() -> None:
    class Favourite(ConstantDetector):
        def matrix(self, queries: torch.Tensor, gallery: torch.Tensor) -> torch.Tensor:
            return torch.arange(len(gallery), dtype=torch.float32).flip(0).expand(len(queries), -1)

    ranker = VerifyRanker(FeatureRanker(Favourite()), VerifySettings(depth=3, threads=1, views=()), load)
    ranker.prepare(np.zeros((8, 3, 8, 8), np.uint8), list(range(8)))
    deep = queries_of(("rotation_5",), (6,), ((6,),))  # source 6 is 7th by the first stage: beyond depth 3
    assert ranker.scores(deep)[0].argmax() == 0
    itself = queries_of(("reid",), (0,), ((1,),))  # the query is gallery image 0: verified and flagged …
    assert ranker.flags(ranker.scores(itself), 10.0)[0].tolist() == [True] + [False] * 7
    hidden = QuerySet("toy", itself.pixels, ("reid",), ((1,),), (0,), (0,))  # … unless hidden from its ranking
    assert not ranker.flags(ranker.scores(hidden), 10.0).any()


class LeftOrRight(ConstantDetector):
    """Favours gallery image 0, 1, 2, … for a query brighter on the left, and image 6 first for one brighter on
    the right: only the mirrored view of a left-bright query puts 6 among the first three."""

    def features(self, x: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        return (x[..., :half].mean((1, 2, 3)) - x[..., half:].mean((1, 2, 3)))[:, None]

    def matrix(self, queries: torch.Tensor, gallery: torch.Tensor) -> torch.Tensor:
        order = torch.arange(len(gallery), dtype=torch.float32).flip(0) / len(gallery)
        right = order.clone()
        right[6] = 2.0
        return torch.where(queries > 0, order, right)


def test_query_views_pick_a_source_the_query_alone_ranks_beyond_the_depth() -> None:
    pixels = np.zeros((1, 3, 8, 8), np.uint8)
    pixels[..., :4] = 255  # brighter on the left
    query = QuerySet("toy", pixels, ("rotation_5",), ((6,),), (-1,), (6,))
    ranks = {}
    for views in ((), ("mirror",)):
        ranker = VerifyRanker(FeatureRanker(LeftOrRight()), VerifySettings(depth=3, threads=1, views=views), load)
        ranker.prepare(np.zeros((8, 3, 8, 8), np.uint8), list(range(8)))
        scores = ranker.scores(query)
        ranks[views] = int(scores[0].argmax())
        assert np.array_equal(ranker._scores, ranker.first.scores(query))  # the query's own scores are kept
    assert ranks == {(): 0, ("mirror",): 6}
