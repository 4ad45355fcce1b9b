"""Official checkpoints (torchvision-based SiameseNetwork state dicts) import strictly and safely."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from lcmem.errors import BundleError
from lcmem.model.bundle import load_bundle
from lcmem.model.convert import import_official_checkpoint, read_official_checkpoint
from lcmem.model.latent import build_vae, load_vae, small_vae_config
from lcmem.model.siamese import SiameseNetwork


@pytest.fixture(scope="module")
def vae_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("vae") / "sd-like-vae"
    build_vae("AutoencoderKL", **small_vae_config()).save_pretrained(str(folder), safe_serialization=True)
    return folder


def official_state(vae_folder: Path, seed: int = 0, in_channels: int = 4) -> dict[str, torch.Tensor]:
    """A state dict laid out like the official ImageSpaceSiameseNetwork saved under DDP, with its VAE's weights."""
    torch.manual_seed(seed)
    net = SiameseNetwork("tiny", in_channels=in_channels, embedding_dim=512)
    for parameter in net.parameters():
        parameter.data.normal_(0, 0.05)
    state = {f"module.{k}": v.clone() for k, v in net.state_dict().items()}
    vae = load_vae("AutoencoderKL", str(vae_folder))
    state.update({f"module.vae.{k}": v.clone() for k, v in vae.state_dict().items()})
    return state


def test_official_checkpoint_loads_strictly_and_computes_the_same_function(tmp_path: Path, vae_folder: Path) -> None:
    state = official_state(vae_folder)
    checkpoint = tmp_path / "camera_ready_best_network.pth"
    torch.save(state, checkpoint)
    config = import_official_checkpoint(checkpoint, str(vae_folder), tmp_path / "bundle", image_size=128)
    assert (config.backbone, config.latent_channels, config.embedding_dim, config.stem_stride) == (
        "tiny",
        4,
        512,
        4,
    )
    assert config.training["vae_weights_verified"] == sum(1 for k in state if ".vae." in k)

    reference = SiameseNetwork("tiny")
    reference.load_state_dict({k.removeprefix("module."): v for k, v in state.items() if "vae." not in k}, strict=True)
    reference.eval()
    bundle = load_bundle(tmp_path / "bundle")
    latents = torch.randn(2, 4, 32, 32)
    with torch.inference_mode():
        assert torch.equal(bundle.model.network(latents[:1], latents[1:]), reference(latents[:1], latents[1:]))
        images = torch.rand(2, 3, 128, 128)
        assert bundle.model.embed_images(images).shape == (2, 512)


def test_nested_training_checkpoint_is_unwrapped(tmp_path: Path) -> None:
    net = SiameseNetwork("atto")
    torch.save({"state_dict": net.state_dict(), "epoch": 3}, tmp_path / "ckpt.pth")
    state = read_official_checkpoint(tmp_path / "ckpt.pth")
    assert set(state) == set(net.state_dict())


class Payload:
    """An object whose unpickling would run code."""

    def __reduce__(self):
        return (print, ("code ran",))


def test_pickles_with_arbitrary_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    with path.open("wb") as stream:
        pickle.dump({"model.x": Payload()}, stream)
    with pytest.raises(BundleError, match="weights-only"):
        read_official_checkpoint(path)


def test_foreign_state_dict_is_refused(tmp_path: Path, vae_folder: Path) -> None:
    torch.save({"conv.weight": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(BundleError, match="not an LCMem SiameseNetwork"):
        import_official_checkpoint(tmp_path / "other.pth", str(vae_folder), tmp_path / "b")


def test_a_three_channel_stem_beside_a_four_channel_vae_is_refused(tmp_path: Path, vae_folder: Path) -> None:
    checkpoint = tmp_path / "image_space.pth"
    torch.save({k: v for k, v in official_state(vae_folder, in_channels=3).items() if ".vae." not in k}, checkpoint)
    with pytest.raises(BundleError, match=r"stem .* takes 3 channels but the VAE .* makes 4-channel latents"):
        import_official_checkpoint(checkpoint, str(vae_folder), tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()


def test_stored_vae_weights_that_differ_from_the_vae_given_are_refused(tmp_path: Path, vae_folder: Path) -> None:
    state = official_state(vae_folder)
    state["module.vae.encoder.conv_in.weight"] = state["module.vae.encoder.conv_in.weight"] + 0.1
    torch.save(state, tmp_path / "stage2.pth")
    with pytest.raises(BundleError, match=r"vae\.encoder\.conv_in\.weight differs .* trained with another VAE"):
        import_official_checkpoint(tmp_path / "stage2.pth", str(vae_folder), tmp_path / "bundle")
    other = {k: v for k, v in state.items() if ".vae." not in k} | {"module.vae.decoder.foreign.weight": torch.ones(2)}
    torch.save(other, tmp_path / "foreign_vae.pth")
    with pytest.raises(BundleError, match=r"name none of the parameters"):
        import_official_checkpoint(tmp_path / "foreign_vae.pth", str(vae_folder), tmp_path / "bundle")


def test_a_classifier_weight_of_the_wrong_width_is_named(tmp_path: Path, vae_folder: Path) -> None:
    state = official_state(vae_folder)
    state["module.model.classifier.2.weight"] = torch.zeros(500, 768)
    torch.save(state, tmp_path / "wide.pth")
    with pytest.raises(BundleError, match=r"classifier\.2\.weight has 500 outputs but .*classifier\.2\.bias"):
        import_official_checkpoint(tmp_path / "wide.pth", str(vae_folder), tmp_path / "bundle")
