"""The ConvNeXt has torchvision's layout, parameter counts and keys."""

from __future__ import annotations

import pytest
import torch

from lcmem.model.convnext import CONVNEXT_SIZES, ConvNeXt, infer_convnext_size

# Parameter counts of torchvision.models.convnext_{tiny,small,base}(num_classes=1000), from its model docs.
TORCHVISION_PARAMS = {"tiny": 28_589_128, "small": 50_223_688, "base": 88_591_464}


@pytest.mark.parametrize("size", sorted(TORCHVISION_PARAMS))
def test_parameter_count_equals_torchvision(size: str) -> None:
    model = ConvNeXt(size, in_channels=3, num_outputs=1000)
    assert sum(p.numel() for p in model.parameters()) == TORCHVISION_PARAMS[size]


def test_tiny_keys_and_shapes_follow_torchvision() -> None:
    state = ConvNeXt("tiny", in_channels=3, num_outputs=1000).state_dict()
    expected = {
        "features.0.0.weight": (96, 3, 4, 4),
        "features.0.1.weight": (96,),
        "features.1.0.layer_scale": (96, 1, 1),
        "features.1.0.block.0.weight": (96, 1, 7, 7),
        "features.1.0.block.2.weight": (96,),
        "features.1.0.block.3.weight": (384, 96),
        "features.1.0.block.5.weight": (96, 384),
        "features.1.2.block.5.bias": (96,),
        "features.2.0.weight": (96,),
        "features.2.1.weight": (192, 96, 2, 2),
        "features.5.8.layer_scale": (384, 1, 1),
        "features.6.1.weight": (768, 384, 2, 2),
        "features.7.2.block.3.weight": (3072, 768),
        "classifier.0.weight": (768,),
        "classifier.2.weight": (1000, 768),
        "classifier.2.bias": (1000,),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    assert len(state) == 182
    assert not any(k.startswith("avgpool") for k in state)
    assert "features.5.9.layer_scale" not in state  # tiny has 9 blocks in stage 3


@pytest.mark.parametrize("size", sorted(CONVNEXT_SIZES))
def test_size_is_recognised_from_state_dict(size: str) -> None:
    model = ConvNeXt(size, in_channels=4, num_outputs=512, stem_stride=2)
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    assert infer_convnext_size(state, prefix="model.") == (size, 4, 2, 512)


def test_forward_shape_and_eval_determinism() -> None:
    model = ConvNeXt("atto", in_channels=4, num_outputs=512, stochastic_depth_prob=0.5).eval()
    x = torch.randn(2, 4, 64, 64)
    out = model(x)
    assert out.shape == (2, 512)
    assert torch.equal(out, model(x))


def test_stochastic_depth_is_active_only_in_training() -> None:
    model = ConvNeXt("atto", in_channels=4, num_outputs=8, stochastic_depth_prob=0.9, layer_scale=1.0)
    x = torch.randn(4, 4, 32, 32)
    model.train()
    torch.manual_seed(0)
    a = model(x)
    torch.manual_seed(1)
    b = model(x)
    assert not torch.allclose(a, b)
