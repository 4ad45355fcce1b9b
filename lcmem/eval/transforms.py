"""The copy-detection transforms of the official robustness benchmark, on ``(3, H, W)`` tensors in [0, 1], and the
milder edits of the in-domain retrieval protocol (:data:`EDITS`).

The official transforms are applied to 512×512 images, as the official code does, before each detector resizes to
its own input size; the retrieval edits to the images at the evaluation's working size (256 by default).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from lcmem.train.augment import adjust_brightness, adjust_contrast, gaussian_blur, jpeg, rotate

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


EDITS: dict[str, tuple[tuple[str, float], ...]] = {
    "rotation_3": (("rotation", 3.0),),
    "rotation_5": (("rotation", 5.0),),
    "rotation_10": (("rotation", 10.0),),
    "crop_95": (("crop", 0.95),),
    "crop_85": (("crop", 0.85),),
    "brightness_0.8": (("brightness", 0.8),),
    "brightness_1.25": (("brightness", 1.25),),
    "contrast_0.8": (("contrast", 0.8),),
    "contrast_1.25": (("contrast", 1.25),),
    "blur_1": (("blur", 1.0),),
    "hflip": (("hflip", 1.0),),
    "downscale_0.5": (("downscale", 0.5),),
    "jpeg_50": (("jpeg", 50.0),),
    "jpeg_75": (("jpeg", 75.0),),
    "combined": (("rotation", 3.0), ("crop", 0.95), ("brightness", 1.1), ("jpeg", 75.0)),
}
"""The retrieval protocol's query edits, each a sequence of steps: rotation (degrees, black corners), centre crop
(fraction of each side kept, resized back), brightness and contrast factors, Gaussian blur (σ in pixels),
horizontal flip, downscale (factor, then back up: detail is lost), JPEG quality."""


def apply_edit(image: Tensor, edit: str) -> Tensor:
    """One retrieval edit (:data:`EDITS`) of a ``(3, S, S)`` image in [0, 1]; the result keeps its size."""
    out = image
    for step, value in EDITS[edit]:
        out = _edit_step(out, step, value).clamp(0, 1)
    return out


def _edit_step(image: Tensor, step: str, value: float) -> Tensor:
    side = image.shape[-1]
    if step in ("rotation", "brightness", "contrast", "jpeg"):
        return apply_transform(image, step, value, torch.Generator())
    if step == "crop":
        keep = round(side * value)
        start = (side - keep) // 2
        return _resize(image[:, start : start + keep, start : start + keep], side)
    if step == "blur":
        return gaussian_blur(image, value)
    if step == "hflip":
        return image.flip(-1)
    if step == "downscale":
        return _resize(_resize(image, round(side * value)), side)
    raise ValueError(f"unknown edit step {step!r}")


def _resize(image: Tensor, side: int) -> Tensor:
    return F.interpolate(image.unsqueeze(0), size=(side, side), mode="bilinear", antialias=True, align_corners=False)[0]
