"""The overview map is rasterised in NumPy (issue 18: a QRectF per box cost about 150 ms of
UI-thread Python at 20,000 boxes). Its pixels must be exactly what QPainter's ``drawRects``
gave for the same boxes, on a real Keras model and on a generated deep one."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

from resect.app.canvas.overview import OverviewMap
from resect.app.session import build_prepared, find_blocks_safely
from resect.core.analysis.blocks import default_collapsed
from resect.core.reader import read_model

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from deep_model import write_deep_model  # noqa: E402


def _painted_with_qpainter(overview: OverviewMap) -> np.ndarray:
    """The map as the former code drew it: a QRectF per box through ``drawRects``."""
    prepared, bounds = overview.prepared, overview.prepared.bounds
    width, height = overview.pixmap.width(), overview.pixmap.height()
    pixmap = QPixmap(width, height)
    pixmap.fill(QColor(255, 255, 255, 235))
    painter = QPainter(pixmap)
    painter.setPen(Qt.PenStyle.NoPen)
    for colour, indices in prepared.by_stroke.items():
        r = prepared.rects[indices]
        x = 4 + (r[:, 0] - bounds.x()) * overview._sx
        y = 4 + (r[:, 1] - bounds.y()) * overview._sy
        w = np.maximum(r[:, 2] * overview._sx, 1.0)
        h = np.maximum(r[:, 3] * overview._sy, 1.0)
        painter.setBrush(QColor(colour))
        painter.drawRects([QRectF(*row) for row in np.column_stack((x, y, w, h)).tolist()])
    painter.end()
    return _pixels(pixmap)


def _pixels(pixmap: QPixmap) -> np.ndarray:
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_ARGB32)
    return np.frombuffer(image.constBits(), np.uint32, count=image.width() * image.height()).copy()


def _model(zoo, tmp_path: Path, name: str) -> str:
    if name == "deep":
        return write_deep_model(tmp_path / "deep_2000.keras", 2000)
    return str(zoo.path(name))


@pytest.mark.parametrize("name", ["resnet50", "deep"])
@pytest.mark.parametrize("collapse", [False, True])
def test_overview_pixels_match_qpainter(qtbot, zoo, tmp_path: Path, name: str, collapse: bool) -> None:
    graph = read_model(_model(zoo, tmp_path, name))
    blocks = find_blocks_safely(graph)
    collapsed = default_collapsed(blocks) if collapse else frozenset()  # the large-model rule, whatever the size
    prepared = build_prepared(graph, collapsed, "TB", blocks)
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.resize(1200, 900)
    overview = OverviewMap(parent)
    overview.set_prepared(prepared)
    ours = _pixels(overview.pixmap)
    white = QColor(255, 255, 255, 235).rgba()
    assert (ours != white).sum() > 1000  # the boxes are there
    assert np.array_equal(ours, _painted_with_qpainter(overview))
