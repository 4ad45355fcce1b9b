"""``lcmem train vae|stage1|stage2``: train the VAE and the two LCMem stages (each resumable)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from lcmem.runtime import configure_threads
from lcmem.train.recipes import RECIPES, scaled
from lcmem.train.selection import SELECT_MODES
from lcmem.train.stages import NEGATIVES


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``train`` and its stages."""
    parser = subparsers.add_parser("train", help="train a VAE and an LCMem model on labelled datasets")
    stages = parser.add_subparsers(dest="train_command", required=True, metavar="STAGE")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--data", type=Path, action="append", required=True, help="dataset folder with labels.csv")
        sub.add_argument("--out", type=Path, required=True, help="run folder (rerun to resume)")
        sub.add_argument("--threads", type=int, default=None)
        sub.add_argument("--seed", type=int, default=0)

    vae = stages.add_parser("vae", help="train the small CPU AutoencoderKL")
    common(vae)
    vae.add_argument("--steps", type=int, default=3000)
    vae.add_argument("--image-size", type=int, default=128)
    vae.set_defaults(run=run_vae)

    for name, helptext in (("stage1", "identity consistency on cached latents"),
                           ("stage2", "augmentation-robust fine-tuning in image space")):  # fmt: skip
        stage = stages.add_parser(name, help=helptext)
        common(stage)
        stage.add_argument("--recipe", choices=sorted(RECIPES), default="cpu")
        stage.add_argument("--max-minutes", type=float, default=None, help="time budget of the stage")
        stage.add_argument("--steps-per-epoch", type=int, default=None)
        stage.add_argument("--max-epochs", type=int, default=None)
        stage.add_argument("--patience", type=int, default=None, help="epochs without improvement before stopping")
        stage.add_argument("--anneal-epochs", type=int, default=None,
                           help="then this many epochs from the best network at lr / 10")  # fmt: skip
        stage.add_argument("--select", choices=SELECT_MODES, default=None,
                           help="keep the epoch with the lowest val loss, the best val detection score, or the "
                                "best detection score with in-domain rank-1 (default: the recipe's)")  # fmt: skip
        stage.add_argument("--negatives", choices=NEGATIVES, default=None,
                           help="pair each hard negative within its domain or within its dataset "
                                "(default: the recipe's)")  # fmt: skip
        stage.add_argument("--lr", type=float, default=None, help="learning rate (default: the recipe's)")
        if name == "stage2":
            stage.add_argument("--hard-negatives", type=int, default=None, metavar="K",
                               help="build batches of groups of nearest identities: mine each training identity's "
                                    "K nearest other identities of its dataset under the --init model "
                                    "(0: off, the recipe's default)")  # fmt: skip
            stage.add_argument("--group-size", type=int, default=None,
                               help="identities per hard-negative group (a seed and its neighbours)")  # fmt: skip
            stage.add_argument("--copy-p", type=float, default=None,
                               help="share of copy pairs (an image and its augmented self)")  # fmt: skip
        if name == "stage1":
            stage.add_argument("--vae", type=Path, required=True, help="diffusers VAE folder")
            stage.add_argument("--name", default="lcmem-small")
        else:
            stage.add_argument("--init", type=Path, required=True, help="the stage-1 bundle")
        stage.set_defaults(run=run_stage1 if name == "stage1" else run_stage2)


def _recipe(args: argparse.Namespace):
    overrides = {k: v for k, v in (("max_minutes", args.max_minutes), ("steps_per_epoch", args.steps_per_epoch),
                                   ("max_epochs", args.max_epochs), ("seed", args.seed),
                                   ("select", args.select), ("patience", args.patience),
                                   ("anneal_epochs", args.anneal_epochs), ("negatives", args.negatives),
                                   ("lr", args.lr), ("hard_negatives", getattr(args, "hard_negatives", None)),
                                   ("group_size", getattr(args, "group_size", None)),
                                   ("copy_p", getattr(args, "copy_p", None)))
                 if v is not None}  # fmt: skip
    return scaled(RECIPES[args.recipe], **overrides)


def run_vae(args: argparse.Namespace) -> int:
    """Train the VAE."""
    from lcmem.train.vae import VaeTrainConfig, train_vae

    threads = configure_threads(args.threads)
    config = replace(VaeTrainConfig(), steps=args.steps, image_size=args.image_size, seed=args.seed)
    target = train_vae(args.data, args.out, config, threads)
    print(f"wrote {target}", file=sys.stderr)
    return 0


def run_stage1(args: argparse.Namespace) -> int:
    """Train stage 1."""
    from lcmem.train.run import train_stage1

    threads = configure_threads(args.threads)
    config = train_stage1(args.data, args.vae, args.out, _recipe(args), args.name, threads)
    print(f"wrote {args.out / 'bundle'} (checksum {config.checksum[:16]})", file=sys.stderr)
    return 0


def run_stage2(args: argparse.Namespace) -> int:
    """Train stage 2."""
    from lcmem.train.run import train_stage2

    threads = configure_threads(args.threads)
    config = train_stage2(args.data, args.init, args.out, _recipe(args), threads)
    print(f"wrote {args.out / 'bundle'} (checksum {config.checksum[:16]})", file=sys.stderr)
    return 0
