"""Every persistent app setting, declared once with its type and default, and the upgrade steps between versions.

Settings live in an INI file (``QSettings``): the platform's per-user location by default, or a file named by
``$LCMEM_REVIEW_SETTINGS`` (tests and the screenshot run use a throwaway one). A newer app reading an older
file runs the registered upgrade steps once, in order.
"""

from __future__ import annotations

import getpass
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QStandardPaths

logger = logging.getLogger(__name__)

SETTINGS_VERSION = 1
MAX_RECENT = 8


@dataclass(frozen=True)
class Option:
    """One setting: its key in the file, its Python type and its default."""

    key: str
    type: type
    default: Any


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "reviewer"


REVIEWER = Option("review/reviewer", str, _login_name())
RECENT_PROJECTS = Option("projects/recent", list, [])
LAST_FOLDER = Option("projects/last_folder", str, "")
MODEL_FOLDER = Option("scan/model_folder", str, "")
TOP_K = Option("scan/top_k", int, 20)
VERIFY = Option("scan/verify", bool, True)
LINK_VIEWS = Option("review/link_views", bool, True)
KEYMAP = Option("review/keymap", str, "")
HIDE_SCORES = Option("review/hide_scores", bool, False)
WINDOW_GEOMETRY = Option("window/geometry", bytes, b"")
VERSION = Option("settings/version", int, 0)

OPTIONS = (
    REVIEWER,
    RECENT_PROJECTS,
    LAST_FOLDER,
    MODEL_FOLDER,
    TOP_K,
    VERIFY,
    LINK_VIEWS,
    KEYMAP,
    HIDE_SCORES,
    WINDOW_GEOMETRY,
    VERSION,
)

UPGRADES: dict[int, Callable[[QSettings], None]] = {}
"""``UPGRADES[n]`` turns a version-``n`` settings file into version ``n + 1``."""


def app_data_dir() -> Path:
    """Where the app keeps its own files (the demo model and demo project): ``$LCMEM_APP_DATA`` or the
    platform's per-user application data folder."""
    override = os.environ.get("LCMEM_APP_DATA")
    if override:
        return Path(override)
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(location or Path.home() / ".lcmem-review")


class AppSettings:
    """Typed access to the declared options.

    Args:
        path: the INI file; ``None`` uses ``$LCMEM_REVIEW_SETTINGS`` or the platform's default location.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        chosen = path or os.environ.get("LCMEM_REVIEW_SETTINGS")
        if chosen:
            self._qsettings = QSettings(str(chosen), QSettings.Format.IniFormat)
        else:
            self._qsettings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "LCMem", "LCMem Review")
        self.upgrade()

    def get(self, option: Option) -> Any:
        """The stored value of ``option`` converted to its type, or its default."""
        if not self._qsettings.contains(option.key):
            return option.default
        value = self._qsettings.value(option.key)
        try:
            if option.type is bool:
                return value in (True, "true", "1", 1)
            if option.type is list:
                return [] if value in (None, "") else ([value] if isinstance(value, str) else list(value))
            if option.type is bytes:
                return bytes(value)
            return option.type(value)
        except (TypeError, ValueError):
            logger.warning("setting %s is unreadable; using its default", option.key)
            return option.default

    def set(self, option: Option, value: Any) -> None:
        """Store ``value`` for ``option`` (written to disk at once)."""
        self._qsettings.setValue(option.key, value)
        self._qsettings.sync()

    def upgrade(self) -> None:
        """Run the upgrade steps from the file's version to :data:`SETTINGS_VERSION`."""
        version = self.get(VERSION)
        while version < SETTINGS_VERSION:
            step = UPGRADES.get(version)
            if step is not None:
                logger.info("upgrading settings %d → %d", version, version + 1)
                step(self._qsettings)
            version += 1
        self.set(VERSION, SETTINGS_VERSION)

    def recent_projects(self) -> list[str]:
        """Recently opened project files, newest first."""
        return [str(p) for p in self.get(RECENT_PROJECTS)]

    def add_recent_project(self, path: str | Path) -> None:
        """Put ``path`` first in the recent list (kept to :data:`MAX_RECENT`)."""
        text = str(Path(path).resolve())
        recent = [p for p in self.recent_projects() if p != text]
        self.set(RECENT_PROJECTS, [text, *recent][:MAX_RECENT])

    def remove_recent_project(self, path: str | Path) -> None:
        """Drop ``path`` from the recent list (it was moved or deleted)."""
        self.set(RECENT_PROJECTS, [p for p in self.recent_projects() if p != str(path)])
