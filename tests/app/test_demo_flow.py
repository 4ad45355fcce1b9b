"""The demo from the start screen: images and project made on a worker, then scanned with the default model."""

from __future__ import annotations

import re
from pathlib import Path

from app.main_window import MainWindow
from app.settings import MODEL_FOLDER, TOP_K, app_data_dir
from lcmem.review.demo import DEMO_BUNDLE_NAME, read_manifest


def _relative(path: str, root: Path) -> str:
    return Path(path).relative_to(root.resolve()).as_posix()


def _patient(path: str) -> str | None:
    found = re.search(r"patient(\d+)", path)
    return found.group(1) if found else None


def test_the_demo_is_scanned_with_the_default_model_and_shows_what_it_finds(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "demo"
    window.open_demo(folder)
    qtbot.waitUntil(lambda: window.scan_dialog is not None, timeout=120_000)
    dialog = window.scan_dialog
    assert dialog.use_default.isChecked() and "UNTRAINED" not in dialog.model_info.text()
    if dialog.running:
        with qtbot.waitSignal(dialog.ended, timeout=300_000):
            pass
    assert window.project is not None and window.project.path == (folder / "demo.lcmem").resolve()
    assert not (app_data_dir() / "models" / DEMO_BUNDLE_NAME).exists(), "no untrained model beside the default one"
    assert window.settings.get(TOP_K) == TOP_K.default and window.settings.get(MODEL_FOLDER) == ""
    assert window.total_pairs > 0 and window.tabs.currentIndex() == 0
    rows = [window.review.queue.rows[i] for i in range(len(window.review.queue))]
    by_synthetic: dict[str, list] = {}
    for row in rows:
        by_synthetic.setdefault(_relative(row.synthetic_path, folder), []).append(row)
    threshold = window.review.threshold
    planted = read_manifest(folder)
    for copy in planted:
        ranked = sorted(by_synthetic[copy.synthetic], key=lambda r: r.rank)
        ahead = [r for r in ranked if _relative(r.real_path, folder) != copy.real]
        found = next(r for r in ranked if _relative(r.real_path, folder) == copy.real)
        if copy.how == "crop and resize":
            assert found.rank <= 5, "the crop is found, if not first (crops are the model's weak point)"
            continue
        beaten_by = [r for r in ahead if r.rank < found.rank]
        assert all(_patient(r.real_path) == _patient(copy.real) for r in beaten_by), copy
        if copy.kind != "augmented":
            assert found.score >= threshold, f"{copy.synthetic}: an exact copy is flagged"
    new = [name for name in by_synthetic if not any(p.synthetic == name for p in planted)]
    assert len(new) == 20
    flagged = [name for name in new if max(r.score for r in by_synthetic[name]) >= threshold]
    assert len(flagged) <= 1, f"new images are flagged as often as the threshold's quantile says, not more: {flagged}"
    assert [p.path for p in window.project.sources("synthetic")] == [str((folder / "synthetic").resolve())]
    window.sources.refresh()
    assert window.sources.problems.rowCount() == 1


def test_the_demo_says_first_which_model_it_uses_and_what_to_expect() -> None:
    from app.demo_flow import demo_text
    from lcmem.model.default import default_bundle_path

    text = demo_text(default_bundle_path())
    assert "bundled default model (lcmem-small" in text and "rank 1" in text and "threshold in force" in text
    assert "untrained model" in demo_text(None)
