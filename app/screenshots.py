"""Regenerate ``docs/screenshots/``: ``python -m app.screenshots [OUT_DIR]``.

Everything shown is generated here: the demo images (:mod:`lcmem.review.demo`) scanned with the bundled
default model through the real scan dialog, and labels that follow the demo's manifest of planted copies (a stand-in
for a reviewer). The app runs offscreen at 1440 × 900; nothing from ``../shared/data`` is used.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from app.main_window import MainWindow

logger = logging.getLogger(__name__)

SIZE = (1440, 900)


def default_out() -> Path:
    """``docs/screenshots`` of a source checkout; ``screenshots`` in the current folder for an installed app."""
    from lcmem.resources import source_checkout

    checkout = source_checkout()
    return checkout / "docs" / "screenshots" if checkout is not None else Path("screenshots")


def label_like_a_reviewer(project_path: Path, demo_root: Path) -> tuple[int, int]:
    """Accept the planted copies the scan proposed (a copy) and the other images of their patients (the same
    patient), reject the other top-2 candidates; return the counts accepted and rejected."""
    from lcmem.review.demo import read_manifest
    from lcmem.store.project import Project
    from lcmem.store.queries import count_pairs, list_pairs

    planted = {(p.synthetic, p.real) for p in read_manifest(demo_root)}
    accepted = rejected = 0
    with Project.open(project_path) as project:
        rows = list_pairs(project, None, 0, count_pairs(project))
        pairs = [(_relative(r.synthetic_path, demo_root), _relative(r.real_path, demo_root)) for r in rows]
        patients = {pair[0]: row.real_patient for row, pair in zip(rows, pairs, strict=True) if pair in planted}
        for row, pair in zip(rows, pairs, strict=True):
            if pair in planted or (row.real_patient and patients.get(pair[0]) == row.real_patient):
                kind = "copy" if pair in planted else "patient"
                project.set_decision(row.key, "accept", "A. Reviewer", score=row.score, kind=kind)
                accepted += 1
            elif row.rank <= 2:
                project.set_decision(row.key, "reject", "A. Reviewer", score=row.score)
                rejected += 1
    return accepted, rejected


def _relative(path: str, root: Path) -> str:
    return Path(path).resolve().relative_to(root.resolve()).as_posix()


def _save(widget: QWidget, path: Path) -> None:
    pixmap = widget.grab()
    if not pixmap.save(str(path), "PNG"):
        raise OSError(f"cannot write {path}")
    logger.info("wrote %s", path)


def second_read_like_a_colleague(window: MainWindow) -> str:
    """A second reviewer reads eight decided pairs again, blind, agreeing with all but one; returns the name of
    the reviewer before."""
    from app.settings import REVIEWER

    review = window.review
    first_reviewer = window.settings.get(REVIEWER)
    window.set_reviewer("B. Reviewer")
    review.status.setCurrentIndex(review.status.findData("second_read"))
    for number in range(8):
        row = review.queue.current
        first = window.project.decision(row.key).decision if row is not None else None
        if first is None:
            break
        review.decide({"accept": "reject", "reject": "accept"}.get(first, first) if number == 3 else first)
    review.show_current()
    return first_reviewer


def make_screenshots(out: Path, work: Path) -> list[Path]:
    """Render the main screens into ``out`` using scratch space ``work``; return the files written."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from app.keys import Action
    from app.main_window import CALIBRATION_TAB, REVIEW_TAB, SOURCES_TAB, MainWindow
    from app.settings import REVIEWER, AppSettings
    from lcmem.review.demo import create_demo_project, demo_model

    app = QApplication.instance() or QApplication([sys.argv[0]])
    out.mkdir(parents=True, exist_ok=True)
    demo_root = work / "lcmem-demo"
    project_path = create_demo_project(demo_root)
    bundle = demo_model(work / "models")
    settings = AppSettings(work / "settings.ini")
    settings.set(REVIEWER, "A. Reviewer")
    settings.add_recent_project(project_path)
    window = MainWindow(settings, inline_images=True)
    window.resize(*SIZE)
    window.show()
    written: list[Path] = []

    def save(widget: QWidget, name: str) -> None:
        window.wait_until_idle()
        _save(widget, out / name)
        written.append(out / name)

    save(window, "start.png")
    window.open_project(project_path)
    dialog = window.start_demo_scan(bundle, auto_start=False)
    if dialog is None:
        raise RuntimeError("the demo project could not be scanned")
    captured: list[bool] = []

    def capture(done: int, total: int, text: str) -> None:
        if not captured and "embedding" in text and "images/s" in dialog.rate.text():
            captured.append(True)
            _save(dialog, out / "scan.png")
            written.append(out / "scan.png")

    dialog.resize(700, 330)
    dialog.start()
    if dialog.task is not None:
        dialog.task.progressed.connect(capture)
        loop = QEventLoop()
        dialog.ended.connect(loop.quit)
        loop.exec()
    dialog.close()
    window.close_project()
    accepted, rejected = label_like_a_reviewer(project_path, demo_root)
    logger.info("labelled %d accepted and %d rejected pairs", accepted, rejected)
    window.open_project(project_path)
    window.tabs.setCurrentIndex(REVIEW_TAB)
    review = window.review
    review.status.setCurrentIndex(0)
    rows = review.queue.rows if review.queue else []
    target = next(
        (i for i in range(len(rows)) if rows[i].synthetic_path.endswith("gen_ct_200.dcm") and rows[i].rank == 1), 0
    )
    review.queue.go_to(target)
    review.show_current()
    save(window, "review-dicom.png")
    review.trigger(Action.PRESET_2)
    review.trigger(Action.DIFFERENCE)
    save(window, "review-lung-window-difference.png")
    review.trigger(Action.DIFFERENCE)
    review.trigger(Action.FILE_WINDOW)
    first_reviewer = second_read_like_a_colleague(window)
    save(window, "review-second-read.png")
    window.set_reviewer(first_reviewer)
    review.status.setCurrentIndex(0)
    window.tabs.setCurrentIndex(CALIBRATION_TAB)
    window.calibration.target.setValue(0.95)
    window.calibration.save_card()
    save(window, "calibration.png")
    window.tabs.setCurrentIndex(SOURCES_TAB)
    save(window, "sources.png")
    window.tabs.setCurrentIndex(REVIEW_TAB)
    export = window.show_export()
    if export is not None:
        save(export, "export.png")
        export.close()
    window.close()
    app.processEvents()
    return written


def main(argv: list[str] | None = None) -> int:
    """Write the screenshots; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m app.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help="where the PNGs go (default: docs/screenshots)")
    args = parser.parse_args(argv)
    args.out = args.out or default_out()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.gettempdir()) / "lcmem-screenshots"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    os.environ["LCMEM_CACHE_DIR"] = str(work / "cache")
    try:
        written = make_screenshots(args.out, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
