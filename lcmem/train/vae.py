"""``lcmem train vae``: a small diffusers ``AutoencoderKL`` that is fast on a CPU.

Three levels of widths (8, 24, 48) downsample by 4 (a 256×256 image → 4×64×64 latents) at about 1.45 GFLOP
per 256×256 encode; no attention in the mid block. Trained on random crops of the training images in [0, 1]
(the range LCMem feeds its VAE) with an L1 reconstruction loss and a small KL term, as latent-diffusion
autoencoders are, without the adversarial and perceptual terms.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lcmem.model.latent import build_vae
from lcmem.provenance import software_versions
from lcmem.train.checkpoint import load_checkpoint, save_checkpoint
from lcmem.train.data import load_labelled
from lcmem.train.pixels import image_cache, to_float

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VaeTrainConfig:
    """Architecture and schedule of the small VAE."""

    widths: tuple[int, ...] = (8, 24, 48)
    latent_channels: int = 4
    image_size: int = 128
    crop: int = 64
    batch_size: int = 8
    steps: int = 3000
    lr: float = 1e-3
    kl_weight: float = 1e-6
    seed: int = 0
    checkpoint_every: int = 250


def small_kl_config(widths: tuple[int, ...], latent_channels: int) -> dict:
    """The diffusers ``AutoencoderKL`` configuration of the CPU VAE."""
    n = len(widths)
    return {
        "in_channels": 3, "out_channels": 3, "down_block_types": ("DownEncoderBlock2D",) * n,
        "up_block_types": ("UpDecoderBlock2D",) * n, "block_out_channels": tuple(widths),
        "latent_channels": latent_channels, "layers_per_block": 1, "norm_num_groups": 8,
        "mid_block_add_attention": False,
    }  # fmt: skip


def train_vae(data_dirs: list[str | Path], out_dir: str | Path, config: VaeTrainConfig, threads: int = 2) -> Path:
    """Train (or resume) the VAE; write a diffusers folder to ``out_dir/vae`` and return it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = load_labelled(data_dirs)
    records = data.split("train")
    pixels = image_cache(records, config.image_size, out / "cache", threads)
    torch.manual_seed(config.seed)
    vae = build_vae("AutoencoderKL", **small_kl_config(config.widths, config.latent_channels))
    optimizer = torch.optim.Adam(vae.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    step = 0
    state = load_checkpoint(out)
    if state is not None:
        vae.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        step = int(state["step"])
        logger.info("resuming VAE training at step %d", step)
    vae.train()
    started = time.perf_counter()
    bar = tqdm(total=config.steps, initial=step, desc="training VAE", unit="step")
    while step < config.steps:
        batch = torch.from_numpy(to_float(_crops(pixels, config, rng)))
        posterior = vae.encode(batch).latent_dist
        reconstruction = vae.decode(posterior.sample()).sample
        recon_loss = (reconstruction - batch).abs().mean()
        loss = recon_loss + config.kl_weight * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        bar.update(1)
        bar.set_postfix(l1=f"{recon_loss.item():.4f}")
        if step % config.checkpoint_every == 0 or step == config.steps:
            save_checkpoint(out, {"model": vae.state_dict(), "optimizer": optimizer.state_dict(),
                                  "rng": rng.bit_generator.state, "step": step})  # fmt: skip
    bar.close()
    vae.eval()
    target = out / "vae"
    vae.save_pretrained(str(target), safe_serialization=True)
    record = {"config": asdict(config), "data": data.summary(), "labels_sha256": data.label_sha256,
              "seconds": time.perf_counter() - started, "software": software_versions(),
              "final_l1": float(recon_loss.item())}  # fmt: skip
    (out / "vae_training.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return target


def _crops(pixels: np.ndarray, config: VaeTrainConfig, rng: np.random.Generator) -> np.ndarray:
    picks = rng.integers(0, len(pixels), config.batch_size)
    size, crop = config.image_size, config.crop
    out = np.empty((config.batch_size, 3, crop, crop), dtype=np.uint8)
    for i, index in enumerate(picks):
        top, left = rng.integers(0, size - crop + 1, 2)
        out[i] = pixels[index, :, top : top + crop, left : left + crop]
    return out
