"""The frozen diffusers VAE and the per-sample latent normalisation that feed the LCMem backbone."""

from __future__ import annotations

import logging

import torch
from torch import Tensor, nn

logger = logging.getLogger(__name__)


def normalize_latents(latents: Tensor, mean: float = 0.0, std: float = 0.5, eps: float = 1e-8) -> Tensor:
    """Standardise each sample and channel over its spatial axes to the given mean and std.

    ``(x − mean_hw) / max(std_hw, eps) · std + mean``, with the unbiased std as in the official code; the
    operation is idempotent.

    Args:
        latents: ``(B, C, H, W)``.
        mean: target mean of every channel.
        std: target standard deviation of every channel.
        eps: floor of the measured std (a constant channel stays constant).
    """
    channel_mean = latents.mean(dim=(2, 3), keepdim=True)
    channel_std = latents.std(dim=(2, 3), keepdim=True).clamp_min(eps)
    return (latents - channel_mean) / channel_std * std + mean


class LatentEncoder(nn.Module):
    """Images in [0, 1] → deterministic VAE latents (the distribution's mean) → normalised latents.

    The VAE is frozen (``requires_grad`` off, eval mode). Inputs are clamped to [0, 1] and given to the VAE
    in that range, as in the official LCMem code (not the usual [-1, 1] of Stable Diffusion).
    """

    def __init__(self, vae: nn.Module, norm_mean: float = 0.0, norm_std: float = 0.5, norm_eps: float = 1e-8):
        super().__init__()
        self.vae = vae
        self.norm_mean = norm_mean
        self.norm_std = norm_std
        self.norm_eps = norm_eps
        self.vae.requires_grad_(False)
        self.vae.eval()

    def train(self, mode: bool = True) -> LatentEncoder:
        """Keep the VAE in eval mode whatever the caller asks: it is frozen."""
        super().train(mode)
        self.vae.eval()
        return self

    @torch.no_grad()
    def encode_raw(self, images: Tensor) -> Tensor:
        """Return the VAE latents before normalisation for ``(B, 3, H, W)`` images in [0, 1]."""
        images = images.clamp(0.0, 1.0)
        output = self.vae.encode(images)
        if hasattr(output, "latent_dist"):
            return output.latent_dist.mean
        return output.latents

    def forward(self, images: Tensor) -> Tensor:
        return normalize_latents(self.encode_raw(images), self.norm_mean, self.norm_std, self.norm_eps)


def build_vae(kind: str, **config: object) -> nn.Module:
    """Construct a randomly initialised diffusers VAE of ``kind`` (``AutoencoderKL``/``AutoencoderTiny``)."""
    import diffusers

    return getattr(diffusers, kind)(**config)


def load_vae(kind: str, path: str, subfolder: str | None = None) -> nn.Module:
    """Load a diffusers VAE from a local folder or a hub id, from safetensors only (never a pickle).

    Raises:
        OSError, ValueError: diffusers could not find or read the weights (the bundle loader wraps these).
    """
    import diffusers

    cls = getattr(diffusers, kind)
    logger.info("loading %s from %s%s", kind, path, f" ({subfolder})" if subfolder else "")
    return cls.from_pretrained(path, subfolder=subfolder, use_safetensors=True, low_cpu_mem_usage=False)


def small_vae_config(kind: str = "AutoencoderKL", width: int = 8, latent_channels: int = 4) -> dict:
    """A tiny VAE configuration (downsampling ×4) for tests and random-weight bundles."""
    if kind == "AutoencoderTiny":
        return {
            "encoder_block_out_channels": (width, width, width),
            "decoder_block_out_channels": (width, width, width),
            "num_encoder_blocks": (1, 1, 1),
            "num_decoder_blocks": (1, 1, 1),
            "latent_channels": latent_channels,
        }
    return {
        "in_channels": 3,
        "out_channels": 3,
        "down_block_types": ("DownEncoderBlock2D",) * 3,
        "up_block_types": ("UpDecoderBlock2D",) * 3,
        "block_out_channels": (width, width * 2, width * 2),
        "latent_channels": latent_channels,
        "layers_per_block": 1,
        "norm_num_groups": min(width, 4),
        "sample_size": 64,
    }
