"""What Keras adds to our reading of a file, as a small JSON table, and applying it back.

The Keras worker process (``core.keras_backend.service``) loads the model and fills the
shapes the file does not record (``loading.fill_shapes``). Sending the whole filled graph
back to the app would be large and slow; ``shape_table(read, filled)`` keeps only the
layers where something changed, and ``apply_shape_table(read, table)`` rebuilds the filled
graph from the app's own reading. Pure Python, JSON in and out.

Form: ``{"layers": {NAME: {"nodes": [[input_shapes, output_shapes], ...],
"weights": [[name, trainable], ...], "sub": TABLE}}}``; every key of an entry is optional
and a shape is a list with ``null`` for an unknown dimension.

>>> apply_shape_table(graph, shape_table(graph, fill_shapes(graph, model))) == fill_shapes(graph, model)
True
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from resect.core.graph import Layer, ModelGraph, Node, Shape, Weight

__all__ = ["apply_shape_table", "shape_table"]


def shape_table(read: ModelGraph, filled: ModelGraph) -> dict[str, Any]:
    """The differences between ``read`` and ``filled`` (same layers, more shapes)."""
    layers: dict[str, Any] = {}
    by_name = {layer.name: layer for layer in filled.layers}
    for layer in read.layers:
        other = by_name.get(layer.name)
        if other is None or other is layer:
            continue
        entry: dict[str, Any] = {}
        nodes = [(n.input_shapes, n.output_shapes) for n in other.nodes]
        if nodes != [(n.input_shapes, n.output_shapes) for n in layer.nodes]:
            entry["nodes"] = [[_shapes_json(i), _shapes_json(o)] for i, o in nodes]
        if other.weights != layer.weights:
            entry["weights"] = [[w.name, w.trainable] for w in other.weights]
        if layer.subgraph is not None and other.subgraph is not None:
            sub = shape_table(layer.subgraph, other.subgraph)
            if sub["layers"]:
                entry["sub"] = sub
        if entry:
            layers[layer.name] = entry
    return {"layers": layers}


def apply_shape_table(graph: ModelGraph, table: dict[str, Any]) -> ModelGraph:
    """``graph`` with the shapes, weight names and trainable flags of ``table``; layers
    the table does not name are kept as they are (the same objects)."""
    entries = table.get("layers", {})
    if not entries:
        return graph
    layers = tuple(
        _apply_layer(layer, entries[layer.name]) if layer.name in entries else layer for layer in graph.layers
    )
    return graph.with_layers(layers)


def _apply_layer(layer: Layer, entry: dict[str, Any]) -> Layer:
    nodes = layer.nodes
    if "nodes" in entry and len(entry["nodes"]) == len(nodes):
        nodes = tuple(_apply_node(node, pair) for node, pair in zip(nodes, entry["nodes"], strict=True))
    weights = layer.weights
    if "weights" in entry and len(entry["weights"]) == len(weights):
        weights = tuple(_apply_weight(w, pair) for w, pair in zip(weights, entry["weights"], strict=True))
    subgraph = layer.subgraph
    if subgraph is not None and "sub" in entry:
        subgraph = apply_shape_table(subgraph, entry["sub"])
    return replace(layer, nodes=nodes, weights=weights, subgraph=subgraph)


def _apply_node(node: Node, pair: list[Any]) -> Node:
    return replace(node, input_shapes=_shapes_from_json(pair[0]), output_shapes=_shapes_from_json(pair[1]))


def _apply_weight(weight: Weight, pair: list[Any]) -> Weight:
    return replace(weight, name=str(pair[0]), trainable=bool(pair[1]))


def _shapes_json(shapes: tuple[Shape | None, ...]) -> list[Any]:
    return [None if shape is None else list(shape) for shape in shapes]


def _shapes_from_json(shapes: list[Any]) -> tuple[Shape | None, ...]:
    return tuple(None if shape is None else tuple(None if d is None else int(d) for d in shape) for shape in shapes)
