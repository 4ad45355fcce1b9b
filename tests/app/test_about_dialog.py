"""Help ▸ About: versions, the default model with its checksum and training-data licenses, the licenses; the icon."""

from __future__ import annotations

import PySide6
from PySide6.QtCore import qVersion

from app.about_dialog import AboutDialog
from app.main_window import MainWindow
from lcmem.about import component_versions, license_info, model_summary
from lcmem.model.default import default_bundle_path
from lcmem.store.project import Project


def _about_action(window: MainWindow):
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    return next(a for a in help_menu.actions() if a.text() == "&About LCMem Review")


def test_about_shows_versions_model_data_licenses_and_licenses(qtbot, window: MainWindow) -> None:
    _about_action(window).trigger()
    dialog = window.findChild(AboutDialog)
    assert dialog is not None and dialog.isVisible() and dialog.windowTitle() == "About LCMem Review"
    text = dialog.text.toPlainText()
    for name, version in {**component_versions(), "PySide6": PySide6.__version__, "Qt": qVersion()}.items():
        assert f"\n{name}\n{version}\n" in text, (name, version)
    summary = model_summary(default_bundle_path())
    assert f"Default model: {summary.name} version {summary.version}" in text
    assert summary.checksum in text and str(summary.path) in text
    assert "ham10000" in text and "CC BY-NC 4.0" in text and "research use only" in text
    info = license_info()
    assert "Apache-2.0" in text and str(info.project_text) in text and str(info.third_party) in text
    assert "last scanned" not in text


def test_about_names_the_model_the_open_project_was_scanned_with(qtbot, window: MainWindow, scanned: Project) -> None:
    path = scanned.path
    scan = scanned.scans()[-1]
    scanned.close()
    window.ask_read_only = lambda _reason: True
    assert window.open_project(path)
    text = window.show_about().text.toPlainText()
    assert f"last scanned with {scan.model_name} (checksum {scan.model_checksum})" in text
    assert "the default model" not in text.split("last scanned")[1].split("\n")[0]


def test_the_window_has_the_app_icon(window: MainWindow) -> None:
    sizes = {(s.width(), s.height()) for s in window.windowIcon().availableSizes()}
    assert {(16, 16), (32, 32), (256, 256), (512, 512)} <= sizes
