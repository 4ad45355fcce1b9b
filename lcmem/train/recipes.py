"""Named training recipes: ``cpu`` (the bundled default model) and ``paper`` (the LCMem configuration).

``cpu`` trains on pairs of *different* images of an identity (``positives="distinct"``), not the official
independent draws, most of which are an image and itself on data where most identities have one image;
stage 2 mixes those identity pairs (mildly augmented) half and half with strongly augmented copies. Both stages
keep the epoch with the best val detection score (``select="detection"``: val re-ID AUC per dataset and copy
recall, see ``lcmem.train.selection``), not the lowest val loss: stage 1's val loss rises after epoch 9 while its
re-ID AUCs keep rising to about epoch 25. Stage 2 then anneals: 12 more epochs from its best network at lr / 10.

``paper`` is for machines with a GPU: ConvNeXt-Tiny with a stride-4 stem on 512×512 images through a Stable
Diffusion VAE (give its folder or hub id with ``--vae``), stage 1 at batch 512 and lr 5e-4 with patience 25,
stage 2 at batch 64 and lr 8e-5 for at most 20 epochs with patience 5 and the official augmentations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lcmem.train.stages import StageConfig


@dataclass(frozen=True)
class Recipe:
    """Architecture and both stages' settings."""

    backbone: str
    image_size: int
    stem_stride: int
    stage1: StageConfig
    stage2: StageConfig


RECIPES = {
    "cpu": Recipe(
        backbone="atto", image_size=128, stem_stride=2,
        stage1=StageConfig(stage=1, batch_size=128, lr=1e-3, max_epochs=200, steps_per_epoch=40, patience=8,
                           max_minutes=50.0, positives="distinct", latent_flip_p=0.5, select="detection"),
        stage2=StageConfig(stage=2, batch_size=48, lr=2e-4, max_epochs=100, steps_per_epoch=30, patience=30,
                           max_minutes=68.0, augment="strong", identity_augment="mild", copy_p=0.5,
                           positives="distinct", val_batches=6, select="detection", anneal_epochs=12),
    ),
    "paper": Recipe(
        backbone="tiny", image_size=512, stem_stride=4,
        stage1=StageConfig(stage=1, batch_size=512, lr=5e-4, max_epochs=500, steps_per_epoch=365, patience=25,
                           max_minutes=24 * 60.0, val_batches=90),
        stage2=StageConfig(stage=2, batch_size=64, lr=8e-5, max_epochs=20, steps_per_epoch=2918, patience=5,
                           max_minutes=24 * 60.0, augment="official", val_batches=90),
    ),
}  # fmt: skip


def scaled(recipe: Recipe, **stage_overrides: float | int | str) -> Recipe:
    """The recipe with the same overrides applied to both stages (e.g. ``max_minutes``, ``steps_per_epoch``)."""
    if not stage_overrides:
        return recipe
    return replace(recipe, stage1=replace(recipe.stage1, **stage_overrides),
                   stage2=replace(recipe.stage2, **stage_overrides))  # fmt: skip
