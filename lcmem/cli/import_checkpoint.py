"""``lcmem import-checkpoint OFFICIAL.pth --vae VAE_REF --out BUNDLE``: convert an official checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from lcmem.model.config import VAE_KINDS
from lcmem.model.convert import import_official_checkpoint


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``import-checkpoint`` command."""
    parser = subparsers.add_parser(
        "import-checkpoint",
        help="convert an official LCMem .pth state dict into a bundle (read with weights_only=True)",
    )
    parser.add_argument("checkpoint", type=Path, help="the official SiameseNetwork state dict (.pth)")
    parser.add_argument("--vae", required=True, help="local diffusers folder or hub id of the VAE")
    parser.add_argument("--vae-kind", choices=VAE_KINDS, default="AutoencoderKL")
    parser.add_argument("--vae-subfolder", default=None, help="e.g. 'vae' when --vae is a whole pipeline")
    parser.add_argument("--out", type=Path, required=True, help="the bundle folder to create")
    parser.add_argument("--image-size", type=int, default=512, help="training input size (paper: 512)")
    parser.add_argument("--name", default="lcmem-official")
    parser.add_argument(
        "--reference-vae", action="store_true", help="record the VAE by reference instead of copying it in"
    )
    parser.add_argument("--overwrite", action="store_true")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Convert and print where the bundle went and its checksum."""
    config = import_official_checkpoint(
        args.checkpoint,
        args.vae,
        args.out,
        vae_kind=args.vae_kind,
        vae_subfolder=args.vae_subfolder,
        image_size=args.image_size,
        name=args.name,
        copy_vae=not args.reference_vae,
        overwrite=args.overwrite,
    )
    print(f"wrote {args.out} (ConvNeXt-{config.backbone}, checksum {config.checksum[:16]})")
    return 0
