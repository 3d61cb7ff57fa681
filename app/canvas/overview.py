"""The overview map: the whole graph in miniature with the visible region outlined.

Drawn once per scene into a pixmap from the box arrays (no layout of its own); a click or
drag centres the main view there. It floats in the canvas' bottom-right corner and hides
itself when the whole graph is already on screen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from resect.app.canvas.prepared import PreparedScene

MAX_SIDE = 180
MIN_SHORT_SIDE = 56


def raster(prepared: PreparedScene, sx: float, sy: float, width: int, height: int) -> np.ndarray:
    """The map's pixels (``height x width`` ARGB32 words) in NumPy: each box filled with its
    stroke colour, at least one pixel, over translucent white. Building a QRectF per box for
    ``QPainter.drawRects`` cost about 150 ms of UI-thread Python at 20,000 boxes (a plain
    loop 250 ms); this is a few milliseconds of array work. Boxes that cover the map many
    times over (20,000 layers in 180 px: 85 ms pixel by pixel) go through ``_coverage``."""
    pixels = np.full((height, width), QColor(255, 255, 255, 235).rgba(), dtype=np.uint32)
    bounds = prepared.bounds
    for colour, indices in prepared.by_stroke.items():
        r = prepared.rects[indices]
        x, y = 4 + (r[:, 0] - bounds.x()) * sx, 4 + (r[:, 1] - bounds.y()) * sy
        # pixels whose centres lie in the box, as QPainter fills them; never less than one
        x0 = np.clip(np.rint(x), 0, width - 1).astype(np.int64)
        y0 = np.clip(np.rint(y), 0, height - 1).astype(np.int64)
        w = np.clip(np.rint(x + np.maximum(r[:, 2] * sx, 1.0)) - x0, 1, width - x0).astype(np.int64)
        h = np.clip(np.rint(y + np.maximum(r[:, 3] * sy, 1.0)) - y0, 1, height - y0).astype(np.int64)
        counts = w * h
        if int(counts.sum()) > 2 * width * height:  # boxes overlap a lot: a coverage grid
            covered = _coverage(x0, y0, x0 + w, y0 + h, width, height)
            pixels[covered] = QColor(colour).rgba()
            continue
        box = np.repeat(np.arange(len(r)), counts)  # one entry per covered pixel
        offset = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        pixels[y0[box] + offset // w[box], x0[box] + offset % w[box]] = QColor(colour).rgba()
    return pixels


def _coverage(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, width: int, height: int) -> np.ndarray:
    """Which pixels the boxes ``[x0, x1) x [y0, y1)`` cover: +1/-1 at each box's corners,
    then running sums along both axes; the cost follows the boxes and the map, not the
    pixels covered."""
    stride = width + 1
    corners = np.concatenate([y0 * stride + x0, y0 * stride + x1, y1 * stride + x0, y1 * stride + x1])
    signs = np.repeat(np.array([1.0, -1.0, -1.0, 1.0]), len(x0))
    grid = np.bincount(corners, weights=signs, minlength=(height + 1) * stride).reshape(height + 1, stride)
    return grid.cumsum(axis=0).cumsum(axis=1)[:height, :width] > 0.5


class OverviewMap(QWidget):
    center_requested = Signal(QPointF)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("overviewMap")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.prepared: PreparedScene | None = None
        self.pixmap = QPixmap()
        self.viewport = QRectF()
        self.side = MAX_SIDE  # the long side in px: at most MAX_SIDE, 30% of a small canvas
        self._sx = self._sy = 1.0
        self.hide()

    def set_prepared(self, prepared: PreparedScene) -> None:
        self.prepared = prepared
        bounds = prepared.bounds
        # a fixed small size: scaled with the canvas it grew to a third of it and covered the graph
        long_side = max(bounds.width(), bounds.height(), 1.0)
        parent = self.parentWidget()
        room = min(parent.width(), parent.height()) if parent is not None else 0
        side = self.side = min(MAX_SIDE, max(80, int(room * 0.3))) if room > 0 else MAX_SIDE
        scale = side / long_side
        # a long thin graph would be a hairline: stretch the short side to a usable width
        tall = bounds.height() >= bounds.width()
        self._sx = max(scale, MIN_SHORT_SIDE / max(bounds.width(), 1.0)) if tall else scale
        self._sy = scale if tall else max(scale, MIN_SHORT_SIDE / max(bounds.height(), 1.0))
        self._sx = min(self._sx, side / max(bounds.width(), 1.0))  # the stretch stays within the map
        self._sy = min(self._sy, side / max(bounds.height(), 1.0))
        width = max(24, int(bounds.width() * self._sx) + 8)
        height = max(24, int(bounds.height() * self._sy) + 8)
        self.resize(width, height)
        self.setVisible(not self.viewport.contains(bounds))
        pixels = raster(prepared, self._sx, self._sy, width, height)
        self.pixmap = QPixmap.fromImage(
            QImage(pixels.data, width, height, width * 4, QImage.Format.Format_ARGB32).copy()
        )
        self.place()

    def _to_map(self, rect: QRectF) -> QRectF:
        bounds = self.prepared.bounds
        sx, sy = self._sx, self._sy
        return QRectF(
            4 + (rect.x() - bounds.x()) * sx, 4 + (rect.y() - bounds.y()) * sy, rect.width() * sx, rect.height() * sy
        )

    def set_viewport(self, rect: QRectF) -> None:
        self.viewport = QRectF(rect)
        if self.prepared is not None:
            self.setVisible(not rect.contains(self.prepared.bounds))
        self.update()

    def place(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.move(parent.width() - self.width() - 12, parent.height() - self.height() - 12)
            self.raise_()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self.pixmap)
        painter.setPen(QPen(QColor("#9aa4b5"), 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        if self.prepared is not None and not self.viewport.isNull():
            painter.setPen(QPen(QColor("#e0472b"), 1.5))
            painter.setBrush(QColor(224, 71, 43, 30))
            painter.drawRect(self._to_map(self.viewport).intersected(QRectF(self.rect())))
        painter.end()

    def _center_at(self, position: Any) -> None:
        if self.prepared is None:
            return
        bounds = self.prepared.bounds
        x = bounds.x() + (position.x() - 4) / self._sx
        y = bounds.y() + (position.y() - 4) / self._sy
        self.center_requested.emit(QPointF(x, y))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._center_at(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._center_at(event.position())
