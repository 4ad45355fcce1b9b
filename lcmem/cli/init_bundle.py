"""``lcmem init-bundle --out DIR``: write a bundle with seeded random weights (pipeline checks, timing)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lcmem.model.bundle import save_bundle
from lcmem.model.config import VAE_KINDS
from lcmem.model.convnext import CONVNEXT_SIZES
from lcmem.model.untrained import build_untrained_model


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``init-bundle`` command."""
    parser = subparsers.add_parser(
        "init-bundle",
        help="write an untrained bundle (random weights: finds exact copies only; for checks and timing)",
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--backbone", choices=sorted(CONVNEXT_SIZES), default="atto")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--stem-stride", type=int, default=1)
    parser.add_argument("--vae-kind", choices=VAE_KINDS, default="AutoencoderKL")
    parser.add_argument("--vae-width", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build and save the untrained bundle."""
    model = build_untrained_model(
        f"untrained-{args.backbone}",
        backbone=args.backbone,
        image_size=args.image_size,
        stem_stride=args.stem_stride,
        vae_kind=args.vae_kind,
        vae_width=args.vae_width,
        seed=args.seed,
    )
    config = save_bundle(model, args.out, overwrite=args.overwrite)
    print(f"wrote {args.out} (untrained ConvNeXt-{config.backbone}, checksum {config.checksum[:16]})")
    return 0
