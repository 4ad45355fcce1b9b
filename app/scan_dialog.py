"""The scan dialog: which model, how many candidates, then progress with images/s and ETA, and Cancel.

The scan runs in a worker process (:mod:`lcmem.worker_process`), waited for on a worker thread
(:mod:`app.workers`): torch, diffusers and FAISS are never imported in the app's own process. Cancel sets the
task's token, relayed to the worker process: the scan stops at its next check, keeps the chunks it committed
and the embeddings it cached, and the next scan resumes from the cache.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.settings import MODEL_FOLDER, TOP_K, VERIFY, AppSettings
from app.workers import TaskHandle, TaskRunner
from lcmem.errors import Cancelled, LCMemError
from lcmem.model.default import default_bundle_path
from lcmem.progress import CancelToken, Progress
from lcmem.store.project import Project
from lcmem.store.scan_job import scan_project_file
from lcmem.worker_process import run_in_worker_process

logger = logging.getLogger(__name__)

MEGAPIXEL = 1_000_000
MAX_MEGAPIXELS = 100_000


def run_project_scan(
    project: Project,
    model_path: Path,
    top_k: int,
    progress: Progress,
    cancel: CancelToken,
    max_pixels: int | None = None,
    verify: bool = True,
) -> Any:
    """Scan the project with the model in a worker process (this blocks: call it on a worker thread);
    ``verify``: verify the candidates geometrically (off: a quick first pass by LCMem score alone).

    The app's own process never imports torch, diffusers or FAISS: loading them holds the GIL long enough to
    freeze the window, so the scan runs in a separate process, relaying progress and Cancel. ``max_pixels``
    replaces the project's pixel limit for this scan.

    Raises:
        BundleError: the model folder is not a valid bundle.
        Cancelled: the user cancelled; finished work is kept.
        ProjectError: the project cannot be scanned or written.
        LCMemError: the worker process died; finished work is kept.
    """
    return run_in_worker_process(
        scan_project_file, project.path, model_path, top_k, max_pixels, verify, progress=progress, cancel=cancel
    )


def describe_bundle(folder: Path) -> tuple[str, bool]:
    """A one-line description of a bundle folder from its ``lcmem.json`` (no torch), and whether it looks usable.

    An untrained bundle (random weights) is said to be one.
    """
    try:
        config = json.loads((folder / "lcmem.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "not a model bundle (no readable lcmem.json)", False
    name = str(config.get("name", folder.name))
    text = f"{name} {config.get('version', '')}".strip()
    description = str(config.get("description", ""))
    if "random weights" in description or "untrained" in name:
        return f"{text}: UNTRAINED (random weights) — finds exact copies only, not a trained detector", True
    return f"{text}: {description}" if description else text, True


@dataclass
class RateMeter:
    """Items per second and time left within the current stage of a scan."""

    stage: str = ""
    start_time: float = 0.0
    start_done: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)

    def update(self, done: int, total: int, text: str, now: float | None = None) -> tuple[float | None, float | None]:
        """Record a report; return ``(items per second, seconds left)`` once they can be estimated."""
        now = time.monotonic() if now is None else now
        if text != self.stage:
            self.stage, self.start_time, self.start_done, self.samples = text, now, done, []
        self.samples = [*self.samples[-30:], (now, done)]
        first_time, first_done = self.samples[0]
        elapsed = now - first_time
        if elapsed < 0.1 or done <= first_done:
            return None, None
        rate = (done - first_done) / elapsed
        left = (total - done) / rate if total > done and rate > 0 else 0.0
        return rate, left


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 5 s`` or ``1 h 2 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class ScanDialog(QDialog):
    """Choose the model and top-k, run the scan, watch it, cancel it.

    Args:
        project: the open (writable) project.
        runner: where the scan runs.
        settings: remembers the model folder, top-k and whether to verify.
        model_path: preselect this bundle folder.
        top_k: preselect this top-k instead of the remembered one.
        remember: keep the model folder, top-k and the verification choice in the settings when the scan
            starts (``False``: the demo's choices, which must not become the user's).

    Signals:
        scanFinished(summary): the scan completed.
        scanStopped(message): the scan ended without completing (cancelled or failed); ``message`` says how.
        ended(): either of the above.
    """

    scanFinished = Signal(object)
    scanStopped = Signal(str)
    ended = Signal()

    def __init__(
        self,
        project: Project,
        runner: TaskRunner,
        settings: AppSettings,
        parent: QWidget | None = None,
        *,
        model_path: Path | None = None,
        top_k: int | None = None,
        remember: bool = True,
    ) -> None:
        super().__init__(parent)
        self.remember = remember
        self.setWindowTitle(f"Scan {project.path.name}")
        self.project, self.runner, self.settings = project, runner, settings
        self.task: TaskHandle | None = None
        self.meter = RateMeter()
        self.started_at = 0.0
        self.default_path = default_bundle_path()
        self.use_default = QRadioButton()
        self.use_folder = QRadioButton("Model folder:")
        self.folder = QLineEdit(str(model_path or settings.get(MODEL_FOLDER) or ""))
        self.model_info = QLabel()
        self.top_k = QSpinBox()
        self.verify = QCheckBox("Verify the candidates geometrically (matched keypoints; slower, G shows them)")
        self.max_megapixels = QSpinBox()
        self.stage = QLabel("Not started")
        self.bar = QProgressBar()
        self.rate = QLabel()
        self.start_button = QPushButton("Start scan")
        self.cancel_button = QPushButton("Cancel scan")
        self.close_button = QPushButton("Close")
        self._build(model_path, top_k)
        self._update_model_info()

    def _build(self, model_path: Path | None, top_k: int | None) -> None:
        group = QButtonGroup(self)
        group.addButton(self.use_default)
        group.addButton(self.use_folder)
        if self.default_path is not None:
            name, _ = describe_bundle(self.default_path)
            self.use_default.setText(f"Bundled default model ({name})")
        else:
            self.use_default.setText("Bundled default model (none is installed yet: choose a model folder)")
            self.use_default.setEnabled(False)
        (self.use_folder if model_path or self.default_path is None else self.use_default).setChecked(True)
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        self.folder.textChanged.connect(lambda _t: self._update_model_info())
        self.use_folder.toggled.connect(lambda _on: self._update_model_info())
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.use_folder)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse)
        self.model_info.setWordWrap(True)
        model_box = QGroupBox("Model")
        model_layout = QVBoxLayout(model_box)
        model_layout.addWidget(self.use_default)
        model_layout.addLayout(folder_row)
        model_layout.addWidget(self.model_info)
        self.top_k.setRange(1, 500)
        self.top_k.setValue(top_k or int(self.settings.get(TOP_K)))
        self.top_k.setToolTip("How many real images are proposed, and scored exactly, for every synthetic image")
        form = QFormLayout()
        form.addRow("Candidates per synthetic image (top-k):", self.top_k)
        self.verify.setChecked(bool(self.settings.get(VERIFY)))
        self.verify.setToolTip(
            "Check the best LCMem candidates for keypoints that match under one rotation, scale and shift (the "
            "mirrored image too); verified pairs come first and are flagged. The candidates are the real images "
            "that score best against the synthetic image or its mirrored, slightly rotated or zoomed-out views, "
            "so a cropped or rotated copy's source is checked too. Untick for a quick first pass."
        )
        form.addRow("", self.verify)
        self.max_megapixels.setRange(1, MAX_MEGAPIXELS)
        self.max_megapixels.setSuffix(" megapixels")
        self.max_megapixels.setValue(round(self.project.max_pixels / MEGAPIXEL))
        self.max_megapixels.setToolTip(
            "Images with more pixels (all frames together) are refused unread, a guard against decompression "
            "bombs; raise it for trusted very large images. Kept with the project."
        )
        form.addRow("Largest image:", self.max_megapixels)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.rate.setMinimumWidth(420)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.start_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(model_box)
        layout.addLayout(form)
        layout.addWidget(self.stage)
        layout.addWidget(self.bar)
        layout.addWidget(self.rate)
        layout.addLayout(buttons)
        self.resize(640, 320)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Model bundle folder (holds lcmem.json)", self.folder.text())
        if chosen:
            self.folder.setText(chosen)
            self.use_folder.setChecked(True)

    def model_path(self) -> Path | None:
        """The chosen bundle folder."""
        if self.use_default.isChecked():
            return self.default_path
        text = self.folder.text().strip()
        return Path(text) if text else None

    def max_pixels(self) -> int:
        """The chosen pixel limit: the project's own unless the megapixels shown were changed."""
        chosen = int(self.max_megapixels.value())
        return self.project.max_pixels if chosen == round(self.project.max_pixels / MEGAPIXEL) else chosen * MEGAPIXEL

    def _update_model_info(self) -> None:
        path = self.model_path()
        if path is None:
            self.model_info.setText("Choose the folder of a model bundle (it holds lcmem.json).")
            self.start_button.setEnabled(False)
            return
        text, usable = describe_bundle(path)
        self.model_info.setText(text)
        self.start_button.setEnabled(usable and self.task is None)

    @property
    def running(self) -> bool:
        """Whether a scan is in progress."""
        return self.task is not None

    def start(self) -> None:
        """Start the scan with the chosen model and top-k."""
        path = self.model_path()
        if self.task is not None or path is None:
            return
        top_k = int(self.top_k.value())
        verify = self.verify.isChecked()
        max_pixels = self.max_pixels()
        if max_pixels != self.project.max_pixels:
            self.project.set_max_pixels(max_pixels)
        if self.remember:
            if self.use_folder.isChecked():
                self.settings.set(MODEL_FOLDER, str(path))
            self.settings.set(TOP_K, top_k)
            self.settings.set(VERIFY, verify)
        self.meter = RateMeter()
        self.started_at = time.monotonic()
        self.stage.setText("Starting…")
        self.rate.setText("")
        for widget in (
            self.start_button,
            self.close_button,
            self.top_k,
            self.verify,
            self.max_megapixels,
            self.use_default,
            self.use_folder,
            self.folder,
            self.browse,
        ):
            widget.setEnabled(False)
        self.cancel_button.setEnabled(True)
        project = self.project
        self.task = self.runner.start(
            lambda progress, cancel: run_project_scan(project, path, top_k, progress, cancel, max_pixels, verify),
            "scan",
            on_progress=self._progress,
            on_success=self._succeeded,
            on_failure=self._failed,
            on_finished=self._finished,
        )
        logger.info("scan of %s started (top-k %d, verify %s)", project.path.name, top_k, verify)

    def cancel(self) -> None:
        """Ask the scan to stop; what is done is kept."""
        if self.task is not None:
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self.cancel_button.setText("Cancelling…")
            self.stage.setText(self.stage.text() + " — cancelling at the next check")

    def _progress(self, done: int, total: int, text: str) -> None:
        self.stage.setText(text[:1].upper() + text[1:])
        if total <= 0:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        rate, left = self.meter.update(done, total, text)
        elapsed = format_seconds(time.monotonic() - self.started_at)
        if rate is None:
            self.rate.setText(f"Elapsed {elapsed}")
            return
        unit = "images/s" if "embed" in text or "hash" in text else "items/s"
        self.rate.setText(
            f"{rate:.1f} {unit} · about {format_seconds(left or 0)} left in this stage · elapsed {elapsed}"
        )

    def _succeeded(self, summary: Any) -> None:
        self.stage.setText(
            f"Done: {summary.n_candidates:,} candidate pairs from {summary.n_synthetic_items:,} synthetic and "
            f"{summary.n_real_items:,} real images; {len(summary.problems)} unreadable file(s)."
        )
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.scanFinished.emit(summary)

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, Cancelled):
            message = "Cancelled. The pairs scored so far are kept; scanning again resumes from the cache."
        elif isinstance(error, LCMemError):
            message = f"The scan stopped: {error}"
        else:
            logger.error("scan failed", exc_info=error)
            message = f"The scan failed unexpectedly ({type(error).__name__}: {error})"
        self.stage.setText(message)
        self.bar.setRange(0, 1)
        self.scanStopped.emit(message)

    def _finished(self) -> None:
        self.task = None
        self.cancel_button.setText("Cancel scan")
        self.cancel_button.setEnabled(False)
        for widget in (
            self.close_button,
            self.top_k,
            self.verify,
            self.max_megapixels,
            self.use_folder,
            self.folder,
            self.browse,
        ):
            widget.setEnabled(True)
        self.use_default.setEnabled(self.default_path is not None)
        self.start_button.setText("Scan again")
        self._update_model_info()
        self.ended.emit()

    def reject(self) -> None:
        """Esc or the window's close button: never close while the scan runs (Cancel first)."""
        if self.task is None:
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Refuse to close while scanning."""
        if self.task is not None:
            event.ignore()
        else:
            super().closeEvent(event)
