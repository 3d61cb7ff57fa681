"""Helpers edits share to add new layers and keep shapes current.

New layers carry ``origin=None`` and their Keras config (``name`` filled in), plus weight
shapes from Keras' remembered answer or the proved rules (``core.surgery.exact``;
``weights=()`` when neither knows, and ``weights_known`` says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from resect.core.graph import Layer, ModelGraph, Node, Shape, Weight
from resect.core.known_layers import KERAS_LAYER_CLASSES
from resect.core.naming import to_snake_case
from resect.core.surgery.edits import LayerSpec
from resect.core.surgery.errors import EditError
from resect.core.surgery.exact import layer_outputs, layer_weights
from resect.core.surgery.graph_ops import NodeKey, ancestors, descendants, topological_nodes, unique_name
from resect.core.surgery.shape_domain import malformed
from resect.core.tensor_ref import TensorRef


def check_layer_name(name: str, taken: set[str]) -> None:
    if not name or "/" in name:
        raise EditError(f"{name!r} is not a valid layer name (non-empty, no '/')")
    if name in taken:
        raise EditError(f"a layer named {name!r} already exists")


def new_layer(
    graph: ModelGraph,
    spec: LayerSpec,
    inputs: Sequence[TensorRef],
    taken: set[str],
    default_name: str | None = None,
) -> Layer:
    """A new layer called once on ``inputs``; its name is ``config["name"]`` if given,
    else ``default_name`` or a unique snake_case name of its class (``dense_1``)."""
    if spec.class_name not in KERAS_LAYER_CLASSES:
        raise EditError(f"{spec.class_name!r} is not a Keras layer class")
    config = dict(spec.config)
    given = config.get("name")
    if given is not None:
        if not isinstance(given, str):
            raise EditError(f"new {spec.class_name} layer: config name must be text")
        check_layer_name(given, taken)
        name = given
    else:
        name = (
            default_name
            if default_name and default_name not in taken
            else unique_name(to_snake_case(spec.class_name), taken)
        )
    taken.add(name)
    config["name"] = name
    shapes = tuple(graph.shape(r) for r in inputs)
    args = (inputs[0],) if len(inputs) == 1 else (list(inputs),)
    outs = layer_outputs(spec.class_name, config, shapes)
    node = Node(name, 0, args, {}, tuple(inputs), shapes, tuple(outs) if outs else (None,), origin_index=None)
    trainable = config.get("trainable", True) is not False
    return Layer(
        name=name,
        class_name=spec.class_name,
        config=config,
        trainable=trainable,
        module="keras.layers",
        registered_name=None,
        weights=estimated_weights(spec.class_name, config, shapes, trainable) or (),
        nodes=(node,),
        origin=None,
    )


def estimated_weights(
    class_name: str, config: Mapping[str, Any], shapes: Sequence, trainable: bool = True
) -> tuple[Weight, ...] | None:
    problem = malformed(class_name, config)
    if problem is not None:
        raise EditError(f"new {class_name} layer has an invalid config ({problem})")
    try:
        found = layer_weights(class_name, config, list(shapes))
    except (KeyError, TypeError, ValueError) as error:
        raise EditError(f"new {class_name} layer has an invalid config ({type(error).__name__}: {error})") from None
    if found is None:
        return None
    return tuple(Weight(n, s, "float32", trainable and t) for n, s, t in found)


def weights_known(layer: Layer) -> bool:
    """For a new layer: are its weight shapes known without Keras?"""
    if layer.origin is not None or layer.is_input:
        return True
    shapes = layer.nodes[0].input_shapes if layer.nodes else ()
    return layer_weights(layer.class_name, layer.config, list(shapes)) is not None


def refresh_shapes(graph: ModelGraph, starts: Iterable[TensorRef]) -> ModelGraph:
    """Recompute input and output shapes downstream of ``starts`` (tensors whose shape
    changed), stopping where shapes stay the same; ``None`` where pure-Python inference
    does not know. New layers' weight shapes follow their input shapes."""
    starts = list(starts)
    affected = descendants(graph, starts)
    if not affected:
        return graph
    changed: set[TensorRef] = set(starts)
    shapes: dict[TensorRef, object] = {}
    nodes: dict[NodeKey, Node] = {}
    for key in topological_nodes(graph, affected):
        node = graph.node(key)
        if not any(r in changed for r in node.inputs):
            continue
        layer = graph.layer(node.layer)
        ins = tuple(shapes[r] if r in shapes else graph.shape(r) for r in node.inputs)
        outs = None
        if layer.subgraph is None:
            outs = layer_outputs(layer.class_name, layer.config, ins)
        count = len(node.output_shapes)
        new_outs = tuple(outs) if outs and len(outs) == count else (None,) * count
        for i, shape in enumerate(new_outs):
            ref = TensorRef(node.layer, node.index, i)
            shapes[ref] = shape
            if shape != node.output_shapes[i]:
                changed.add(ref)
        if ins != node.input_shapes or new_outs != node.output_shapes:
            nodes[key] = replace(node, input_shapes=ins, output_shapes=new_outs)
    if not nodes:
        return graph
    touched = {key[0] for key in nodes}
    layers = []
    for layer in graph.layers:
        if layer.name not in touched:
            layers.append(layer)
            continue
        new_nodes = tuple(nodes.get((layer.name, n.index), n) for n in layer.nodes)
        updated = replace(layer, nodes=new_nodes)
        if layer.origin is None and not layer.is_input:
            weights = estimated_weights(layer.class_name, layer.config, new_nodes[0].input_shapes, layer.trainable)
            updated = replace(updated, weights=weights or ())
        layers.append(updated)
    return graph.with_layers(tuple(layers))


def prune(graph: ModelGraph) -> ModelGraph:
    """Drop calls no output depends on (model inputs always stay)."""
    needed = ancestors(graph, graph.outputs) | {r.node_key for r in graph.inputs}
    if len(needed) == sum(len(layer.nodes) for layer in graph.layers):
        return graph
    from resect.core.surgery.graph_ops import compact

    layers = [replace(layer, nodes=tuple(n for n in layer.nodes if n.key in needed)) for layer in graph.layers]
    return compact(graph, layers, graph.inputs, graph.outputs)


def infer_shape(graph: ModelGraph, ref: TensorRef) -> Shape | None:
    """The shape of ``ref``: recorded, or inferred in pure Python from the nearest recorded
    shapes upstream (the file does not record a model's final outputs, nor any shape in a
    tf.keras 2 ``.h5``). ``None`` when a layer on the way is not a common class."""
    known = graph.shape(ref)
    if known is not None:
        return known
    needed: set[NodeKey] = set()
    todo = [ref.node_key]
    while todo:
        key = todo.pop()
        if key in needed:
            continue
        needed.add(key)
        for source in graph.node(key).inputs:
            if graph.shape(source) is None and source.node_key not in needed:
                todo.append(source.node_key)
    found: dict[TensorRef, Shape | None] = {}
    for key in topological_nodes(graph, needed):
        node = graph.node(key)
        layer = graph.layer(node.layer)
        if layer.is_input or layer.subgraph is not None:
            continue
        ins = [found.get(r) or graph.shape(r) for r in node.inputs]
        outs = layer_outputs(layer.class_name, layer.config, ins)
        if outs and len(outs) == len(node.output_shapes):
            for i, shape in enumerate(outs):
                if node.output_shapes[i] is None:
                    found[TensorRef(node.layer, node.index, i)] = shape
    return found.get(ref)
