"""Graphics items that paint many boxes each (DESIGN.md: one item per node is 50x slower).

A ``ChunkItem`` paints ~128 boxes: rectangles batched by colour in one call per colour,
text only for boxes that are exposed and at least a few pixels tall on screen. Edges are
one ``QGraphicsPathItem`` with a cosmetic pen. Overlays (selection, search hits, hovered
edge) are separate small items, so selecting never repaints the chunks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from resect.app.canvas.prepared import Chunk, EdgeChunk, PreparedScene

TITLE_PX = 12
SUBTITLE_PX = 10
MIN_TEXT_PX = 6.0  # below this on-screen size text is unreadable: draw boxes only
MIN_OUTLINE_PX = 4.0  # below this box height draw filled rects without outlines


def _font(pixels: int, bold: bool = False) -> QFont:
    font = QFont("DejaVu Sans")
    font.setPixelSize(pixels)
    font.setBold(bold)
    return font


class ChunkItem(QGraphicsItem):
    """Paints one chunk of the prepared scene."""

    _title_font: QFont | None = None
    _subtitle_font: QFont | None = None

    def __init__(self, prepared: PreparedScene, chunk: Chunk) -> None:
        super().__init__()
        self.prepared = prepared
        self.chunk = chunk
        self._bounds = chunk.bounds.adjusted(-2, -2, 2, 2)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._brushes = {key: (QBrush(QColor(key[0])), QPen(QColor(key[1]), 1.2)) for key in chunk.groups}
        for _, pen in self._brushes.values():
            pen.setCosmetic(False)
        self.paint_count = 0

    def same_place(self, chunk: Chunk) -> bool:
        """Does ``chunk`` cover the same boxes at the same place (only texts may differ)?"""
        return self.chunk.bounds == chunk.bounds and np.array_equal(self.chunk.indices, chunk.indices)

    def replace(self, prepared: PreparedScene, chunk: Chunk) -> None:
        """Show ``chunk`` of a new scene in this item (same boxes: see ``same_place``)."""
        self.prepared = prepared
        if set(chunk.groups) != set(self.chunk.groups):
            self._brushes = {key: (QBrush(QColor(key[0])), QPen(QColor(key[1]), 1.2)) for key in chunk.groups}
        self.chunk = chunk
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        self.paint_count += 1
        scale = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        box_px = 44.0 * scale
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, box_px >= 20)
        if box_px < MIN_OUTLINE_PX:  # far out: solid boxes in the stroke colour, at least a pixel each
            for rects, (_, pen) in self._groups():
                far_pen = QPen(pen.color(), 1)
                far_pen.setCosmetic(True)
                painter.setPen(far_pen)
                painter.setBrush(pen.color())
                painter.drawRects(rects)
            return
        for rects, (brush, pen) in self._groups():
            painter.setBrush(brush)
            painter.setPen(pen)
            if box_px < 20:
                painter.drawRects(rects)
            else:
                for rect in rects:
                    painter.drawRoundedRect(rect, 6.0, 6.0)
        painter.setPen(Qt.PenStyle.NoPen)
        for colour, bands in self.chunk.bands.items():  # the calls of one shared layer
            painter.setBrush(QColor(colour))
            painter.drawRects(bands)
        if TITLE_PX * scale < MIN_TEXT_PX:
            return
        self._paint_text(painter, option.exposedRect, scale)

    def _groups(self) -> list[tuple[list[QRectF], tuple[QBrush, QPen]]]:
        return [(rects, self._brushes[key]) for key, rects in self.chunk.groups.items()]

    def _paint_text(self, painter: QPainter, exposed: QRectF, scale: float) -> None:
        if ChunkItem._title_font is None:
            ChunkItem._title_font = _font(TITLE_PX, bold=True)
            ChunkItem._subtitle_font = _font(SUBTITLE_PX)
        boxes = self.prepared.scene.boxes
        with_subtitle = SUBTITLE_PX * scale >= MIN_TEXT_PX
        flags = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter)
        painter.setPen(QColor("#1a1a1a"))
        visible = [(i, r) for i, r in zip(self.chunk.indices, self.chunk.rects, strict=True) if r.intersects(exposed)]
        painter.setFont(ChunkItem._title_font)
        for i, rect in visible:
            box = boxes[int(i)]
            top = rect.adjusted(4, 2, -4, -rect.height() / 2 + 2) if with_subtitle and box.subtitle else rect
            painter.drawText(top, flags, str(box.title))
        if not with_subtitle:
            return
        painter.setFont(ChunkItem._subtitle_font)
        painter.setPen(QColor("#555555"))
        for i, rect in visible:
            box = boxes[int(i)]
            if box.subtitle:
                bottom = rect.adjusted(4, rect.height() / 2 - 2, -4, -2)
                text = str(box.subtitle) + (f"  ·  {box.badge}" if getattr(box, "badge", "") else "")
                painter.drawText(bottom, flags, text)


class EdgeChunkItem(QGraphicsItem):
    """A stretch of edges: one cosmetic 1-pixel path; arrowheads and antialiasing only when
    zoomed in far enough for them to show."""

    def __init__(self, chunk: EdgeChunk) -> None:
        super().__init__()
        self.chunk = chunk
        self._bounds = chunk.bounds.adjusted(-2, -2, 2, 2)
        self._pen = QPen(QColor("#8a94a6"), 1.2)
        self._pen.setCosmetic(True)
        self.setZValue(-1)

    def replace(self, chunk: EdgeChunk) -> None:
        """New paths within the same bounds (the caller checked ``chunk.bounds``)."""
        self.chunk = chunk
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        scale = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        near = scale * 44.0 >= 12
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, near)
        painter.setPen(self._pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.chunk.lines)
        if near:
            painter.drawPath(self.chunk.arrows)


class GroupFramesItem(QGraphicsItem):
    """The frames around expanded nested models (``Scene.groups``, as the SVG draws them):
    without them a nested model's inner layers read as part of the outer graph, and the
    second call of a model called twice looks like a merge. Few items: one item for all."""

    def __init__(self, groups: tuple[Any, ...]) -> None:
        super().__init__()
        self.groups = groups
        self._rects = [QRectF(g.x, g.y, g.w, g.h) for g in groups]
        bounds = QRectF()
        for rect in self._rects:
            bounds = bounds.united(rect)
        self._bounds = bounds.adjusted(-2, -2, 2, 2)
        self.setZValue(-2)  # behind edges and boxes

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        scale = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for group, rect in zip(self.groups, self._rects, strict=True):
            pen = QPen(QColor(group.stroke), 1.2)
            pen.setCosmetic(True)
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(QColor(group.fill))
            painter.drawRoundedRect(rect, 9.0, 9.0)
        if SUBTITLE_PX * scale < MIN_TEXT_PX:
            return
        painter.setFont(_font(SUBTITLE_PX, bold=True))
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        for group, rect in zip(self.groups, self._rects, strict=True):
            painter.setPen(QColor(group.stroke).darker(220))  # the frame's own colour is too faint for text
            painter.drawText(rect.adjusted(8, 4, -8, -4), flags, str(group.title))


class OverlayItem(QGraphicsPathItem):
    """Outlines of some boxes or one edge (selection, search hits, hover)."""

    def __init__(self, colour: str, width: float, z: float, fill: str | None = None) -> None:
        super().__init__()
        pen = QPen(QColor(colour), width)
        pen.setCosmetic(True)
        self.setPen(pen)
        if fill:
            self.setBrush(QBrush(QColor(fill)))
        self.setZValue(z)
        self.setAcceptHoverEvents(False)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def show_rects(self, rects: list[QRectF], margin: float = 3.0) -> None:
        path = QPainterPath()
        for rect in rects:
            path.addRoundedRect(rect.adjusted(-margin, -margin, margin, margin), 7.0, 7.0)
        self.setPath(path)

    def show_polyline(self, points: list[Any]) -> None:
        path = QPainterPath()
        if points:
            path.moveTo(float(points[0][0]), float(points[0][1]))
            for point in points[1:]:
                path.lineTo(float(point[0]), float(point[1]))
        self.setPath(path)
