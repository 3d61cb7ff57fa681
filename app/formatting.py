"""Text for shapes, counts and sizes, the same in every panel."""

from __future__ import annotations

from core.graph import Layer, Shape


def shape_text(shape: Shape | None) -> str:
    """``(None, 56, 56, 256)`` as Keras' summary prints it; ``?`` when not known yet."""
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def layer_shape_text(layer: Layer) -> str:
    """The output shape of a layer's first call (and how many calls it has)."""
    if not layer.nodes:
        return ""
    shapes = layer.nodes[0].output_shapes
    text = " ".join(shape_text(s) for s in shapes) if len(shapes) > 1 else shape_text(shapes[0])
    if len(layer.nodes) > 1:
        text += f"  ×{len(layer.nodes)} calls"
    return text


def count_text(value: int) -> str:
    return f"{value:,}"


def mb_text(nbytes: int) -> str:
    return f"{nbytes / (1024 * 1024):,.2f} MB"
