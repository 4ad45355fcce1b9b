"""The export dialog: flagged or all pairs to CSV, with the threshold card beside it.

Raw DICOM PatientIDs are exported only through an explicit, warned opt-in; by default the CSV carries the
project's pseudonyms, which are enough to group pairs by patient.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.workers import TaskRunner
from lcmem.errors import LCMemError
from lcmem.progress import CancelToken, Progress
from lcmem.review.calibrate import ThresholdCard, threshold_in_force
from lcmem.review.export import export_pairs
from lcmem.review.report import write_report
from lcmem.store.project import Project

logger = logging.getLogger(__name__)

PATIENT_ID_WARNING = (
    "The CSV will contain real DICOM PatientIDs: identifying data. Only tick this if your data-protection "
    "rules allow it and the file stays where such data may be kept. The pseudonyms (always exported) are "
    "enough to group pairs by patient."
)


def report_path(csv_path: Path) -> Path:
    """Where the HTML report of an export goes: beside the CSV, ``.html`` in place of its suffix (``.report.html``
    when the CSV itself was named ``.html``, so that one never overwrites the other)."""
    if csv_path.suffix.lower() == ".html":
        return csv_path.with_suffix(".report.html")
    return csv_path.with_suffix(".html")


class ExportDialog(QDialog):
    """Choose what to export and where; the export runs on a worker.

    Signals:
        exported(count, path): the CSV was written with ``count`` pairs.
    """

    exported = Signal(int, str)

    def __init__(
        self,
        project: Project,
        runner: TaskRunner,
        card: ThresholdCard | None,
        model_checksum: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export pairs")
        self.project, self.runner, self.card, self.model_checksum = project, runner, card, model_checksum
        threshold = threshold_in_force(project, card, model_checksum)
        self.flagged = QRadioButton(
            f"Flagged pairs: accepted as memorized, or scoring ≥ {threshold.value:.3f} ({threshold.label}) and not "
            "rejected"
        )
        self.flagged.setToolTip(threshold.text)
        self.everything = QRadioButton("All candidate pairs of the current scan, with their flag")
        self.path = QLineEdit(str(project.path.with_name(project.path.stem + "-flagged.csv")))
        self.patient_ids = QCheckBox("Also export raw DICOM PatientIDs (identifying data)")
        self.report = QCheckBox(
            "Also write an HTML report beside it (OUT.html: findings, evidence, the same pairs with thumbnails; "
            "pseudonyms only)"
        )
        self.warning = QLabel(PATIENT_ID_WARNING)
        self.result = QLabel()
        self.export_button = QPushButton("Export")
        self._build()

    def _build(self) -> None:
        self.flagged.setChecked(True)
        what = QGroupBox("What")
        what_layout = QVBoxLayout(what)
        what_layout.addWidget(self.flagged)
        what_layout.addWidget(self.everything)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(QLabel("CSV file:"))
        where.addWidget(self.path, 1)
        where.addWidget(browse)
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #a1121e;")
        self.warning.setVisible(False)
        self.patient_ids.toggled.connect(self.warning.setVisible)
        privacy = QGroupBox("Patient identifiers")
        privacy_layout = QVBoxLayout(privacy)
        privacy_layout.addWidget(QLabel("Pseudonymised patient ids (P-…) are always included."))
        privacy_layout.addWidget(self.patient_ids)
        privacy_layout.addWidget(self.warning)
        self.result.setWordWrap(True)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        self.export_button.clicked.connect(self.export)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(what)
        layout.addLayout(where)
        layout.addWidget(privacy)
        layout.addWidget(
            QLabel(
                "The threshold in force (OUT.threshold.json: its rule, quantile, real images behind it, and the "
                "card if calibrated) is written beside the CSV and named in every row."
            )
        )
        self.report.setChecked(True)
        layout.addWidget(self.report)
        layout.addWidget(self.result)
        layout.addLayout(buttons)
        self.resize(720, 360)

    def _browse(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Export pairs to", self.path.text(), "CSV files (*.csv)")
        if chosen:
            self.path.setText(chosen)

    def confirm_patient_ids(self) -> bool:
        """Ask once more before raw PatientIDs leave the project."""
        answer = QMessageBox.warning(
            self,
            "Export identifying data?",
            PATIENT_ID_WARNING + "\n\nExport raw PatientIDs?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def export(self) -> None:
        """Write the CSV (on a worker) with the chosen options."""
        out = Path(self.path.text().strip())
        if not out.name:
            self.result.setText("Choose a file to export to.")
            return
        include_ids = self.patient_ids.isChecked()
        if include_ids and not self.confirm_patient_ids():
            return
        include_all = self.everything.isChecked()
        report = report_path(out) if self.report.isChecked() else None
        project, card, checksum = self.project, self.card, self.model_checksum
        self.export_button.setEnabled(False)
        self.result.setText("Exporting…")

        def run(progress: Progress, _cancel: CancelToken) -> int:
            count = export_pairs(project, out, card, checksum, include_all=include_all, include_patient_ids=include_ids)
            if report is not None:
                write_report(
                    project,
                    report,
                    card,
                    checksum,
                    include_all=include_all,
                    progress=lambda done, total: progress(done, total, "report thumbnails"),
                )
            return count

        def done(count: int) -> None:
            written = f"threshold in force: {out.with_suffix('.threshold.json').name}"
            if report is not None:
                written += f"; report: {report.name}"
            self.result.setText(f"Wrote {count:,} pairs to {out} ({written}).")
            logger.info("exported %d pairs%s", count, " with raw patient ids" if include_ids else "")
            self.exported.emit(count, str(out))

        def failed(error: BaseException) -> None:
            reason = str(error) if isinstance(error, (LCMemError, OSError)) else f"{type(error).__name__}: {error}"
            self.result.setText(f"<span style='color:#a1121e'>Export failed: {reason}</span>")

        self.runner.start(
            run,
            "export",
            on_success=done,
            on_failure=failed,
            on_finished=lambda: self.export_button.setEnabled(True),
        )
