"""Render the app icon ``resources/icons/lcmem-review.svg`` to PNGs and a Windows ``.ico``.

``python installer/make_icons.py``: rerun after editing the SVG and commit the results. Qt renders the SVG
(offscreen), Pillow packs the ``.ico``; macOS builds turn the 512 px PNG into an ``.icns`` themselves.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
NAME = "lcmem-review"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render_png(svg: Path, size: int, out: Path) -> None:
    """Render ``svg`` as a ``size`` × ``size`` PNG with a transparent background."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"cannot write {out}")


def main() -> int:
    """Write ``lcmem-review-<size>.png`` for every size and ``lcmem-review.ico``; print what was written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    svg = ICONS / f"{NAME}.svg"
    written = []
    for size in PNG_SIZES:
        out = ICONS / f"{NAME}-{size}.png"
        render_png(svg, size, out)
        written.append(out)
    with Image.open(ICONS / f"{NAME}-256.png") as largest:
        ico = ICONS / f"{NAME}.ico"
        largest.save(ico, sizes=[(s, s) for s in ICO_SIZES])
        written.append(ico)
    print("\n".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
