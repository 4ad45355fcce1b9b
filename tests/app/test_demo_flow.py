"""The demo from the start screen: images, project and untrained model made on a worker, then scanned."""

from __future__ import annotations

from pathlib import Path

from app.main_window import MainWindow
from app.settings import app_data_dir
from lcmem.review.demo import DEMO_BUNDLE_NAME, read_manifest


def test_the_demo_project_is_made_opened_and_scanned(qtbot, window: MainWindow, tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    window.open_demo(folder)
    qtbot.waitUntil(lambda: window.scan_dialog is not None, timeout=120_000)
    dialog = window.scan_dialog
    assert "UNTRAINED" in dialog.model_info.text()
    if dialog.running:
        with qtbot.waitSignal(dialog.ended, timeout=120_000):
            pass
    assert window.project is not None and window.project.path == (folder / "demo.lcmem").resolve()
    assert (app_data_dir() / "models" / DEMO_BUNDLE_NAME / "lcmem.json").is_file()
    assert window.total_pairs > 0 and window.tabs.currentIndex() == 0
    planted = {(p.synthetic, p.real) for p in read_manifest(folder) if p.kind != "augmented"}
    rank_one = set()
    rows = window.review.queue.rows
    for i in range(len(rows)):
        row = rows[i]
        if row.rank == 1:
            rank_one.add(
                (
                    Path(row.synthetic_path).relative_to(folder.resolve()).as_posix(),
                    Path(row.real_path).relative_to(folder.resolve()).as_posix(),
                )
            )
    assert planted <= rank_one, "the untrained model ranks every exact copy first"
    assert [p.path for p in window.project.sources("synthetic")] == [str((folder / "synthetic").resolve())]
    window.sources.refresh()
    assert window.sources.problems.rowCount() == 1
