"""The Siamese network keeps the official layout and scores pairs with sigmoid(Linear(|f1 − f2|))."""

from __future__ import annotations

import torch

from lcmem.model.siamese import SiameseNetwork


def test_state_dict_has_the_official_layout() -> None:
    keys = set(SiameseNetwork("tiny").state_dict())
    assert {"model.features.0.0.weight", "model.classifier.2.weight", "fc_end.weight", "fc_end.bias"} <= keys
    assert all(k.startswith(("model.", "fc_end.")) for k in keys)
    net = SiameseNetwork("tiny")
    assert tuple(net.state_dict()["model.features.0.0.weight"].shape) == (96, 4, 4, 4)
    assert tuple(net.state_dict()["model.classifier.2.weight"].shape) == (512, 768)


def test_pair_logits_are_the_linear_head_on_absolute_difference() -> None:
    net = SiameseNetwork("atto", embedding_dim=16)
    f1, f2 = torch.rand(5, 16), torch.rand(5, 16)
    expected = (f1 - f2).abs() @ net.fc_end.weight[0] + net.fc_end.bias[0]
    assert torch.allclose(net.pair_logits(f1, f2), expected, atol=1e-6)
    assert torch.allclose(net.pair_logits(f1, f2), net.pair_logits(f2, f1))


def test_embeddings_lie_in_unit_interval() -> None:
    net = SiameseNetwork("atto", stem_stride=1).eval()
    f = net.embed(torch.randn(3, 4, 16, 16))
    assert f.shape == (3, 512)
    assert ((f > 0) & (f < 1)).all()


def test_untrained_head_scores_identical_embeddings_highest() -> None:
    net = SiameseNetwork("atto")
    f = torch.rand(50, 512)
    same = net.pair_logits(f[:1], f[:1])
    others = net.pair_logits(f[:1], f[1:])
    assert (same > others).all()
