"""G draws the inlier keypoints that geometric verification matched, on both panes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, Qt

from app.compare_view import REAL, SYNTHETIC
from app.image_canvas import MARK_COLOUR
from app.pair_table import INLIERS
from lcmem.scan.types import ScanSettings
from lcmem.store.ingest import scan_project
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter
from tests.app.conftest import review_screen
from tests.verify.conftest import rotated, save_png, textured


def _rotated_copy_project(tmp_path: Path, tiny_bundle) -> Project:
    """A scanned project whose one synthetic image is a 10°-rotated copy of ``real_2.png``."""
    real, synthetic = tmp_path / "real", tmp_path / "synthetic"
    real.mkdir()
    synthetic.mkdir()
    for seed in range(4):
        save_png(textured(seed), real / f"real_{seed}.png")
    save_png(rotated(textured(2), 10.0), synthetic / "rotated.png")
    with Project.create(tmp_path / "p.lcmem", [real], [synthetic]) as project:
        scan_project(project, tiny_bundle, ScanSettings(top_k=2), cache_dir=tmp_path / "cache")
    return Project.open(tmp_path / "p.lcmem")


def test_the_score_line_says_when_verification_flags_a_pair_below_the_threshold(
    qtbot, tmp_path: Path, tiny_bundle
) -> None:
    project = _rotated_copy_project(tmp_path, tiny_bundle)
    view = review_screen(qtbot, project)
    view.apply_filter(PairFilter(sort="rank", descending=False))
    pair = view.queue.current
    assert pair.inliers >= 30
    view.set_threshold(max(pair.score + 0.01, 0.5), "test threshold", min_inliers=20)
    line = view.compare.info.text()
    assert "below the threshold" in line and f"{pair.inliers} matched keypoints</b>: verified (≥ 20), flagged" in line
    view.set_threshold(max(pair.score + 0.01, 0.5), "test threshold", min_inliers=pair.inliers + 1)
    line = view.compare.info.text()
    assert f"{pair.inliers} matched keypoints" in line and "flagged" not in line
    view.set_queue(None)
    project.close()


def test_g_draws_the_matched_inliers_on_both_images(qtbot, tmp_path: Path, tiny_bundle) -> None:
    project = _rotated_copy_project(tmp_path, tiny_bundle)
    view = review_screen(qtbot, project)
    view.apply_filter(PairFilter(sort="rank", descending=False))
    pair = view.queue.current
    assert pair.rank == 1 and pair.real_path.endswith("real_2.png") and pair.inliers >= 30
    assert view.model.data(view.model.index(view.queue.index, INLIERS)) == str(pair.inliers)
    canvases = view.compare.canvases
    assert canvases[REAL].marks is None
    messages: list[str] = []
    view.compare.message.connect(messages.append)
    qtbot.keyClick(view, Qt.Key.Key_G)
    real_marks, synthetic_marks = canvases[REAL].marks, canvases[SYNTHETIC].marks
    assert real_marks is not None and len(real_marks) == len(synthetic_marks) >= 30
    assert "inliers" in messages[-1] and "rotated" in messages[-1]
    canvas = canvases[REAL]
    x, y = real_marks[0]
    at = canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))
    shot = canvas.viewport().grab().toImage()
    ring = [shot.pixelColor(at.x() + dx, at.y() + dy) for dx in range(-5, 6) for dy in range(-5, 6)]
    assert any(abs(c.green() - MARK_COLOUR.green()) < 40 and c.red() < 160 and c.green() > 200 for c in ring)
    qtbot.keyClick(view, Qt.Key.Key_G)
    assert canvases[REAL].marks is None and canvases[SYNTHETIC].marks is None
    view.queue.go_to(next(i for i, row in enumerate(view.queue.rows) if row.inliers == 0))
    view.show_current()
    qtbot.keyClick(view, Qt.Key.Key_G)
    assert messages[-1].startswith("Geometric matches: none") and "side marker" in messages[-1]
    assert canvases[REAL].marks is None or len(canvases[REAL].marks) == 0
    qtbot.keyClick(view, Qt.Key.Key_G)
    view.set_scores_hidden(True)  # blind review: the matches are evidence like the score
    qtbot.keyClick(view, Qt.Key.Key_G)
    assert canvases[REAL].marks is None and "hidden" in messages[-1]
    view.set_queue(None)
    project.close()
