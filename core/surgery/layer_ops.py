"""Whole-layer edits: insert, delete, replace, set trainable, rename (kerassurgeon's moves).

Every call of a shared layer is affected together (a layer is one set of weights).
"""

from __future__ import annotations

from dataclasses import replace

from core.graph import Layer, ModelGraph
from core.reader.weight_index import is_statistic
from core.surgery.building import check_layer_name, new_layer, prune, refresh_shapes
from core.surgery.cut import resolve_all
from core.surgery.edits import DeleteLayer, InsertLayer, Rename, ReplaceLayer, SetTrainable
from core.surgery.errors import EditError
from core.surgery.graph_ops import NodeKey, ancestors, descendants, map_refs, rewrite
from core.tensor_ref import TensorRef


def _layer(graph: ModelGraph, text: str) -> Layer:
    """A layer by name (a tensor name ``layer:node:index`` is accepted for its layer)."""
    return graph.layer(text if graph.has_layer(text) else TensorRef.parse(text).layer)


def insert_layer(graph: ModelGraph, edit: InsertLayer) -> ModelGraph:
    """A new layer on tensor ``after``; every reader of ``after`` (and the model outputs)
    reads the new layer instead."""
    graph, (after,) = resolve_all(graph, [edit.after])
    taken = {layer.name for layer in graph.layers}
    layer = new_layer(graph, edit.layer, [after], taken)
    out = TensorRef(layer.name)

    def fn(ref: TensorRef) -> TensorRef:
        return out if ref == after else ref

    rewired = rewrite(graph, fn)
    layers = list(rewired.layers)
    position = next(i for i, item in enumerate(layers) if item.name == after.layer) + 1
    layers.insert(position, layer)
    result = replace(rewired, layers=tuple(layers))
    return refresh_shapes(result, [out])


def delete_layer(graph: ModelGraph, edit: DeleteLayer) -> ModelGraph:
    """Remove a single-input, single-output, shape-preserving layer: its readers read its input."""
    layer = _layer(graph, edit.layer)
    if layer.is_input:
        raise EditError(f"{layer.name} is an input layer; use set_input_shape or cut instead")
    bypass: dict[TensorRef, TensorRef] = {}
    for node in layer.nodes:
        if len(node.inputs) != 1 or len(node.output_shapes) != 1:
            raise EditError(
                f"{layer.name} (call {node.index}) has {len(node.inputs)} input(s) and "
                f"{len(node.output_shapes)} output(s); only single-input, single-output layers can be deleted"
            )
        before, after = node.input_shapes[0], node.output_shapes[0]
        if before is not None and after is not None and tuple(before) != tuple(after):
            raise EditError(
                f"{layer.name} changes the shape {_fmt(before)} -> {_fmt(after)}; deleting it would break its readers"
            )
        bypass[node.outputs[0]] = node.inputs[0]

    def fn(ref: TensorRef) -> TensorRef:
        while ref in bypass:
            ref = bypass[ref]
        return ref

    remaining = [item for item in graph.layers if item.name != layer.name]
    rewired = rewrite(graph, fn, remaining)
    return prune(rewired)


def replace_layer(graph: ModelGraph, edit: ReplaceLayer) -> ModelGraph:
    """Every call of the layer goes to a new layer built from the config (fresh weights);
    the new layer keeps the old name unless the config names it."""
    old = _layer(graph, edit.layer)
    if old.is_input:
        raise EditError(f"{old.name} is an input layer; use set_input_shape instead")
    first = old.nodes[0]
    taken = {layer.name for layer in graph.layers if layer.name != old.name}
    made = new_layer(graph, edit.with_, list(first.inputs), taken, default_name=old.name)
    if len(first.output_shapes) != 1:
        raise EditError(f"{old.name} has {len(first.output_shapes)} outputs; only single-output layers can be replaced")
    name = made.name

    def fn(ref: TensorRef) -> TensorRef:
        return TensorRef(name, ref.node_index, ref.tensor_index) if ref.layer == old.name else ref

    nodes = tuple(
        replace(
            node,
            layer=name,
            args=map_refs(node.args, fn),
            kwargs=map_refs(dict(node.kwargs), fn),
            inputs=tuple(fn(r) for r in node.inputs),
            output_shapes=made.nodes[0].output_shapes if i == 0 else (None,),
            origin_index=None,
        )
        for i, node in enumerate(old.nodes)
    )
    replacement = replace(made, nodes=nodes)
    layers = [replacement if item.name == old.name else item for item in graph.layers]
    rewired = rewrite(graph, fn, layers)
    return refresh_shapes(rewired, [TensorRef(name, n.index) for n in nodes])


def _selected(graph: ModelGraph, edit: SetTrainable) -> tuple[ModelGraph, list[str]]:
    names: list[str] = []
    for text in edit.layers:
        names.append(_layer(graph, text).name)
    keys: set[NodeKey] = set()
    if edit.below is not None:
        graph, (below,) = resolve_all(graph, [edit.below])
        keys |= ancestors(graph, [below])
    if edit.above is not None:
        graph, (above,) = resolve_all(graph, [edit.above])
        keys |= descendants(graph, [above])
    names.extend(layer.name for layer in graph.layers if any(n.key in keys for n in layer.nodes))
    return graph, list(dict.fromkeys(names))


def with_trainable(layer: Layer, trainable: bool) -> Layer:
    """The layer (and a nested model's inner layers) frozen or unfrozen; normalisation
    statistics stay non-trainable as in Keras."""
    subgraph = layer.subgraph
    if subgraph is not None:
        inner = tuple(item if item.is_input else with_trainable(item, trainable) for item in subgraph.layers)
        subgraph = subgraph.with_layers(inner)
        classes = {item.name: item.class_name for item in inner}
    else:
        classes = {}
    weights = []
    for weight in layer.weights:
        owner, _, short = weight.name.rpartition("/")
        class_name = classes.get(owner.split("/")[0], layer.class_name) if owner else layer.class_name
        weights.append(replace(weight, trainable=trainable and not is_statistic(class_name, short or weight.name)))
    config = dict(layer.config)
    config["trainable"] = trainable
    return replace(layer, trainable=trainable, config=config, weights=tuple(weights), subgraph=subgraph)


def set_trainable(graph: ModelGraph, edit: SetTrainable) -> ModelGraph:
    graph, names = _selected(graph, edit)
    chosen = set(names)
    layers = tuple(
        with_trainable(layer, edit.trainable) if layer.name in chosen and not layer.is_input else layer
        for layer in graph.layers
    )
    return graph.with_layers(layers)


def rename(graph: ModelGraph, edit: Rename) -> ModelGraph:
    old = _layer(graph, edit.layer)
    if edit.to == old.name:
        return graph
    check_layer_name(edit.to, {layer.name for layer in graph.layers})

    def fn(ref: TensorRef) -> TensorRef:
        return TensorRef(edit.to, ref.node_index, ref.tensor_index) if ref.layer == old.name else ref

    config = dict(old.config)
    config["name"] = edit.to
    renamed = replace(old, name=edit.to, config=config, nodes=tuple(replace(n, layer=edit.to) for n in old.nodes))
    layers = [renamed if item.name == old.name else item for item in graph.layers]
    return rewrite(graph, fn, layers)


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
