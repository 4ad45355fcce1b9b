"""``lcmem info BUNDLE``: print a bundle's metadata as JSON."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from lcmem.model.bundle import read_bundle_config, verify_bundle_files


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``info`` command."""
    parser = subparsers.add_parser("info", help="print a model bundle's metadata as JSON")
    parser.add_argument("bundle", type=Path, help="the model bundle folder")
    parser.add_argument("--verify", action="store_true", help="also check every weight file's sha256")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print ``lcmem.json`` plus the model checksum (and verification result with ``--verify``)."""
    config = read_bundle_config(args.bundle)
    data = asdict(config)
    data["checksum"] = config.checksum
    data["path"] = str(args.bundle.resolve())
    if args.verify:
        verify_bundle_files(args.bundle.resolve(), config)
        data["verified"] = True
    print(json.dumps(data, indent=2, sort_keys=True))
    return 0
