"""``lcmem embed``: embed a large archive into a resumable folder of Parquet shards, here or on a Ray cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lcmem.cli.progress_bar import StageProgressBar
from lcmem.embed.archive import EmbedEngine, run_embed_job
from lcmem.embed.runner import EmbedSettings
from lcmem.extras import require
from lcmem.io.types import DEFAULT_MAX_PIXELS
from lcmem.model.bundle import load_bundle
from lcmem.model.default import model_path_or_default
from lcmem.runtime import configure_threads, resolve_device


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``embed`` command."""
    parser = subparsers.add_parser(
        "embed", help="embed an archive into Parquet shards (locally or on a Ray cluster); rerun to resume"
    )
    parser.add_argument(
        "--input", type=Path, required=True, help="a folder (walked recursively) or a text file of paths, one a line"
    )
    parser.add_argument("--out", type=Path, required=True, help="the embeddings folder (rerun to resume)")
    parser.add_argument("--model", type=Path, default=None, help="model bundle folder (default: the bundled model)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local", help="where to embed (default local)")
    parser.add_argument(
        "--address",
        default=None,
        help="ray: the cluster to join (auto, HOST:6379, ray://HOST:10001); default: start one",
    )
    parser.add_argument(
        "--files-per-shard", type=int, default=None, help="files per work unit and shard (default 1000, or as before)"
    )
    parser.add_argument("--batch-size", type=int, default=32, help="images per encoder batch")
    parser.add_argument("--concurrency", type=int, default=1, help="ray: encoder actors")
    parser.add_argument("--num-gpus-per-worker", type=float, default=0.0, help="ray: GPUs per encoder actor")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0, help="ray: CPUs per encoder actor")
    parser.add_argument("--files-per-block", type=int, default=64, help="ray: files per input block (decode task)")
    parser.add_argument("--threads", type=int, default=None, help="local: compute threads (default: all cores)")
    parser.add_argument("--decode-threads", type=int, default=2, help="local: image decoding threads")
    parser.add_argument("--device", default="auto", help="local: auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse larger images")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def _engine(args: argparse.Namespace, device: str) -> EmbedEngine:
    if args.engine == "ray":
        from lcmem.embed.ray_engine import RayEngine, RaySettings

        require("ray.data", "lcmem embed --engine ray")

        return RayEngine(
            RaySettings(
                address=args.address,
                batch_size=args.batch_size,
                concurrency=args.concurrency,
                num_gpus_per_worker=args.num_gpus_per_worker,
                cpus_per_worker=args.cpus_per_worker,
                files_per_block=args.files_per_block,
                max_pixels=args.max_pixels,
            )
        )
    from lcmem.embed.local_engine import LocalEngine

    return LocalEngine(EmbedSettings(args.batch_size, args.decode_threads, device, args.max_pixels))


def run(args: argparse.Namespace) -> int:
    """Embed ``--input`` into ``--out`` and print what was done."""
    for name in ("batch_size", "concurrency", "files_per_block"):
        if getattr(args, name) < 1:
            raise SystemExit(f"lcmem embed: --{name.replace('_', '-')} must be at least 1")
    if args.files_per_shard is not None and args.files_per_shard < 1:
        raise SystemExit("lcmem embed: --files-per-shard must be at least 1")
    configure_threads(args.threads)
    device = resolve_device(args.device) if args.engine == "local" else "cpu"
    engine = _engine(args, device)
    bundle = load_bundle(model_path_or_default(args.model), device=device)
    bar = StageProgressBar(enabled=not args.quiet, unit="file")
    try:
        summary = run_embed_job(
            args.input, bundle, args.out, engine, files_per_shard=args.files_per_shard, progress=bar
        )
    finally:
        bar.close()
    print(
        f"{summary.n_files} files → {summary.n_rows} embeddings in {summary.n_shards} shards "
        f"({summary.n_resumed} kept from an earlier run) → {args.out}; {len(summary.problems)} unreadable "
        f"→ {args.out / 'problems.csv'}",
        file=sys.stderr,
    )
    return 0
