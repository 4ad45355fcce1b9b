"""``lcmem index build``: an IVF index over an embeddings folder, for scans against a large real archive."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lcmem.cli.progress_bar import StageProgressBar
from lcmem.embed.archive import read_manifest
from lcmem.index.build import BuildSettings, build_index
from lcmem.index.faiss_index import IVF_CODES
from lcmem.model.bundle import load_bundle
from lcmem.model.default import model_path_or_default
from lcmem.runtime import configure_threads


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``index`` and its ``build`` action."""
    parser = subparsers.add_parser("index", help="build a search index over an embeddings folder (lcmem embed)")
    actions = parser.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    build = actions.add_parser("build", help="train an IVF index on a sample and add every shard")
    build.add_argument("embeddings", type=Path, help="the embeddings folder written by lcmem embed")
    build.add_argument("--out", type=Path, required=True, help="the index folder to create")
    build.add_argument("--model", type=Path, default=None, help="model bundle (default: the one that embedded)")
    build.add_argument("--codes", choices=tuple(IVF_CODES), default="sq8", help="vector codes (default sq8)")
    build.add_argument("--nlist", type=int, default=0, help="IVF lists (default about 4·sqrt(N))")
    build.add_argument("--nprobe", type=int, default=32, help="lists probed per query, by default, when scanning")
    build.add_argument("--seed", type=int, default=0, help="seed of the training sample")
    build.add_argument("--on-disk", action="store_true", help="inverted lists on disk (indexes larger than memory)")
    build.add_argument("--block-rows", type=int, default=262_144, help="--on-disk: vectors per block")
    build.add_argument("--threads", type=int, default=None, help="compute threads (default: all cores)")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(run=run_build)


def run_build(args: argparse.Namespace) -> int:
    """Build the index folder and print its kind and size."""
    if args.nlist < 0 or args.nprobe < 1 or args.block_rows < 1:
        raise SystemExit("lcmem index build: --nlist must be ≥ 0, --nprobe and --block-rows ≥ 1")
    configure_threads(args.threads)
    model = args.model or Path(read_manifest(args.embeddings)["model"]["path"])
    bundle = load_bundle(model_path_or_default(model))
    settings = BuildSettings(args.codes, args.nlist, args.nprobe, args.seed, args.on_disk, args.block_rows)
    bar = StageProgressBar(enabled=not args.quiet, unit="vec")
    try:
        summary = build_index(args.embeddings, args.out, bundle, settings, progress=bar)
    finally:
        bar.close()
    print(
        f"{summary.kind} index, {summary.nlist} lists, {summary.rows} vectors → {summary.folder} "
        f"({sum(summary.seconds.values()):.1f} s)",
        file=sys.stderr,
    )
    return 0
