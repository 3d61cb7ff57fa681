"""The ``set_input_shape`` and ``replace_head`` edits (the transfer-learning moves).

``set_input_shape`` only changes the graph's shapes: which trained weights no longer fit
is decided by the Keras backend (it builds the layers at the new shape), and the edit's
``reinitialize`` list says which layers may get fresh weights (see
``accepted_reinitialize``). Shapes downstream are re-inferred in pure Python where the
layer class is common and left unknown (``None``) otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from resect.core.graph import ModelGraph
from resect.core.surgery.building import new_layer, refresh_shapes
from resect.core.surgery.cut import cut, resolve_all
from resect.core.surgery.edits import Edit, ReplaceHead, SetInputShape
from resect.core.surgery.errors import EditError
from resect.core.surgery.graph_ops import descendants
from resect.core.tensor_ref import TensorRef


def set_input_shape(graph: ModelGraph, edit: SetInputShape) -> ModelGraph:
    name = TensorRef.parse(edit.input).layer
    layer = graph.layer(name)
    if not layer.is_input or TensorRef(name) not in graph.inputs:
        inputs = ", ".join(r.layer for r in graph.inputs)
        raise EditError(f"{name!r} is not an input of the model (inputs: {inputs})")
    old = layer.nodes[0].output_shapes[0] if layer.nodes else None
    new = (edit.batch_size, *edit.shape)
    if old is not None and len(old) != len(new):
        raise EditError(
            f"shape {list(edit.shape)} has {len(edit.shape)} dimension(s) but input {name!r} has "
            f"{len(old) - 1} ({list(old[1:])})"
        )
    config = dict(layer.config)
    config["batch_shape"] = list(new)
    if "batch_input_shape" in config:
        config["batch_input_shape"] = list(new)
    config.pop("shape", None)
    node = replace(layer.nodes[0], output_shapes=(new,))
    updated = replace(layer, config=config, nodes=(node,))
    graph = graph.with_layers(tuple(updated if item.name == name else item for item in graph.layers))
    return refresh_shapes(graph, [TensorRef(name)])


def accepted_reinitialize(edits: Iterable[Edit]) -> frozenset[str]:
    """Layer names (or ``"*"``) the recipe's ``set_input_shape`` edits accept to re-initialise."""
    found: set[str] = set()
    for edit in edits:
        if isinstance(edit, SetInputShape):
            found.update(edit.reinitialize)
    return frozenset(found)


def replace_head(graph: ModelGraph, edit: ReplaceHead) -> ModelGraph:
    """Drop everything after ``at`` (outputs that depend on it) and chain new layers there;
    outputs that do not depend on ``at`` stay."""
    graph, (at,) = resolve_all(graph, [edit.at])
    after = descendants(graph, [at])
    replaced = [r for r in graph.outputs if r == at or r.node_key in after]
    if not replaced:
        raise EditError(f"no model output depends on {at}")
    others = [r for r in graph.outputs if r not in replaced]
    trimmed = cut(graph, (), [at, *others])
    at_new = trimmed.outputs[0]
    taken = {layer.name for layer in trimmed.layers}
    layers = list(trimmed.layers)
    previous = at_new
    for spec in edit.layers:
        layer = new_layer(trimmed.with_layers(tuple(layers)), spec, [previous], taken)
        layers.append(layer)
        previous = TensorRef(layer.name)
    position = graph.outputs.index(replaced[0])
    outputs = [r for r in trimmed.outputs[1:]]
    outputs.insert(min(position, len(outputs)), previous)
    return replace(trimmed, layers=tuple(layers), outputs=tuple(outputs))
