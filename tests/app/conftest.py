"""App tests run offscreen, with throwaway settings and app data (set before Qt is imported)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.image_loader import ImageLoader
from app.main_window import MainWindow
from app.review_view import ReviewView
from app.settings import AppSettings
from app.thumbnails import ThumbnailProvider
from app.workers import TaskRunner
from lcmem.review.queue import ReviewQueue
from lcmem.store.project import Project
from lcmem.store.queries import PairFilter
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


def review_screen(qtbot, project: Project) -> ReviewView:
    """A shown review screen over ``project`` (reviewer ana), images decoded inline."""
    runner = TaskRunner(1, inline=True)
    view = ReviewView(ImageLoader(runner), ThumbnailProvider(runner))
    qtbot.addWidget(view)
    view.resize(1300, 800)
    view.show()
    view.set_queue(ReviewQueue(project, "ana"))
    return view


@pytest.fixture()
def review(qtbot, scanned: Project) -> Iterator[ReviewView]:
    """A review screen over the scanned fixture, images decoded inline, on the DICOM copy's best pair."""
    view = review_screen(qtbot, scanned)
    view.apply_filter(PairFilter(text="ct_copy.dcm", sort="rank", descending=False))
    assert view.queue.current.rank == 1 and view.queue.current.synthetic_path.endswith("ct_copy.dcm")
    yield view
