"""The app icon, from the shipped ``resources/icons`` (found installed and frozen too)."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from lcmem.resources import resource_path

ICON_NAME = "lcmem-review"


def app_icon() -> QIcon:
    """The app icon at every shipped size; an empty icon when the resources are missing."""
    icon = QIcon()
    folder = resource_path("icons")
    if folder is not None:
        for png in sorted(folder.glob(f"{ICON_NAME}-*.png")):
            icon.addFile(str(png))
    return icon
