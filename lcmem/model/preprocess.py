"""LoadedImage → the model's input tensor. The one place where pixels are resized for the encoder."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from lcmem.io import LoadedImage


def to_model_input(image: LoadedImage | np.ndarray, size: int) -> Tensor:
    """Turn decoded pixels into a ``(3, size, size)`` float32 tensor in [0, 1].

    Grey images are repeated to three channels; the image is resized to a square with bilinear,
    antialiased interpolation, without keeping the aspect ratio, as the official ``Resize((512, 512))``.

    Args:
        image: a :class:`LoadedImage` or its float32 pixel array ``(H, W)`` / ``(H, W, 3)`` in [0, 1].
        size: the bundle's input size.
    """
    pixels = image.pixels if isinstance(image, LoadedImage) else image
    tensor = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32))
    tensor = tensor.unsqueeze(0).expand(3, -1, -1) if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    if tuple(tensor.shape[1:]) != (size, size):
        tensor = F.interpolate(
            tensor.unsqueeze(0), size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )[0]
    return tensor.clamp(0.0, 1.0).contiguous()
