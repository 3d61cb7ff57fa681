"""The Scene: what to draw, as plain data (floats, strings, tuples).

The Qt canvas, the SVG writer and the PNG writer all paint the same Scene, so the
picture a user exports is the picture they saw. Nothing here imports Qt.

>>> scene = build_scene(read_model("resnet50.keras"))   # doctest: +SKIP
>>> scene.box("conv1_conv").subtitle                     # doctest: +SKIP
'112×112×64'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from resect.core.analysis.blocks import SEPARATOR, Block
from resect.core.graph import Layer, ModelGraph, Shape
from resect.core.layout import Direction, Layout, layout
from resect.core.layout.visible import layer_of_box
from resect.core.perf import paused_gc
from resect.core.render import labels, style
from resect.core.tensor_ref import TensorRef

Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """One drawn node: a layer or a collapsed block. ``x, y`` is the top-left corner."""

    key: str
    x: float
    y: float
    w: float
    h: float
    kind: str  # palette kind: "convolution", ..., "block"
    fill: str
    stroke: str
    title: str
    subtitle: str
    badge: str
    class_name: str = ""
    layers: tuple[str, ...] = ()  # layer keys drawn by this box
    block: str | None = None  # block name when this box is a collapsed block
    stroke_width: float = style.STROKE_WIDTH
    is_output: bool = False
    highlighted: bool = False
    band: str = ""  # colour band of a shared layer's call box (all its calls share it)

    @property
    def center(self) -> Point:
        return (self.x + self.w / 2, self.y + self.h / 2)


@dataclass(frozen=True)
class Edge:
    """One drawn connection; ``tensor`` is the (first) model tensor it carries, ``label`` its shape."""

    key: str
    source: str
    target: str
    points: tuple[Point, ...]
    label: str
    tensor: TensorRef
    tensors: tuple[TensorRef, ...] = ()
    colour: str = style.EDGE_COLOUR
    highlighted: bool = False


@dataclass(frozen=True)
class Group:
    """A frame drawn behind the inner layers of an expanded nested model."""

    key: str  # the nested model's layer key
    title: str  # "name · Class"
    x: float
    y: float
    w: float
    h: float
    fill: str = style.GROUP_FILL
    stroke: str = style.GROUP_STROKE


@dataclass(frozen=True)
class Scene:
    boxes: tuple[Box, ...]
    edges: tuple[Edge, ...]
    bounds: tuple[float, float, float, float]  # x0, y0, x1, y1
    direction: Direction = "TB"
    title: str = ""
    background: str = style.BACKGROUND
    groups: tuple[Group, ...] = ()  # outermost first, so inner frames paint on top

    @cached_property
    def _index(self) -> dict[str, Box]:
        return {box.key: box for box in self.boxes}

    def box(self, key: str) -> Box:
        return self._index[key]

    @property
    def width(self) -> float:
        return self.bounds[2] - self.bounds[0]

    @property
    def height(self) -> float:
        return self.bounds[3] - self.bounds[1]


def shape_of(graph: ModelGraph, ref: TensorRef) -> Shape | None:
    """Shape of a tensor addressed by layer *key* (``outer/inner`` for nested layers)."""
    return labels.shape_at(graph, ref)


def build_scene(
    graph: ModelGraph,
    collapsed: Iterable[str] = frozenset(),
    direction: Direction = "TB",
    highlight: Iterable[str] = (),
    blocks: list[Block] | None = None,
    placed: Layout | None = None,
) -> Scene:
    """Lay ``graph`` out and dress it: colours by layer kind, names, shapes, parameter badges.

    ``highlight`` names layer keys (or block names) to outline; edges between two
    highlighted boxes are highlighted too. Pass ``placed`` to reuse a layout.
    """
    placed = placed or layout(graph, frozenset(collapsed), direction, blocks=blocks)
    with paused_gc():
        return _dress(graph, placed, set(highlight))


def _dress(graph: ModelGraph, placed: Layout, marked: set[str]) -> Scene:
    boxes: list[Box] = []
    for item in placed.items:
        if item.kind == "block":
            kind = "nested" if item.class_name == "nested" else "block"
        else:
            kind = style.kind_of(item.class_name)
        palette = style.kind_style(kind)
        lit = item.key in marked or any(key in marked for key in item.layers)
        stroke, width = palette.stroke, style.STROKE_WIDTH
        if item.is_output:
            stroke, width = style.OUTPUT_STROKE, 2.0
        if item.kind == "block":
            width = 2.0
        shared = _layer_at(graph, layer_of_box(item.layers[0])) if item.kind == "layer" and item.layers else None
        if shared is not None and shared.problem:
            stroke, width = style.PROBLEM_STROKE, 2.5
        if lit:
            stroke, width = style.HIGHLIGHT_STROKE, 3.0
        band = style.call_band(layer_of_box(item.layers[0])) if shared is not None and len(shared.nodes) > 1 else ""
        boxes.append(
            Box(
                key=item.key,
                x=item.x,
                y=item.y,
                w=item.w,
                h=item.h,
                kind=kind,
                fill=palette.fill,
                stroke=stroke,
                title=item.title,
                subtitle=item.subtitle,
                badge=item.badge,
                class_name=item.class_name,
                layers=item.layers,
                block=item.key if item.kind == "block" or (kind == "nested" and len(item.layers) > 1) else None,
                stroke_width=width,
                is_output=item.is_output,
                highlighted=lit,
                band=band if shared is not None and shared.subgraph is None else "",
            )
        )
    lit_boxes = {box.key for box in boxes if box.highlighted}
    edges = []
    for edge in placed.edges:
        lit = edge.source in lit_boxes and edge.target in lit_boxes
        shapes = dict.fromkeys(labels.format_shape(shape_of(graph, t)) for t in edge.tensors)
        label = " | ".join(s for s in shapes if s)
        edges.append(
            Edge(
                key=edge.key,
                source=edge.source,
                target=edge.target,
                points=edge.points,
                label=label,
                tensor=edge.tensors[0],
                tensors=edge.tensors,
                colour=style.EDGE_HIGHLIGHT_COLOUR if lit else style.EDGE_COLOUR,
                highlighted=lit,
            )
        )
    groups = _groups(graph, boxes)
    x0 = min([0.0] + [g.x - style.GROUP_PAD for g in groups])
    y0 = min([0.0] + [g.y - style.GROUP_PAD for g in groups])
    x1 = max([placed.width] + [g.x + g.w + style.GROUP_PAD for g in groups])
    y1 = max([placed.height] + [g.y + g.h + style.GROUP_PAD for g in groups])
    return Scene(tuple(boxes), tuple(edges), (x0, y0, x1, y1), placed.direction, graph.name, groups=groups)


def _groups(graph: ModelGraph, boxes: list[Box]) -> tuple[Group, ...]:
    """Frames around the boxes of each expanded nested model, inner frames first in size."""
    members: dict[str, list[Box]] = {}
    for box in boxes:
        parts = box.key.split(SEPARATOR)
        for depth in range(1, len(parts)):
            members.setdefault(SEPARATOR.join(parts[:depth]), []).append(box)
    frames: dict[str, tuple[float, float, float, float]] = {}
    for key in sorted(members, key=lambda k: -k.count(SEPARATOR)):  # innermost first
        rects = [(b.x, b.y, b.x + b.w, b.y + b.h) for b in members[key]]
        rects += [r for inner, r in frames.items() if inner.startswith(key + SEPARATOR)]
        pad, top = style.GROUP_PAD, style.GROUP_PAD + style.GROUP_TITLE_SIZE + 4
        frames[key] = (
            min(r[0] for r in rects) - pad,
            min(r[1] for r in rects) - top,
            max(r[2] for r in rects) + pad,
            max(r[3] for r in rects) + pad,
        )
    groups = []
    for key in sorted(frames, key=lambda k: k.count(SEPARATOR)):
        x0, y0, x1, y1 = frames[key]
        class_name = _class_of(graph, key)
        groups.append(Group(key, f"{key.rsplit(SEPARATOR, 1)[-1]} · {class_name}", x0, y0, x1 - x0, y1 - y0))
    return tuple(groups)


def _layer_at(graph: ModelGraph, key: str) -> Layer | None:
    level, layer = graph, None
    for part in key.split(SEPARATOR):
        if level is None or not level.has_layer(part):
            return None
        layer = level.layer(part)
        level = layer.subgraph
    return layer


def _class_of(graph: ModelGraph, key: str) -> str:
    level, layer = graph, None
    for part in key.split(SEPARATOR):
        if level is None or not level.has_layer(part):
            return ""
        layer = level.layer(part)
        level = layer.subgraph
    return layer.class_name if layer is not None else ""
