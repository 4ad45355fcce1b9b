"""The main window: start screen or project (review, sources, calibration), menus, status bar, recent projects.

It owns the open :class:`lcmem.store.project.Project`, the review queue and the task runners, and wires the
screens together; each screen renders its own part. A project already open for writing elsewhere is offered
read-only, with a banner saying so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.about_dialog import AboutDialog
from app.calibrate_view import NO_THRESHOLD, CalibrateView
from app.demo_flow import DEMO_TOP_K, DemoLauncher, choose_demo_folder
from app.export_dialog import ExportDialog
from app.icon import app_icon
from app.image_loader import ImageLoader
from app.keymap_dialog import KeymapDialog
from app.keys import Action, Keymap
from app.new_project_dialog import NewProjectDialog
from app.review_view import ReviewView
from app.scan_dialog import ScanDialog
from app.settings import HIDE_SCORES, KEYMAP, LAST_FOLDER, REVIEWER, WINDOW_GEOMETRY, AppSettings, app_data_dir
from app.sources_panel import SourcesPanel
from app.start_page import StartPage
from app.thumbnails import ThumbnailProvider
from app.workers import TaskRunner
from lcmem.errors import ProjectError
from lcmem.model.default import default_bundle_path
from lcmem.review.calibrate import ThresholdCard, latest_card, threshold_in_force
from lcmem.review.queue import ReviewQueue
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter, count_pairs, current_scan_id

logger = logging.getLogger(__name__)

REVIEW_TAB, SOURCES_TAB, CALIBRATION_TAB = range(3)
DEFAULT_SIZE = (1440, 900)
"""The window's size when it is not maximised and no size was remembered."""
BANNER_STYLES = {"warning": "background:#fff3cd; color:#5c4500;", "info": "background:#e7f1ff; color:#0b3d78;"}


class MainWindow(QMainWindow):
    """The app's one window.

    Args:
        settings: the app settings (recent projects, reviewer name, ...).
        inline_images: decode images and thumbnails on the GUI thread (screenshots and tests; never needed
            otherwise).
    """

    def __init__(self, settings: AppSettings, *, inline_images: bool = False) -> None:
        super().__init__()
        self.settings = settings
        self.tasks = TaskRunner(1, parent=self)
        self.image_tasks = TaskRunner(2, inline=inline_images, parent=self)
        self.thumbnails = ThumbnailProvider(self.image_tasks, parent=self)
        self.loader = ImageLoader(self.image_tasks, parent=self)
        self.project: Project | None = None
        self.queue: ReviewQueue | None = None
        self.model_checksum: str | None = None
        self.card: ThresholdCard | None = None
        self.threshold = NO_THRESHOLD
        self.total_pairs = 0
        self.undecided_pairs = 0
        self.scan_dialog: ScanDialog | None = None
        self.start_page = StartPage()
        self.review = ReviewView(self.loader, self.thumbnails)
        self.sources = SourcesPanel()
        self.calibration = CalibrateView()
        self.tabs = QTabWidget()
        self.banner = QLabel()
        self.banner_button = QPushButton("Scan now…")
        self.stack = QStackedWidget()
        self.status_counts, self.status_threshold, self.status_reviewer = QLabel(), QLabel(), QLabel()
        self.demo = DemoLauncher(self.tasks, self)
        self.project_actions: list[QAction] = []
        self._keyed_actions: list[tuple[QAction, str, Action]] = []
        self._build()
        self._build_menus()
        self.apply_keymap(Keymap.from_text(settings.get(KEYMAP), self.menu_shortcuts()))
        self.set_scores_hidden(settings.get(HIDE_SCORES))
        self._connect()
        self.setWindowTitle("LCMem Review")
        self.setWindowIcon(app_icon())
        self.resize(*DEFAULT_SIZE)
        geometry = settings.get(WINDOW_GEOMETRY)
        if geometry:
            self.restoreGeometry(geometry)
        self.show_start()

    def present(self) -> None:
        """Show the window as it was last closed (size, place, maximised or not), or maximised the first time."""
        if self.settings.get(WINDOW_GEOMETRY):
            self.show()
        else:
            self.showMaximized()

    # ----- layout ----------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.tabs.addTab(self.review, "Review")
        self.tabs.addTab(self.sources, "Sources")
        self.tabs.addTab(self.calibration, "Calibration")
        self.banner.setWordWrap(True)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(0, 0, 0, 0)
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.banner_button)
        self.banner_widget = QWidget()
        self.banner_widget.setLayout(banner_row)
        project_page = QWidget()
        layout = QVBoxLayout(project_page)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.banner_widget)
        layout.addWidget(self.tabs, 1)
        self.stack.addWidget(self.start_page)
        self.stack.addWidget(project_page)
        self.setCentralWidget(self.stack)
        for label in (self.status_counts, self.status_threshold, self.status_reviewer):
            self.statusBar().addPermanentWidget(label)

    def _action(self, menu_title: str, text: str, slot: Callable[..., object], shortcut: str | None = None) -> QAction:
        menu = self._menus.get(menu_title) or self.menuBar().addMenu(menu_title)
        self._menus[menu_title] = menu
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _keyed_action(self, menu_title: str, text: str, action: Action) -> QAction:
        """A menu item that triggers a review action; its key label follows the keymap (it binds no key)."""
        item = self._action(menu_title, text, lambda _c=False, a=action: self._review(a))
        self._keyed_actions.append((item, text, action))
        return item

    def menu_shortcuts(self) -> dict[str, str]:
        """The keys the menus bind (portable text → menu item), which review actions may not take."""
        return {
            action.shortcut().toString(QKeySequence.SequenceFormat.PortableText): action.text().replace("&", "")
            for menu in self._menus.values()
            for action in menu.actions()
            if not action.shortcut().isEmpty()
        }

    def apply_keymap(self, keymap: Keymap) -> None:
        """Use ``keymap`` on the review screen and show its keys in the menus."""
        self.review.set_keymap(keymap)
        for item, text, action in self._keyed_actions:
            item.setText(f"{text}\t{keymap.label_of(action)}")

    def set_scores_hidden(self, hidden: bool) -> None:
        """Blind review on or off: the review screen hides every score and records decisions as blind."""
        self.hide_scores_action.setChecked(hidden)
        self.review.set_scores_hidden(hidden)
        self.settings.set(HIDE_SCORES, hidden)

    def choose_keys(self) -> None:
        """Let the reviewer change the review keys; kept in the settings on OK."""
        dialog = KeymapDialog(self.review.keymap, self.menu_shortcuts(), self)
        if dialog.exec() != KeymapDialog.DialogCode.Accepted:
            return
        keymap = dialog.keymap()
        self.settings.set(KEYMAP, keymap.to_text())
        self.apply_keymap(keymap)
        self.show_message("Keyboard shortcuts saved")

    def _build_menus(self) -> None:
        self._menus: dict[str, QMenu] = {}
        self._action("&File", "&New project…", self.new_project, "Ctrl+N")
        self._action("&File", "&Open project…", self.choose_project, "Ctrl+O")
        self.recent_menu = self._menus["&File"].addMenu("Open &recent")
        self._action("&File", "Try the &demo project…", lambda: self.open_demo())
        self.project_actions.append(self._action("&File", "&Close project", self.close_project, "Ctrl+W"))
        self._action("&File", "&Quit", self.close, "Ctrl+Q")
        self.scan_action = self._action("&Project", "&Scan…", lambda: self.start_scan(), "Ctrl+Shift+S")
        self.project_actions += [
            self.scan_action,
            self._action("&Project", "&Export pairs…", self.show_export, "Ctrl+E"),
            self._action("&Project", "Add &real folder…", lambda: self._add_folder("real")),
            self._action("&Project", "Add s&ynthetic folder…", lambda: self._add_folder("synthetic")),
        ]
        self._action("&Project", "Reviewer &name…", self.choose_reviewer)
        for action, text in (
            (Action.ACCEPT, "Accept: memorized"),
            (Action.ACCEPT_COPY, "Accept: memorized, a copy"),
            (Action.ACCEPT_PATIENT, "Accept: memorized, the same patient"),
            (Action.REJECT, "Reject: not a match"),
            (Action.UNSURE, "Unsure"),
            (Action.SKIP, "Skip"),
            (Action.UNDO, "Undo"),
            (Action.NOTE, "Write a note"),
            (Action.PREVIOUS, "Previous pair"),
            (Action.NEXT, "Next pair"),
            (Action.DIFFERENCE, "Difference overlay"),
            (Action.LINK, "Link / unlink panes"),
            (Action.LOUPE, "Magnifier loupe"),
            (Action.FILE_WINDOW, "File's own window"),
        ):
            self.project_actions.append(self._keyed_action("&Review", text, action))
        self._action("&Review", "Keyboard &shortcuts…", self.choose_keys)
        for number, title in enumerate(("&Review", "&Sources", "&Calibration")):
            self.project_actions.append(
                self._action(
                    "&View", title, lambda _c=False, n=number: self.tabs.setCurrentIndex(n), f"Ctrl+{number + 1}"
                )
            )
        self._keyed_action("&Help", "Review &keys", Action.HELP)
        self.hide_scores_action = self._action(
            "&View", "&Hide scores while deciding (blind review)", lambda on: self.set_scores_hidden(on)
        )
        self.hide_scores_action.setCheckable(True)
        self._action("&Help", "&About LCMem Review", self.show_about)

    def _connect(self) -> None:
        self.start_page.newRequested.connect(self.new_project)
        self.start_page.openRequested.connect(self.choose_project)
        self.start_page.demoRequested.connect(lambda: self.open_demo())
        self.start_page.recentChosen.connect(lambda path: self.open_project(path))
        self.review.decided.connect(self._decision_changed)
        self.review.message.connect(self.show_message)
        self.sources.message.connect(self.show_message)
        self.sources.sourcesChanged.connect(self._update_banner)
        self.calibration.cardSaved.connect(self._card_saved)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.banner_button.clicked.connect(lambda: self.start_scan())
        self.demo.ready.connect(self._demo_ready)
        self.demo.failed.connect(lambda message: QMessageBox.warning(self, "Demo project", message))

    # ----- start screen and projects ------------------------------------------------------------------

    def show_start(self) -> None:
        """Show the start screen with the recent projects."""
        recent = self.settings.recent_projects()
        self.start_page.set_recent(recent)
        self.recent_menu.clear()
        for path in recent:
            self.recent_menu.addAction(path, lambda p=path: self.open_project(p))
        self.stack.setCurrentIndex(0)
        self._enable_project_actions()
        self._update_status()

    def show_message(self, text: str) -> None:
        """A transient status-bar message."""
        self.statusBar().showMessage(text, 8000)

    def ask_read_only(self, reason: str) -> bool:
        """Ask whether to open a project read-only because it cannot be opened for writing."""
        answer = QMessageBox.question(
            self,
            "Project in use",
            f"{reason}\n\nOpen it read-only? You can look at the pairs, filter and export, but not record "
            "decisions, scan or calibrate.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    def open_project(self, path: str | Path) -> bool:
        """Open a project for writing, or read-only if it is in use elsewhere and the user agrees."""
        target = Path(path)
        self.close_project()
        try:
            project = Project.open(target)
        except ProjectError as exc:
            try:
                project = Project.open(target, read_only=True)
            except ProjectError as second:
                QMessageBox.warning(self, "Cannot open the project", str(second))
                if not target.exists():
                    self.settings.remove_recent_project(target)
                    self.show_start()
                return False
            if not self.ask_read_only(str(exc)):
                project.close()
                return False
        self.settings.add_recent_project(target)
        self.settings.set(LAST_FOLDER, str(target.resolve().parent))
        self._show_project(project)
        logger.info("opened %s%s", target.name, " read-only" if project.read_only else "")
        return True

    def _show_project(self, project: Project) -> None:
        self.project = project
        self._load_queue()
        self.sources.set_project(project)
        self.calibration.set_project(project, self.model_checksum)
        self.stack.setCurrentIndex(1)
        self.tabs.setCurrentIndex(REVIEW_TAB if self.total_pairs else SOURCES_TAB)
        self.setWindowTitle(f"{project.path.name} — LCMem Review" + (" (read-only)" if project.read_only else ""))
        self._enable_project_actions()
        self._update_banner()
        self.review.table.setFocus()

    def _load_queue(self) -> None:
        project = self.project
        if project is None:
            return
        finished = [s for s in project.scans() if s.status == "done"]
        scans = finished or project.scans()
        self.model_checksum = scans[-1].model_checksum if scans else None
        self.queue = ReviewQueue(project, self.settings.get(REVIEWER), PairFilter(), self.model_checksum)
        self.total_pairs = len(self.queue)
        self.undecided_pairs = count_pairs(project, PairFilter(status="undecided")) if self.total_pairs else 0
        self.card = latest_card(project, self.model_checksum) if self.model_checksum else None
        self.threshold = threshold_in_force(project, self.card, self.model_checksum)
        self.review.set_queue(self.queue)
        self._apply_threshold()

    def close_project(self) -> None:
        """Close the open project (its write lock is released)."""
        if self.project is None:
            return
        self.review.set_queue(None)
        self.sources.set_project(None)
        self.calibration.set_project(None, None)
        self.project.close()
        self.project = self.queue = self.card = None
        self.model_checksum = None
        self.threshold = NO_THRESHOLD
        self.total_pairs = self.undecided_pairs = 0
        self.setWindowTitle("LCMem Review")
        self.show_start()

    def choose_project(self) -> None:
        """Ask for a project file and open it."""
        chosen, _ = QFileDialog.getOpenFileName(
            self, "Open a review project", self.settings.get(LAST_FOLDER), "Review projects (*.lcmem)"
        )
        if chosen:
            self.open_project(chosen)

    def new_project(self) -> None:
        """Ask for the project file and folders, create it, open it, and scan if asked."""
        dialog = NewProjectDialog(self.settings.get(LAST_FOLDER), self)
        if dialog.exec() != NewProjectDialog.DialogCode.Accepted:
            return
        created = self.create_project(dialog.project_path(), dialog.real.folders(), dialog.synthetic.folders())
        if created and dialog.scan_now.isChecked():
            self.start_scan(auto_start=True)

    def create_project(self, path: Path, real: list[Path], synthetic: list[Path]) -> bool:
        """Create a project with its folders and open it."""
        try:
            with Project.create(path, real, synthetic):
                pass
        except ProjectError as exc:
            QMessageBox.warning(self, "Cannot create the project", str(exc))
            return False
        return self.open_project(path)

    def open_demo(self, folder: Path | None = None) -> None:
        """Make (once) and open the demo project, then scan it with the default model (see :mod:`app.demo_flow`)."""
        chosen = folder or choose_demo_folder(self, app_data_dir() / "demo")
        if chosen is not None:
            self.demo.start(chosen, app_data_dir() / "models")

    def _demo_ready(self, project_path: Path, bundle_path: Path) -> None:
        if not self.open_project(project_path) or self.project is None or self.project.read_only:
            return
        if not any(s.status == "done" for s in self.project.scans()):
            self.start_demo_scan(bundle_path)

    def start_demo_scan(self, bundle_path: Path, auto_start: bool = True) -> ScanDialog | None:
        """The demo's scan: its model (the default one is chosen as such) and top-k, kept out of the settings."""
        model = None if bundle_path == default_bundle_path() else bundle_path
        return self.start_scan(model_path=model, top_k=DEMO_TOP_K, auto_start=auto_start, remember=False)

    # ----- scanning and exporting ------------------------------------------------------------------------

    def start_scan(
        self,
        model_path: Path | None = None,
        top_k: int | None = None,
        auto_start: bool = False,
        remember: bool = True,
    ) -> ScanDialog | None:
        """Open the scan dialog (and start at once with ``auto_start``); returns it, or ``None``.

        ``remember=False`` (the demo) keeps the model and top-k out of the settings that later scans start from.
        """
        if self.project is None or self.project.read_only:
            self.show_message("Open a project for writing to scan it")
            return None
        dialog = ScanDialog(
            self.project, self.tasks, self.settings, self, model_path=model_path, top_k=top_k, remember=remember
        )
        dialog.ended.connect(self._scan_ended)
        self.scan_dialog = dialog
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.show()
        if auto_start:
            dialog.start()
        return dialog

    def _scan_ended(self) -> None:
        if self.project is None:
            return
        self._load_queue()
        self.sources.refresh()
        self.calibration.set_project(self.project, self.model_checksum)
        self._update_banner()
        if self.total_pairs:
            self.tabs.setCurrentIndex(REVIEW_TAB)

    def show_export(self) -> ExportDialog | None:
        """Open the export dialog; returns it, or ``None`` without a scanned project."""
        if self.project is None or self.model_checksum is None:
            self.show_message("Scan the project before exporting")
            return None
        dialog = ExportDialog(self.project, self.tasks, self.card, self.model_checksum, self)
        dialog.exported.connect(lambda count, path: self.show_message(f"Exported {count:,} pairs to {path}"))
        dialog.show()
        return dialog

    # ----- reviewing ------------------------------------------------------------------------------------

    def _review(self, action: Action) -> None:
        if self.project is None:
            return
        self.tabs.setCurrentIndex(REVIEW_TAB)
        self.review.trigger(action)

    def _decision_changed(self, before: str, after: str) -> None:
        if not before and after:
            self.undecided_pairs -= 1
        elif before and not after:
            self.undecided_pairs += 1
        if "reject" in (before, after) and self.project is not None:
            inliers = self.threshold.min_inliers
            self.threshold = threshold_in_force(self.project, self.card, self.model_checksum)
            if self.threshold.min_inliers != inliers:
                self._apply_threshold()
                self.show_message(
                    f"Verified pairs now need at least {self.threshold.min_inliers} matched keypoints to be flagged "
                    "(above the most of any pair marked not a match)"
                )
        self._update_status()

    def _card_saved(self, card: ThresholdCard) -> None:
        self.card = card
        if self.project is not None:
            self.threshold = threshold_in_force(self.project, card, self.model_checksum)
        self._apply_threshold()
        self.show_message(f"Threshold card saved: threshold {card.threshold:.3f}")

    def _apply_threshold(self) -> None:
        self.review.set_threshold(self.threshold.value, self.threshold.label, self.threshold.min_inliers)
        self._update_status()

    def _tab_changed(self, index: int) -> None:
        if index == CALIBRATION_TAB and self.project is not None:
            self.calibration.refresh()

    def choose_reviewer(self) -> None:
        """Ask for the name stored with each decision."""
        name, ok = QInputDialog.getText(
            self, "Reviewer", "Name stored with each decision and second read:", text=self.settings.get(REVIEWER)
        )
        if ok and name.strip():
            self.set_reviewer(name.strip())

    def set_reviewer(self, name: str) -> None:
        """The name stored with each decision and second read from now on."""
        self.settings.set(REVIEWER, name)
        if self.queue is not None:
            self.queue.reviewer = name
            if self.queue.second_read:
                self.review.apply_filter()  # show this reviewer's own second reads
        self._update_status()

    def _add_folder(self, role: str) -> None:
        self.tabs.setCurrentIndex(SOURCES_TAB)
        self.sources.choose_folder(role)

    # ----- status -----------------------------------------------------------------------------------------

    def _enable_project_actions(self) -> None:
        for action in self.project_actions:
            action.setEnabled(self.project is not None)
        self.scan_action.setEnabled(self.project is not None and not self.project.read_only)

    def _update_banner(self) -> None:
        project = self.project
        if project is None:
            return
        scans = project.scans()
        text, style, button = "", "info", False
        if project.read_only:
            text = (
                "<b>Read-only:</b> another window or process has this project open for writing. You can look, "
                "filter and export; decisions, scans and calibration are off here."
            )
            style = "warning"
        elif current_scan_id(project) is None:
            text, button = "<b>Not scanned yet.</b> Scan the project to find candidate pairs.", True
        elif not any(s.status == "done" for s in scans) or scans[-1].status != "done":
            text = (
                "<b>The last scan did not finish</b>: the pairs it scored are shown. Scan again to complete it "
                "(embeddings already computed are reused)."
            )
            style, button = "warning", True
        self.banner.setText(text)
        self.banner_widget.setStyleSheet(f"QWidget {{ {BANNER_STYLES[style]} }}")
        self.banner_widget.setVisible(bool(text))
        self.banner_button.setVisible(button)

    def _update_status(self) -> None:
        if self.project is None:
            for label in (self.status_counts, self.status_threshold):
                label.setText("")
        else:
            decided = self.total_pairs - self.undecided_pairs
            self.status_counts.setText(
                f"{self.total_pairs:,} pairs · {decided:,} decided · {self.undecided_pairs:,} to go"
            )
            self.status_threshold.setText(f"Threshold {self.threshold.value:.3f} ({self.threshold.label})")
            self.status_threshold.setToolTip(self.threshold.text)
        self.status_reviewer.setText(f"Reviewer: {self.settings.get(REVIEWER)}")

    def show_about(self) -> AboutDialog:
        """Open Help ▸ About: versions, the model and its training-data licenses, the licenses."""
        scans = self.project.scans() if self.project is not None else []
        done = [s for s in scans if s.status == "done"] or scans
        dialog = AboutDialog((done[-1].model_name, done[-1].model_checksum) if done else None, self)
        dialog.show()
        return dialog

    # ----- lifetime ---------------------------------------------------------------------------------------

    def wait_until_idle(self, timeout_s: float = 15.0) -> bool:
        """Process events until no task, image load or thumbnail is pending (screenshots, tests)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            QApplication.processEvents()
            idle = not self.tasks.busy and not self.image_tasks.busy and self.loader.idle and self.thumbnails.idle
            if idle:
                QApplication.processEvents()
                return True
            time.sleep(0.01)
        return False

    def closeEvent(self, event: QCloseEvent) -> None:
        """Cancel running work, wait for it, close the project, remember the window's geometry."""
        self.tasks.cancel_all()
        self.image_tasks.cancel_all()
        self.tasks.wait()
        self.image_tasks.wait()
        self.settings.set(WINDOW_GEOMETRY, bytes(self.saveGeometry()))
        self.close_project()
        super().closeEvent(event)
