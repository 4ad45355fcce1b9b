"""Settings are declared once, typed, upgraded by version; recent projects are kept newest first."""

from __future__ import annotations

from pathlib import Path

from app import settings as settings_module
from app.settings import MAX_RECENT, REVIEWER, SETTINGS_VERSION, TOP_K, VERSION, AppSettings, app_data_dir


def test_defaults_types_and_persistence(tmp_path: Path) -> None:
    first = AppSettings(tmp_path / "s.ini")
    assert first.get(TOP_K) == 20 and isinstance(first.get(REVIEWER), str)
    first.set(TOP_K, 7)
    again = AppSettings(tmp_path / "s.ini")
    assert again.get(TOP_K) == 7 and again.get(VERSION) == SETTINGS_VERSION


def test_recent_projects_newest_first_without_duplicates(tmp_path: Path) -> None:
    settings = AppSettings(tmp_path / "s.ini")
    paths = [tmp_path / f"p{i}.lcmem" for i in range(MAX_RECENT + 2)]
    for path in paths:
        settings.add_recent_project(path)
    settings.add_recent_project(paths[3])
    recent = settings.recent_projects()
    assert len(recent) == MAX_RECENT and recent[0] == str(paths[3].resolve())
    assert len(set(recent)) == MAX_RECENT
    settings.remove_recent_project(recent[0])
    assert str(paths[3].resolve()) not in settings.recent_projects()


def test_upgrade_steps_run_once_in_order(tmp_path: Path, monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(settings_module, "SETTINGS_VERSION", 3)
    monkeypatch.setattr(settings_module, "UPGRADES", {1: lambda q: calls.append(1), 2: lambda q: calls.append(2)})
    path = tmp_path / "s.ini"
    path.write_text("[settings]\nversion=1\n", encoding="utf-8")
    assert AppSettings(path).get(VERSION) == 3
    AppSettings(path)
    assert calls == [1, 2]


def test_app_data_folder_can_be_redirected(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LCMEM_APP_DATA", str(tmp_path))
    assert app_data_dir() == tmp_path
