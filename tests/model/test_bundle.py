"""Bundles: save → load gives the same model; loading is strict and checksummed."""

from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from lcmem.errors import BundleError
from lcmem.model.bundle import WEIGHTS_NAME, load_bundle, read_bundle_config, save_bundle
from lcmem.model.untrained import build_untrained_model


def _copy(bundle_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(bundle_dir, target)
    return target


def _rewrite_weights(folder: Path, state: dict[str, torch.Tensor]) -> None:
    """Replace the weights and re-record their checksum, so only the key check can refuse them."""
    from lcmem.io.hashing import sha256_file

    save_file(state, str(folder / WEIGHTS_NAME))
    config = json.loads((folder / "lcmem.json").read_text())
    config["weights_sha256"][WEIGHTS_NAME] = sha256_file(folder / WEIGHTS_NAME)
    (folder / "lcmem.json").write_text(json.dumps(config))


def test_save_load_gives_the_same_embeddings(tmp_path: Path) -> None:
    model = build_untrained_model("roundtrip", vae_kind="AutoencoderTiny", seed=3)
    config = save_bundle(model, tmp_path / "b")
    loaded = load_bundle(tmp_path / "b")
    images = torch.rand(2, 3, 64, 64)
    with torch.inference_mode():
        assert torch.equal(model.embed_images(images), loaded.model.embed_images(images))
    assert loaded.checksum == config.checksum
    assert set(config.weights_sha256) >= {
        WEIGHTS_NAME,
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors",
    }
    assert config.software["torch"] == metadata.version("torch")


def test_lcmem_json_records_architecture_and_provenance(tiny_bundle_dir: Path) -> None:
    data = json.loads((tiny_bundle_dir / "lcmem.json").read_text())
    for key in (
        "name",
        "version",
        "image_size",
        "latent_channels",
        "backbone",
        "embedding_dim",
        "norm_std",
        "vae",
        "weights_sha256",
        "seed",
        "software",
        "format_version",
    ):
        assert key in data, key
    assert data["norm_mean"] == 0.0 and data["norm_std"] == 0.5
    assert data["vae"]["latent"] == "mean"


def test_checksum_changes_with_weights_not_with_name(tmp_path: Path) -> None:
    a = save_bundle(build_untrained_model("a", seed=1), tmp_path / "a")
    b = save_bundle(build_untrained_model("b", seed=1), tmp_path / "b")
    c = save_bundle(build_untrained_model("a", seed=2), tmp_path / "c")
    assert a.checksum == b.checksum
    assert a.checksum != c.checksum


def test_altered_weights_are_refused(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    folder = _copy(tiny_bundle_dir, tmp_path)
    state = load_file(str(folder / WEIGHTS_NAME))
    state["fc_end.bias"] = state["fc_end.bias"] + 1
    save_file(state, str(folder / WEIGHTS_NAME))
    with pytest.raises(BundleError, match="does not match"):
        load_bundle(folder)


def test_missing_key_is_named(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    folder = _copy(tiny_bundle_dir, tmp_path)
    state = load_file(str(folder / WEIGHTS_NAME))
    del state["fc_end.bias"]
    _rewrite_weights(folder, state)
    with pytest.raises(BundleError, match=r"missing keys \[fc_end\.bias\]"):
        load_bundle(folder)


def test_unexpected_key_is_named(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    folder = _copy(tiny_bundle_dir, tmp_path)
    state = load_file(str(folder / WEIGHTS_NAME))
    state["vae.encoder.extra"] = torch.zeros(1)
    _rewrite_weights(folder, state)
    with pytest.raises(BundleError, match=r"unexpected keys \[vae\.encoder\.extra\]"):
        load_bundle(folder)


def test_misshaped_key_is_named(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    folder = _copy(tiny_bundle_dir, tmp_path)
    state = load_file(str(folder / WEIGHTS_NAME))
    state["fc_end.weight"] = torch.zeros(1, 7)
    _rewrite_weights(folder, state)
    with pytest.raises(BundleError, match=r"fc_end\.weight has shape \(1, 7\)"):
        load_bundle(folder)


def test_missing_vae_file_is_refused(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    folder = _copy(tiny_bundle_dir, tmp_path)
    (folder / "vae" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(BundleError, match="cannot be read"):
        load_bundle(folder)


def test_unknown_config_key_and_bad_values_are_refused(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    folder = _copy(tiny_bundle_dir, tmp_path)
    data = json.loads((folder / "lcmem.json").read_text())
    (folder / "lcmem.json").write_text(json.dumps({**data, "surprise": 1}))
    with pytest.raises(BundleError, match="unknown keys"):
        read_bundle_config(folder)
    (folder / "lcmem.json").write_text(json.dumps({**data, "backbone": "huge"}))
    with pytest.raises(BundleError, match="backbone 'huge'"):
        read_bundle_config(folder)
    (folder / "lcmem.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        read_bundle_config(folder)


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a model bundle"):
        load_bundle(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="cannot read"):
        load_bundle(tmp_path / "empty")


def test_save_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    model = build_untrained_model(seed=1)
    save_bundle(model, tmp_path / "b")
    with pytest.raises(BundleError, match="already exists"):
        save_bundle(model, tmp_path / "b")
    save_bundle(build_untrained_model(seed=2), tmp_path / "b", overwrite=True)
    assert read_bundle_config(tmp_path / "b").seed == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_bundle_files_are_readable_by_others(tmp_path: Path) -> None:
    import os
    import stat

    umask = os.umask(0o022)
    try:
        save_bundle(build_untrained_model(seed=1), tmp_path / "b")
    finally:
        os.umask(umask)
    for path in (tmp_path / "b", *(tmp_path / "b").rglob("*")):
        assert path.stat().st_mode & stat.S_IROTH, path
