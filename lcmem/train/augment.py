"""Image-space augmentations for stage 2 (applied to the second image of each pair), on tensors in [0, 1].

``official``: the effective set of the released LCMem stage-2 config (rotation ±20° p 0.5, horizontal flip
p 0.5, blur σ∈U(0, 0.2) px, noise σ∈U(0, 0.05), JPEG q∈[10, 95] p 0.5). ``strong`` (for copy pairs) adds
what the official config meant but did not do (its brightness/contrast factors were exactly 1) and
widens the ranges past the strengths the copy-detection benchmark tests: rotation ±45°, blur σ up to 1.5 %
of the image side, noise σ up to 0.3, brightness and contrast factors in [0.5, 2.5], random crops of
80–100 %. ``mild`` (for two different images of one identity) is what a second acquisition varies: small
crops and rotations, flips, slight exposure changes and re-encoding.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.nn import functional as F


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of each augmentation."""

    rotate_p: float = 0.5
    rotate_degrees: float = 45.0
    flip_p: float = 0.5
    blur_p: float = 0.5
    blur_max_fraction: float = 0.015
    noise_p: float = 0.5
    noise_max: float = 0.3
    jpeg_p: float = 0.5
    jpeg_quality: tuple[int, int] = (10, 95)
    brightness_p: float = 0.5
    brightness: tuple[float, float] = (0.5, 2.5)
    contrast_p: float = 0.5
    contrast: tuple[float, float] = (0.5, 2.5)
    crop_p: float = 0.5
    crop_scale: tuple[float, float] = (0.8, 1.0)


PRESETS = {
    "strong": AugmentConfig(),
    "official": AugmentConfig(
        rotate_degrees=20.0, blur_p=1.0, blur_max_fraction=0.2 / 512, noise_p=1.0, noise_max=0.05,
        brightness_p=0.0, contrast_p=0.0, crop_p=0.0,
    ),
    "mild": AugmentConfig(
        rotate_p=0.3, rotate_degrees=10.0, blur_p=0.2, blur_max_fraction=0.004, noise_p=0.2, noise_max=0.03,
        jpeg_p=0.3, jpeg_quality=(50, 95), brightness_p=0.3, brightness=(0.8, 1.25), contrast_p=0.3,
        contrast=(0.8, 1.25), crop_p=0.5, crop_scale=(0.85, 1.0),
    ),
}  # fmt: skip


def gaussian_blur(image: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``(C, H, W)`` with reflection padding; ``sigma`` in pixels."""
    if sigma <= 0.05:
        return image
    radius = max(1, math.ceil(3 * sigma))
    radius = min(radius, image.shape[-1] // 2 - 1, image.shape[-2] // 2 - 1)
    x = torch.arange(-radius, radius + 1, dtype=image.dtype)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = image.shape[0]
    out = F.pad(image.unsqueeze(0), (radius, radius, 0, 0), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = F.pad(out, (0, 0, radius, radius), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return out[0]


def rotate(image: Tensor, degrees: float) -> Tensor:
    """Rotate ``(C, H, W)`` about its centre, bilinear, corners filled with black."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=image.dtype).unsqueeze(0)
    grid = F.affine_grid(theta, [1, *image.shape], align_corners=False)
    return F.grid_sample(image.unsqueeze(0), grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0]


def jpeg(image: Tensor, quality: int) -> Tensor:
    """Round-trip ``(3, H, W)`` through Pillow's JPEG encoder at ``quality``."""
    array = (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    decoded = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(decoded).permute(2, 0, 1).contiguous()


def adjust_brightness(image: Tensor, factor: float) -> Tensor:
    """Multiply intensities by ``factor`` (torchvision's ``adjust_brightness``)."""
    return (image * factor).clamp(0, 1)


def adjust_contrast(image: Tensor, factor: float) -> Tensor:
    """Blend with the mean grey level (torchvision's ``adjust_contrast``)."""
    grey = (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]).mean()
    return (factor * image + (1 - factor) * grey).clamp(0, 1)


def random_crop(image: Tensor, scale: float, rng: np.random.Generator) -> Tensor:
    """Crop ``scale`` of each side at a random place and resize back."""
    _, h, w = image.shape
    ch, cw = max(1, int(h * scale)), max(1, int(w * scale))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = image[:, top : top + ch, left : left + cw].unsqueeze(0)
    return F.interpolate(crop, size=(h, w), mode="bilinear", antialias=True, align_corners=False)[0]


def augment(image: Tensor, config: AugmentConfig, rng: np.random.Generator) -> Tensor:
    """Apply the configured augmentations to one ``(3, H, W)`` image in [0, 1]."""
    side = image.shape[-1]
    if rng.random() < config.crop_p:
        image = random_crop(image, float(rng.uniform(*config.crop_scale)), rng)
    if rng.random() < config.rotate_p:
        image = rotate(image, float(rng.uniform(-config.rotate_degrees, config.rotate_degrees)))
    if rng.random() < config.flip_p:
        image = image.flip(-1)
    if rng.random() < config.blur_p:
        image = gaussian_blur(image, float(rng.uniform(0, config.blur_max_fraction * side)))
    if rng.random() < config.noise_p:
        image = image + torch.randn(image.shape, generator=_torch_rng(rng)) * float(rng.uniform(0, config.noise_max))
        image = image.clamp(0, 1)
    if rng.random() < config.brightness_p:
        image = adjust_brightness(image, float(rng.uniform(*config.brightness)))
    if rng.random() < config.contrast_p:
        image = adjust_contrast(image, float(rng.uniform(*config.contrast)))
    if rng.random() < config.jpeg_p:
        image = jpeg(image, int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1)))
    return image.clamp(0, 1)


def _torch_rng(rng: np.random.Generator) -> torch.Generator:
    return torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
