"""ConvNeXt backbone with torchvision's module layout, so its state-dict keys are torchvision's.

The layout mirrors ``torchvision.models.convnext`` (``features.*``, ``avgpool``, ``classifier.*``) so that a
state dict saved from a torchvision ``convnext_tiny/small/base`` (or from the official LCMem
``SiameseNetwork`` built on it) loads with ``strict=True`` and computes the same function. The stem takes
``in_channels`` (4 for VAE latents). Sizes range from ``atto`` (3.4 M parameters) to ``base``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass(frozen=True)
class ConvNeXtSize:
    """Channel widths and block counts of the four stages."""

    dims: tuple[int, int, int, int]
    depths: tuple[int, int, int, int]


CONVNEXT_SIZES: dict[str, ConvNeXtSize] = {
    "atto": ConvNeXtSize((40, 80, 160, 320), (2, 2, 6, 2)),
    "femto": ConvNeXtSize((48, 96, 192, 384), (2, 2, 6, 2)),
    "pico": ConvNeXtSize((64, 128, 256, 512), (2, 2, 6, 2)),
    "nano": ConvNeXtSize((80, 160, 320, 640), (2, 2, 8, 2)),
    "tiny": ConvNeXtSize((96, 192, 384, 768), (3, 3, 9, 3)),
    "small": ConvNeXtSize((96, 192, 384, 768), (3, 3, 27, 3)),
    "base": ConvNeXtSize((128, 256, 512, 1024), (3, 3, 27, 3)),
}
"""Named sizes; ``tiny``/``small``/``base`` equal torchvision's, the smaller ones follow timm's naming."""


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel axis of an NCHW tensor (torchvision's ``LayerNorm2d``)."""

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Permute(nn.Module):
    """Permutes dimensions (a parameter-free placeholder that keeps torchvision's indices)."""

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__()
        self.dims = list(dims)

    def forward(self, x: Tensor) -> Tensor:
        return torch.permute(x, self.dims)


class StochasticDepth(nn.Module):
    """Row-wise stochastic depth (drop path) as in ``torchvision.ops.StochasticDepth(p, "row")``."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        noise = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(survival)
        return x * noise / survival


class CNBlock(nn.Module):
    """One ConvNeXt block: 7×7 depthwise conv, LayerNorm, MLP ×4, layer scale, residual."""

    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(4 * dim, dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.stochastic_depth(self.layer_scale * self.block(x))


class Conv2dNormActivation(nn.Sequential):
    """The patchify stem: a stride-``k`` conv followed by ``LayerNorm2d`` (keys ``0.*`` and ``1.*``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, stride=kernel_size, bias=True),
            LayerNorm2d(out_channels, eps=1e-6),
        )


class ConvNeXt(nn.Module):
    """ConvNeXt whose ``classifier[2]`` maps the pooled feature to ``num_outputs``.

    Args:
        size: a key of :data:`CONVNEXT_SIZES`.
        in_channels: channels of the input (4 for Stable Diffusion latents).
        num_outputs: width of the final linear layer (512 for the LCMem embedding).
        stem_stride: kernel and stride of the patchify stem (4 as in torchvision; 1 or 2 suit small latents).
        stochastic_depth_prob: maximum drop-path rate, increasing linearly over blocks (training only).
        layer_scale: initial value of the per-channel layer scale.
    """

    def __init__(
        self,
        size: str = "tiny",
        in_channels: int = 3,
        num_outputs: int = 1000,
        stem_stride: int = 4,
        stochastic_depth_prob: float = 0.0,
        layer_scale: float = 1e-6,
    ) -> None:
        super().__init__()
        spec = CONVNEXT_SIZES[size]
        layers: list[nn.Module] = [Conv2dNormActivation(in_channels, spec.dims[0], stem_stride)]
        total_blocks = sum(spec.depths)
        block_index = 0
        for stage, (dim, depth) in enumerate(zip(spec.dims, spec.depths, strict=True)):
            blocks = []
            for _ in range(depth):
                sd_prob = stochastic_depth_prob * block_index / max(total_blocks - 1.0, 1.0)
                blocks.append(CNBlock(dim, layer_scale, sd_prob))
                block_index += 1
            layers.append(nn.Sequential(*blocks))
            if stage < 3:
                layers.append(
                    nn.Sequential(
                        LayerNorm2d(dim, eps=1e-6),
                        nn.Conv2d(dim, spec.dims[stage + 1], kernel_size=2, stride=2),
                    )
                )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = spec.dims[-1]
        self.classifier = nn.Sequential(LayerNorm2d(last, eps=1e-6), nn.Flatten(1), nn.Linear(last, num_outputs))
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        return self.classifier(x)


def infer_convnext_size(state_dict: dict[str, Tensor], prefix: str = "") -> tuple[str, int, int, int]:
    """Recognise the size of a ConvNeXt from its state dict.

    Args:
        state_dict: torchvision-layout weights (``features.*``, ``classifier.*``), possibly under ``prefix``.
        prefix: key prefix such as ``"model."``.

    Returns:
        ``(size, in_channels, stem_stride, num_outputs)``.

    Raises:
        KeyError: the state dict lacks the stem or classifier keys.
        ValueError: the widths and depths match no known size.
    """
    stem = state_dict[f"{prefix}features.0.0.weight"]
    dims = tuple(int(state_dict[f"{prefix}features.{i}.1.weight"].shape[0]) for i in (2, 4, 6))
    dims = (int(stem.shape[0]), *dims)
    depths = []
    for stage_index in (1, 3, 5, 7):
        stage_prefix = f"{prefix}features.{stage_index}."
        blocks = {k[len(stage_prefix) :].split(".")[0] for k in state_dict if k.startswith(stage_prefix)}
        depths.append(len(blocks))
    for name, spec in CONVNEXT_SIZES.items():
        if spec.dims == dims and spec.depths == tuple(depths):
            num_outputs = _classifier_outputs(state_dict, prefix, spec.dims[-1])
            return name, int(stem.shape[1]), int(stem.shape[2]), num_outputs
    raise ValueError(f"no known ConvNeXt size has widths {dims} and depths {tuple(depths)}")


def _classifier_outputs(state_dict: dict[str, Tensor], prefix: str, width: int) -> int:
    """The classifier's output count, from ``classifier.2.weight``, checked against its bias and input width.

    Raises:
        ValueError: naming ``classifier.2.weight`` when its shape disagrees with the last stage or its bias.
    """
    key = f"{prefix}classifier.2.weight"
    weight = state_dict[key]
    bias = state_dict.get(f"{prefix}classifier.2.bias")
    outputs = int(weight.shape[0]) if weight.ndim == 2 else -1
    if weight.ndim != 2 or int(weight.shape[1]) != width:
        raise ValueError(f"{key} has shape {tuple(weight.shape)}; the last stage's width {width} needs (N, {width})")
    if bias is not None and tuple(bias.shape) != (outputs,):
        raise ValueError(
            f"{key} has {outputs} outputs but {prefix}classifier.2.bias has shape {tuple(bias.shape)}: "
            "the classifier weight is not the one its bias was trained with"
        )
    return outputs
