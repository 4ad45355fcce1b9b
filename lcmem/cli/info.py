"""``lcmem info [BUNDLE]``: print a bundle's metadata as JSON (the default model when none is named)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from lcmem.errors import BundleError
from lcmem.model.bundle import read_bundle_config, verify_bundle_files
from lcmem.model.default import default_bundle_path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``info`` command."""
    parser = subparsers.add_parser("info", help="print a model bundle's metadata as JSON")
    parser.add_argument(
        "bundle", nargs="?", type=Path, help="the model bundle folder (default: the bundled default model)"
    )
    parser.add_argument("--verify", action="store_true", help="also check every weight file's sha256")
    parser.add_argument(
        "--environment",
        action="store_true",
        help="also report the software versions and the DICOM decoders available here",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print ``lcmem.json`` plus the model checksum (and verification result with ``--verify``)."""
    bundle = args.bundle or default_bundle_path()
    if bundle is None:
        raise BundleError("no model bundle given and no default model is installed; name a bundle folder")
    config = read_bundle_config(bundle)
    data = asdict(config)
    data["checksum"] = config.checksum
    data["path"] = str(bundle.resolve())
    if args.verify:
        verify_bundle_files(bundle.resolve(), config)
        data["verified"] = True
    if args.environment:
        data["environment"] = environment()
    print(json.dumps(data, indent=2, sort_keys=True))
    return 0


def environment() -> dict[str, object]:
    """Versions, whether this is a frozen app, and the DICOM decoder plugins per transfer-syntax family."""
    from lcmem.about import component_versions
    from lcmem.io.dicom_codecs import decoder_plugins
    from lcmem.resources import frozen_root

    return {"versions": component_versions(), "frozen": frozen_root() is not None, "dicom_decoders": decoder_plugins()}
