"""``lcmem-review --screenshot``: a PNG of the real window, without torch; a second instance is read-only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from app.keys import Action
from app.main import build_parser, main
from app.main_window import MainWindow
from app.settings import app_data_dir
from lcmem.store.project import Project

REPO = Path(__file__).resolve().parents[2]

SCREENSHOT = """
import sys
from app.main import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("torch", "diffusers", "faiss") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
sys.exit(code)
"""


def test_screenshot_writes_a_png_of_the_review_screen_without_importing_torch(scanned, tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", SCREENSHOT, str(scanned.path), "--screenshot", str(out), "--size", "1200x760"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY:\n" in result.stdout, result.stdout
    with Image.open(out) as image:
        assert image.size == (1200, 760)
        assert np.unique(np.asarray(image.convert("L"))).size > 20, "the screenshot looks blank"
    assert "read-only" in result.stderr


def test_the_parser_knows_the_documented_options() -> None:
    args = build_parser().parse_args(["p.lcmem", "--screenshot", "o.png", "--screen", "calibration"])
    assert args.project == Path("p.lcmem") and args.screenshot == Path("o.png") and args.screen == "calibration"


def test_demo_and_a_project_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["--demo"]).demo
    with pytest.raises(SystemExit):
        main(["p.lcmem", "--demo"])
    assert "not both" in capsys.readouterr().err


def test_demo_screenshot_makes_scans_and_shows_the_demo_project(qtbot, tmp_path: Path) -> None:
    out = tmp_path / "demo.png"
    assert main(["--demo", "--screenshot", str(out), "--size", "1200x760"]) == 0
    with Image.open(out) as image:
        assert image.size == (1200, 760)
        assert np.unique(np.asarray(image.convert("L"))).size > 20, "the screenshot looks blank"
    with Project.open(app_data_dir() / "demo" / "demo.lcmem", read_only=True) as project:
        assert [s.status for s in project.scans()] == ["done"]


def test_a_demo_screenshot_shows_the_screen_asked_for(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import main as app_main
    from app.main_window import CALIBRATION_TAB

    shown = []
    original = app_main.take_screenshot

    def spy(window, *args):
        code = original(window, *args)
        shown.append(window.tabs.currentIndex())
        return code

    monkeypatch.setattr(app_main, "take_screenshot", spy)
    out = tmp_path / "calibration.png"
    assert main(["--demo", "--screenshot", str(out), "--screen", "calibration", "--size", "1000x700"]) == 0
    assert shown == [CALIBRATION_TAB]  # not the review screen the demo's scan ends on


def test_the_about_box_can_be_rendered_offscreen(qtbot, tmp_path: Path) -> None:
    out = tmp_path / "about.png"
    assert main(["--screenshot", str(out), "--screen", "about"]) == 0
    with Image.open(out) as image:
        assert image.size == (720, 640)
        assert np.unique(np.asarray(image.convert("L"))).size > 20, "the screenshot looks blank"


def test_a_second_instance_gets_a_clear_message_and_read_only_access(qtbot, window: MainWindow, scanned) -> None:
    reasons: list[str] = []
    window.ask_read_only = lambda reason: reasons.append(reason) or False
    assert not window.open_project(scanned.path)
    assert window.project is None and "open for writing in another window" in reasons[0]
    window.ask_read_only = lambda reason: True
    assert window.open_project(scanned.path)
    assert window.project.read_only and "read-only" in window.windowTitle()
    assert window.banner_widget.isVisible() and "Read-only" in window.banner.text()
    assert not window.scan_action.isEnabled() and window.start_scan() is None
    assert not window.review.buttons[Action.ACCEPT].isEnabled()
    first = window.review.queue.current
    qtbot.keyClick(window.review, Qt.Key.Key_A)
    assert scanned.decision(first.key) is None and window.review.queue.index == 0
    assert not window.calibration.save.isEnabled()
    window.close_project()
    with Project.open(scanned.path, read_only=True) as reader:
        assert reader.decisions() == []
