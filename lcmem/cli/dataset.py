"""``lcmem dataset from-dicom DIR --out labels.csv``: label a DICOM archive for training."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``dataset``."""
    parser = subparsers.add_parser("dataset", help="build a labelled dataset (labels.csv) for training")
    actions = parser.add_subparsers(dest="dataset_command", required=True, metavar="ACTION")
    dicom = actions.add_parser("from-dicom", help="identity = keyed hash of PatientID, split by identity")
    dicom.add_argument("folder", type=Path)
    dicom.add_argument("--out", type=Path, required=True, help="labels.csv to write (put it in FOLDER to train)")
    dicom.add_argument("--key-file", type=Path, default=None, help="hash key (default: OUT with .key, created)")
    dicom.add_argument("--seed", type=int, default=0)
    dicom.add_argument("--domain", default=None, help="domain for every row (default: the Modality)")
    dicom.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the labels file."""
    from lcmem.train.dicom_dataset import dicom_labels

    count = dicom_labels(args.folder, args.out, key_file=args.key_file, seed=args.seed, domain=args.domain)
    print(f"wrote {count} rows to {args.out}", file=sys.stderr)
    return 0
