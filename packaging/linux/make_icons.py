"""Render the app icon at the usual hicolor sizes from its one SVG source, resources/resect.svg.

``python packaging/linux/make_icons.py [OUT_DIR]`` writes ``OUT_DIR/hicolor/NxN/apps/APP_ID.png``
for every size in ``SIZES`` plus ``OUT_DIR/hicolor/scalable/apps/APP_ID.svg`` (default OUT_DIR:
packaging/linux/icons, committed so packagers need no Qt). Qt's own SVG renderer draws them,
the same one the app uses for its window icon, so every size looks like the running app.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "io.github.resect.Resect"
SVG = ROOT / "resources" / "resect.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
DEFAULT_OUT = Path(__file__).resolve().parent / "icons"


def make_icons(out_dir: Path = DEFAULT_OUT, svg: Path = SVG) -> list[Path]:
    """Write every size (and the scalable SVG) under ``out_dir/hicolor``; returns the files."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    written = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        target = out_dir / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"{target}: cannot write")
        written.append(target)
    scalable = out_dir / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    written.append(scalable)
    return written


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]) if argv else DEFAULT_OUT
    for path in make_icons(out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
