"""Re-scoring uses the exact LCMem head; the FAISS distance only breaks ties."""

from __future__ import annotations

import numpy as np
import torch

from lcmem.index.faiss_index import CandidateIndex, IndexSettings
from lcmem.index.rescore import rescore_candidates, search_candidates
from lcmem.model.siamese import SiameseNetwork


def test_scores_equal_the_head_and_rows_are_sorted() -> None:
    torch.manual_seed(0)
    net = SiameseNetwork("atto", embedding_dim=16)
    with torch.no_grad():
        net.fc_end.weight.normal_()  # mixed signs: the ranking must follow the head, not the distance
    rng = np.random.default_rng(0)
    reals = rng.random((30, 16), dtype=np.float32)
    queries = rng.random((4, 16), dtype=np.float32)
    candidates = np.stack([rng.permutation(30)[:6] for _ in range(4)])
    distances = np.zeros(candidates.shape, np.float32)
    ranked = rescore_candidates(net, queries, reals, candidates, distances)
    for q in range(4):
        with torch.no_grad():
            expected = torch.sigmoid(
                net.pair_logits(torch.from_numpy(queries[q]), torch.from_numpy(reals[ranked.indices[q]]))
            ).numpy()
        assert np.allclose(ranked.scores[q], expected, atol=1e-6)
        assert np.all(np.diff(ranked.scores[q]) <= 0)
        assert sorted(ranked.indices[q]) == sorted(candidates[q])


def test_empty_slots_go_last_and_ties_follow_distance() -> None:
    net = SiameseNetwork("atto", embedding_dim=4)
    reals = np.array([[0.5, 0.5, 0.5, 0.5]] * 3, np.float32)
    queries = np.array([[0.5, 0.5, 0.5, 0.5]], np.float32)
    candidates = np.array([[2, -1, 0, 1]])
    distances = np.array([[0.3, 0.0, 0.1, 0.2]], np.float32)
    ranked = rescore_candidates(net, queries, reals, candidates, distances)
    assert ranked.indices[0].tolist() == [0, 1, 2, -1]
    assert ranked.valid[0].tolist() == [True, True, True, False]


def test_oversampling_finds_the_best_score_that_the_search_distance_ranks_second() -> None:
    net = SiameseNetwork("atto", embedding_dim=2)
    with torch.no_grad():
        net.fc_end.weight.copy_(torch.tensor([[-1.0, -1.0]]))
    query = np.zeros((1, 2), np.float32)
    reals = np.array([[1.0, 0.0], [0.6, 0.6]], np.float32)  # L1 1.0 vs 1.2 (score: 0 wins); L2² 1.0 vs 0.72
    index = CandidateIndex(net.fc_end.weight.detach().numpy()[0], IndexSettings(kind="flat"))
    index.build(reals)
    assert search_candidates(index, net, query, reals, top_k=1, oversample=1).indices.tolist() == [[1]]
    best = search_candidates(index, net, query, reals, top_k=1, oversample=2)
    assert best.indices.tolist() == [[0]]
    assert best.scores.shape == (1, 1)


def test_views_bring_in_a_real_only_a_view_finds_and_keep_the_query_own_scores() -> None:
    from lcmem.index.rescore import search_with_views

    net = SiameseNetwork("atto", embedding_dim=2)
    with torch.no_grad():
        net.fc_end.weight.copy_(torch.tensor([[-4.0, -4.0]]))
    reals = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0], [0.9, 1.0]], np.float32)
    query = np.array([[0.0, 0.05]], np.float32)
    views = np.array([[[1.0, 1.0]]], np.float32)  # the query's view lies by reals 2 and 3
    index = CandidateIndex(net.fc_end.weight.detach().numpy()[0], IndexSettings(kind="flat"))
    index.build(reals)
    alone = search_candidates(index, net, query, reals, top_k=2, oversample=1)
    assert sorted(alone.indices[0].tolist()) == [0, 1]
    fused = search_with_views(index, net, query, views, reals, top_k=3, oversample=1)
    assert set(fused.indices[0].tolist()) == {0, 2, 3}  # best by view (2, 3) or by itself (0)
    with torch.no_grad():
        own = torch.sigmoid(net.pair_logits(torch.from_numpy(query[0]), torch.from_numpy(reals[fused.indices[0]])))
    assert np.allclose(fused.scores[0], own.numpy(), atol=1e-6)
    assert fused.valid.all()
    empty_views = np.zeros((1, 0, 2), np.float32)
    same = search_with_views(index, net, query, empty_views, reals, top_k=2, oversample=1)
    assert same.indices.tolist() == alone.indices.tolist()
