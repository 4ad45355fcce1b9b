"""The real→real null: each real's best score against a *different* real (content and identity), streamed."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lcmem.embed.types import EmbeddedSet, ImageRef
from lcmem.index.faiss_index import CandidateIndex
from lcmem.scan.null import NullScore, exact_copy_score, nearest_other_scores
from lcmem.scan.pipeline import run_scan
from lcmem.scan.types import Candidate, ScanSettings
from tests.conftest import write_images


def _reals(network, n: int = 30, seed: int = 0) -> EmbeddedSet:
    """``n`` random reals; items 1 and 2 are byte-identical duplicates of item 0, items 3–5 one patient."""
    dim = network.fc_end.weight.shape[1]
    embeddings = np.random.default_rng(seed).random((n, dim), dtype=np.float32)
    embeddings[1] = embeddings[2] = embeddings[0]
    embeddings[4] = embeddings[3] + 0.001
    embeddings[5] = embeddings[3] + 0.002
    shas = ["dup" if i < 3 else f"sha{i}" for i in range(n)]
    refs = tuple(ImageRef(f"/r/{i}.png", shas[i]) for i in range(n))
    return EmbeddedSet(refs, embeddings, ())


def _patient(ref: ImageRef) -> str | None:
    return "PAT-A" if ref.path in ("/r/3.png", "/r/4.png", "/r/5.png") else None


def _index(network, reals: EmbeddedSet) -> CandidateIndex:
    index = CandidateIndex(network.fc_end.weight.detach().numpy()[0])
    index.build(reals.embeddings)
    return index


def _brute_force(network, reals: EmbeddedSet) -> dict[str, float]:
    """Every pair scored: the best score of each real against a different content and patient."""
    e = torch.from_numpy(reals.embeddings)
    with torch.inference_mode():
        scores = torch.sigmoid(network.pair_logits(e[:, None, :], e[None, :, :])).numpy()
    best = {}
    for i, ref in enumerate(reals.refs):
        others = [
            scores[i, j]
            for j, other in enumerate(reals.refs)
            if other.sha256 != ref.sha256 and (_patient(ref) is None or _patient(ref) != _patient(other))
        ]
        best[ref.path] = float(max(others))
    return best


def test_self_duplicates_and_the_same_patient_are_excluded(tiny_bundle) -> None:
    network = tiny_bundle.model.network
    reals = _reals(network)
    found = {s.real.path: s for s in nearest_other_scores(reals, _index(network, reals), network, identity=_patient)}
    assert len(found) == len(reals)
    for s in found.values():
        assert s.nearest.sha256 != s.real.sha256
    for i in (3, 4, 5):
        assert found[f"/r/{i}.png"].nearest.path not in ("/r/3.png", "/r/4.png", "/r/5.png")
    without_identity = nearest_other_scores(reals, _index(network, reals), network)
    assert {s.nearest.path for s in without_identity if s.real.path == "/r/3.png"} <= {"/r/4.png", "/r/5.png"}


def test_equals_brute_force_and_chunking_changes_nothing(tiny_bundle) -> None:
    network = tiny_bundle.model.network
    reals = _reals(network)
    index = _index(network, reals)
    exact = nearest_other_scores(reals, index, network, identity=_patient, k=len(reals))
    assert {s.real.path: s.score for s in exact} == pytest.approx(_brute_force(network, reals), abs=1e-6)
    whole = nearest_other_scores(reals, index, network, identity=_patient, k=2, chunk=1024)
    chunked = nearest_other_scores(reals, index, network, identity=_patient, k=2, chunk=4)
    assert [(s.real, s.nearest) for s in chunked] == [(s.real, s.nearest) for s in whole]
    assert [s.score for s in chunked] == pytest.approx([s.score for s in whole], abs=1e-6)  # float32 batches
    assert all(w.score <= exact_score.score + 1e-6 for w, exact_score in zip(whole, exact, strict=True))


def test_a_real_whose_first_candidates_are_all_excluded_is_searched_further(tiny_bundle) -> None:
    network = tiny_bundle.model.network
    reals = _reals(network)
    scores = nearest_other_scores(reals, _index(network, reals), network, identity=_patient, k=1, max_k=4)
    assert {"/r/0.png", "/r/3.png"} <= {s.real.path for s in scores}
    assert nearest_other_scores(reals, _index(network, reals), network, k=1, max_k=1) == []  # only itself


def test_the_sample_is_capped_and_seeded(tiny_bundle) -> None:
    network = tiny_bundle.model.network
    reals = _reals(network, n=40)
    index = _index(network, reals)
    first = nearest_other_scores(reals, index, network, sample=10)
    assert len(first) == 10 and first == nearest_other_scores(reals, index, network, sample=10)
    assert nearest_other_scores(reals, index, network, sample=0) == []


def test_run_scan_hands_the_null_to_its_callback(tiny_bundle, tmp_path: Path) -> None:
    real, synthetic = tmp_path / "real", tmp_path / "synthetic"
    write_images(real, list(range(6)))
    shutil.copy(real / "img_0000.png", real / "again.png")
    write_images(synthetic, [50])
    shutil.copy(real / "img_0003.png", synthetic / "copy.png")
    received: list[NullScore] = []
    events: list[str] = []

    def sink(candidates: list[Candidate]) -> None:
        events.append("candidates")
        copies.extend(c.score for c in candidates if c.synthetic.sha256 == c.real.sha256)

    def on_null(scores: list[NullScore]) -> None:
        events.append("null")
        received.extend(scores)

    copies: list[float] = []
    summary = run_scan([real], [synthetic], tiny_bundle, sink, on_null=on_null)
    assert summary.n_null_scores == len(received) == 7 and "null" in summary.seconds
    assert events == ["null", "candidates"]  # a sink can place every candidate among the null scores
    assert copies == [exact_copy_score(tiny_bundle.model.network)]  # a byte copy scores exactly that
    assert all(s.real.sha256 != s.nearest.sha256 for s in received)
    assert all(0.0 <= s.score <= 1.0 for s in received)
    skipped = run_scan([real], [synthetic], tiny_bundle, lambda _c: None, settings=ScanSettings(null_sample=0))
    assert skipped.n_null_scores == 0 and "null" not in skipped.seconds
