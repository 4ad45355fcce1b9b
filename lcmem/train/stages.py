"""The two LCMem training stages, resumable, with early stopping on validation loss or detection quality.

Stage 1 trains the network on cached, normalised VAE latents (no image augmentation, as the official
stage 1; optionally a horizontal flip of the second latent). Stage 2 starts from stage 1 and fine-tunes in
image space: the frozen VAE runs on the fly and the second image of each pair is augmented, copy pairs with
``augment`` and identity pairs with ``identity_augment``. Each epoch ends with a validation loss on fixed,
seeded batches of the val split. The best network is kept: the one with the lowest val loss, or with
``select="detection"`` (or ``"retrieval"``, which adds in-domain rank-1) the highest val detection score
(:mod:`lcmem.train.selection`). With ``hard_negatives`` the batches are groups of nearest identities
(:mod:`lcmem.train.hard_negatives`). Training stops after
``patience`` epochs without improvement or when ``max_minutes`` is spent. With ``anneal_epochs`` it then
restarts from the best network with a fresh Adam at ``lr × anneal_lr_factor`` for that many epochs, which
compete with the earlier ones for best. A checkpoint after every epoch lets an interrupted run resume.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lcmem.errors import LCMemError
from lcmem.model.siamese import LCMemModel, SiameseNetwork
from lcmem.train.augment import PRESETS, augment
from lcmem.train.checkpoint import load_checkpoint, save_checkpoint
from lcmem.train.losses import LossParts, lcmem_loss
from lcmem.train.pixels import to_float
from lcmem.train.sampler import PairBatch, PairSampler
from lcmem.train.selection import SELECT_MODES

logger = logging.getLogger(__name__)


NEGATIVES = ("domain", "dataset")


@dataclass(frozen=True)
class StageConfig:
    """Hyper-parameters of one stage (defaults: the CPU recipe of the bundled model)."""

    stage: int = 1
    batch_size: int = 64
    lr: float = 5e-4
    alpha: float = 0.8
    temperature: float = 0.07
    max_epochs: int = 100
    steps_per_epoch: int = 50
    val_batches: int = 8
    patience: int = 8
    max_minutes: float = 30.0
    augment: str = "strong"
    identity_augment: str = ""
    copy_p: float = 0.0
    positives: str = "draws"
    negatives: str = "domain"
    latent_flip_p: float = 0.0
    select: str = "loss"
    anneal_epochs: int = 0
    anneal_lr_factor: float = 0.1
    hard_negatives: int = 0
    group_size: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.negatives not in NEGATIVES:
            raise LCMemError(f"unknown negatives mode {self.negatives!r}; use one of {', '.join(NEGATIVES)}")


@dataclass
class StageResult:
    """What a stage produced: the best network's weights, its epoch's val figures and the history."""

    best_state: dict[str, torch.Tensor]
    best_val_loss: float
    best_epoch: int
    best_val_score: float | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


InputFn = Callable[[PairBatch, np.random.Generator, bool], tuple[torch.Tensor, torch.Tensor]]


def latent_inputs(latents: np.ndarray, flip_p: float = 0.0) -> InputFn:
    """Stage-1 inputs: the cached latents of both draws; in training, the second flipped left-right with
    probability ``flip_p`` (the latent of a flipped image is close to the flipped latent)."""

    def make(batch: PairBatch, rng: np.random.Generator, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        first = torch.from_numpy(np.asarray(latents[batch.first], dtype=np.float32))
        second = torch.from_numpy(np.asarray(latents[batch.second], dtype=np.float32))
        if train and flip_p > 0:
            flip = torch.from_numpy(rng.random(len(second)) < flip_p)
            second = torch.where(flip[:, None, None, None], second.flip(-1), second)
        return first, second

    return make


def image_inputs(model: LCMemModel, pixels: np.ndarray, preset: str, identity_preset: str = "") -> InputFn:
    """Stage-2 inputs: decoded images, the second one augmented (copy rows with ``preset``, identity rows
    with ``identity_preset``, default the same), encoded by the frozen VAE."""
    copies, identities = PRESETS[preset], PRESETS[identity_preset or preset]

    def make(batch: PairBatch, rng: np.random.Generator, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        first = torch.from_numpy(to_float(np.asarray(pixels[batch.first])))
        second = torch.from_numpy(to_float(np.asarray(pixels[batch.second])))
        presets = [copies if is_copy else identities for is_copy in batch.copies]
        second = torch.stack([augment(image, preset, rng) for image, preset in zip(second, presets, strict=True)])
        with torch.no_grad():
            return model.encoder(first), model.encoder(second)

    return make


def run_stage(
    model: LCMemModel,
    train: PairSampler,
    val: PairSampler,
    inputs: InputFn,
    config: StageConfig,
    run_dir: str | Path,
    selector: Callable[[SiameseNetwork], dict[str, float]] | None = None,
) -> StageResult:
    """Train ``model.network`` for one stage (resuming from ``run_dir`` if it holds a checkpoint).

    ``selector`` scores the network after each epoch (``val_score``, higher is better); it is required when
    ``config.select`` is not ``"loss"`` and chooses the best epoch then.
    """
    if config.select not in SELECT_MODES:
        raise LCMemError(f"unknown select mode {config.select!r}; use one of {', '.join(SELECT_MODES)}")
    if config.select != "loss" and selector is None:
        raise LCMemError(f"select={config.select!r} needs a val detection selector (lcmem.train.selection)")
    network = model.network
    optimizer = torch.optim.Adam(network.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    val_batches = [val.batch(config.batch_size, np.random.default_rng(10_000 + i)) for i in range(config.val_batches)]
    epoch, best_val, best_epoch, spent = 0, float("inf"), -1, 0.0
    best_state = copy.deepcopy(network.state_dict())
    history: list[dict[str, float]] = []
    state = load_checkpoint(run_dir)
    if state is not None:
        chosen_by = state.get("config", {}).get("select", "loss")
        if chosen_by != config.select:
            raise LCMemError(f"{run_dir}: this run chooses its best epoch by {chosen_by}, not {config.select}; "
                             f"resume it with --select {chosen_by}, or give a new --out folder")  # fmt: skip
        network.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        epoch, best_val, best_epoch = int(state["epoch"]), float(state["best_val"]), int(state["best_epoch"])
        best_state, history, spent = state["best_state"], list(state["history"]), float(state["seconds"])
        logger.info("resuming stage %d at epoch %d (best epoch %d)", config.stage, epoch, best_epoch)
    started = time.perf_counter() - spent
    annealing = bool(state.get("annealing", False)) if state else False
    anneal_start = int(state.get("anneal_start", 0)) if state else 0
    while True:
        if not annealing and _main_phase_over(config, epoch, best_epoch, (time.perf_counter() - started) / 60):
            if config.anneal_epochs <= 0 or best_epoch < 1:
                break
            annealing, anneal_start = True, epoch
            network.load_state_dict(best_state)
            optimizer = torch.optim.Adam(network.parameters(), lr=config.lr * config.anneal_lr_factor)
            logger.info("stage %d: annealing from epoch %d at lr %.2g for %d epochs", config.stage, best_epoch,
                        config.lr * config.anneal_lr_factor, config.anneal_epochs)  # fmt: skip
        if annealing and epoch - anneal_start >= config.anneal_epochs:
            break
        train_loss = _train_epoch(network, optimizer, train, inputs, config, rng, epoch)
        val_loss, val_accuracy = _validate(network, val_batches, inputs, config)
        detection = selector(network) if selector is not None else {}
        epoch += 1
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_accuracy": val_accuracy,
                        "lr": optimizer.param_groups[0]["lr"], **detection})  # fmt: skip
        logger.info("stage %d epoch %d: train %.4f val %.4f acc %.3f%s", config.stage, epoch, train_loss, val_loss,
                    val_accuracy, f" score {detection['val_score']:.4f}" if detection else "")  # fmt: skip
        criterion = -detection["val_score"] if config.select != "loss" else val_loss
        if criterion < best_val:
            best_val, best_epoch = criterion, epoch
            best_state = copy.deepcopy(network.state_dict())
        save_checkpoint(run_dir, {
            "model": network.state_dict(), "optimizer": optimizer.state_dict(), "rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(), "epoch": epoch, "best_val": best_val, "best_epoch": best_epoch,
            "best_state": best_state, "history": history, "seconds": time.perf_counter() - started,
            "config": asdict(config), "annealing": annealing, "anneal_start": anneal_start,
        })  # fmt: skip
    network.load_state_dict(best_state)
    best = history[best_epoch - 1] if best_epoch > 0 else {}
    return StageResult(best_state, float(best.get("val_loss", float("inf"))), best_epoch, best.get("val_score"),
                       history, time.perf_counter() - started)  # fmt: skip


def _main_phase_over(config: StageConfig, epoch: int, best_epoch: int, minutes: float) -> bool:
    if minutes > config.max_minutes:
        logger.info("stage %d: time budget of %.0f min reached", config.stage, config.max_minutes)
        return True
    return epoch >= config.max_epochs or epoch - best_epoch > config.patience


def _train_epoch(network, optimizer, sampler: PairSampler, inputs: InputFn, config: StageConfig,
                 rng: np.random.Generator, epoch: int) -> float:  # fmt: skip
    network.train()
    losses = []
    bar = tqdm(range(config.steps_per_epoch), desc=f"stage {config.stage} epoch {epoch + 1}", unit="step", leave=False)
    for _ in bar:
        batch = sampler.batch(config.batch_size, rng)
        x1, x2 = inputs(batch, rng, True)
        parts = _loss(network, x1, x2, batch, config)
        optimizer.zero_grad(set_to_none=True)
        parts.total.backward()
        optimizer.step()
        losses.append(float(parts.total.detach()))
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}", acc=f"{parts.accuracy:.2f}")
    return float(np.mean(losses))


def _validate(network, batches: list[PairBatch], inputs: InputFn, config: StageConfig) -> tuple[float, float]:
    network.eval()
    rng = np.random.default_rng(12_345)
    losses, accuracies = [], []
    with torch.no_grad():
        for batch in batches:
            x1, x2 = inputs(batch, rng, False)
            parts = _loss(network, x1, x2, batch, config)
            losses.append(float(parts.total))
            accuracies.append(parts.accuracy)
    return float(np.mean(losses)), float(np.mean(accuracies))


def _loss(network, x1: torch.Tensor, x2: torch.Tensor, batch: PairBatch, config: StageConfig) -> LossParts:
    datasets = batch.datasets if config.negatives == "dataset" else None
    return lcmem_loss(network, network.embed(x1), network.embed(x2), batch.domains, config.alpha, config.temperature,
                      datasets, batch.groups)  # fmt: skip
