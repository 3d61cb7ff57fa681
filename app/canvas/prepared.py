"""A Scene turned into what the canvas paints: box arrays, chunks of ~128 boxes, one edge
path and the segment arrays used for picking. Built on a worker thread (``QPainterPath``
and ``QRectF`` are plain values, safe off the UI thread), so the UI only adds items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainterPath

from resect.core.layout.visible import layer_of_box

CHUNK_SIZE = 128
CALL_BAND_WIDTH = 6.0  # core.render.style.CALL_BAND_WIDTH (the SVG draws the same band)
EDGE_CHUNK_SIZE = 128
ARROW = 5.0


@dataclass
class Chunk:
    """Boxes painted by one item: indices into the prepared arrays, grouped for batching."""

    indices: np.ndarray
    bounds: QRectF
    rects: list[QRectF]
    groups: dict[tuple[str, str], list[QRectF]]  # (fill, stroke) -> rects
    bands: dict[str, list[QRectF]] = field(default_factory=dict)  # colour -> call bands of shared layers


@dataclass
class EdgeChunk:
    """Edges painted by one item: polylines and arrowheads in separate paths (arrows are
    skipped when too small to see), with bounds so off-screen chunks are never painted."""

    lines: QPainterPath
    arrows: QPainterPath
    bounds: QRectF


@dataclass
class PreparedScene:
    scene: Any
    keys: list[str]
    index: dict[str, int]
    rects: np.ndarray  # (n, 4): x, y, w, h (top-left corner, scene units)
    chunks: list[Chunk]
    edge_chunks: list[EdgeChunk]
    segments: np.ndarray  # (m, 4): x0, y0, x1, y1
    segment_edge: np.ndarray  # (m,): edge index of each segment
    bounds: QRectF
    inputs: list[int] = field(default_factory=list)  # indices of input boxes
    owner: dict[str, str] = field(default_factory=dict)  # layer key -> key of the box drawing it
    by_stroke: dict[str, np.ndarray] = field(default_factory=dict)  # stroke colour -> box indices (overview)
    later_calls: dict[str, tuple[str, ...]] = field(default_factory=dict)  # shared layer -> boxes of calls 2..n

    def calls_of(self, layer: str) -> tuple[str, ...]:
        """Every box drawing a call of ``layer`` (one for an unshared layer)."""
        first = self.owner.get(layer)
        return () if first is None else (first, *self.later_calls.get(layer, ()))

    def call_boxes(self, layer: str) -> tuple[str, ...]:
        """The boxes of a shared layer's calls in call order (``enc2``, ``enc2:1``, ...;
        ``calls_of`` lists them in drawing order); one box or none otherwise."""
        first, later = self.owner.get(layer), self.later_calls.get(layer, ())
        if first is None:
            return ()
        return (first, *sorted(later, key=lambda key: int(key.rpartition(":")[2])))

    def call_position(self, key: str) -> int | None:
        """Which call (0-based, in call order) the box ``key`` draws when its layer is
        shared; ``None`` for any other box (a click on it is about the whole layer)."""
        calls = self.call_boxes(layer_of_box(key))
        return calls.index(key) if len(calls) > 1 and key in calls else None

    def box(self, key: str) -> Any:
        return self.scene.boxes[self.index[key]]

    def rect_of(self, key: str) -> QRectF:
        x, y, w, h = self.rects[self.index[key]]
        return QRectF(float(x), float(y), float(w), float(h))

    def box_at(self, x: float, y: float) -> str | None:
        r = self.rects
        if not len(r):
            return None
        hit = np.nonzero((r[:, 0] <= x) & (x <= r[:, 0] + r[:, 2]) & (r[:, 1] <= y) & (y <= r[:, 1] + r[:, 3]))[0]
        return self.keys[int(hit[-1])] if len(hit) else None

    def edge_near(self, x: float, y: float, tolerance: float) -> int | None:
        """Index of the edge whose polyline passes within ``tolerance`` of (x, y)."""
        s = self.segments
        if not len(s):
            return None
        x0, y0, x1, y1 = s[:, 0], s[:, 1], s[:, 2], s[:, 3]
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        t = np.clip(((x - x0) * dx + (y - y0) * dy) / np.where(length2 == 0, 1, length2), 0, 1)
        dist2 = (x0 + t * dx - x) ** 2 + (y0 + t * dy - y) ** 2
        best = int(np.argmin(dist2))
        return int(self.segment_edge[best]) if dist2[best] <= tolerance * tolerance else None


def box_rect(box: Any) -> tuple[float, float, float, float]:
    """A Box's rectangle as top-left x, y, w, h (the Scene's own convention)."""
    return float(box.x), float(box.y), float(box.w), float(box.h)


def scene_bounds(scene: Any, rects: np.ndarray) -> QRectF:
    bounds = getattr(scene, "bounds", None)
    if bounds is not None and len(bounds) == 4:
        x0, y0, x1, y1 = (float(v) for v in bounds)
        if x1 > x0 and y1 > y0:
            return QRectF(x0, y0, x1 - x0, y1 - y0)
    if not len(rects):
        return QRectF(0, 0, 1, 1)
    x0, y0 = rects[:, 0].min(), rects[:, 1].min()
    x1, y1 = (rects[:, 0] + rects[:, 2]).max(), (rects[:, 1] + rects[:, 3]).max()
    return QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def prepare(scene: Any) -> PreparedScene:
    """Everything the canvas needs from ``scene``, computed once per scene (with the cyclic
    GC paused, as the layout does: its passes over a 20,000-layer heap cost more than the work)."""
    from resect.core.perf import paused_gc

    with paused_gc():
        return _prepare(scene)


def _prepare(scene: Any) -> PreparedScene:
    boxes = list(scene.boxes)
    keys = [str(box.key) for box in boxes]
    index = {key: i for i, key in enumerate(keys)}
    rects = np.array([box_rect(box) for box in boxes], dtype=np.float64).reshape(-1, 4)
    chunks = _chunks(boxes, rects)
    edge_chunks, segments, owners = _edges(scene)
    inputs = [i for i, box in enumerate(boxes) if getattr(box, "kind", "") == "input"]
    owner = {layer: str(box.key) for box in boxes for layer in (getattr(box, "layers", ()) or (box.key,))}
    bounds = scene_bounds(scene, rects)
    strokes: dict[str, list[int]] = {}
    for i, box in enumerate(boxes):
        strokes.setdefault(str(box.stroke), []).append(i)
    by_stroke = {colour: np.array(indices, dtype=np.int64) for colour, indices in strokes.items()}
    later: dict[str, list[str]] = {}
    for box in boxes:
        if getattr(box, "band", ""):
            layer = layer_of_box(str(box.key))
            if layer != box.key:
                later.setdefault(layer, []).append(str(box.key))
    later_calls = {layer: tuple(keys) for layer, keys in later.items()}
    return PreparedScene(
        scene, keys, index, rects, chunks, edge_chunks, segments, owners, bounds, inputs, owner, by_stroke, later_calls
    )


def _chunks(boxes: list[Any], rects: np.ndarray) -> list[Chunk]:
    """Spatially compact groups: sort by band (about 8 box heights) then position."""
    if not len(boxes):
        return []
    band = max(1.0, float(np.median(rects[:, 3])) * 8)
    order = np.lexsort((rects[:, 0], np.floor(rects[:, 1] / band)))
    chunks = []
    for start in range(0, len(order), CHUNK_SIZE):
        indices = order[start : start + CHUNK_SIZE]
        part = rects[indices]
        x0, y0 = part[:, 0].min(), part[:, 1].min()
        x1, y1 = (part[:, 0] + part[:, 2]).max(), (part[:, 1] + part[:, 3]).max()
        qrects = [QRectF(*map(float, r)) for r in part]
        groups: dict[tuple[str, str], list[QRectF]] = {}
        bands: dict[str, list[QRectF]] = {}
        for i, q in zip(indices, qrects, strict=True):
            box = boxes[int(i)]
            groups.setdefault((str(box.fill), str(box.stroke)), []).append(q)
            if getattr(box, "band", ""):
                bands.setdefault(box.band, []).append(QRectF(q.x(), q.y(), CALL_BAND_WIDTH, q.height()))
        chunks.append(Chunk(indices, QRectF(x0, y0, x1 - x0, y1 - y0), qrects, groups, bands))
    return chunks


def _edges(scene: Any) -> tuple[list[EdgeChunk], np.ndarray, np.ndarray]:
    """Edge chunks grouped by where the edge starts (so each chunk covers one stretch of
    the graph) plus the segment arrays used for picking."""
    segments: list[tuple[float, float, float, float]] = []
    owners: list[int] = []
    edges = [(e, [(float(p[0]), float(p[1])) for p in edge.points]) for e, edge in enumerate(scene.edges)]
    edges = [(e, points) for e, points in edges if len(points) >= 2]
    for e, points in edges:
        for a, b in zip(points, points[1:], strict=False):
            segments.append((a[0], a[1], b[0], b[1]))
            owners.append(e)
    edges.sort(key=lambda item: (item[1][0][1], item[1][0][0]) if scene.direction != "LR" else item[1][0])
    chunks = []
    for start in range(0, len(edges), EDGE_CHUNK_SIZE):
        lines, arrows = QPainterPath(), QPainterPath()
        for _, points in edges[start : start + EDGE_CHUNK_SIZE]:
            lines.moveTo(QPointF(*points[0]))
            for point in points[1:]:
                lines.lineTo(QPointF(*point))
            _arrow(arrows, points[-2], points[-1])
        chunks.append(EdgeChunk(lines, arrows, lines.boundingRect().united(arrows.boundingRect())))
    return chunks, np.array(segments, dtype=np.float64).reshape(-1, 4), np.array(owners, dtype=np.int64)


def _arrow(path: QPainterPath, a: tuple[float, float], b: tuple[float, float]) -> None:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = (dx * dx + dy * dy) ** 0.5
    if length == 0:
        return
    ux, uy = dx / length, dy / length
    for side in (1, -1):
        path.moveTo(QPointF(b[0] - ARROW * ux + side * ARROW * 0.6 * uy, b[1] - ARROW * uy - side * ARROW * 0.6 * ux))
        path.lineTo(QPointF(*b))
