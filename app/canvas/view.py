"""The canvas widget: a pyqtgraph ViewBox painting a prepared scene.

Wheel zooms around the cursor and a drag pans (pyqtgraph's ViewBox); a click picks the
box (or else the edge) under the cursor by array lookup, a double click toggles a block,
hovering an edge shows its tensor and shape. The canvas emits what the user did and
never changes the model; the window turns those signals into document changes.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QToolTip, QVBoxLayout, QWidget

from resect.app.canvas.items import ChunkItem, EdgeChunkItem, GroupFramesItem, OverlayItem
from resect.app.canvas.overview import OverviewMap
from resect.app.canvas.prepared import PreparedScene

READABLE_SCALE = 1.0  # screen pixels per scene unit when opening a model too tall to fit readably
MIN_FIT_SCALE = 0.55  # if fitting everything keeps boxes at least this scale, fit instead
HOVER_PX = 6.0
MAX_FIT_SCALE = 1.25  # fitting a small model never magnifies it beyond this
_PICK_MODIFIERS = Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier


class _GraphViewBox(pg.ViewBox):
    """A ViewBox that reports clicks and hovers in scene coordinates to the canvas."""

    def __init__(self, canvas: GraphCanvas) -> None:
        super().__init__(invertY=True, lockAspect=True, enableMenu=False, defaultPadding=0.02)
        self.canvas = canvas

    def mouseClickEvent(self, ev: Any) -> None:
        point = self.mapSceneToView(ev.scenePos())
        if ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & _PICK_MODIFIERS:  # editor hook
            ev.accept()
            self.canvas._shift_clicked(point.x(), point.y())
            return
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.canvas._clicked(point.x(), point.y(), ev.double())
        elif ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            self.canvas._context(point.x(), point.y(), ev.screenPos())

    def mouseDragEvent(self, ev: Any, axis: Any = None) -> None:
        # editor hook: Shift+drag draws a rubber band (Ctrl+Shift adds to the pick) instead of panning
        if ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            ev.accept()
            start = self.mapSceneToView(ev.buttonDownScenePos())
            end = self.mapSceneToView(ev.scenePos())
            additive = bool(ev.modifiers() & Qt.KeyboardModifier.ControlModifier)
            self.canvas._rubber_band(QRectF(start, end).normalized(), ev.isFinish(), additive)
            return
        super().mouseDragEvent(ev, axis)

    def hoverEvent(self, ev: Any) -> None:
        if ev.isExit():
            self.canvas._hover(None)
        else:
            point = self.mapSceneToView(ev.scenePos())
            self.canvas._hover((point.x(), point.y()))


class _View(pg.GraphicsView):
    """Reports the first paint of each new scene (for the launch benchmark)."""

    def __init__(self, canvas: GraphCanvas) -> None:
        super().__init__(background="w")
        self.canvas = canvas

    def paintEvent(self, event: Any) -> None:
        super().paintEvent(event)
        self.canvas._painted()


class GraphCanvas(QWidget):
    """Paints scenes; emits the user's picks as keys (layer or block names) and tensors."""

    box_clicked = Signal(str)
    box_double_clicked = Signal(str)
    edge_clicked = Signal(object)  # TensorRef
    background_clicked = Signal()
    context_requested = Signal(object, object)  # key or TensorRef or None, global QPoint (the editor's seam)
    boxes_picked = Signal(object, bool)  # editor seam: keys from a rubber band / shift-click, additive?
    first_paint = Signal(float)  # time.perf_counter() of the first paint of a new scene

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = _View(self)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.view.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        self.viewbox = _GraphViewBox(self)
        self.view.setCentralItem(self.viewbox)
        self.view.setObjectName("graphCanvas")
        self.overview = OverviewMap(self)
        self.overview.center_requested.connect(self.center_on)
        self.viewbox.sigRangeChanged.connect(lambda *_: self.overview.set_viewport(self.viewbox.viewRect()))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.empty_hint = QLabel(
            "<div align='center' style='color:#6b7280'><span style='font-size:16pt'><b>Open a model</b></span>"
            "<br><br>File › Open (Ctrl+O), a recent file,<br>or drop a .keras / .h5 file here</div>",
            self,
        )
        self.empty_hint.setObjectName("emptyHint")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.empty_hint.hide()

        self.prepared: PreparedScene | None = None
        self.chunk_items: list[ChunkItem] = []
        self.edge_items: list[EdgeChunkItem] = []
        self.frames_item: GroupFramesItem | None = None
        self.selection_item = OverlayItem("#e0472b", 3.0, 10)
        self.search_item = OverlayItem("#f2b705", 4.0, 9)  # outline only: a fill would muddy the box colours
        self.hover_item = OverlayItem("#e0472b", 2.5, 8)
        self.rubber_item = OverlayItem("#6741d9", 1.5, 11, fill="#186741d9")  # editor: rubber band
        for item in (self.selection_item, self.search_item, self.hover_item, self.rubber_item):
            self.viewbox.addItem(item, ignoreBounds=True)
        self.selected_keys: tuple[str, ...] = ()
        self._search_keys: tuple[str, ...] = ()
        self.hovered_edge: int | None = None
        self._awaiting_paint = False

    # --- scenes ----------------------------------------------------------------
    def set_prepared(self, prepared: PreparedScene, keep_view: bool = False) -> None:
        """Show a prepared scene; ``keep_view`` keeps zoom and position (same model, new drawing)."""
        old_range = self.viewbox.viewRect() if keep_view and self.prepared is not None else None
        same = keep_view and self._same_layout(prepared)
        if same:
            # same boxes in the same places (Keras' shapes came in): keep the items, swap what they paint
            for item, chunk in zip(self.chunk_items, prepared.chunks, strict=True):
                item.replace(prepared, chunk)
            for edge_item, edge_chunk in zip(self.edge_items, prepared.edge_chunks, strict=True):
                edge_item.replace(edge_chunk)
            self.prepared = prepared
        else:
            self._remove_items()
            self.prepared = prepared
            self.edge_items = [EdgeChunkItem(chunk) for chunk in prepared.edge_chunks]
            self.chunk_items = [ChunkItem(prepared, chunk) for chunk in prepared.chunks]
            for item in [*self.edge_items, *self.chunk_items]:
                self.viewbox.addItem(item, ignoreBounds=True)
        self._show_frames(tuple(getattr(prepared.scene, "groups", ())))
        self.hover_item.setPath(self.hover_item.path().__class__())
        self.hovered_edge = None
        if same and _same_colours(self.overview.prepared, prepared):
            self.overview.prepared = prepared  # same boxes, same colours: the map stands
        else:
            self.overview.set_prepared(prepared)
        self._awaiting_paint = True
        if old_range is not None:
            self.viewbox.setRange(old_range, padding=0)
            if not self.keys_in_rect(self.viewbox.viewRect()):  # a new layout left the view blank
                self.open_view()
        else:
            self.open_view()
        self.overview.set_viewport(self.viewbox.viewRect())
        self._refresh_overlays()

    def clear(self) -> None:
        """Show nothing (File > Close)."""
        self._remove_items()
        self._show_frames(())
        self.prepared = None
        self.overview.prepared = None
        self.overview.hide()
        self.selected_keys, self._search_keys = (), ()
        self.hover_item.show_polyline([])
        self._refresh_overlays()

    def _show_frames(self, groups: tuple) -> None:
        if self.frames_item is not None and self.frames_item.groups == groups:
            return
        if self.frames_item is not None:
            self.viewbox.removeItem(self.frames_item)
            self.frames_item = None
        if groups:
            self.frames_item = GroupFramesItem(groups)
            self.viewbox.addItem(self.frames_item, ignoreBounds=True)

    def _same_layout(self, prepared: PreparedScene) -> bool:
        old = self.prepared
        return (
            old is not None
            and old.keys == prepared.keys
            and np.array_equal(old.rects, prepared.rects)
            and len(self.chunk_items) == len(prepared.chunks)
            and len(self.edge_items) == len(prepared.edge_chunks)
            and all(item.same_place(chunk) for item, chunk in zip(self.chunk_items, prepared.chunks, strict=True))
            and all(
                item.chunk.bounds == chunk.bounds
                for item, chunk in zip(self.edge_items, prepared.edge_chunks, strict=True)
            )
        )

    def _remove_items(self) -> None:
        for item in [*self.chunk_items, *self.edge_items]:
            self.viewbox.removeItem(item)
        self.chunk_items, self.edge_items = [], []

    def _painted(self) -> None:
        if self._awaiting_paint and self.prepared is not None:
            self._awaiting_paint = False
            self.first_paint.emit(time.perf_counter())

    # --- view ------------------------------------------------------------------
    def scale(self) -> float:
        """Screen pixels per scene unit."""
        rect = self.viewbox.viewRect()
        width = self.viewbox.width()
        return width / rect.width() if rect.width() > 0 else 1.0

    def fit(self) -> None:
        """Show the whole graph, but never blown up beyond ``MAX_FIT_SCALE`` (a 7-layer model
        fitted to a big window would have 30-pixel text)."""
        if self.prepared is None:
            return
        bounds = self.prepared.bounds
        width, height = max(self.viewbox.width(), 100.0), max(self.viewbox.height(), 100.0)
        scale = min(width / max(bounds.width() * 1.04, 1.0), height / max(bounds.height() * 1.04, 1.0))
        if scale <= MAX_FIT_SCALE:
            self.viewbox.setRange(bounds, padding=0.02)
            return
        target = QRectF(0, 0, width / MAX_FIT_SCALE, height / MAX_FIT_SCALE)
        target.moveCenter(bounds.center())
        self.viewbox.setRange(target, padding=0)

    def open_view(self) -> None:
        """Fit when that keeps text readable; otherwise start at a readable scale on the inputs."""
        prepared = self.prepared
        if prepared is None:
            return
        bounds = prepared.bounds
        width, height = max(self.viewbox.width(), 200.0), max(self.viewbox.height(), 200.0)
        fit_scale = min(width / max(bounds.width(), 1.0), height / max(bounds.height(), 1.0))
        if fit_scale >= MIN_FIT_SCALE:
            self.fit()
            return
        view_w, view_h = width / READABLE_SCALE, height / READABLE_SCALE
        anchors = prepared.rects[prepared.inputs] if prepared.inputs else prepared.rects[:1]
        tall = bounds.height() >= bounds.width()
        if tall:  # top-to-bottom: start at the top, centred on the inputs
            cx = float((anchors[:, 0] + anchors[:, 2] / 2).mean())
            if bounds.width() <= view_w:  # the whole width fits: centre the graph
                left = bounds.center().x() - view_w / 2
            else:
                left = min(max(cx - view_w / 2, bounds.left()), bounds.right() - view_w)
            rect = QRectF(left, bounds.top(), view_w, view_h)
        else:  # left-to-right: start at the left, centred on the inputs
            cy = float((anchors[:, 1] + anchors[:, 3] / 2).mean())
            if bounds.height() <= view_h:
                top = bounds.center().y() - view_h / 2
            else:
                top = min(max(cy - view_h / 2, bounds.top()), bounds.bottom() - view_h)
            rect = QRectF(bounds.left(), top, view_w, view_h)
        self.viewbox.setRange(rect, padding=0)

    def follow(self, keys: tuple[str, ...]) -> None:
        """After an edit: keep the user's focus on what changed. The whole graph when it
        fits readably; else the region of ``keys`` (new inputs / outputs / layers) when it
        does, else the first of them at a readable scale; never a blank view."""
        prepared = self.prepared
        if prepared is None:
            return
        keys = tuple(k for k in keys if k in prepared.index)
        bounds = prepared.bounds
        width, height = max(self.viewbox.width(), 200.0), max(self.viewbox.height(), 200.0)
        if min(width / max(bounds.width(), 1.0), height / max(bounds.height(), 1.0)) >= MIN_FIT_SCALE or not keys:
            if not keys or not self.keys_in_rect(self.viewbox.viewRect()):
                self.open_view()
            else:
                self.fit()
            return
        region = QRectF()
        for key in keys:
            region = region.united(prepared.rect_of(key))
        region = region.adjusted(-40, -40, 40, 40)
        if min(width / region.width(), height / region.height()) >= MIN_FIT_SCALE:
            scale = min(READABLE_SCALE, width / region.width(), height / region.height())
            target = QRectF(0, 0, width / scale, height / scale)
            target.moveCenter(region.center())
        else:
            scale = min(max(self.scale(), MIN_FIT_SCALE), READABLE_SCALE)
            target = QRectF(0, 0, width / scale, height / scale)
            target.moveCenter(prepared.rect_of(keys[0]).center())
        self.viewbox.setRange(target, padding=0)

    def center_on(self, point: QPointF) -> None:
        rect = self.viewbox.viewRect()
        rect.moveCenter(point)
        self.viewbox.setRange(rect, padding=0)

    def zoom_to_keys(self, keys: tuple[str, ...] | None = None) -> None:
        """Show the given (default: selected) boxes at no more than twice the natural size."""
        prepared = self.prepared
        keys = tuple(k for k in (keys if keys is not None else self.selected_keys) if prepared and k in prepared.index)
        if prepared is None or not keys:
            return
        rect = QRectF()
        for key in keys:
            rect = rect.united(prepared.rect_of(key))
        width, height = max(self.viewbox.width(), 100.0), max(self.viewbox.height(), 100.0)
        scale = min(2.0, width / (rect.width() * 1.4 + 1), height / (rect.height() * 1.4 + 1))
        scale = max(scale, 0.05)
        target = QRectF(0, 0, width / scale, height / scale)
        target.moveCenter(rect.center())
        self.viewbox.setRange(target, padding=0)

    def ensure_visible(self, key: str) -> None:
        """Scroll (not zoom) so ``key`` is on screen; zoom in if boxes are too small to read."""
        prepared = self.prepared
        if prepared is None or key not in prepared.index:
            return
        if self.scale() < 0.35:
            self.zoom_to_keys((key,))
            return
        rect = prepared.rect_of(key)
        if not self.viewbox.viewRect().contains(rect):
            self.center_on(rect.center())

    # --- overlays --------------------------------------------------------------
    def set_selected(self, keys: tuple[str, ...]) -> None:
        self.selected_keys = tuple(keys)
        self._refresh_overlays()

    def set_search_hits(self, keys: tuple[str, ...]) -> None:
        self._search_keys = tuple(keys)
        self._refresh_overlays()

    def show_tensor(self, edge_index: int | None) -> None:
        prepared = self.prepared
        if prepared is None or edge_index is None:
            self.hover_item.show_polyline([])
        else:
            self.hover_item.show_polyline(list(prepared.scene.edges[edge_index].points))

    def _refresh_overlays(self) -> None:
        prepared = self.prepared
        keys = [k for k in self.selected_keys if prepared and k in prepared.index]
        self.selection_item.show_rects([prepared.rect_of(k) for k in keys] if prepared else [])
        hits = [k for k in self._search_keys if prepared and k in prepared.index]
        self.search_item.show_rects([prepared.rect_of(k) for k in hits] if prepared else [], margin=5.0)

    # --- input -----------------------------------------------------------------
    def _pick(self, x: float, y: float) -> tuple[str | None, int | None]:
        prepared = self.prepared
        if prepared is None:
            return None, None
        key = prepared.box_at(x, y)
        if key is not None:
            return key, None
        return None, prepared.edge_near(x, y, HOVER_PX / max(self.scale(), 1e-6))

    def _clicked(self, x: float, y: float, double: bool) -> None:
        key, edge = self._pick(x, y)
        if key is not None:
            (self.box_double_clicked if double else self.box_clicked).emit(key)
        elif edge is not None and self.prepared is not None:
            self.edge_clicked.emit(self.prepared.scene.edges[edge].tensor)
        elif not double:
            self.background_clicked.emit()

    def _context(self, x: float, y: float, screen_pos: Any) -> None:
        key, edge = self._pick(x, y)
        target = key if key is not None else (self.prepared.scene.edges[edge].tensor if edge is not None else None)
        self.context_requested.emit(target, screen_pos.toPoint())

    # --- editor picking (rubber band, shift / ctrl-click) -------------------------
    def keys_in_rect(self, rect: QRectF) -> tuple[str, ...]:
        """Keys of the boxes that intersect ``rect`` (scene units)."""
        prepared = self.prepared
        if prepared is None or not len(prepared.rects):
            return ()
        r = prepared.rects
        hit = (r[:, 0] <= rect.right()) & (r[:, 0] + r[:, 2] >= rect.left())
        hit &= (r[:, 1] <= rect.bottom()) & (r[:, 1] + r[:, 3] >= rect.top())
        return tuple(prepared.keys[int(i)] for i in hit.nonzero()[0])

    def _rubber_band(self, rect: QRectF, finished: bool, additive: bool) -> None:
        if not finished:
            self.rubber_item.show_rects([rect], margin=0.0)
            return
        self.rubber_item.show_rects([])
        self.boxes_picked.emit(self.keys_in_rect(rect), additive)

    def _shift_clicked(self, x: float, y: float) -> None:
        key, _ = self._pick(x, y)
        if key is not None:
            self.boxes_picked.emit((key,), True)

    def _hover(self, point: tuple[float, float] | None) -> None:
        edge = None
        if point is not None:
            key, edge = self._pick(*point)
        if edge == self.hovered_edge:
            return
        self.hovered_edge = edge
        self.show_tensor(edge)
        if edge is None or self.prepared is None:
            QToolTip.hideText()
            self.view.setToolTip("")
            return
        info = self.edge_tooltip(edge)
        self.view.setToolTip(info)
        QToolTip.showText(self.view.cursor().pos(), info, self.view)

    def edge_tooltip(self, edge_index: int) -> str:
        edge = self.prepared.scene.edges[edge_index]
        return f"{edge.tensor}  {edge.label or '(shape unknown)'}\n{edge.source} → {edge.target}"

    # --- scripted use (benchmark, tests) ---------------------------------------
    def scene_point_to_widget(self, x: float, y: float) -> Any:
        """Where a scene point is, in ``self.view`` viewport coordinates."""
        scene_point = self.viewbox.mapViewToScene(QPointF(x, y))
        return self.view.mapFromScene(scene_point)

    def set_empty_hint(self, visible: bool) -> None:
        """The empty window says what to do first."""
        self.empty_hint.setGeometry(self.rect())
        self.empty_hint.setVisible(visible)
        if visible:
            self.empty_hint.raise_()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.overview.place()
        self.empty_hint.setGeometry(self.rect())


def _same_colours(old: PreparedScene | None, new: PreparedScene) -> bool:
    return (
        old is not None
        and old.by_stroke.keys() == new.by_stroke.keys()
        and all(np.array_equal(old.by_stroke[c], new.by_stroke[c]) for c in new.by_stroke)
    )
