"""Whole-layer edits: insert, delete, replace, set trainable, rename (kerassurgeon's moves).

Every call of a shared layer is affected together (a layer is one set of weights).
"""

from __future__ import annotations

from dataclasses import replace

from resect.core.graph import Layer, ModelGraph
from resect.core.reader.weight_index import is_statistic
from resect.core.surgery.building import check_layer_name, new_layer, prune, refresh_shapes
from resect.core.surgery.cut import resolve_all
from resect.core.surgery.edits import DeleteLayer, InsertLayer, Rename, ReplaceLayer, SetTrainable
from resect.core.surgery.errors import EditError
from resect.core.surgery.graph_ops import NodeKey, ancestors, descendants, map_refs, rewrite
from resect.core.surgery.inline import find_inner, resolve_tensor
from resect.core.tensor_ref import TensorRef


def _layer(graph: ModelGraph, text: str) -> Layer:
    """A top-level layer by name (a tensor name ``layer:node:index`` is accepted for its layer)."""
    return graph.layer(text if graph.has_layer(text) else TensorRef.parse(text).layer)


def _any_layer(graph: ModelGraph, text: str) -> tuple[ModelGraph, Layer]:
    """A layer by name; a layer inside a nested model (``inner`` or ``outer/inner``) inlines
    that model first, so the edit can apply to each of its calls."""
    name = text if graph.has_layer(text) else TensorRef.parse(text).layer
    if graph.has_layer(name) or not find_inner(graph, name):
        return graph, graph.layer(name)
    graph, ref = resolve_tensor(graph, name)
    return graph, graph.layer(ref.layer)


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
    result = replace(rewired, layers=tuple(layers), inputs=graph.inputs)  # a model input stays one
    return refresh_shapes(result, [out])


def delete_layer(graph: ModelGraph, edit: DeleteLayer) -> ModelGraph:
    """Remove a single-input, single-output, shape-preserving layer: its readers read its input."""
    graph, layer = _any_layer(graph, edit.layer)
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
    graph, old = _any_layer(graph, edit.layer)
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


def _selected(graph: ModelGraph, edit: SetTrainable) -> tuple[ModelGraph, list[str], list[tuple[str, ...]]]:
    """Top-level layer names chosen by the edit, and paths of layers inside nested models."""
    names: list[str] = []
    inner: list[tuple[str, ...]] = []
    for text in edit.layers:
        if graph.has_layer(text) or graph.has_layer(TensorRef.parse(text).layer):
            names.append(_layer(graph, text).name)
            continue
        paths = find_inner(graph, text)
        if not paths:
            graph.layer(text)  # raises the usual "no layer named ..." error
        if len(paths) > 1:
            options = ", ".join("/".join(p) for p in paths)
            raise EditError(f"layer name {text!r} is ambiguous inside nested models ({options}); use the path")
        inner.append(paths[0])
    keys: set[NodeKey] = set()
    if edit.below is not None:
        graph, (below,) = resolve_all(graph, [edit.below])
        keys |= ancestors(graph, [below])
    if edit.above is not None:
        graph, (above,) = resolve_all(graph, [edit.above])
        keys |= descendants(graph, [above])
    names.extend(layer.name for layer in graph.layers if any(n.key in keys for n in layer.nodes))
    return graph, list(dict.fromkeys(names)), inner


def _with_inner_trainable(layer: Layer, path: tuple[str, ...], trainable: bool) -> Layer:
    """A nested model with the layer at ``path`` (inside it) frozen or unfrozen; a frozen
    model keeps everything inside it frozen, as in Keras."""
    sub = layer.subgraph
    assert sub is not None
    target = sub.layer(path[0])
    if len(path) == 1:
        changed = with_trainable(target, trainable and layer.trainable)
    else:
        changed = _with_inner_trainable(target, path[1:], trainable)
    sub = sub.with_layers(tuple(changed if item.name == target.name else item for item in sub.layers))
    weights = tuple(replace(w, name=f"{item.name}/{w.name}") for item in sub.layers for w in item.weights)
    return replace(layer, subgraph=sub, weights=weights)


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
    graph, names, inner = _selected(graph, edit)
    chosen = set(names)
    layers = [
        with_trainable(layer, edit.trainable) if layer.name in chosen and not layer.is_input else layer
        for layer in graph.layers
    ]
    for path in inner:
        layers = [
            _with_inner_trainable(layer, path[1:], edit.trainable) if layer.name == path[0] else layer
            for layer in layers
        ]
    return graph.with_layers(tuple(layers))


def rename(graph: ModelGraph, edit: Rename) -> ModelGraph:
    graph, old = _any_layer(graph, edit.layer)
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
