"""Help ▸ About LCMem Review: the versions, the model with its training-data licenses, and the licenses.

Everything shown is gathered by :mod:`lcmem.about` (Qt-free) except the PySide6 and Qt versions; no heavy
library is imported to show it.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QTextBrowser, QVBoxLayout, QWidget

from app.icon import app_icon
from lcmem import __version__
from lcmem.about import LicenseInfo, ModelSummary, component_versions, license_info, model_summary
from lcmem.errors import LCMemError
from lcmem.model.default import default_bundle_path


def all_versions() -> dict[str, str]:
    """lcmem, Python, torch, FAISS, pydicom, diffusers, PySide6 and the Qt it runs on."""
    return {**component_versions(), "PySide6": PySide6.__version__, "Qt": qVersion()}


def _model_html(default: Path | None, scanned_with: tuple[str, str] | None) -> str:
    """The default model (name, version, checksum, data licenses) and the open project's scan model."""
    parts = ["<h3>Model</h3>"]
    summary: ModelSummary | None = None
    if default is None:
        parts.append("<p>No default model is installed: scans need a model folder.</p>")
    else:
        try:
            summary = model_summary(default)
        except LCMemError as exc:
            parts.append(f"<p>The default model at {escape(str(default))} cannot be read: {escape(str(exc))}</p>")
    if summary is not None:
        parts.append(
            f"<p>Default model: <b>{escape(summary.name)}</b> version {escape(summary.version)}<br>"
            f"checksum <tt>{summary.checksum}</tt><br>{escape(str(summary.path))}</p>"
        )
    if scanned_with is not None:
        name, checksum = scanned_with
        same = summary is not None and summary.checksum == checksum
        parts.append(
            f"<p>The open project was last scanned with <b>{escape(name)}</b> (checksum <tt>{checksum}</tt>)"
            f"{', the default model' if same else ''}.</p>"
        )
    if summary is not None:
        parts.append(_data_licenses_html(summary))
    return "".join(parts)


def _data_licenses_html(summary: ModelSummary) -> str:
    if not summary.data_licenses:
        return f"<p>The licenses of {escape(summary.name)}'s training data are not recorded with the model.</p>"
    rows = "".join(
        f"<tr><td>{escape(d.dataset)}</td><td>{escape(d.domain)}</td><td><b>{escape(d.license)}</b></td>"
        f"<td>{escape(d.terms)}</td></tr>"
        for d in summary.data_licenses
    )
    return (
        f"<h4>Training data of {escape(summary.name)}</h4><p>{escape(summary.data_summary)}</p>"
        "<table cellspacing=6><tr><th align=left>dataset</th><th align=left>domain</th>"
        f"<th align=left>license</th><th align=left>terms</th></tr>{rows}</table>"
    )


def _licenses_html(info: LicenseInfo) -> str:
    text = escape(str(info.project_text)) if info.project_text else "not installed with this copy"
    third = escape(str(info.third_party)) if info.third_party else "not found in this installation"
    return (
        f"<h3>Licenses</h3><p>LCMem Review is licensed under the <b>{info.project}</b> license "
        f"(text: {text}).</p><p>Third-party licenses: {third} ({escape(info.third_party_note)}).</p>"
    )


def about_html(scanned_with: tuple[str, str] | None = None) -> str:
    """The About box's text: versions, model, training-data licenses and licenses, as rich text."""
    rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in all_versions().items())
    return (
        "<p>LCMem Review finds training images a generative model has memorized, with reviewer labels kept in a "
        "project file and a threshold calibrated from them.</p>"
        f"<h3>Versions</h3><table cellspacing=4>{rows}</table>"
        f"{_model_html(default_bundle_path(), scanned_with)}{_licenses_html(license_info())}"
    )


class AboutDialog(QDialog):
    """The About box.

    Args:
        scanned_with: ``(model name, checksum)`` of the open project's last scan, if there is one.
        parent: the owning window.
    """

    def __init__(self, scanned_with: tuple[str, str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About LCMem Review")
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(64, 64))
        title = QLabel(f"<h2>LCMem Review {__version__}</h2>")
        header = QHBoxLayout()
        header.addWidget(logo)
        header.addWidget(title, 1)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.setHtml(about_html(scanned_with))
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(720, 640)
