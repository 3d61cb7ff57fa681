"""The colour key of an exported picture: one swatch per layer kind that appears in it.

Placed to the right of the graph, at the top, so an SVG or PNG explains itself
outside the app. The canvas in the app has its own key; the Scene itself is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from resect.core.render import style
from resect.core.render.scene import Scene

SWATCH = 14.0
ROW = 20.0
PAD = 10.0
GAP = 28.0  # between the graph and the key
TEXT_SIZE = 10.5


@dataclass(frozen=True)
class LegendEntry:
    label: str
    fill: str
    stroke: str
    x: float  # swatch top-left
    y: float


@dataclass(frozen=True)
class Legend:
    entries: tuple[LegendEntry, ...]
    x: float
    y: float
    w: float
    h: float

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.x + self.w, self.y + self.h)


def build_legend(scene: Scene) -> Legend | None:
    """The key for the kinds present in ``scene`` (palette order), or ``None`` if empty."""
    present = {box.kind for box in scene.boxes}
    kinds = [kind for kind in style.KINDS if kind in present]
    if not kinds:
        return None
    labels = [style.KINDS[kind].label for kind in kinds]
    width = PAD * 2 + SWATCH + 8 + max(style.text_width(label, TEXT_SIZE) for label in labels)
    height = PAD * 2 + ROW * len(kinds) - (ROW - SWATCH)
    x = scene.bounds[2] + GAP
    y = scene.bounds[1] + style.BOX_HEIGHT / 2
    entries = tuple(
        LegendEntry(label, style.KINDS[kind].fill, style.KINDS[kind].stroke, x + PAD, y + PAD + i * ROW)
        for i, (kind, label) in enumerate(zip(kinds, labels, strict=True))
    )
    return Legend(entries, x, y, width, height)


def canvas_bounds(scene: Scene, legend: Legend | None) -> tuple[float, float, float, float]:
    """The picture's extent: the scene plus its key and a margin around the key."""
    x0, y0, x1, y1 = scene.bounds
    if legend is None:
        return x0, y0, x1, y1
    return x0, y0, max(x1, legend.x + legend.w + PAD), max(y1, legend.y + legend.h + PAD)
