"""Randomly initialised models: test fixtures, timing runs and the starting point of training."""

from __future__ import annotations

import torch

from lcmem.model.config import LCMemConfig, VaeRef
from lcmem.model.latent import build_vae, small_vae_config
from lcmem.model.siamese import LCMemModel


def build_untrained_model(
    name: str = "untrained",
    *,
    backbone: str = "atto",
    image_size: int = 64,
    stem_stride: int = 1,
    embedding_dim: int = 512,
    vae_kind: str = "AutoencoderKL",
    vae_width: int = 8,
    latent_channels: int = 4,
    seed: int = 0,
) -> LCMemModel:
    """Build a model with seeded random weights and a small bundled VAE (downsampling ×4).

    The spatial size shrinks by 4 (VAE) × ``stem_stride`` × 8 (ConvNeXt stages): 64-pixel inputs need
    ``stem_stride=1``, 256-pixel inputs allow 4.

    With random weights the embeddings carry no learned meaning, but identical images get identical
    embeddings and the pair head ranks them first: enough to find exact copies and to test the pipeline.
    """
    config = LCMemConfig(
        name=name,
        image_size=image_size,
        latent_channels=latent_channels,
        backbone=backbone,
        stem_stride=stem_stride,
        embedding_dim=embedding_dim,
        vae=VaeRef(kind=vae_kind),
        seed=seed,
        description="random weights: finds exact copies only; not a trained detector",
    )
    config.validate("untrained model")
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        vae = build_vae(vae_kind, **small_vae_config(vae_kind, vae_width, latent_channels))
        model = LCMemModel(config, vae)
    finally:
        torch.random.set_rng_state(generator_state)
    return model.eval()
