"""Training runs end to end: data → model → stage → bundle with its full training record."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from lcmem.model.bundle import load_bundle, save_bundle
from lcmem.model.config import LCMemConfig, VaeRef
from lcmem.model.latent import load_vae
from lcmem.model.siamese import LCMemModel
from lcmem.train.data import LabelledData, load_labelled
from lcmem.train.hard_negatives import mined_neighbours
from lcmem.train.pixels import image_cache, to_float
from lcmem.train.recipes import Recipe
from lcmem.train.sampler import PairSampler
from lcmem.train.selection import DetectionSelector
from lcmem.train.stages import InputFn, StageConfig, StageResult, image_inputs, latent_inputs, run_stage

logger = logging.getLogger(__name__)


def _training_record(data: LabelledData, config: StageConfig, result: StageResult, extra: dict[str, Any]) -> dict:
    return {
        "stage": config.stage,
        "config": asdict(config),
        "data": data.summary(),
        "labels_sha256": data.label_sha256,
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "best_val_score": result.best_val_score,
        "history": result.history,
        "seconds": round(result.seconds, 1),
        "command": " ".join(sys.argv),
        **extra,
    }


def _split_pixels(data: LabelledData, size: int, cache: Path, threads: int) -> dict[str, tuple[list, np.ndarray]]:
    out = {}
    for split in ("train", "val"):
        records = data.split(split)
        out[split] = (records, image_cache(records, size, cache, threads))
    return out


def encode_latents(model: LCMemModel, pixels: np.ndarray, cache: Path, tag: str, batch: int = 64) -> np.ndarray:
    """Normalised latents of cached pixels (float16 on disk, computed once per VAE and image set)."""
    key = hashlib.sha256(f"{tag}:{model.config.checksum}:{len(pixels)}".encode()).hexdigest()[:16]
    target = cache / f"latents-{key}.npy"
    if target.exists():
        return np.load(target, mmap_mode="r")
    chunks = []
    with torch.inference_mode():
        for start in tqdm(range(0, len(pixels), batch), desc=f"encoding {tag} latents", unit="batch"):
            images = torch.from_numpy(to_float(np.asarray(pixels[start : start + batch])))
            chunks.append(model.encoder(images).numpy().astype(np.float16))
    latents = np.concatenate(chunks)
    np.save(target, latents)
    return np.load(target, mmap_mode="r")


def train_stage1(data_dirs: list[str | Path], vae_dir: str | Path, out_dir: str | Path, recipe: Recipe,
                 name: str = "lcmem-small", threads: int = 2) -> LCMemConfig:  # fmt: skip
    """Stage 1 on cached latents; writes ``out_dir/bundle`` and returns its config."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = load_labelled(data_dirs)
    config = LCMemConfig(name=name, image_size=recipe.image_size, backbone=recipe.backbone,
                         stem_stride=recipe.stem_stride, vae=VaeRef(kind="AutoencoderKL"),
                         seed=recipe.stage1.seed)  # fmt: skip
    torch.manual_seed(recipe.stage1.seed)
    model = LCMemModel(config, load_vae("AutoencoderKL", str(vae_dir))).eval()
    splits = _split_pixels(data, recipe.image_size, out / "cache", threads)
    latents = {s: encode_latents(model, pixels, out / "cache", s) for s, (_, pixels) in splits.items()}
    stage = recipe.stage1
    inputs = _by_split(*(latent_inputs(latents[s], stage.latent_flip_p) for s in ("train", "val")))
    selector = None
    if stage.select != "loss":
        pixels = splits["val"][1] if stage.select == "retrieval" else None
        selector = DetectionSelector.build(model, splits["val"][0], latents["val"], pixels=pixels)
    result = run_stage(model, *_samplers(splits, stage), inputs, stage, out, selector)
    record = _training_record(data, stage, result, {"vae": str(vae_dir), "vae_training": _vae_record(vae_dir)})
    metrics = {"stage1_val_loss": result.best_val_loss}
    if result.best_val_score is not None:
        metrics["stage1_val_score"] = result.best_val_score
    model.config = replace(config, training={"stage1": record}, metrics=metrics)
    return save_bundle(model, out / "bundle", overwrite=True)


def _by_split(train: InputFn, val: InputFn) -> InputFn:
    """Route a batch to the train or val split's inputs (the sampler's indices are per split)."""

    def make(batch, rng, is_train):
        return (train if is_train else val)(batch, rng, is_train)

    return make


def _samplers(splits: dict[str, tuple[list, np.ndarray]], stage: StageConfig) -> list[PairSampler]:
    """The train and val pair samplers of a stage."""
    return [PairSampler(splits[s][0], stage.copy_p, stage.positives) for s in ("train", "val")]


def _vae_record(vae_dir: str | Path) -> dict[str, Any]:
    record = Path(vae_dir).parent / "vae_training.json"
    return json.loads(record.read_text()) if record.exists() else {}


def train_stage2(data_dirs: list[str | Path], init_bundle: str | Path, out_dir: str | Path, recipe: Recipe,
                 threads: int = 2) -> LCMemConfig:  # fmt: skip
    """Stage 2 in image space from a stage-1 bundle; writes ``out_dir/bundle``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = load_labelled(data_dirs)
    model = load_bundle(init_bundle).model
    model.network.train()
    splits = _split_pixels(data, model.config.image_size, out / "cache", threads)
    config = recipe.stage2
    inputs = _by_split(*(image_inputs(model, splits[s][1], config.augment, config.identity_augment)
                         for s in ("train", "val")))  # fmt: skip
    selector = None
    if config.select != "loss":
        val_latents = encode_latents(model, splits["val"][1], out / "cache", "val")
        pixels = splits["val"][1] if config.select == "retrieval" else None
        selector = DetectionSelector.build(model, splits["val"][0], val_latents, pixels=pixels)
    neighbours = None
    extra: dict[str, Any] = {"init": str(init_bundle)}
    if config.hard_negatives > 0:
        records, pixels = splits["train"]
        neighbours = mined_neighbours(model, records, pixels, config.hard_negatives, out / "cache")
        extra["hard_negatives"] = {"mined_with": model.config.checksum, "identities": len(neighbours),
                                   "k": config.hard_negatives, "group_size": config.group_size}  # fmt: skip
    train_sampler = PairSampler(splits["train"][0], config.copy_p, config.positives, neighbours, config.group_size)
    val_sampler = PairSampler(splits["val"][0], config.copy_p, config.positives)
    result = run_stage(model, train_sampler, val_sampler, inputs, config, out, selector)
    record = _training_record(data, config, result, extra)
    training = {**model.config.training, "stage2": record}
    metrics = {**model.config.metrics, "stage2_val_loss": result.best_val_loss}
    if result.best_val_score is not None:
        metrics["stage2_val_score"] = result.best_val_score
    model.config = replace(model.config, training=training, metrics=metrics, seed=config.seed)
    return save_bundle(model, out / "bundle", overwrite=True)
