"""The text on a box (name, output shape, parameter count) and the box size it needs.

Shared by the layout (which sizes boxes) and the scene (which shows the text), so a
box is always exactly as wide as its text.
"""

from __future__ import annotations

from typing import Any

from resect.core.graph import Layer, ModelGraph, Shape
from resect.core.render import style
from resect.core.tensor_ref import TensorRef


def format_shape(shape: Shape | None) -> str:
    """``(None, 56, 56, 256)`` -> ``"56×56×256"`` (batch dimension dropped, ``?`` if unknown)."""
    if shape is None:
        return ""
    dims = shape[1:] if len(shape) > 1 else shape
    if not dims:
        return "scalar"
    return "×".join("?" if d is None else str(d) for d in dims)


def format_count(count: int) -> str:
    """Parameter counts the way people say them: ``9472`` -> ``"9.5K"``, ``25636712`` -> ``"25.6M"``."""
    if count < 1000:
        return str(count)
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= scale:
            value = count / scale
            return f"{value:.0f}{unit}" if value >= 100 else f"{value:.1f}{unit}"
    return str(count)  # pragma: no cover


def tensor_shape(level: ModelGraph, ref: TensorRef) -> Shape | None:
    """A tensor's shape: as its producer records it, else as a consumer records its input
    (Keras files often store a layer's input shapes but not its output shapes)."""
    if not level.has_layer(ref.layer):
        return None
    layer = level.layer(ref.layer)
    if ref.node_index >= len(layer.nodes):
        return None
    shapes = layer.nodes[ref.node_index].output_shapes
    if ref.tensor_index < len(shapes) and shapes[ref.tensor_index] is not None:
        return shapes[ref.tensor_index]
    for key in level.consumers(ref):
        node = level.node(key)
        for position, used in enumerate(node.inputs):
            if used == ref and position < len(node.input_shapes) and node.input_shapes[position] is not None:
                return node.input_shapes[position]
    return None


def shape_at(graph: ModelGraph, ref: TensorRef) -> Shape | None:
    """``tensor_shape`` for a tensor addressed by layer *key* (``outer/inner`` inside nested models)."""
    *outer, name = ref.layer.split("/")
    level = graph
    for part in outer:
        if not level.has_layer(part) or level.layer(part).subgraph is None:
            return None
        level = level.layer(part).subgraph
    return tensor_shape(level, TensorRef(name, ref.node_index, ref.tensor_index))


def block_subtitle(graph: ModelGraph, kind: str, size: int, exit_ref: TensorRef | None) -> str:
    """``"56×56×256 · 10 layers"`` (the block's output shape), or its kind when unknown."""
    shape = format_shape(shape_at(graph, exit_ref)) if exit_ref is not None else ""
    return f"{shape or kind} · {size} layers"


def layer_subtitle(layer: Layer, level: ModelGraph | None = None) -> str:
    """Output shape(s) of a layer; its class name when no shape is known."""
    seen: list[str] = []
    for node in layer.nodes:
        if level is None:
            shapes = list(node.output_shapes)
        else:
            shapes = [tensor_shape(level, ref) for ref in node.outputs]
        text = " | ".join(format_shape(s) for s in shapes if s is not None)
        if text and text not in seen:
            seen.append(text)
    if not seen:
        return layer.class_name
    return seen[0] if len(seen) == 1 else f"{seen[0]} (+{len(seen) - 1})"


def node_subtitle(layer: Layer, node: Any, level: ModelGraph | None = None) -> str:
    """Output shape(s) of one call of a layer; its class name when no shape is known."""
    shapes = list(node.output_shapes) if level is None else [tensor_shape(level, ref) for ref in node.outputs]
    text = " | ".join(format_shape(s) for s in shapes if s is not None)
    return text or layer.class_name


def layer_badge(layer: Layer) -> str:
    """Parameter count (a nested model's layer already holds all its inner weights); a ⚠
    in front for a layer Keras cannot load as is (a Lambda's code, a custom class)."""
    count = format_count(layer.params) if layer.params else ""
    return f"⚠ {count}".strip() if layer.problem else count


TITLE_GAP = 6.0  # px between subtitle and badge on the second line


def box_width(title: str, subtitle: str, badge: str) -> float:
    """Width that fits the bold title and the "subtitle  badge" line, within the style's bounds."""
    line2 = style.text_width(subtitle, style.SUBTITLE_SIZE)
    if badge:
        line2 += TITLE_GAP + style.text_width(badge, style.BADGE_SIZE)
    needed = max(style.text_width(title, style.TITLE_SIZE, bold=True), line2) + 2 * style.BOX_PAD_X
    return float(min(style.BOX_MAX_WIDTH, max(style.BOX_MIN_WIDTH, needed)))
