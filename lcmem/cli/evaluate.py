"""``lcmem eval --model BUNDLE --data DIR ... --out OUT_DIR``: in-domain retrieval, re-identification and copy
detection."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lcmem.model.bundle import load_bundle, record_metrics
from lcmem.model.default import default_bundle_path
from lcmem.runtime import configure_threads


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``eval`` command."""
    parser = subparsers.add_parser(
        "eval", help="evaluate a model against baselines (in-domain retrieval, re-ID and copy detection)"
    )
    parser.add_argument("--model", type=Path, default=None, help="bundle (default: the bundled model)")
    parser.add_argument("--data", type=Path, action="append", required=True, help="dataset folder with labels.csv")
    parser.add_argument("--split", default="test", choices=("val", "test"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--copy-per-dataset", type=int, default=150, help="copy-detection images per dataset")
    parser.add_argument("--work-size", type=int, default=256, help="size at which detectors see the images")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument(
        "--retrieval-sources",
        type=int,
        default=8,
        help="gallery images per dataset edited into retrieval queries (15 edits each)",
    )
    parser.add_argument("--retrieval-reid", type=int, default=20, help="re-identification queries per dataset")
    parser.add_argument("--retrieval-unseen", type=int, default=40, help="unseen-identity images per dataset")
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=("mse", "ssim", "ncc", "phash", "vae_latent_cosine"),
        help="leave out this baseline (repeatable; e.g. vae_latent_cosine, the slowest on a CPU)",
    )
    parser.add_argument(
        "--no-retrieval-verify",
        action="store_true",
        help="leave out the detector lcmem+verify (LCMem + the scan's geometric verification of its top 50)",
    )
    parser.add_argument(
        "--retrieval-without-views",
        action="store_true",
        help="also rank with lcmem+verify:no-views, whose candidates are picked by the query's own score only "
        "(as `lcmem scan --no-query-views`), beside lcmem+verify (the scan's default: the best score of the query "
        "or its mirrored, rotated and zoomed-out views)",
    )
    parser.add_argument(
        "--retrieval-only",
        action="store_true",
        help="skip the paper's protocols; write retrieval.json and retrieval.md",
    )
    parser.add_argument(
        "--thresholds-from",
        type=Path,
        default=None,
        help="take the detectors' val thresholds from an earlier report.json of the same model instead of rescoring",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--record-threshold",
        action="store_true",
        help="write lcmem's val-split threshold (FPR 5 %%) into the bundle as its default threshold",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and write report.json, report.md and the plots."""
    from lcmem.errors import BundleError
    from lcmem.eval.report import write_report
    from lcmem.eval.runner import EvalSettings, evaluate

    threads = configure_threads(args.threads)
    model = args.model or default_bundle_path()
    if model is None:
        raise BundleError("no default model is installed yet: pass --model BUNDLE_DIR")
    bundle = load_bundle(model)
    known = _known_thresholds(args.thresholds_from, bundle.config.checksum) if args.thresholds_from else None
    settings = EvalSettings(split=args.split, work_size=args.work_size, copy_per_dataset=args.copy_per_dataset,
                            n_boot=args.bootstrap, paper=not args.retrieval_only,
                            retrieval_sources=args.retrieval_sources, retrieval_reid=args.retrieval_reid,
                            retrieval_unseen=args.retrieval_unseen, retrieval_verify=not args.no_retrieval_verify,
                            retrieval_without_views=args.retrieval_without_views,
                            without=tuple(args.without), known_thresholds=known)  # fmt: skip
    report = evaluate(bundle, args.data, args.out, settings, threads)
    for path in write_report(report, args.out):
        print(f"wrote {path}", file=sys.stderr)
    if args.record_threshold:
        threshold = report["detectors"]["lcmem"]["threshold"]
        record_metrics(model, default_threshold=threshold,
                       default_threshold_rule=f"val split, FPR {settings.fpr:g} (lcmem eval)")  # fmt: skip
        print(f"recorded default threshold {threshold:.4f} in {model}", file=sys.stderr)
    return 0


def _known_thresholds(report_path: Path, checksum: str) -> dict[str, float]:
    """The val thresholds of an earlier ``report.json``, which must be of the same model."""
    import json

    from lcmem.errors import LCMemError

    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LCMemError(f"{report_path}: cannot read an evaluation report ({exc}); pass a report.json") from exc
    if report.get("model", {}).get("checksum") != checksum:
        raise LCMemError(f"{report_path} evaluates another model: rerun without --thresholds-from")
    return {name: float(result["threshold"]) for name, result in report["detectors"].items()}
