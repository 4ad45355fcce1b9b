"""Mining in-domain hard negatives: each identity's nearest other identities of its own dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from lcmem.model.untrained import build_untrained_model
from lcmem.train.data import Record
from lcmem.train.hard_negatives import mined_neighbours, nearest_identities, pair_logit_matrix
from lcmem.train.pixels import image_cache
from tests.conftest import make_labelled_dataset


def _distance_network(dim: int = 4):
    """A network whose pair logit is minus the L1 distance of the embeddings."""
    network = build_untrained_model("distance", embedding_dim=dim, seed=1).network
    with torch.no_grad():
        network.fc_end.weight.fill_(-1.0)
        network.fc_end.bias.zero_()
    return network


def test_pair_logit_matrix_is_the_pair_head_on_every_pair() -> None:
    network = build_untrained_model("matrix", embedding_dim=8, seed=2).network
    a, b = torch.rand(5, 8), torch.rand(7, 8)
    matrix = pair_logit_matrix(network, a, b, chunk=2)
    assert matrix.shape == (5, 7)
    with torch.no_grad():
        assert torch.allclose(matrix[3, 6], network.pair_logits(a[3], b[6]), atol=1e-6)


def test_neighbours_are_the_closest_other_identities_of_the_same_dataset() -> None:
    # one coordinate places each image on a line; identity p1 has two images, at 1.0 and 5.0
    places = {"p0": [0.0], "p1": [1.0, 5.0], "p2": [3.0], "p3": [5.4], "q0": [0.1], "q1": [0.2]}
    records, rows = [], []
    for name, xs in places.items():
        for k, x in enumerate(xs):
            records.append(Record(f"{name}_{k}.png", name, "train", "d", "cxr" if name[0] == "p" else "face"))
            rows.append([x, 0.0, 0.0, 0.0])
    neighbours = nearest_identities(_distance_network(), torch.tensor(rows), records, k=2)
    assert neighbours["p0"] == ["p1", "p2"]
    assert neighbours["p3"] == ["p1", "p2"]
    assert neighbours["p2"] == ["p1", "p3"]
    assert all(name not in others for name, others in neighbours.items())
    assert neighbours["q0"] == ["q1"] and neighbours["q1"] == ["q0"]


def test_mined_neighbours_are_cached_by_model_and_images(tmp_path: Path) -> None:
    from lcmem.train.data import load_labelled

    data = load_labelled([make_labelled_dataset(tmp_path / "toy", identities=8)])
    records = data.split("train")
    model = build_untrained_model("mined", seed=3).eval()
    pixels = image_cache(records, model.config.image_size, tmp_path / "cache", 1)
    first = mined_neighbours(model, records, pixels, 3, tmp_path / "cache")
    written = list((tmp_path / "cache").glob("neighbours-*.json"))
    assert len(written) == 1 and json.loads(written[0].read_text()) == first
    identities = {r.identity for r in records}
    assert set(first) == identities
    assert all(0 < len(v) <= 3 and set(v) <= identities - {k} for k, v in first.items())
    other = build_untrained_model("mined-other", seed=4).eval()
    mined_neighbours(other, records, pixels, 3, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("neighbours-*.json"))) == 2
    assert np.all([mined_neighbours(model, records, pixels, 3, tmp_path / "cache") == first])
