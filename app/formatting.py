"""Text for shapes, counts and sizes, the same in every panel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resect.core.graph import Layer, ModelGraph
from resect.core.summary import format_shape as shape_text  # "(None, 56, 56, 256)", as inspect prints it

__all__ = ["Totals", "count_text", "graph_totals", "layer_shape_text", "shape_text", "size_text"]


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


def size_text(nbytes: int) -> str:
    """A byte count in the unit that reads: "72 B", "4.5 KB", "97.8 MB" (never "0.00 MB")."""
    if nbytes < 1024:
        return f"{nbytes} B"
    for unit, scale in (("KB", 1024), ("MB", 1024**2), ("GB", 1024**3)):
        if nbytes < scale * 1024 or unit == "GB":
            return f"{nbytes / scale:,.1f} {unit}"
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Totals:
    total: int
    trainable: int
    non_trainable: int
    nbytes: int


_totals: dict[int, tuple[ModelGraph, Totals]] = {}


def graph_totals(graph: ModelGraph) -> Totals:
    """Parameter totals and weight size in one pass, remembered for the last few graphs
    (the tree, the properties panel and the status bar all show them; 20,000 layers take
    a noticeable moment to sum, so the loader computes them on its worker)."""
    hit = _totals.get(id(graph))
    if hit is not None and hit[0] is graph:
        return hit[1]
    total = trainable = nbytes = 0
    code = graph.code_defined
    if not graph.layers and code is not None:  # KerasHub before Keras built it: the file's weight tree
        weight_lists: Any = (code.weights,)
    else:
        weight_lists = (layer.weights for layer in graph.layers)
    for weights in weight_lists:
        for weight in weights:
            size = weight.size
            total += size
            trainable += size if weight.trainable else 0
            nbytes += weight.nbytes
    result = Totals(total, trainable, total - trainable, nbytes)
    if len(_totals) >= 8:
        _totals.pop(next(iter(_totals)))
    _totals[id(graph)] = (graph, result)
    return result
