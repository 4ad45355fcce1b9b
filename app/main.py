"""``lcmem-review [P.lcmem | --demo] [--screenshot OUT.png]``: start the desktop app, or render it to a PNG and exit.

Start-up imports Qt, SQLAlchemy, NumPy and pydicom only; torch, diffusers and FAISS load on the worker when a
scan starts. ``--screenshot`` runs offscreen with throwaway settings, opens the project (read-only if it is
in use), shows the review screen with its first pair (or the screen named by ``--screen``; ``about`` is the
About box), waits until every image is decoded, saves the window as a PNG and exits 0. ``--demo`` makes (once)
and opens the demo project in the app's data folder and scans it with the bundled default model, as the start
screen's demo button does.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from lcmem import logs as lcmem_logs

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from app.main_window import MainWindow

logger = logging.getLogger(__name__)

SCREENS = ("review", "sources", "calibration", "start", "about")
SCREENSHOT_TIMEOUT_S = 600.0
LOG_FILE_NAME = "lcmem-review.log"
"""The app's log file, in its data folder (:func:`app.settings.app_data_dir`)."""


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(prog="lcmem-review", description="LCMem Review: the desktop review app")
    parser.add_argument("project", nargs="?", type=Path, help="a .lcmem review project to open")
    parser.add_argument(
        "--demo", action="store_true", help="make (once), open and scan the demo project in the app's data folder"
    )
    parser.add_argument("--screenshot", type=Path, metavar="OUT.png", help="render the window to a PNG and exit")
    parser.add_argument("--screen", choices=SCREENS, default=None, help="which screen --screenshot shows")
    parser.add_argument("--size", default="1440x900", help="window size for --screenshot (WIDTHxHEIGHT)")
    parser.add_argument(
        "--verbose", action="store_true", help="log debug messages, and the libraries' messages, to stderr"
    )
    return parser


def configure_logging(verbose: bool, log_file: Path | None) -> None:
    """Log the app's own records to stderr and every record, the libraries' included, to ``log_file``.

    No patient data is ever logged; paths only at debug level. The libraries' messages (FAISS's loader,
    pydicom, Pillow) reach stderr only with ``--verbose``.
    """
    lcmem_logs.configure_logging(
        verbose,
        log_file,
        terminal_level=logging.DEBUG if verbose else logging.INFO,
        terminal_format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def take_screenshot(window: MainWindow, out: Path, screen: str, size: str) -> int:
    """Show ``screen`` of ``window`` at ``size``, wait for images, save a PNG; return the exit code."""
    from app.main_window import CALIBRATION_TAB, REVIEW_TAB, SOURCES_TAB

    width, height = (int(v) for v in size.lower().split("x"))
    window.resize(width, height)
    window.show()
    tabs = {"review": REVIEW_TAB, "sources": SOURCES_TAB, "calibration": CALIBRATION_TAB}
    if not window.wait_until_idle(SCREENSHOT_TIMEOUT_S):  # a demo's scan ends on the review screen: wait first
        logger.warning("still busy after %.0f s; the screenshot may be incomplete", SCREENSHOT_TIMEOUT_S)
    if screen not in tabs or window.project is None:
        window.show_start()
    else:
        window.tabs.setCurrentIndex(tabs[screen])
    shown: QWidget = window.show_about() if screen == "about" else window
    window.wait_until_idle()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not shown.grab().save(str(out), "PNG"):
        logger.error("could not write %s", out)
        return 1
    logger.info("screenshot written to %s", out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the app; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.demo and args.project is not None:
        parser.error("give a project or --demo, not both")
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.icon import ICON_NAME, app_icon
    from app.main_window import MainWindow
    from app.settings import AppSettings, app_data_dir

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("LCMem Review")
    app.setOrganizationName("LCMem")
    app.setDesktopFileName(ICON_NAME)
    app.setWindowIcon(app_icon())
    configure_logging(args.verbose, app_data_dir() / LOG_FILE_NAME)
    with tempfile.TemporaryDirectory(prefix="lcmem-review-") as scratch:
        settings = AppSettings(Path(scratch) / "settings.ini" if args.screenshot else None)
        window = MainWindow(settings, inline_images=bool(args.screenshot))
        if args.screenshot:
            window.ask_read_only = lambda _reason: True  # type: ignore[method-assign]
        if args.project is not None and not window.open_project(args.project) and args.screenshot:
            return 1
        if args.demo:
            window.open_demo(app_data_dir() / "demo")
        if args.screenshot:
            code = take_screenshot(window, args.screenshot, args.screen or "review", args.size)
            window.close()
            return code
        window.present()
        return app.exec()


if __name__ == "__main__":
    sys.exit(main())
