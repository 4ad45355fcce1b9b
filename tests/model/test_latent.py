"""Latents: deterministic VAE mean, then per-sample, per-channel normalisation to (0, 0.5)."""

from __future__ import annotations

import torch

from lcmem.model.latent import LatentEncoder, build_vae, normalize_latents, small_vae_config


def test_normalisation_gives_mean_zero_std_half_per_sample_and_channel() -> None:
    latents = torch.randn(3, 4, 8, 8) * torch.tensor([1.0, 5.0, 0.1, 30.0]).view(1, 4, 1, 1) + 7.0
    out = normalize_latents(latents)
    assert torch.allclose(out.mean(dim=(2, 3)), torch.zeros(3, 4), atol=1e-5)
    assert torch.allclose(out.std(dim=(2, 3)), torch.full((3, 4), 0.5), atol=1e-5)
    assert torch.allclose(normalize_latents(out), out, atol=1e-5)


def test_normalisation_keeps_a_constant_channel_finite() -> None:
    latents = torch.zeros(1, 4, 8, 8)
    out = normalize_latents(latents)
    assert torch.isfinite(out).all()
    assert torch.equal(out, torch.zeros_like(out))


def test_each_sample_is_normalised_independently() -> None:
    a = torch.randn(1, 4, 8, 8)
    b = torch.randn(1, 4, 8, 8) * 100
    together = normalize_latents(torch.cat([a, b]))
    assert torch.allclose(together[0], normalize_latents(a)[0], atol=1e-6)


def test_encoder_is_deterministic_and_frozen() -> None:
    for kind in ("AutoencoderKL", "AutoencoderTiny"):
        torch.manual_seed(0)
        encoder = LatentEncoder(build_vae(kind, **small_vae_config(kind)))
        encoder.train()
        images = torch.rand(2, 3, 32, 32)
        first, second = encoder(images), encoder(images)
        assert torch.equal(first, second), kind
        assert first.shape == (2, 4, 8, 8)
        assert not any(p.requires_grad for p in encoder.parameters())
        assert not encoder.vae.training


def test_encoder_clamps_inputs_to_unit_range() -> None:
    torch.manual_seed(0)
    encoder = LatentEncoder(build_vae("AutoencoderKL", **small_vae_config()))
    images = torch.rand(1, 3, 32, 32)
    assert torch.equal(encoder(images * 3 - 1), encoder((images * 3 - 1).clamp(0, 1)))
