"""``lcmem scan``: rank, for every synthetic image, its most similar real images; write CSVs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lcmem.cli.progress_bar import StageProgressBar
from lcmem.embed.cache import EmbeddingCache, default_cache_dir
from lcmem.embed.runner import EmbedSettings
from lcmem.errors import BundleError
from lcmem.index.faiss_index import INDEX_KINDS, IndexSettings
from lcmem.index.prebuilt import read_index_manifest
from lcmem.io.types import DEFAULT_MAX_PIXELS
from lcmem.model.bundle import load_bundle
from lcmem.model.default import default_bundle_path
from lcmem.runtime import configure_threads, resolve_device
from lcmem.scan.null import dicom_patient_identity, exact_copy_score
from lcmem.scan.pipeline import run_scan
from lcmem.scan.real_side import RealIndex
from lcmem.scan.report import MatchWriter, write_problems, write_run_record
from lcmem.scan.types import ScanSettings
from lcmem.verify.cache import FeatureCache
from lcmem.verify.settings import VerifySettings, verify_settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``scan`` command."""
    parser = subparsers.add_parser(
        "scan", help="find, for every synthetic image, the real images it most resembles (ranked CSV)"
    )
    real = parser.add_mutually_exclusive_group(required=True)
    real.add_argument("--real", type=Path, action="append", help="real image folder (repeatable)")
    real.add_argument("--real-index", type=Path, help="a prebuilt index of the real images (lcmem index build)")
    parser.add_argument(
        "--synthetic", type=Path, action="append", required=True, help="synthetic image folder (repeatable)"
    )
    parser.add_argument("--out", type=Path, required=True, help="matches CSV to write")
    parser.add_argument("--model", type=Path, default=None, help="model bundle folder (default: the bundled model)")
    parser.add_argument("--top-k", type=int, default=20, help="candidates per synthetic image (default 20)")
    parser.add_argument(
        "--problems", type=Path, default=None, help="CSV of unreadable files (default OUT.problems.csv)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=0, help="images per encoder batch (default: 16 on a CPU, 64 on a GPU)"
    )
    parser.add_argument("--threads", type=int, default=None, help="compute threads (default: all cores)")
    parser.add_argument("--decode-threads", type=int, default=2, help="image decoding threads")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--index", choices=INDEX_KINDS, default="auto", help="FAISS index kind")
    parser.add_argument(
        "--nprobe", type=int, default=None, help="IVF lists probed per query (default 32, or the prebuilt index's)"
    )
    add_verify_arguments(parser)
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding and feature cache folder")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse larger images")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run, default_log_file=log_file_beside)


def log_file_beside(args: argparse.Namespace) -> Path:
    """``OUT.log`` beside the matches CSV: where the libraries' messages about the files go."""
    return args.out.with_name(args.out.stem + ".log")


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    """``--no-verify``, ``--verify-depth`` and ``--no-query-views`` (shared by ``lcmem scan`` and ``lcmem project
    scan``)."""
    parser.add_argument(
        "--no-verify", action="store_true", help="rank by LCMem score alone, without geometric verification (quick)"
    )
    parser.add_argument(
        "--verify-depth",
        type=int,
        default=VerifySettings.depth,
        help=f"LCMem candidates verified per synthetic image (default {VerifySettings.depth})",
    )
    parser.add_argument(
        "--no-query-views",
        action="store_true",
        help="pick the candidates to verify by the synthetic image's own score only, not also by its mirrored, "
        "rotated (±8°) and zoomed-out views (faster embedding; sources of crops and rotations may be missed)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the scan and write ``--out`` (flagged under the threshold in force), the problems CSV and
    ``OUT.run.json``."""
    model_path = args.model or default_bundle_path()
    if model_path is None:
        raise BundleError("no default model is installed yet: pass --model BUNDLE_DIR")
    if args.top_k < 1 or args.verify_depth < 1 or (args.nprobe is not None and args.nprobe < 1):
        raise SystemExit("lcmem scan: --top-k, --verify-depth and --nprobe must be at least 1")
    if args.real_index is not None:
        nprobe = args.nprobe or int(read_index_manifest(args.real_index)["nprobe"])
        reals: list[Path] | RealIndex = RealIndex(args.real_index, nprobe)
        inputs: dict[str, object] = {"real_index": str(args.real_index.resolve())}
    else:
        nprobe = args.nprobe or IndexSettings.nprobe
        reals = args.real
        inputs = {"real": [str(p) for p in args.real]}
    configure_threads(args.threads)
    device = resolve_device(args.device)
    bundle = load_bundle(model_path, device=device)
    settings = ScanSettings(
        top_k=args.top_k,
        embed=EmbedSettings(args.batch_size, args.decode_threads, device, args.max_pixels),
        index=IndexSettings(kind=args.index, nprobe=nprobe),
        verify=verify_settings(not args.no_verify, args.verify_depth, args.threads, not args.no_query_views),
    )
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    problems_path = args.problems or out.with_name(out.stem + ".problems.csv")
    cache = (
        None
        if args.no_cache
        else EmbeddingCache(args.cache_dir or default_cache_dir(), bundle.checksum, bundle.config.embedding_dim)
    )
    features = (
        None
        if args.no_cache or settings.verify is None
        else FeatureCache.for_settings(args.cache_dir or default_cache_dir(), settings.verify)
    )
    writer = MatchWriter(out, bundle.config.default_threshold, exact_copy_score(bundle.model.network))
    bar = StageProgressBar(enabled=not args.quiet)
    try:
        summary = run_scan(
            reals,
            args.synthetic,
            bundle,
            writer,
            settings=settings,
            cache=cache,
            progress=bar,
            on_null=writer.anchor,
            real_identity=dicom_patient_identity(),
            feature_cache=features,
        )
        writer.commit()
    except BaseException:
        writer.discard()
        raise
    finally:
        bar.close()
        for opened in (cache, features):
            if opened is not None:
                opened.close()
    write_problems(problems_path, summary.problems)
    inputs.update(synthetic=[str(p) for p in args.synthetic], model=str(Path(model_path).resolve()))
    write_run_record(out.with_name(out.stem + ".run.json"), summary, settings, inputs, writer.threshold, writer.flagged)
    print(
        f"{summary.n_synthetic_items} synthetic × {summary.n_real_items} real images: {summary.n_candidates} "
        f"candidate pairs → {out}; {len(summary.problems)} unreadable → {problems_path} "
        f"({summary.cached_files} files from cache, {summary.computed_files} embedded)\n"
        f"{writer.flagged} pairs flagged under the threshold in force {writer.threshold.value:.3f} "
        f"({writer.threshold.rule}): {writer.threshold.text}",
        file=sys.stderr,
    )
    return 0
