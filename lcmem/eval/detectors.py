"""Detectors compared by ``lcmem eval``: LCMem and the baselines, each scoring batches of image pairs.

Every detector receives the same pairs as ``(B, 3, S, S)`` tensors in [0, 1] and returns higher-is-more-similar
scores. Baselines: MSE (negated), SSIM (Gaussian 11×11, σ 1.5, data range 1, as torchmetrics), NCC (Pearson
correlation of the pixels), a 64-bit DCT perceptual hash (negated Hamming distance, as ``imagehash.phash``)
and the cosine similarity of the raw VAE latents (the latent distribution's mean, unnormalised).

Each detector also scores every query against every gallery image at once (``matrix``), with the same values
as ``compare`` on the pairs, which the retrieval protocol needs (:mod:`lcmem.eval.retrieval`).
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

    def matrix(self, queries: Tensor, gallery: Tensor) -> Tensor:
        """Similarity scores ``(Q, G)`` of every query's features against every gallery image's."""
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

    def matrix(self, queries: Tensor, gallery: Tensor) -> Tensor:
        with torch.inference_mode():
            rows = [self.model.score(q[:, None, :], gallery[None]) for q in queries.split(16)]
        return torch.cat(rows) if rows else queries.new_zeros(0, len(gallery))


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

    def matrix(self, queries: Tensor, gallery: Tensor) -> Tensor:
        return F.normalize(queries, dim=1, eps=1e-8) @ F.normalize(gallery, dim=1, eps=1e-8).t()


class MseDetector:
    """Negated mean squared error."""

    name = "mse"

    def features(self, x: Tensor) -> Tensor:
        return x

    def compare(self, x1: Tensor, x2: Tensor) -> Tensor:
        return -((x1 - x2) ** 2).flatten(1).mean(1)

    def matrix(self, queries: Tensor, gallery: Tensor) -> Tensor:
        a, b = queries.flatten(1).double(), gallery.flatten(1).double()
        squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.t()
        return -(squared.clamp_min(0) / a.shape[1]).float()


class NccDetector:
    """Pearson correlation of the flattened images."""

    name = "ncc"

    def features(self, x: Tensor) -> Tensor:
        return x

    def compare(self, x1: Tensor, x2: Tensor) -> Tensor:
        a = x1.flatten(1) - x1.flatten(1).mean(1, keepdim=True)
        b = x2.flatten(1) - x2.flatten(1).mean(1, keepdim=True)
        return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)

    def matrix(self, queries: Tensor, gallery: Tensor) -> Tensor:
        a = queries.flatten(1).double()
        b = gallery.flatten(1).double()
        a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
        return ((a @ b.t()) / (a.norm(dim=1)[:, None] * b.norm(dim=1)[None, :]).clamp_min(1e-12)).float()


class SsimDetector:
    """Mean SSIM over channels and pixels (Wang et al. 2004; Gaussian window 11, σ 1.5, K1 0.01, K2 0.03).

    With ``stride`` s > 1 the mean is over every s-th window position in each direction (the retrieval protocol's
    cost cut); the paper protocols use every position.
    """

    name = "ssim"

    def __init__(self, stride: int = 1) -> None:
        x = torch.arange(11, dtype=torch.float32) - 5
        g = torch.exp(-(x**2) / (2 * 1.5**2))
        g = g / g.sum()
        self.window = (g[:, None] * g[None, :]).expand(3, 1, 11, 11).contiguous()
        self.stride = stride

    def features(self, x: Tensor) -> Tensor:
        return x

    def _moments(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Windowed mean and variance at the sampled positions, ``(B, 3, H', W')`` each."""
        mu = F.conv2d(x, self.window, groups=3)
        var = F.conv2d(x * x, self.window, groups=3) - mu**2
        return mu[..., :: self.stride, :: self.stride], var[..., :: self.stride, :: self.stride]

    def compare(self, x1: Tensor, x2: Tensor) -> Tensor:
        (mu1, var1), (mu2, var2) = self._moments(x1), self._moments(x2)
        cross = F.conv2d(x1 * x2, self.window, groups=3)[..., :: self.stride, :: self.stride]
        return _ssim(mu1, mu2, var1, var2, cross - mu1 * mu2).flatten(1).mean(1)

    def matrix(self, queries: Tensor, gallery: Tensor) -> Tensor:
        """The mean SSIM of every pair: at each window position, the weighted cross moments of all pairs are one
        matrix product of the queries' and the gallery's 11×11 patches there."""
        (mu_q, var_q), (mu_g, var_g) = self._moments(queries), self._moments(gallery)
        weights = self.window[0, 0].flatten()[None, :, None]
        total = queries.new_zeros(len(queries), len(gallery))
        for c in range(3):
            patches_q = F.unfold(queries[:, c : c + 1], 11, stride=self.stride) * weights
            patches_g = F.unfold(gallery[:, c : c + 1], 11, stride=self.stride)
            cross = torch.bmm(patches_q.permute(2, 0, 1), patches_g.permute(2, 1, 0))
            mq, mg = mu_q[:, c].flatten(1).t()[:, :, None], mu_g[:, c].flatten(1).t()[:, None, :]
            vq, vg = var_q[:, c].flatten(1).t()[:, :, None], var_g[:, c].flatten(1).t()[:, None, :]
            total += _ssim(mq, mg, vq, vg, cross - mq * mg).sum(0)
        return total / (3 * mu_q.shape[-1] * mu_q.shape[-2])


def _ssim(mu1: Tensor, mu2: Tensor, var1: Tensor, var2: Tensor, cov: Tensor) -> Tensor:
    c1, c2 = 0.01**2, 0.03**2
    return ((2 * mu1 * mu2 + c1) * (2 * cov + c2)) / ((mu1**2 + mu2**2 + c1) * (var1 + var2 + c2))


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

    def matrix(self, queries: Tensor, gallery: Tensor) -> Tensor:
        a, b = queries.float(), gallery.float()
        return -(a @ (1 - b).t() + (1 - a) @ b.t())


class Thumbnail:
    """A detector that sees every image at ``size`` × ``size`` (antialiased): how the retrieval protocol runs the
    pixel baselines, whose query × gallery matrices at full size are beyond a CPU run."""

    def __init__(self, detector: Detector, size: int) -> None:
        self.detector = detector
        self.name = detector.name
        self.size = size

    def features(self, x: Tensor) -> Tensor:
        return self.detector.features(_resize(x, self.size))

    def compare(self, f1: Tensor, f2: Tensor) -> Tensor:
        return self.detector.compare(f1, f2)

    def matrix(self, queries: Tensor, gallery: Tensor) -> Tensor:
        return self.detector.matrix(queries, gallery)


def baselines(model: LCMemModel) -> list[Detector]:
    """The baseline detectors, in report order."""
    return [MseDetector(), SsimDetector(), NccDetector(), PHashDetector(), VaeLatentCosine(model)]


def _resize(x: Tensor, size: int) -> Tensor:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
