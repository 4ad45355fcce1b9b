"""``lcmem project ...``: the review project from the command line (new, scan, label, calibrate, export, report,
status)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
from sqlalchemy import select

from lcmem.cli.progress_bar import StageProgressBar
from lcmem.cli.scan import add_verify_arguments
from lcmem.embed.cache import EmbeddingCache, default_cache_dir
from lcmem.embed.runner import EmbedSettings
from lcmem.errors import BundleError, ProjectError
from lcmem.index.prebuilt import read_index_manifest
from lcmem.io.types import DEFAULT_MAX_PIXELS
from lcmem.model.bundle import load_bundle
from lcmem.model.default import default_bundle_path
from lcmem.review.audit import audit_estimate, describe_audit
from lcmem.review.calibrate import calibrate_project, latest_card, threshold_in_force
from lcmem.review.curves import null_line
from lcmem.review.double_read import describe_agreement, project_agreement
from lcmem.review.export import export_pairs
from lcmem.review.probability import describe_fit, project_fit
from lcmem.review.report import collect_findings, describe_findings, write_report
from lcmem.runtime import configure_threads, resolve_device
from lcmem.scan.types import ScanSettings
from lcmem.store.ingest import scan_project
from lcmem.store.project import Project
from lcmem.store.queries import (
    PairFilter,
    candidate_score,
    count_images,
    count_pairs,
    list_problems,
    real_null_scores,
)
from lcmem.store.schema import images
from lcmem.store.types import DECISIONS, MEMORIZED_KINDS, PairKey
from lcmem.verify.settings import verify_settings

MAX_PIXELS_HELP = f"refuse images of more pixels (all frames together) unread (default: {DEFAULT_MAX_PIXELS})"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``project`` and its sub-commands."""
    parser = subparsers.add_parser("project", help="create, scan, label, calibrate and export a review project")
    commands = parser.add_subparsers(dest="project_command", required=True, metavar="ACTION")

    new = commands.add_parser("new", help="create a project file with its source folders")
    new.add_argument("project", type=Path)
    real = new.add_mutually_exclusive_group(required=True)
    real.add_argument("--real", type=Path, action="append", help="real image folder (repeatable)")
    real.add_argument("--real-index", type=Path, help="a prebuilt index of the real images (lcmem index build)")
    new.add_argument("--synthetic", type=Path, action="append", required=True)
    new.add_argument("--max-pixels", type=int, default=None, help=MAX_PIXELS_HELP)
    new.set_defaults(run=run_new)

    scan = commands.add_parser("scan", help="scan the sources (resumes after a cancel or crash)")
    scan.add_argument("project", type=Path)
    scan.add_argument("--model", type=Path, default=None)
    scan.add_argument("--top-k", type=int, default=20)
    scan.add_argument(
        "--batch-size", type=int, default=0, help="images per encoder batch (default: 16 on a CPU, 64 on a GPU)"
    )
    scan.add_argument("--threads", type=int, default=None)
    add_verify_arguments(scan)
    scan.add_argument("--decode-threads", type=int, default=2)
    scan.add_argument("--device", default="auto")
    scan.add_argument("--cache-dir", type=Path, default=None)
    scan.add_argument(
        "--max-pixels", type=int, default=None, help=f"{MAX_PIXELS_HELP}; given here, it becomes the project's"
    )
    scan.add_argument("--quiet", action="store_true")
    scan.set_defaults(run=run_scan, default_log_file=project_log_file)

    label = commands.add_parser("label", help="record a decision on a (synthetic, real) pair")
    label.add_argument("project", type=Path)
    label.add_argument("--synthetic", type=Path, required=True)
    label.add_argument("--real", type=Path, required=True)
    label.add_argument("--synthetic-frame", type=int, default=0)
    label.add_argument("--real-frame", type=int, default=0)
    label.add_argument("--decision", choices=DECISIONS, required=True)
    label.add_argument("--reviewer", default=None, help="default: the login name")
    label.add_argument("--note", default="")
    label.add_argument(
        "--kind", choices=MEMORIZED_KINDS, default=None, help="with --decision accept: a copy, or the same patient"
    )
    label.add_argument(
        "--second-read",
        action="store_true",
        help="record a blind second read of a decided pair (reviewer QC) instead of changing its decision",
    )
    label.set_defaults(run=run_label)

    calibrate = commands.add_parser("calibrate", help="fit and save a threshold card from the labels")
    calibrate.add_argument("project", type=Path)
    target = calibrate.add_mutually_exclusive_group(required=True)
    target.add_argument("--target-recall", type=float)
    target.add_argument("--target-precision", type=float)
    calibrate.set_defaults(run=run_calibrate)

    export = commands.add_parser("export", help="write flagged pairs (or --all) as CSV")
    export.add_argument("project", type=Path)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--all", action="store_true", help="every candidate pair, not only flagged ones")
    export.add_argument(
        "--include-patient-ids",
        action="store_true",
        help="also export raw DICOM PatientIDs (identifying data: only when you must)",
    )
    export.set_defaults(run=run_export)

    report = commands.add_parser(
        "report", help="write a self-contained HTML report: findings, evidence and the flagged pairs with thumbnails"
    )
    report.add_argument("project", type=Path)
    report.add_argument("--out", type=Path, required=True, help="the .html file to write")
    report.add_argument("--all", action="store_true", help="every candidate pair, not only flagged ones")
    report.set_defaults(run=run_report)

    status = commands.add_parser(
        "status",
        help="print counts, the current scan, the threshold in force (rule, quantile, real images behind it), the "
        "findings, the real→real null line, the audit "
        "below the threshold, the calibrated-probability bands and the double-read agreement as JSON",
    )
    status.add_argument("project", type=Path)
    status.set_defaults(run=run_status)


def run_new(args: argparse.Namespace) -> int:
    """Create the project."""
    if args.real_index is not None:
        read_index_manifest(args.real_index)
    real = args.real or [args.real_index]
    for folder in (*real, *args.synthetic):
        if not folder.is_dir():
            raise ProjectError(f"{folder}: not a folder")
    with Project.create(args.project, real, args.synthetic, max_pixels=args.max_pixels):
        pass
    print(f"created {args.project}", file=sys.stderr)
    return 0


def project_log_file(args: argparse.Namespace) -> Path:
    """``PROJECT.log`` beside the project file: where the libraries' messages about the files go."""
    return args.project.with_name(args.project.name + ".log")


def run_scan(args: argparse.Namespace) -> int:
    """Scan the project's sources with the model."""
    model_path = args.model or default_bundle_path()
    if model_path is None:
        raise BundleError("no default model is installed yet: pass --model BUNDLE_DIR")
    configure_threads(args.threads)
    device = resolve_device(args.device)
    bundle = load_bundle(model_path, device=device)
    if args.verify_depth < 1:
        raise SystemExit("lcmem project scan: --verify-depth must be at least 1")
    verify = verify_settings(not args.no_verify, args.verify_depth, args.threads, not args.no_query_views)
    bar = StageProgressBar(enabled=not args.quiet)
    with (
        Project.open(args.project) as project,
        EmbeddingCache(args.cache_dir or default_cache_dir(), bundle.checksum, bundle.config.embedding_dim) as cache,
    ):
        if args.max_pixels is not None:
            project.set_max_pixels(args.max_pixels)
        embed = EmbedSettings(args.batch_size, args.decode_threads, device, project.max_pixels)
        settings = ScanSettings(top_k=args.top_k, embed=embed, verify=verify)
        try:
            summary = scan_project(project, bundle, settings, cache=cache, progress=bar, cache_dir=cache.directory)
        finally:
            bar.close()
    print(f"{summary.n_candidates} candidate pairs, {len(summary.problems)} unreadable files", file=sys.stderr)
    return 0


def _image_key(project: Project, role: str, path: Path, frame: int) -> tuple[str, int]:
    """The content key of a scanned image, named as the scan found it (a link) or by where it leads."""
    names = [os.path.abspath(path), str(path.resolve())]
    query = select(images.c.sha256).where(images.c.role == role, images.c.path.in_(names), images.c.frame == frame)
    with project.connect() as conn:
        sha = conn.execute(query).scalar()
    if sha is None:
        raise ProjectError(f"{path} (frame {frame}) is not a scanned {role} image of this project")
    return sha, frame


def run_label(args: argparse.Namespace) -> int:
    """Record one decision."""
    with Project.open(args.project) as project:
        synthetic = _image_key(project, "synthetic", args.synthetic, args.synthetic_frame)
        real = _image_key(project, "real", args.real, args.real_frame)
        key = PairKey(*synthetic, *real)
        reviewer = args.reviewer or getpass.getuser()
        if args.second_read:
            if args.note or args.kind:
                raise ProjectError("a second read has no note or kind; those go with the pair's decision")
            project.set_second_read(key, reviewer, args.decision)
        else:
            score = candidate_score(project, key)
            project.set_decision(key, args.decision, reviewer, note=args.note, score=score, kind=args.kind)
    what = "second read" if args.second_read else "decision"
    print(f"{what} {args.decision}: {args.synthetic} ↔ {args.real}", file=sys.stderr)
    return 0


def _model_checksum(project: Project) -> str:
    scans = [s for s in project.scans() if s.status == "done"]
    if not scans:
        raise ProjectError(f"{project.path}: scan the project first")
    return scans[-1].model_checksum


def run_calibrate(args: argparse.Namespace) -> int:
    """Fit, save and print a threshold card."""
    with Project.open(args.project) as project:
        card = calibrate_project(
            project, _model_checksum(project), target_recall=args.target_recall, target_precision=args.target_precision
        )
    print(json.dumps(asdict(card), indent=2))
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write the CSV and its threshold card."""
    with Project.open(args.project, read_only=True) as project:
        checksum = _model_checksum(project)
        count = export_pairs(
            project,
            args.out,
            latest_card(project, checksum),
            checksum,
            include_all=args.all,
            include_patient_ids=args.include_patient_ids,
        )
    print(f"wrote {count} pairs to {args.out}", file=sys.stderr)
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Write the HTML report and print its findings."""
    with Project.open(args.project, read_only=True) as project:
        checksum = _model_checksum(project)
        findings = write_report(project, args.out, latest_card(project, checksum), checksum, include_all=args.all)
    print(describe_findings(findings))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Print the project's state as JSON."""
    with Project.open(args.project, read_only=True) as project:
        scans = project.scans()
        line = null_line(np.array(real_null_scores(project)))
        done = [s for s in scans if s.status == "done"]
        checksum = done[-1].model_checksum if done else None
        card = latest_card(project, checksum)
        threshold = threshold_in_force(project, card, checksum)
        audit = audit_estimate(project, threshold.value)
        findings, _ = collect_findings(project, threshold)
        between, within = project_agreement(project)
        fit = project_fit(project)
        status = {
            "sources": [asdict(s) for s in project.sources()],
            "scans": [asdict(s) for s in scans],
            "real_items": count_images(project, "real"),
            "synthetic_items": count_images(project, "synthetic"),
            "pairs": count_pairs(project),
            "undecided": count_pairs(project, PairFilter(status="undecided")),
            "decisions": len(project.decisions()),
            "problems": len(list_problems(project)),
            "threshold_in_force": threshold.to_dict(),
            "threshold_card": asdict(card) if card else None,
            "real_null": asdict(line) if line else None,
            "findings": {**asdict(findings), "text": describe_findings(findings)},
            "audit": {**asdict(audit), "text": describe_audit(audit)},
            "calibrated_probability": {
                "bands": [asdict(b) for b in fit.bands] if fit else None,
                "text": describe_fit(fit),
            },
            "double_read": {
                "another_reader": asdict(between),
                "same_reader": asdict(within),
                "text": describe_agreement(between, within),
            },
        }
    print(json.dumps(status, indent=2))
    return 0
