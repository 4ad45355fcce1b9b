"""The LCMem Siamese network: latent → ConvNeXt → 512-d sigmoid embedding; pair head on |f1 − f2|."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lcmem.model.config import LCMemConfig
from lcmem.model.convnext import ConvNeXt
from lcmem.model.latent import LatentEncoder


class SiameseNetwork(nn.Module):
    """Backbone and pair head, with the official state-dict layout (``model.*``, ``fc_end.*``).

    A state dict of the official torchvision-based ``SiameseNetwork`` (ConvNeXt-Tiny, 4-channel stem,
    ``Linear(768, 512)``, ``fc_end = Linear(512, 1)``) loads into ``SiameseNetwork("tiny")`` strictly.

    The pair head starts with non-positive weights, so an untrained network already scores identical
    embeddings highest (the official code uses PyTorch's default, sign-agnostic initialisation).
    """

    def __init__(self, backbone: str = "tiny", in_channels: int = 4, embedding_dim: int = 512, stem_stride: int = 4):
        super().__init__()
        self.model = ConvNeXt(backbone, in_channels, embedding_dim, stem_stride)
        self.fc_end = nn.Linear(embedding_dim, 1)
        with torch.no_grad():
            self.fc_end.weight.uniform_(-2.0 / math.sqrt(embedding_dim), 0.0)
            self.fc_end.bias.fill_(2.0)

    @classmethod
    def from_config(cls, config: LCMemConfig) -> SiameseNetwork:
        """Build an untrained network with the architecture of ``config``."""
        return cls(config.backbone, config.latent_channels, config.embedding_dim, config.stem_stride)

    def embed(self, latents: Tensor) -> Tensor:
        """Map normalised latents ``(B, C, h, w)`` to embeddings ``(B, D)`` in (0, 1)."""
        return torch.sigmoid(self.model(latents))

    def pair_logits(self, f1: Tensor, f2: Tensor) -> Tensor:
        """Logits of "same source" for embeddings broadcastable to ``(..., D)``; returns ``(...)``."""
        return self.fc_end(torch.abs(f1 - f2)).squeeze(-1)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """Pair logits for two batches of latents."""
        return self.pair_logits(self.embed(x1), self.embed(x2))


class LCMemModel(nn.Module):
    """A complete detector: images in [0, 1] → embeddings, and exact pair probabilities.

    Attributes:
        config: the bundle configuration this model was built from.
        encoder: the frozen VAE with latent normalisation.
        network: the trainable :class:`SiameseNetwork`.
    """

    def __init__(self, config: LCMemConfig, vae: nn.Module, network: SiameseNetwork | None = None):
        super().__init__()
        self.config = config
        self.encoder = LatentEncoder(vae, config.norm_mean, config.norm_std, config.norm_eps)
        self.network = network if network is not None else SiameseNetwork.from_config(config)

    def embed_images(self, images: Tensor) -> Tensor:
        """Embeddings ``(B, D)`` of images ``(B, 3, S, S)`` in [0, 1]."""
        return self.network.embed(self.encoder(images))

    def score(self, f1: Tensor, f2: Tensor) -> Tensor:
        """Pair probabilities ``sigmoid(fc_end(|f1 − f2|))`` in [0, 1] for broadcastable embeddings."""
        return torch.sigmoid(self.network.pair_logits(f1, f2))

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """Pair logits of two image batches (training)."""
        return self.network.pair_logits(self.embed_images(x1), self.embed_images(x2))
