"""A self-contained HTML report of a project's findings, for the people who did not review (ANCHORS §13).

One file, no network: styles inline and every thumbnail a ``data:`` PNG, decoded by the same pixel pipeline as
the encoder and the viewer and labelled with the window it was rendered at (a DICOM at its own window). It
states what was checked (model and checksum, threshold and how it was set, the scan), what was found (synthetic
images with a pair judged memorized, the real images and patients they match), the evidence around the
threshold (the real→real null line, the audit below the threshold, the double-read agreement) and the pairs:
flagged ones, or all with ``include_all``. An image that cannot be read now (moved, deleted) keeps its row,
with the reason in place of the thumbnail. Every text from the project (paths, notes, names) is escaped.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

import lcmem.io
from lcmem import __version__
from lcmem.csv_cells import atomic_text_file
from lcmem.errors import LCMemError
from lcmem.review.audit import audit_estimate, describe_audit
from lcmem.review.calibrate import ThresholdCard, threshold_in_force
from lcmem.review.compare import describe_window
from lcmem.review.curves import null_line
from lcmem.review.double_read import describe_agreement, project_agreement
from lcmem.review.export import decision_extras, flag_of, pair_rows
from lcmem.review.probability import IsotonicFit, describe_fit, project_fit
from lcmem.review.thumbnails import shrink
from lcmem.scan.threshold import RULE_CARD, ThresholdInForce, null_fraction_below
from lcmem.store.project import Project, utc_now
from lcmem.store.queries import count_images, real_null_scores
from lcmem.store.types import DECISION_TEXT, KIND_TEXT, PairRow

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = 160


@dataclass(frozen=True)
class Findings:
    """What a scan and its review found, at pair, image and patient level.

    ``synthetic_memorized`` (Dar's N_copies) counts synthetic images with at least one pair judged memorized;
    ``real_memorized`` the real images in such pairs and ``patients_memorized`` their distinct patients
    (pseudonyms; ``None`` when none of those real images has a patient id). ``accepted_copies`` and
    ``accepted_same_patient`` count the accepted pairs whose reviewer said which kind they are.
    """

    synthetic_images: int
    real_images: int
    pairs: int
    decided: int
    flagged: int
    accepted: int
    flagged_undecided: int
    synthetic_memorized: int
    real_memorized: int
    patients_memorized: int | None
    accepted_copies: int = 0
    accepted_same_patient: int = 0


@dataclass(frozen=True)
class _Thumbnail:
    data_uri: str | None
    caption: str


def write_report(
    project: Project,
    out: str | Path,
    card: ThresholdCard | None,
    model_checksum: str,
    *,
    include_all: bool = False,
    thumbnail_size: int = THUMBNAIL_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> Findings:
    """Write the report to ``out`` (atomically) and return its findings.

    ``progress(done, total)`` is called after each pair's thumbnails.

    Raises:
        OSError: the report cannot be written where asked (its ``filename`` is ``out``).
    """
    threshold = threshold_in_force(project, card, model_checksum)
    findings, shown = collect_findings(project, threshold, include_all=include_all)
    null = np.array(real_null_scores(project), dtype=np.float64)
    evidence = [_null_sentence(null), describe_audit(audit_estimate(project, threshold.value))]
    fit = project_fit(project)
    evidence += [describe_fit(fit), describe_agreement(*project_agreement(project))]
    notes = {key: note for key, (note, _hidden) in decision_extras(project).items() if note}
    thumbnails: dict[tuple[str, int], _Thumbnail] = {}

    def thumbnail(path: str, sha256: str, frame: int) -> _Thumbnail:
        key = (sha256, frame)
        if key not in thumbnails:
            thumbnails[key] = _thumbnail(path, frame, thumbnail_size)
        return thumbnails[key]

    rows_html = []
    for number, (row, flag) in enumerate(shown, start=1):
        real = thumbnail(row.real_path, row.key.real_sha256, row.key.real_frame)
        synthetic = thumbnail(row.synthetic_path, row.key.synthetic_sha256, row.key.synthetic_frame)
        evidence_of_score = (null_fraction_below(null, row.score), fit)
        rows_html.append(_row_html(number, row, flag, (real, synthetic), evidence_of_score, notes.get(row.key, "")))
        if progress is not None:
            progress(number, len(shown))
    scans = [s for s in project.scans() if s.status == "done"]
    scan = scans[-1] if scans else None
    checked = [
        ("Project", str(project.path)),
        ("Report written", f"{utc_now()} by lcmem {__version__}"),
        ("Model", f"{scan.model_name if scan else '—'} · checksum {model_checksum}"),
        ("Scan", f"{scan.started_at} → {scan.finished_at}" if scan else "no finished scan"),
        ("Threshold", f"{threshold.value:.4f} · {_threshold_text(threshold, card)}"),
        ("Pairs listed", "every candidate pair" if include_all else "flagged pairs only"),
    ]
    document = _document(findings, checked, evidence, rows_html, include_all)
    with atomic_text_file(out) as stream:
        stream.write(document)
    return findings


def collect_findings(
    project: Project, threshold: ThresholdInForce, *, include_all: bool = False
) -> tuple[Findings, list[tuple[PairRow, str]]]:
    """The findings under the ``threshold`` in force and the pairs a report lists (flagged, or all), each with
    its flag."""
    shown: list[tuple[PairRow, str]] = []
    accepted_synthetic, accepted_real, patients = set(), set(), set()
    pairs = decided = flagged = accepted = flagged_undecided = 0
    kinds: Counter[str] = Counter()
    for row in pair_rows(project):
        pairs += 1
        decided += row.decision is not None
        flag = flag_of(row, threshold)
        flagged += bool(flag)
        flagged_undecided += flag == "above_threshold" and row.decision is None
        if row.decision == "accept":
            accepted += 1
            kinds[row.kind or ""] += 1
            accepted_synthetic.add((row.key.synthetic_sha256, row.key.synthetic_frame))
            accepted_real.add((row.key.real_sha256, row.key.real_frame))
            if row.real_patient:
                patients.add(row.real_patient)
        if flag or include_all:
            shown.append((row, flag))
    findings = Findings(
        synthetic_images=count_images(project, "synthetic"),
        real_images=count_images(project, "real"),
        pairs=pairs,
        decided=decided,
        flagged=flagged,
        accepted=accepted,
        flagged_undecided=flagged_undecided,
        synthetic_memorized=len(accepted_synthetic),
        real_memorized=len(accepted_real),
        patients_memorized=len(patients) if patients else None,
        accepted_copies=kinds["copy"],
        accepted_same_patient=kinds["patient"],
    )
    return findings, shown


def describe_findings(findings: Findings) -> str:
    """The findings in two sentences."""
    patients = (
        f" of {findings.patients_memorized:,} patient{'s' if findings.patients_memorized != 1 else ''}"
        if findings.patients_memorized is not None
        else ""
    )
    return (
        f"{findings.synthetic_memorized:,} of {findings.synthetic_images:,} synthetic images have at least one pair "
        f"judged memorized; they match {findings.real_memorized:,} of {findings.real_images:,} real images"
        f"{patients}. {findings.flagged:,} of {findings.pairs:,} pairs are flagged ({findings.accepted:,} judged "
        f"memorized{_kinds_text(findings)}, {findings.flagged_undecided:,} above the threshold and not yet "
        "decided); "
        f"{findings.decided:,} pairs decided in all."
    )


def _kinds_text(findings: Findings) -> str:
    copies, same = findings.accepted_copies, findings.accepted_same_patient
    said = [f"{copies:,} cop{'y' if copies == 1 else 'ies'}"] if copies else []
    said += [f"{same:,} same patient"] if same else []
    return f": {', '.join(said)}" if said else ""


def _null_sentence(null: np.ndarray) -> str:
    line = null_line(null)
    if line is None:
        return "Real→real null: the scan has no real→real scores."
    return (
        f"Real→real null: 99.9 % of {line.n:,} real images score below {line.p999:.4f} against their nearest other "
        f"real image (99 % below {line.p99:.4f}); a pair above that is closer than real images are to each other."
    )


def _threshold_text(threshold: ThresholdInForce, card: ThresholdCard | None) -> str:
    """The rule, what being flagged means, and for a card when it was made and what it achieves."""
    text = f"{threshold.rule}: {threshold.text}"
    if threshold.rule == RULE_CARD and card is not None:
        text += f"; card of {card.created_at}"
        if card.precision is not None and card.recall is not None:
            text += f": precision {card.precision:.2f}, recall {card.recall:.2f} on those labels"
    return text


def _thumbnail(path: str, frame: int, size: int) -> _Thumbnail:
    try:
        loaded = lcmem.io.load_image(path, frame)
    except LCMemError as exc:
        return _Thumbnail(None, f"not readable now: {exc}")
    buffer = io.BytesIO()
    Image.fromarray(shrink(loaded.pixels, size)).save(buffer, format="PNG", optimize=True)
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return _Thumbnail(uri, describe_window(loaded.meta))


def _cell(thumbnail: _Thumbnail, path: str) -> str:
    name = html.escape(Path(path).name)
    if thumbnail.data_uri is None:
        image = f'<div class="missing">{html.escape(thumbnail.caption)}</div>'
        return f"<td>{image}<div class=path>{name}</div></td>"
    image = f'<img src="{thumbnail.data_uri}" alt="{name}">'
    caption = html.escape(thumbnail.caption)
    return f'<td>{image}<div class=path title="{html.escape(path)}">{name}</div><div class=win>{caption}</div></td>'


def _row_html(
    number: int,
    row: PairRow,
    flag: str,
    thumbnails: tuple[_Thumbnail, _Thumbnail],
    evidence: tuple[float | None, IsotonicFit | None],
    note: str,
) -> str:
    real, synthetic = thumbnails
    null_fraction, fit = evidence
    decision = DECISION_TEXT.get(row.decision or "", "undecided")
    if row.kind in KIND_TEXT:
        decision += f" ({KIND_TEXT[row.kind]})"
    who = f"<br>{html.escape(row.reviewer)} · {html.escape(row.decided_at or '')}" if row.reviewer else ""
    who += f"<br><i>{html.escape(note)}</i>" if note else ""
    closer = ""
    if null_fraction is not None:
        share = "every" if null_fraction == 1.0 else f"{100 * null_fraction:.1f} % of"
        closer = f"<br>closer than {share} real→real nearest pair{'s' if null_fraction < 1.0 else ''}"
    if fit is not None:
        band = fit.band(row.score)
        closer += f"<br>P(memorized) {band.rate:.2f} ({band.memorized} of {band.labelled} labelled at this band)"
    if row.inliers is not None:
        fit_text = f" ({html.escape(row.transform)})" if row.transform else ""
        closer += f"<br>{row.inliers} matched inliers{fit_text}"
    patients = " / ".join(html.escape(p or "—") for p in (row.real_patient, row.synthetic_patient))
    css = row.decision or "undecided"
    return (
        f'<tr class="{css}"><td>{number}</td>{_cell(real, row.real_path)}{_cell(synthetic, row.synthetic_path)}'
        f"<td><b>{row.score:.4f}</b><br>rank {row.rank}{closer}</td><td>{flag.replace('_', ' ') or '—'}</td>"
        f"<td><b>{decision}</b>{who}</td><td>{patients}</td></tr>"
    )


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }
.meta th { background: #f3f3f3; }
tr.accept { background: #f8d7da; } tr.reject { background: #d4edda; } tr.unsure { background: #fff3cd; }
img { display: block; max-width: 160px; image-rendering: auto; }
.path { font-size: 0.8em; max-width: 170px; overflow-wrap: anywhere; }
.win { font-size: 0.75em; color: #555; }
.missing { width: 150px; font-size: 0.8em; color: #a1121e; }
.findings { font-size: 1.1em; }
"""


def _document(
    findings: Findings, checked: list[tuple[str, str]], evidence: list[str], rows: list[str], include_all: bool
) -> str:
    meta = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in checked)
    points = "".join(f"<li>{html.escape(line)}</li>" for line in evidence)
    title = "All candidate pairs" if include_all else "Flagged pairs"
    header = (
        "<tr><th>#</th><th>Real (training)</th><th>Synthetic</th><th>Score</th><th>Flag</th><th>Decision</th>"
        "<th>Patient real / synthetic (pseudonyms)</th></tr>"
    )
    body = "".join(rows) if rows else f'<tr><td colspan="7">No {title.lower()}.</td></tr>'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>LCMem Review report</title><style>{STYLE}</style></head><body>"
        "<h1>LCMem Review: memorization report</h1>"
        f'<p class="findings">{html.escape(describe_findings(findings))}</p>'
        f'<h2>What was checked</h2><table class="meta">{meta}</table>'
        f"<h2>Evidence around the threshold</h2><ul>{points}</ul>"
        f"<h2>{title} ({len(rows):,})</h2><table>{header}{body}</table>"
        "</body></html>\n"
    )
