"""Edit state painted over the canvas: new layers, frozen layers, new inputs / outputs,
removed layers (greyed when the original is shown), the pick, single-tensor cut points
and crossing skip tensors.

Each kind is one ``OverlayItem`` path (cheap to replace, never repaints the chunks); the
model is never touched. Keys come from the canvas' ``owner`` map, so a collapsed block
is marked when any layer inside it is.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QRectF

from resect.app.canvas.items import OverlayItem
from resect.core.tensor_ref import TensorRef

STYLES = {  # name: (stroke, width, z, fill)
    "removed": ("#9aa0a6", 1.0, 5.0, "#b8eceff1"),
    "frozen": ("#1c7ed6", 2.0, 6.0, "#301c7ed6"),
    "new": ("#2f9e44", 3.0, 6.5, "#402f9e44"),
    "io": ("#ae3ec9", 3.5, 7.0, None),
    "cutpoints": ("#0ca678", 2.0, 7.5, None),
    "picked": ("#6741d9", 2.5, 8.5, "#386741d9"),
    "crossing": ("#f03e3e", 4.0, 9.5, None),
}

LEGEND = (
    ("new", "new"),
    ("frozen", "frozen"),
    ("io", "new in/out"),
    ("removed", "removed (original view)"),
    ("picked", "picked"),
    ("cutpoints", "cut point"),
    ("crossing", "crossing skip"),
)


class EditOverlays:
    """Owns one overlay item per kind on ``canvas``; ``show(kind, keys)`` marks boxes."""

    def __init__(self, canvas) -> None:  # noqa: ANN001 - app.canvas.GraphCanvas
        self.canvas = canvas
        self.items: dict[str, OverlayItem] = {}
        self.keys: dict[str, tuple[str, ...]] = {}
        self.tensors: tuple[TensorRef, ...] = ()
        for kind, (stroke, width, z, fill) in STYLES.items():
            item = OverlayItem(stroke, width, z, fill=fill)
            canvas.viewbox.addItem(item, ignoreBounds=True)
            self.items[kind] = item
            self.keys[kind] = ()

    def box_keys(self, layers: Iterable[str]) -> tuple[str, ...]:
        """Canvas keys drawing the given layer keys (their box, or the collapsed block holding them)."""
        prepared = self.canvas.prepared
        if prepared is None:
            return ()
        found: dict[str, None] = {}
        for layer in layers:
            key = prepared.owner.get(layer)
            if key is None and layer in prepared.index:
                key = layer
            if key is not None:
                found[key] = None
        return tuple(found)

    def show(self, kind: str, keys: Iterable[str], margin: float = 2.0) -> None:
        prepared = self.canvas.prepared
        keys = tuple(k for k in keys if prepared is not None and k in prepared.index)
        self.keys[kind] = keys
        rects: list[QRectF] = [prepared.rect_of(k) for k in keys] if prepared is not None else []
        self.items[kind].show_rects(rects, margin=margin)

    def show_layers(self, kind: str, layers: Iterable[str], margin: float = 2.0) -> None:
        self.show(kind, self.box_keys(layers), margin)

    def show_tensors(self, tensors: Iterable[TensorRef]) -> None:
        """Draw the edges carrying ``tensors`` (crossing skip connections) in red."""
        prepared = self.canvas.prepared
        self.tensors = tuple(tensors)
        wanted = set(self.tensors)
        item = self.items["crossing"]
        if prepared is None or not wanted:
            item.show_polyline([])
            return
        from PySide6.QtGui import QPainterPath

        path = QPainterPath()
        for edge in prepared.scene.edges:
            if wanted.intersection(edge.tensors or (edge.tensor,)):
                points = edge.points
                path.moveTo(float(points[0][0]), float(points[0][1]))
                for point in points[1:]:
                    path.lineTo(float(point[0]), float(point[1]))
        item.setPath(path)

    def clear(self) -> None:
        for kind in self.items:
            self.show(kind, ())
        self.show_tensors(())
