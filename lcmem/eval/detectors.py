"""Detectors compared by ``lcmem eval``: LCMem and the baselines, each scoring batches of image pairs.

Every detector receives the same pairs as ``(B, 3, S, S)`` tensors in [0, 1] and returns higher-is-more-similar
scores. Baselines: MSE (negated), SSIM (Gaussian 11×11, σ 1.5, data range 1, as torchmetrics), NCC (Pearson
correlation of the pixels), a 64-bit DCT perceptual hash (negated Hamming distance, as ``imagehash.phash``)
and the cosine similarity of the raw VAE latents (the latent distribution's mean, unnormalised).
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
from torch import Tensor
from torch.nn import functional as F

from lcmem.model.siamese import LCMemModel


class Detector(Protocol):
    """Scores pairs of image batches in two steps, so one image's features serve many pairs."""

    name: str

    def features(self, x: Tensor) -> Tensor:
        """What the detector compares, for a batch of images."""
        ...

    def compare(self, f1: Tensor, f2: Tensor) -> Tensor:
        """Similarity scores ``(B,)`` of paired features."""
        ...


def score_pairs(detector: Detector, x1: Tensor, x2: Tensor) -> Tensor:
    """Scores of image pairs ``(x1[i], x2[i])``."""
    return detector.compare(detector.features(x1), detector.features(x2))


class LCMemDetector:
    """The LCMem pair probability, with embeddings computed at the model's input size."""

    def __init__(self, model: LCMemModel, name: str = "lcmem") -> None:
        self.model = model.eval()
        self.name = name
        self.size = model.config.image_size

    def features(self, x: Tensor) -> Tensor:
        with torch.inference_mode():
            return self.model.embed_images(_resize(x, self.size))

    def compare(self, f1: Tensor, f2: Tensor) -> Tensor:
        with torch.inference_mode():
            return self.model.score(f1, f2)


class VaeLatentCosine:
    """Cosine similarity of the flattened raw VAE latents."""

    name = "vae_latent_cosine"

    def __init__(self, model: LCMemModel) -> None:
        self.encoder = model.encoder
        self.size = model.config.image_size

    def features(self, x: Tensor) -> Tensor:
        with torch.inference_mode():
            return self.encoder.encode_raw(_resize(x, self.size)).flatten(1)

    def compare(self, f1: Tensor, f2: Tensor) -> Tensor:
        return F.cosine_similarity(f1, f2, dim=1)


class MseDetector:
    """Negated mean squared error."""

    name = "mse"

    def features(self, x: Tensor) -> Tensor:
        return x

    def compare(self, x1: Tensor, x2: Tensor) -> Tensor:
        return -((x1 - x2) ** 2).flatten(1).mean(1)


class NccDetector:
    """Pearson correlation of the flattened images."""

    name = "ncc"

    def features(self, x: Tensor) -> Tensor:
        return x

    def compare(self, x1: Tensor, x2: Tensor) -> Tensor:
        a = x1.flatten(1) - x1.flatten(1).mean(1, keepdim=True)
        b = x2.flatten(1) - x2.flatten(1).mean(1, keepdim=True)
        return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)


class SsimDetector:
    """Mean SSIM over channels and pixels (Wang et al. 2004; Gaussian window 11, σ 1.5, K1 0.01, K2 0.03)."""

    name = "ssim"

    def __init__(self) -> None:
        x = torch.arange(11, dtype=torch.float32) - 5
        g = torch.exp(-(x**2) / (2 * 1.5**2))
        g = g / g.sum()
        self.window = (g[:, None] * g[None, :]).expand(3, 1, 11, 11).contiguous()

    def features(self, x: Tensor) -> Tensor:
        return x

    def compare(self, x1: Tensor, x2: Tensor) -> Tensor:
        c1, c2 = 0.01**2, 0.03**2

        def blur(t: Tensor) -> Tensor:
            return F.conv2d(t, self.window, groups=3)

        mu1, mu2 = blur(x1), blur(x2)
        var1 = blur(x1 * x1) - mu1**2
        var2 = blur(x2 * x2) - mu2**2
        cov = blur(x1 * x2) - mu1 * mu2
        ssim = ((2 * mu1 * mu2 + c1) * (2 * cov + c2)) / ((mu1**2 + mu2**2 + c1) * (var1 + var2 + c2))
        return ssim.flatten(1).mean(1)


def _dct_matrix(n: int) -> Tensor:
    k = torch.arange(n, dtype=torch.float64)
    matrix = torch.cos(math.pi / n * (k[None, :] + 0.5) * k[:, None])
    return matrix.float()


class PHashDetector:
    """``imagehash.phash``: grey 32×32, 2-D DCT, the 8×8 low frequencies against their median; −Hamming."""

    name = "phash"

    def __init__(self) -> None:
        self.dct = _dct_matrix(32)

    def features(self, x: Tensor) -> Tensor:
        """64-bit hashes ``(B, 64)`` of a batch."""
        grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
        small = F.interpolate(grey, size=(32, 32), mode="bilinear", antialias=True, align_corners=False)[:, 0]
        coefficients = self.dct @ small @ self.dct.t()
        low = coefficients[:, :8, :8].flatten(1)
        return low > low.median(dim=1, keepdim=True).values

    def compare(self, f1: Tensor, f2: Tensor) -> Tensor:
        return -(f1 != f2).sum(1).float()


def baselines(model: LCMemModel) -> list[Detector]:
    """The baseline detectors, in report order."""
    return [MseDetector(), SsimDetector(), NccDetector(), PHashDetector(), VaeLatentCosine(model)]


def _resize(x: Tensor, size: int) -> Tensor:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
