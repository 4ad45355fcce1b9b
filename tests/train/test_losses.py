"""The LCMem loss: NT-Xent, hard-negative partners and the weighted sum."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from lcmem.errors import LCMemError
from lcmem.model.siamese import SiameseNetwork
from lcmem.train.losses import lcmem_loss, negative_partners, nt_xent
from lcmem.train.stages import StageConfig


def test_nt_xent_is_the_cross_entropy_of_each_sample_against_its_partner() -> None:
    torch.manual_seed(0)
    z1, z2 = torch.randn(4, 8), torch.randn(4, 8)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    expected = []
    for i in range(8):
        partner = (i + 4) % 8
        logits = [float(z[i] @ z[j]) / 0.5 for j in range(8) if j != i]
        positive = float(z[i] @ z[partner]) / 0.5
        expected.append(math.log(sum(math.exp(v) for v in logits)) - positive)
    assert float(nt_xent(z1, z2, 0.5)) == pytest.approx(sum(expected) / 8, rel=1e-5)


def test_nt_xent_is_low_when_pairs_match_and_high_when_they_are_swapped() -> None:
    z1 = torch.eye(4)
    assert float(nt_xent(z1, z1.clone(), 0.07)) < 1e-3
    assert float(nt_xent(z1, z1.flip(0), 0.07)) > 5


def test_negatives_pair_rows_of_one_domain_and_roll_the_rest() -> None:
    # rows 0..5 are the positive half, 6..11 the negative half
    domains = ["x"] * 6 + ["cxr", "face", "cxr", "skin", "cxr", "face"]
    partners = negative_partners(domains)
    assert partners == [10, 11, 6, 8, 8, 7]
    for row, partner in zip(range(6, 12), partners, strict=True):
        assert partner != row and 6 <= partner < 12
        assert domains[partner] == domains[row] or domains.count(domains[row]) == 1


def test_dataset_negatives_stay_in_the_dataset_and_fall_back_to_the_domain() -> None:
    domains = ["x"] * 6 + ["cxr", "cxr", "cxr", "cxr", "face", "face"]
    datasets = ["x"] * 6 + ["nih", "cohen", "nih", "kermany", "yale", "yale"]
    partners = negative_partners(domains, datasets)
    by_row = dict(zip(range(6, 12), partners, strict=True))
    assert by_row[6] == 8 and by_row[8] == 6
    assert datasets[by_row[7]] != "cohen" and domains[by_row[7]] == "cxr" and by_row[7] != 7
    assert domains[by_row[9]] == "cxr" and by_row[9] != 9
    assert by_row[10] == 11 and by_row[11] == 10
    assert negative_partners(domains) != partners


def test_the_loss_weighs_bce_and_nt_xent_by_alpha() -> None:
    torch.manual_seed(0)
    network = SiameseNetwork(backbone="atto", in_channels=4, embedding_dim=16, stem_stride=2)
    o1, o2 = torch.rand(6, 16), torch.rand(6, 16)
    domains = ["cxr"] * 6
    parts = lcmem_loss(network, o1, o2, domains, alpha=0.8, temperature=0.07)
    assert float(parts.total.detach()) == pytest.approx(0.8 * parts.bce + 0.2 * parts.nt_xent, rel=1e-5)
    assert parts.nt_xent == pytest.approx(float(nt_xent(o1, o2, 0.07)), rel=1e-5)
    assert 0.0 <= parts.accuracy <= 1.0


def test_an_unknown_negatives_mode_is_a_clear_error() -> None:
    with pytest.raises(LCMemError, match="negatives"):
        StageConfig(negatives="patient")


def test_group_negatives_pair_rows_of_one_hard_negative_group_first() -> None:
    domains = ["x"] * 6 + ["cxr"] * 6
    datasets = ["x"] * 6 + ["kermany"] * 6
    groups = [0] * 6 + [1, 2, 1, 2, 3, 4]
    by_row = dict(zip(range(6, 12), negative_partners(domains, datasets, groups), strict=True))
    assert by_row[6] == 8 and by_row[8] == 6 and by_row[7] == 9 and by_row[9] == 7
    assert by_row[10] != 10 and by_row[11] != 11
    assert by_row != dict(zip(range(6, 12), negative_partners(domains, datasets), strict=True))
