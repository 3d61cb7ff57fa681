"""A canvas overlay colouring each layer's box by a statistic of its activations, with a
legend. One ``OverlayItem`` per colour step (cheap to replace; the chunks never repaint)."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtWidgets import QLabel

from resect.app.canvas.items import OverlayItem

RAMP = ("#fde725", "#a0da39", "#4ac16d", "#1fa187", "#277f8e", "#365c8d", "#46327e", "#440154")  # viridis, reversed
Z = 4.5  # under the edit overlays (5+), over the boxes


def bucket(value: float, low: float, high: float, steps: int = len(RAMP)) -> int:
    """The colour step of ``value`` between ``low`` and ``high`` (inclusive)."""
    if not math.isfinite(value) or high <= low:
        return 0
    return min(steps - 1, max(0, int((value - low) / (high - low) * steps)))


class ActivationOverlay:
    """Colours boxes by ``values`` ((layer path, call) -> number); ``clear`` removes it."""

    def __init__(self, window: Any) -> None:
        self.window = window
        canvas = window.canvas
        self.items = []
        for colour in RAMP:
            item = OverlayItem(colour, 1.0, Z, fill=colour.replace("#", "#c0"))
            canvas.viewbox.addItem(item, ignoreBounds=True)
            self.items.append(item)
        self.legend = QLabel(canvas)
        self.legend.setObjectName("activationLegend")
        self.legend.setStyleSheet("background: rgba(255,255,255,220); border: 1px solid #aaa; padding: 4px;")
        self.legend.hide()
        self.keys: dict[str, int] = {}  # box key -> colour step, as painted
        self.values: dict[str, float] = {}  # box key -> the value it shows
        self.range: tuple[float, float] = (0.0, 0.0)

    def show(self, values: dict[tuple[tuple[str, ...], int], float], label: str) -> None:
        """Colour by ``values``: (layer path, node index) -> number, as ``call_values`` gives."""
        prepared = self.window.canvas.prepared
        by_key: dict[str, float] = {}
        for (path, node), value in values.items():
            key = self._box_of(prepared, path, node)
            if key is not None:
                by_key[key] = max(by_key.get(key, value), value)
        if not by_key:
            self.clear()
            return
        low, high = min(by_key.values()), max(by_key.values())
        self.range, self.values = (low, high), by_key
        self.keys = {key: bucket(value, low, high) for key, value in by_key.items()}
        for step, item in enumerate(self.items):
            rects = [prepared.rect_of(k) for k, b in self.keys.items() if b == step and k in prepared.index]
            item.show_rects(rects, margin=1.0)
        swatches = "".join(f'<span style="background:{c}">&nbsp;&nbsp;&nbsp;</span>' for c in RAMP)
        self.legend.setText(f"<b>{label}</b><br>{low:.3g} {swatches} {high:.3g}")
        self.legend.adjustSize()
        self.legend.move(8, 8)
        self.legend.show()
        self.legend.raise_()

    def _box_of(self, prepared: Any, path: tuple[str, ...], node: int) -> str | None:
        """The box showing call ``node`` of a layer: a shared layer's later calls have boxes
        of their own (``enc2:1``, the first call keeps the layer key), else the layer's box."""
        calls = prepared.calls_of("/".join(path)) if prepared is not None else ()
        if len(calls) > 1:
            later = f"{'/'.join(path)}:{node}"
            return later if later in calls else calls[0]
        return self.window.visible_key(path)

    def clear(self) -> None:
        self.keys, self.values = {}, {}
        for item in self.items:
            item.show_rects([])
        self.legend.hide()
