"""Small pieces of the screens: the new-project checks, the start page, the scan dialog's helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app import scan_dialog
from app.new_project_dialog import NewProjectDialog
from app.scan_dialog import RateMeter, describe_bundle, format_seconds
from app.start_page import StartPage
from app.workers import TaskRunner
from lcmem.errors import Cancelled
from lcmem.store.project import Project


def test_new_project_dialog_says_what_is_missing(qtbot, tmp_path: Path) -> None:
    dialog = NewProjectDialog(str(tmp_path))
    qtbot.addWidget(dialog)
    assert dialog.project_path() == tmp_path / "review.lcmem"
    assert "at least one real and one synthetic" in dialog.problem()
    (tmp_path / "r").mkdir()
    dialog.real.add(tmp_path / "r")
    dialog.real.add(tmp_path / "r")
    dialog.synthetic.add(tmp_path / "missing")
    assert dialog.real.folders() == [tmp_path / "r"]
    assert "Not a folder" in dialog.problem()
    (tmp_path / "missing").mkdir()
    assert dialog.problem() == ""
    (tmp_path / "review.lcmem").write_text("x")
    assert "already exists" in dialog.problem()


def test_start_page_lists_recent_projects_and_greys_missing_ones(qtbot, tmp_path: Path) -> None:
    page = StartPage()
    qtbot.addWidget(page)
    present = tmp_path / "a.lcmem"
    present.write_text("x")
    page.set_recent([str(present), str(tmp_path / "gone.lcmem")])
    assert "(missing)" in page.recent.item(1).text() and "(missing)" not in page.recent.item(0).text()
    with qtbot.waitSignal(page.recentChosen) as chosen:
        page.recent.itemActivated.emit(page.recent.item(0))
    assert chosen.args == [str(present)]
    page.set_recent([])
    assert page.recent.item(0).flags() == Qt.ItemFlag.NoItemFlags


def test_bundle_description_flags_untrained_models(tmp_path: Path) -> None:
    assert describe_bundle(tmp_path) == ("not a model bundle (no readable lcmem.json)", False)
    (tmp_path / "lcmem.json").write_text(json.dumps({"name": "x", "description": "random weights: ..."}))
    text, usable = describe_bundle(tmp_path)
    assert usable and "UNTRAINED" in text


def test_rate_and_time_left_per_stage() -> None:
    meter = RateMeter()
    assert meter.update(0, 100, "embedding", now=10.0) == (None, None)
    rate, left = meter.update(50, 100, "embedding", now=15.0)
    assert rate == 10.0 and left == 5.0
    assert meter.update(10, 20, "searching", now=16.0) == (None, None)
    assert format_seconds(42) == "42 s" and format_seconds(185) == "3 min 5 s" and format_seconds(3720) == "1 h 2 min"


def test_the_scan_dialog_can_switch_verification_off_and_remembers_it(
    qtbot, tmp_path: Path, settings, tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import scan_dialog
    from app.workers import TaskRunner
    from lcmem.errors import Cancelled
    from lcmem.store.project import Project

    calls: list[bool] = []

    def fake_scan(project, model_path, top_k, progress, cancel, max_pixels=None, verify=True):
        calls.append(verify)
        raise Cancelled("stopped by the test")

    monkeypatch.setattr(scan_dialog, "run_project_scan", fake_scan)
    with Project.create(tmp_path / "p.lcmem", [tmp_path], [tmp_path]) as project:
        dialog = scan_dialog.ScanDialog(project, TaskRunner(1, inline=True), settings, model_path=tiny_bundle_dir)
        qtbot.addWidget(dialog)
        assert dialog.verify.isChecked()
        dialog.verify.setChecked(False)
        dialog.start()
        qtbot.waitUntil(lambda: calls == [False])
        again = scan_dialog.ScanDialog(project, TaskRunner(1, inline=True), settings, model_path=tiny_bundle_dir)
        qtbot.addWidget(again)
        assert not again.verify.isChecked()


def test_scan_dialog_sets_the_project_pixel_limit(qtbot, tmp_path: Path, settings, monkeypatch) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "s").mkdir()
    project = Project.create(tmp_path / "p.lcmem", [tmp_path / "r"], [tmp_path / "s"], max_pixels=400_000_000)
    asked: list[int | None] = []

    def fake_scan(*args: object) -> None:
        asked.append(args[5])  # type: ignore[arg-type]
        raise Cancelled()

    monkeypatch.setattr(scan_dialog, "run_project_scan", fake_scan)
    dialog = scan_dialog.ScanDialog(project, TaskRunner(inline=True), settings, model_path=tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.max_megapixels.value() == 400
    assert dialog.max_pixels() == 400_000_000
    dialog.max_megapixels.setValue(2000)
    dialog.start()
    assert asked == [2_000_000_000]
    assert project.max_pixels == 2_000_000_000
    project.close()
