"""The copy-detection transforms of the official robustness benchmark, on ``(3, H, W)`` tensors in [0, 1].

Applied to 512×512 images, as the official code does, before each detector resizes to its own input size.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lcmem.train.augment import adjust_brightness, adjust_contrast, jpeg, rotate

STRENGTHS: dict[str, tuple[float, ...]] = {
    "blur": (0.1, 1.0, 2.0, 6.0),
    "noise": (0.01, 0.1, 0.2, 0.3),
    "rotation": (5.0, 10.0, 20.0, 30.0),
    "brightness": (1.1, 1.3, 1.6, 2.0),
    "contrast": (1.1, 1.3, 1.6, 2.0),
    "jpeg": (95.0, 70.0, 40.0, 10.0),
}
"""Blur σ (px, kernel 9 as the official), noise std, degrees, brightness and contrast factors, JPEG quality."""


def blur_kernel9(image: Tensor, sigma: float) -> Tensor:
    """``T.GaussianBlur(kernel_size=9, sigma)``: a 9-tap kernel whatever σ (so σ 6 is a strong box-like blur)."""
    x = torch.arange(-4, 5, dtype=image.dtype)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = image.shape[0]
    padded = torch.nn.functional.pad(image.unsqueeze(0), (4, 4, 4, 4), mode="reflect")
    out = torch.nn.functional.conv2d(padded, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = torch.nn.functional.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return out[0]


def apply_transform(image: Tensor, name: str, strength: float, generator: torch.Generator) -> Tensor:
    """One transform at one strength, clamped to [0, 1]."""
    if name == "blur":
        out = blur_kernel9(image, strength)
    elif name == "noise":
        out = image + torch.randn(image.shape, generator=generator) * strength
    elif name == "rotation":
        out = rotate(image, strength)
    elif name == "brightness":
        out = adjust_brightness(image, strength)
    elif name == "contrast":
        out = adjust_contrast(image, strength)
    elif name == "jpeg":
        out = jpeg(image, int(strength))
    else:
        raise ValueError(f"unknown transform {name!r}")
    return out.clamp(0, 1)
