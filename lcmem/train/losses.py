"""The LCMem loss: ``α·BCE(pair head) + (1 − α)·NT-Xent(τ)``, with half-batch roll negatives."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from lcmem.model.siamese import SiameseNetwork


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.07) -> Tensor:
    """NT-Xent with cosine similarity: ``z1[i]`` and ``z2[i]`` are positives, every other sample a negative.

    Equal to ``pytorch_metric_learning.losses.NTXentLoss`` with labels ``cat(arange(B), arange(B))``.
    """
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    similarity = z @ z.t() / temperature
    n = z1.shape[0]
    similarity.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(similarity, targets)


def negative_partners(domains: list[str], datasets: list[str] | None = None,
                      groups: list[int] | None = None) -> list[int]:  # fmt: skip
    """For the second half of a batch, a partner index per row: another row of the same hard-negative group
    where ``groups`` is given and one exists, else of the same dataset where ``datasets`` is given, else of the
    same domain, else the next row of the half (the official roll); partners roll within each group."""
    half = len(domains) // 2
    rows = list(range(half, len(domains)))
    partners = {row: half + (row - half - 1) % len(rows) for row in rows}
    for keys in [k for k in (domains, datasets, groups) if k is not None]:
        buckets: dict[object, list[int]] = {}
        for row in rows:
            buckets.setdefault(keys[row], []).append(row)
        for members in buckets.values():
            if len(members) >= 2:
                for i, row in enumerate(members):
                    partners[row] = members[i - 1]
    return [partners[row] for row in rows]


@dataclass(frozen=True)
class LossParts:
    """The total loss and its parts (floats, for logging)."""

    total: Tensor
    bce: float
    nt_xent: float
    accuracy: float


def lcmem_loss(
    network: SiameseNetwork,
    o1: Tensor,
    o2: Tensor,
    domains: list[str],
    alpha: float = 0.8,
    temperature: float = 0.07,
    datasets: list[str] | None = None,
    groups: list[int] | None = None,
) -> LossParts:
    """The training loss for embeddings ``o1``, ``o2`` of B identity pairs (first half positives).

    The second half's negatives pair ``o1`` of one row with ``o2`` of a row of the same domain (or, with
    ``datasets``, the same dataset; with ``groups``, the same hard-negative group first) where possible: harder
    than the official random roll, which mostly crosses domains.
    """
    half = o1.shape[0] // 2
    partners = negative_partners(domains, datasets, groups)
    left = torch.cat([o1[:half], o1[partners]])
    right = torch.cat([o2[:half], o2[half:]])
    labels = torch.cat([torch.ones(half), torch.zeros(o1.shape[0] - half)]).to(o1.device)
    logits = network.pair_logits(left, right)
    bce = F.binary_cross_entropy_with_logits(logits, labels)
    contrastive = nt_xent(o1, o2, temperature)
    total = alpha * bce + (1 - alpha) * contrastive
    accuracy = ((logits > 0).float() == labels).float().mean()
    return LossParts(total, float(bce.detach()), float(contrastive.detach()), float(accuracy))
