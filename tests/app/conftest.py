"""App tests run offscreen, with throwaway settings and app data (set before Qt is imported)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.main_window import MainWindow
from app.settings import AppSettings
from lcmem.store.project import Project
from tests.conftest import write_scanned_project


@pytest.fixture(autouse=True)
def _isolated_app(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep settings and app data (demo model, demo project) out of the user's folders."""
    monkeypatch.setenv("LCMEM_APP_DATA", str(tmp_path_factory.mktemp("app-data")))
    monkeypatch.setenv("LCMEM_REVIEW_SETTINGS", str(tmp_path_factory.mktemp("settings") / "settings.ini"))


@pytest.fixture()
def settings(tmp_path: Path) -> AppSettings:
    """Settings in a file of this test's own."""
    return AppSettings(tmp_path / "settings.ini")


@pytest.fixture()
def window(qtbot, settings: AppSettings) -> Iterator[MainWindow]:
    """The main window (images decoded on worker threads, as in the app), closed after the test."""
    main = MainWindow(settings)
    qtbot.addWidget(main)
    main.resize(1280, 800)
    main.show()
    yield main
    main.close()


@pytest.fixture()
def inline_window(qtbot, settings: AppSettings) -> Iterator[MainWindow]:
    """The main window with images decoded inline (deterministic image checks)."""
    main = MainWindow(settings, inline_images=True)
    qtbot.addWidget(main)
    main.resize(1280, 800)
    main.show()
    yield main
    main.close()


@pytest.fixture(scope="module")
def scanned_original(tmp_path_factory: pytest.TempPathFactory, tiny_bundle) -> Path:
    """One scanned project per test module (:func:`tests.conftest.make_sources`, top-3), closed."""
    return write_scanned_project(tmp_path_factory.mktemp("scanned"), tiny_bundle)


@pytest.fixture()
def scanned(scanned_original: Path, tmp_path: Path) -> Iterator[Project]:
    """A writable copy of the module's scanned project, open for this test."""
    copy = tmp_path / "review.lcmem"
    shutil.copyfile(scanned_original, copy)
    with Project.open(copy) as project:
        yield project
