"""Training at tiny scale: VAE, stage 1, stage 2, resume; the bundles load and carry their records."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from lcmem.model.bundle import load_bundle
from lcmem.train.checkpoint import load_checkpoint
from lcmem.train.recipes import RECIPES, Recipe
from lcmem.train.run import train_stage1, train_stage2
from lcmem.train.vae import VaeTrainConfig, train_vae
from tests.conftest import make_labelled_dataset


def tiny_recipe(backbone: str = "atto", image_size: int = 32) -> Recipe:
    base = RECIPES["cpu"]
    stage = {"batch_size": 6, "steps_per_epoch": 2, "max_epochs": 2, "val_batches": 1, "patience": 5}
    return replace(base, backbone=backbone, image_size=image_size, stem_stride=1,
                   stage1=replace(base.stage1, **stage), stage2=replace(base.stage2, **stage))  # fmt: skip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_labelled_dataset(tmp_path_factory.mktemp("data") / "toy")


@pytest.fixture(scope="module")
def vae_dir(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vae")
    config = VaeTrainConfig(widths=(8, 8, 8), image_size=32, crop=16, batch_size=2, steps=4, checkpoint_every=2)
    return train_vae([dataset], out, config, threads=1)


def test_vae_training_writes_a_loadable_diffusers_folder(vae_dir: Path) -> None:
    from diffusers import AutoencoderKL

    vae = AutoencoderKL.from_pretrained(str(vae_dir), use_safetensors=True)
    assert vae.encode(torch.rand(1, 3, 32, 32)).latent_dist.mean.shape == (1, 4, 8, 8)
    record = json.loads((vae_dir.parent / "vae_training.json").read_text())
    assert record["config"]["steps"] == 4 and "toy" in record["labels_sha256"]


def test_two_stages_produce_bundles_with_their_records(dataset: Path, vae_dir: Path, tmp_path: Path) -> None:
    recipe = tiny_recipe()
    stage1 = train_stage1([dataset], vae_dir, tmp_path / "s1", recipe, name="toy-model", threads=1)
    assert stage1.training["stage1"]["labels_sha256"]["toy"]
    assert len(stage1.training["stage1"]["history"]) == 2
    stage2 = train_stage2([dataset], tmp_path / "s1" / "bundle", tmp_path / "s2", recipe, threads=1)
    assert set(stage2.training) == {"stage1", "stage2"}
    assert {"stage1_val_loss", "stage2_val_loss"} <= set(stage2.metrics)
    bundle = load_bundle(tmp_path / "s2" / "bundle")
    assert bundle.config.name == "toy-model" and bundle.config.image_size == 32
    with torch.inference_mode():
        f = bundle.model.embed_images(torch.rand(2, 3, 32, 32))
    assert f.shape == (2, 512)
    stage1_weights = load_bundle(tmp_path / "s1" / "bundle").model.network.fc_end.weight
    assert not torch.equal(stage1_weights, bundle.model.network.fc_end.weight)


def test_an_interrupted_stage_resumes_from_its_checkpoint(dataset: Path, vae_dir: Path, tmp_path: Path) -> None:
    short = tiny_recipe()
    train_stage1([dataset], vae_dir, tmp_path / "run", short, threads=1)
    assert load_checkpoint(tmp_path / "run")["epoch"] == 2
    longer = replace(short, stage1=replace(short.stage1, max_epochs=3))
    config = train_stage1([dataset], vae_dir, tmp_path / "run", longer, threads=1)
    history = config.training["stage1"]["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]


def test_paper_recipe_builds_at_tiny_scale(dataset: Path, tmp_path: Path) -> None:
    """The GPU configuration (ConvNeXt-Tiny, stride-4 stem, SD-like VAE) runs a step at reduced size."""
    from lcmem.model.latent import build_vae, small_vae_config

    torch.manual_seed(0)
    sd_like = tmp_path / "sd-vae"
    build_vae("AutoencoderKL", **small_vae_config()).save_pretrained(str(sd_like))
    paper = RECIPES["paper"]
    assert (paper.backbone, paper.image_size, paper.stem_stride) == ("tiny", 512, 4)
    assert paper.stage2.augment == "official"
    reduced = replace(
        paper, image_size=128,
        stage1=replace(paper.stage1, batch_size=4, steps_per_epoch=1, max_epochs=1, val_batches=1),
    )  # fmt: skip
    config = train_stage1([dataset], sd_like, tmp_path / "paper", reduced, threads=1)
    assert config.backbone == "tiny"
    assert np.isfinite(config.metrics["stage1_val_loss"])


def test_cli_trains_a_stage_selecting_by_detection(dataset: Path, vae_dir: Path, tmp_path: Path) -> None:
    from lcmem.cli.main import main

    args = ["train", "stage1", "--data", str(dataset), "--vae", str(vae_dir), "--out", str(tmp_path / "run"),
            "--max-epochs", "2", "--steps-per-epoch", "1", "--threads", "1", "--select", "detection",
            "--patience", "3", "--anneal-epochs", "1", "--negatives", "dataset"]  # fmt: skip
    assert main(args) == 0
    record = json.loads((tmp_path / "run" / "bundle" / "lcmem.json").read_text())
    stage1 = record["training"]["stage1"]
    config = stage1["config"]
    assert (config["select"], config["patience"], config["anneal_epochs"]) == ("detection", 3, 1)
    assert config["negatives"] == "dataset"
    lr = config["lr"]
    assert [h["lr"] for h in stage1["history"]] == pytest.approx([lr, lr, lr / 10])
    scores = [h["val_score"] for h in stage1["history"]]
    assert stage1["best_val_score"] == max(scores)
    assert record["metrics"]["stage1_val_score"] == max(scores)
    assert stage1["best_epoch"] == 1 + scores.index(max(scores))


def test_cli_fine_tunes_with_hard_negatives_selecting_by_retrieval(dataset: Path, vae_dir: Path,
                                                                    tmp_path: Path) -> None:  # fmt: skip
    from lcmem.cli.main import main

    recipe = tiny_recipe()
    train_stage1([dataset], vae_dir, tmp_path / "s1", recipe, threads=1)
    args = ["train", "stage2", "--data", str(dataset), "--init", str(tmp_path / "s1" / "bundle"),
            "--out", str(tmp_path / "s2"), "--max-epochs", "2", "--steps-per-epoch", "1", "--threads", "1",
            "--select", "retrieval", "--hard-negatives", "3", "--group-size", "2", "--lr", "3e-5",
            "--copy-p", "0.25"]  # fmt: skip
    assert main(args) == 0
    record = json.loads((tmp_path / "s2" / "bundle" / "lcmem.json").read_text())
    stage2 = record["training"]["stage2"]
    config = stage2["config"]
    assert (config["select"], config["hard_negatives"], config["group_size"]) == ("retrieval", 3, 2)
    assert (config["lr"], config["copy_p"]) == (3e-5, 0.25)
    assert stage2["hard_negatives"]["k"] == 3 and stage2["hard_negatives"]["identities"] > 0
    assert all("val_rank1" in h and 0.0 <= h["val_rank1"] <= 1.0 for h in stage2["history"])
    assert len(list((tmp_path / "s2" / "cache").glob("neighbours-*.json"))) == 1


def test_the_cpu_recipe_is_the_one_the_bundled_model_records() -> None:
    """The model card's reproduce commands use the recipe's defaults: they must be the bundled model's settings."""
    from dataclasses import asdict, fields

    from lcmem.model.bundle import read_bundle_config
    from lcmem.train.stages import StageConfig
    from tests.conftest import REPO

    training = read_bundle_config(REPO / "resources" / "models" / "lcmem-small").training
    defaults = {f.name: f.default for f in fields(StageConfig)}
    for name in ("stage1", "stage2"):
        recorded, recipe = training[name]["config"], asdict(getattr(RECIPES["cpu"], name))
        for key, value in recipe.items():
            assert value == recorded.get(key, defaults[key]), (name, key)
