"""The HTML report: findings at pair, image and patient level, evidence, thumbnails with their window, escaping."""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

from PIL import Image

from lcmem.cli.main import main
from lcmem.review.calibrate import ThresholdCard
from lcmem.review.export import export_pairs
from lcmem.review.report import describe_findings, write_report
from lcmem.store.project import Project
from lcmem.store.queries import count_images, list_pairs

ROW = re.compile(r'<tr class="(accept|reject|unsure|undecided)">')


def _card(threshold: float) -> ThresholdCard:
    return ThresholdCard("m", "target_recall", 0.99, threshold, 10, 10, 0.8, 0.99, (0.7, 0.9), (0.9, 1.0), "now")


def test_the_report_states_findings_and_lists_the_flagged_pairs(scanned_project: Project, tmp_path: Path) -> None:
    rows = list_pairs(scanned_project, limit=1000)
    threshold = sorted(r.score for r in rows)[len(rows) // 2]
    below = [r for r in rows if r.score < threshold]
    dicom = [r for r in rows if r.real_patient and r.real_path.endswith("ct.dcm")]
    synthetic = below[0].synthetic_path
    same_synthetic = [r for r in rows if r.synthetic_path == synthetic][:2]
    for row in same_synthetic:
        scanned_project.set_decision(row.key, "accept", "ana", note="<script>alert(1)</script>")
    scanned_project.set_decision(dicom[0].key, "accept", "ben")
    above = [r for r in rows if r.score >= threshold and r.key not in {x.key for x in (*same_synthetic, dicom[0])}]
    scanned_project.set_decision(above[0].key, "reject", "ana")

    out = tmp_path / "report.html"
    findings = write_report(scanned_project, out, _card(threshold), "m")
    flagged_csv = export_pairs(scanned_project, tmp_path / "flagged.csv", _card(threshold), "m")
    accepted = {*(r.key for r in same_synthetic), dicom[0].key}
    assert (findings.pairs, findings.decided, findings.accepted) == (len(rows), 4, len(accepted))
    assert findings.flagged == flagged_csv
    assert findings.synthetic_memorized == len({(k.synthetic_sha256, k.synthetic_frame) for k in accepted})
    assert findings.real_memorized == len({(k.real_sha256, k.real_frame) for k in accepted})
    assert findings.patients_memorized == 1
    assert findings.synthetic_images == count_images(scanned_project, "synthetic")
    undecided_above = sum(1 for r in rows if r.score >= threshold and r.key not in accepted and r.key != above[0].key)
    assert findings.flagged_undecided == undecided_above

    text = out.read_text("utf-8")
    assert len(ROW.findall(text)) == findings.flagged and ROW.findall(text).count("reject") == 0
    assert html_escaped(text, "<script>alert(1)</script>") and "<script>" not in text
    assert "PAT-SECRET-1" not in text and dicom[0].real_patient in text
    assert html.escape(describe_findings(findings)) in text
    assert "Real→real null: 99.9 % of" in text and "Audit below the threshold" in text and "Double read:" in text
    assert "threshold card: calibrated for recall ≥ 0.99" in text and "checksum m" in text
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 2 * findings.flagged
    for data in images[:4]:
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            assert image.format == "PNG" and max(image.size) <= 160
    assert re.search(r"W \d+ L -?\d+ · auto \(0.5-99.5 %\)", text)  # the window each DICOM was shown at
    assert "PNG · no window/level (display range)" in text
    assert text.count("matched inliers") == findings.flagged  # each listed pair with its verification


def html_escaped(text: str, raw: str) -> bool:
    return raw.replace("<", "&lt;").replace(">", "&gt;") in text


def test_a_file_gone_since_the_scan_keeps_its_row(scanned_project: Project, tmp_path: Path) -> None:
    rows = list_pairs(scanned_project, limit=1000)
    gone = rows[0]
    scanned_project.set_decision(gone.key, "accept", "ana")
    Path(gone.real_path).unlink()
    out = tmp_path / "all.html"
    findings = write_report(scanned_project, out, None, "m", include_all=True)
    text = out.read_text("utf-8")
    assert len(ROW.findall(text)) == findings.pairs == len(rows)
    assert "not readable now" in text and "All candidate pairs" in text


def test_the_cli_writes_the_report(scanned_project: Project, tmp_path: Path, capsys) -> None:
    path = scanned_project.path
    scanned_project.close()
    out = tmp_path / "r.html"
    assert main(["project", "report", str(path), "--out", str(out)]) == 0
    assert "synthetic images have at least one pair judged memorized" in capsys.readouterr().out
    assert out.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert main(["project", "report", str(path), "--out", str(tmp_path / "missing" / "r.html")]) == 1
