"""The demo project from the start screen: where to put it, then images and project made on a worker.

The images come from :mod:`lcmem.review.demo`; the model is the bundled default model, the one every real scan
uses (an untrained, seeded one made once in the app's data folder only where none is installed). The main
window opens the project and runs its first scan with that model, so a first-time user sees the whole workflow
and what the model's output looks like.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

from app.scan_dialog import describe_bundle
from app.workers import TaskRunner
from lcmem.errors import Cancelled
from lcmem.model.default import default_bundle_path
from lcmem.progress import CancelToken, Progress
from lcmem.review.demo import prepare_demo
from lcmem.worker_process import run_in_worker_process

logger = logging.getLogger(__name__)

DEMO_TOP_K = 5


def demo_text(model: Path | None) -> str:
    """What the demo does and what to expect of it, with ``model`` (the default bundle; ``None``: none installed)."""
    made = (
        "The demo generates about 80 invented images (radiograph-like PNGs and CT-like DICOM slices) and plants "
        "13 copies of the real ones among the synthetic ones (exact files, DICOMs with new headers, crops, "
        "rotations, contrast, noise, blur; listed in demo_manifest.json), then creates a project and scans it"
    )
    if model is None:
        return (
            f"{made} with an untrained model: no default model is installed, and an untrained model finds exact "
            "copies only."
        )
    name, _ = describe_bundle(model)
    return (
        f"{made} with the bundled default model ({name.split(':')[0]}), the one your own scans use. Expect all 13 "
        "planted copies at rank 1 and flagged: 12 above the threshold in force, and the crop, whose score stays "
        "below it (crops are the model's weak point on these drawings), by its matched keypoints (press G). The "
        "new synthetic images stay below it but for about 1 in 50: "
        "with 48 real images the threshold is the closest two of them come. A CT copy's second candidate, the same "
        "patient's other slice, scores above it too. The images are simple drawings: read the scores as a "
        "demonstration of the workflow, not as a measure of the model."
    )


def choose_demo_folder(parent: QWidget, default: Path) -> Path | None:
    """Ask where the demo goes: the app's data folder (default) or a folder the user picks."""
    box = QMessageBox(parent)
    box.setWindowTitle("Demo project")
    box.setText(demo_text(default_bundle_path()))
    box.setInformativeText(f"Put it in the app's data folder?\n{default}")
    here = box.addButton("Use the app's data folder", QMessageBox.ButtonRole.AcceptRole)
    pick = box.addButton("Choose a folder…", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    if box.clickedButton() is here:
        return default
    if box.clickedButton() is pick:
        chosen = QFileDialog.getExistingDirectory(parent, "Folder for the demo project")
        return Path(chosen) / "lcmem-demo" if chosen else None
    return None


class DemoLauncher(QObject):
    """Makes the demo's images and project (and, without a default model, an untrained one) on a worker, with a
    progress dialog.

    Signals:
        ready(project_path, bundle_path): both exist; open the project and scan it with the bundle.
        failed(message): it could not be made.
    """

    ready = Signal(object, object)
    failed = Signal(str)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.parent_widget = parent

    def start(self, folder: Path, models_folder: Path) -> None:
        """Make the demo under ``folder`` and the model under ``models_folder``."""
        dialog = QProgressDialog("Generating the demo images…", "Cancel", 0, 0, self.parent_widget)
        dialog.setWindowTitle("Demo project")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.show()

        def run(progress: Progress, cancel: CancelToken) -> tuple[Path, Path]:
            return run_in_worker_process(prepare_demo, folder, models_folder, progress=progress, cancel=cancel)

        def progressed(done: int, total: int, text: str) -> None:
            dialog.setLabelText(text[:1].upper() + text[1:] + "…")
            dialog.setMaximum(max(total, 0))
            dialog.setValue(min(done, total) if total else 0)

        def failed(error: BaseException) -> None:
            if not isinstance(error, Cancelled):
                logger.error("the demo could not be made", exc_info=error)
                self.failed.emit(f"The demo could not be made: {error}")

        handle = self.runner.start(
            run,
            "demo",
            on_progress=progressed,
            on_success=lambda result: self.ready.emit(*result),
            on_failure=failed,
            on_finished=dialog.close,
        )
        dialog.canceled.connect(handle.cancel)
